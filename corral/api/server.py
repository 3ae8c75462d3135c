"""Running the server: build the services and the app, then serve it with uvicorn.

Graceful shutdown: the first SIGTERM (or SIGINT) flips readiness to 503 and refuses new requests
with 503 while in-flight ones — streams included — run to completion, for at most
``SHUTDOWN_TIMEOUT``; then uvicorn closes the connections and the models are unloaded. A second
signal exits at once (``os._exit``: nothing that is still running can hold the process).

Everything after the drain is bounded too: if the process is still alive
:data:`SHUTDOWN_GRACE_S` after the drain ended — uvicorn's lifespan shutdown waits without a limit
for the models to unload, and a runner thread stuck in a native call (llama.cpp, onnxruntime)
keeps both that and the interpreter's final join of worker threads waiting — a watchdog thread
exits with status 1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

from corral.core.config import Config

if TYPE_CHECKING:
    import uvicorn

    from corral.api.observe import Traffic

__all__ = ["SHUTDOWN_GRACE_S", "drain_then_exit", "exit_now", "serve"]

log = logging.getLogger("corral")

_MAX_DRAIN_S = 24 * 3600.0

SHUTDOWN_GRACE_S = 15.0
"""How long closing connections, unloading models and leaving the interpreter may take after the
drain (uvicorn itself allows requests 2 s before cancelling them)."""


def _flush_logs(timeout_s: float) -> None:
    """Let queued log records reach their handlers (Litestar logs through a queue listener thread)."""

    def stop_listeners() -> None:
        for handler in logging.getLogger().handlers:
            listener = getattr(handler, "listener", None)
            if listener is not None and hasattr(listener, "stop"):
                with contextlib.suppress(Exception):
                    listener.stop()

    flusher = threading.Thread(target=stop_listeners, name="corral-log-flush", daemon=True)
    flusher.start()
    flusher.join(timeout_s)


def exit_now(status: int) -> None:
    """Flush the logs and standard streams, then end the process at once, whatever its threads do."""
    _flush_logs(1.0)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


def _exit_if_stuck(grace_s: float) -> None:
    time.sleep(grace_s)
    log.error("shutdown still not finished %.0fs after the drain (a model did not unload); exiting", grace_s)
    exit_now(1)


def drain_then_exit(server: uvicorn.Server, traffic: Traffic, timeout_s: float, sig: int = 0) -> None:
    """Refuse new work, wait until nothing is in flight (or ``timeout_s``), then stop ``server``."""
    traffic.start_draining()
    log.info("signal %d: draining %d request(s) (up to %.0fs)", sig, traffic.in_flight, timeout_s)
    deadline = time.monotonic() + min(timeout_s, _MAX_DRAIN_S)
    while traffic.in_flight > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if traffic.in_flight > 0:
        log.warning("shutdown timeout: cutting off %d request(s) still in flight", traffic.in_flight)
    else:
        log.info("drained; shutting down")
    threading.Thread(
        target=_exit_if_stuck, args=(SHUTDOWN_GRACE_S,), name="corral-exit-watchdog", daemon=True
    ).start()
    server.should_exit = True


def serve(config: Config) -> None:
    """Serve the API on ``config.host`` until SIGTERM/SIGINT (blocking), then shut down gracefully."""
    import uvicorn

    from corral.api.app import create_app
    from corral.api.auth import serve_refusal
    from corral.api.limits import uvicorn_limits
    from corral.api.ops import TRAFFIC_STATE_KEY
    from corral.core.services import build_services

    logging.basicConfig(
        level=logging.DEBUG if config.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    refusal = serve_refusal(config)
    if refusal is not None:
        log.error("%s", refusal)
        raise SystemExit(2)
    services = build_services(config)
    services.check_backends()
    app = create_app(services)
    traffic: Traffic = app.state[TRAFFIC_STATE_KEY]
    timeout_s = config.shutdown_timeout_ns / 1e9

    class DrainingServer(uvicorn.Server):
        """uvicorn, but the first exit signal drains in-flight requests before stopping."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # No logging here: the handler runs between two bytecodes of the main thread, which may
            # hold the logging queue's lock at that moment (a deadlock). The drain thread logs.
            if traffic.draining:  # a second signal: stop now, without waiting for anything
                with contextlib.suppress(OSError):
                    os.write(2, f"corral: signal {sig} again: exiting now\n".encode())
                exit_now(128 + sig)
            traffic.start_draining()  # a plain flag: safe in a signal handler
            threading.Thread(
                target=drain_then_exit,
                args=(self, traffic, timeout_s, sig),
                name="corral-drain",
                daemon=True,
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
            **uvicorn_limits(config),
        )
    )
    server.run()
