"""Running the server: build the services and the app, then serve it with uvicorn.

Graceful shutdown: the first SIGTERM (or SIGINT) flips readiness to 503 and refuses new requests
with 503 while in-flight ones — streams included — run to completion, for at most
``SHUTDOWN_TIMEOUT``; then uvicorn closes the connections and the models are unloaded. A second
signal exits at once.
"""

from __future__ import annotations

import logging
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

from corral.core.config import Config

if TYPE_CHECKING:
    import uvicorn

    from corral.api.observe import Traffic

__all__ = ["drain_then_exit", "serve"]

log = logging.getLogger("corral")

_MAX_DRAIN_S = 24 * 3600.0


def drain_then_exit(server: uvicorn.Server, traffic: Traffic, timeout_s: float) -> None:
    """Refuse new work, wait until nothing is in flight (or ``timeout_s``), then stop ``server``."""
    traffic.start_draining()
    deadline = time.monotonic() + min(timeout_s, _MAX_DRAIN_S)
    while traffic.in_flight > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if traffic.in_flight > 0:
        log.warning("shutdown timeout: cutting off %d request(s) still in flight", traffic.in_flight)
    else:
        log.info("drained; shutting down")
    server.should_exit = True


def serve(config: Config) -> None:
    """Serve the API on ``config.host`` until SIGTERM/SIGINT (blocking), then shut down gracefully."""
    import uvicorn

    from corral.api.app import create_app
    from corral.api.ops import TRAFFIC_STATE_KEY
    from corral.core.services import build_services

    logging.basicConfig(
        level=logging.DEBUG if config.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    services = build_services(config)
    app = create_app(services)
    traffic: Traffic = app.state[TRAFFIC_STATE_KEY]
    timeout_s = config.shutdown_timeout_ns / 1e9

    class DrainingServer(uvicorn.Server):
        """uvicorn, but the first exit signal drains in-flight requests before stopping."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if traffic.draining:  # a second signal: stop now
                super().handle_exit(sig, frame)
                self.force_exit = True
                return
            log.info("signal %d: draining %d request(s) (up to %.0fs)", sig, traffic.in_flight, timeout_s)
            threading.Thread(
                target=drain_then_exit, args=(self, traffic, timeout_s), name="corral-drain", daemon=True
            ).start()

    host = config.host.host or "0.0.0.0"
    log.info("corral listening on %s:%d (models in %s)", host, config.host.port, config.models)
    server = DrainingServer(
        uvicorn.Config(
            app,
            host=host,
            port=config.host.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
    )
    server.run()
