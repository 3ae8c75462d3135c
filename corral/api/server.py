"""Running the server: build the services and the app, then serve it with uvicorn."""

from __future__ import annotations

import logging

from corral.core.config import Config

__all__ = ["serve"]


def serve(config: Config) -> None:
    """Serve the API on ``config.host`` until interrupted (blocking)."""
    import uvicorn

    from corral.api.app import create_app
    from corral.core.services import build_services

    logging.basicConfig(
        level=logging.DEBUG if config.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    services = build_services(config)
    app = create_app(services)
    host = config.host.host or "0.0.0.0"
    logging.getLogger("corral").info(
        "corral listening on %s:%d (models in %s)", host, config.host.port, config.models
    )
    uvicorn.run(app, host=host, port=config.host.port, log_level="warning", access_log=False)
