"""The Litestar application factory: routes, error shapes, CORS, the Host check, OpenAPI."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin

from corral import __version__
from corral.api import backends as backends_api
from corral.api import ops
from corral.api.anthropic import routes as anthropic_routes
from corral.api.auth import ApiKeys
from corral.api.errors import EXCEPTION_HANDLERS
from corral.api.guard import install_guard
from corral.api.hosts import cors_config
from corral.api.llama_server import routes as llama_server_routes
from corral.api.observe import ObserveMiddleware, Traffic, observe_all_requests
from corral.api.ollama import embed as ollama_embed
from corral.api.ollama import inference as ollama_inference
from corral.api.ollama import routes as ollama_routes
from corral.api.ollama import tokenize as ollama_tokenize
from corral.api.openai import routes as openai_routes
from corral.api.openapi_docs import complete_openapi
from corral.api.origins import OriginPolicy
from corral.api.responses import routes as responses_routes
from corral.api.ui import routes as ui_routes
from corral.core.services import Services

__all__ = ["create_app"]

log = logging.getLogger("corral.api")


def create_app(
    services: Services,
    *,
    extra_handlers: Sequence[HTTPRouteHandler] = (),
    route_requests: Callable[[Any], Any] | None = None,
) -> Litestar:
    """Build the ASGI app: the Ollama API, the OpenAI API and operational endpoints over ``services``.

    ``extra_handlers`` join the operational ones and ``route_requests`` wraps the router inside the
    edge checks (the cluster's ingress adds ``/api/cluster`` and forwards inference by model).
    """
    cfg = services.config
    ollama = Router(
        path="/",
        route_handlers=[
            *ollama_routes.HANDLERS,
            *ollama_inference.HANDLERS,
            *ollama_embed.HANDLERS,
            *ollama_tokenize.HANDLERS,
            *llama_server_routes.HANDLERS,
        ],
    )
    dialects = [*openai_routes.HANDLERS, *responses_routes.HANDLERS, *anthropic_routes.HANDLERS]
    openai = Router(path="/v1", route_handlers=dialects)
    operations = Router(path="/", route_handlers=[*ops.HANDLERS, *backends_api.HANDLERS, *extra_handlers])
    web_page = Router(path="/", route_handlers=ui_routes.HANDLERS)
    traffic = Traffic()

    async def on_startup() -> None:
        services.start()

    async def on_shutdown() -> None:
        await services.stop()

    def provide_services() -> Services:
        return services

    app = Litestar(
        route_handlers=[ollama, openai, operations, web_page],
        exception_handlers=EXCEPTION_HANDLERS,
        cors_config=cors_config(cfg.origins),
        middleware=[
            DefineMiddleware(
                ObserveMiddleware, emit=services.plugins.emit, traffic=traffic, debug=cfg.debug > 0
            ),
        ],
        state=State({ops.TRAFFIC_STATE_KEY: traffic}),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        dependencies={"services": Provide(provide_services, use_cache=True, sync_to_thread=False)},
        openapi_config=OpenAPIConfig(
            title="corral",
            version=__version__,
            description="Ollama-compatible local LLM server",
            path="/schema",
            render_plugins=[JsonRenderPlugin(), SwaggerRenderPlugin()],
        ),
        request_max_body_size=cfg.max_request_size,
    )
    if route_requests is not None:
        app.asgi_handler = route_requests(app.asgi_handler)
    # Host, Origin and API-key refusals happen before routing, so they cover unmatched routes too;
    # the observer goes around the guard so refusals are logged and counted.
    install_guard(
        app,
        host_check=cfg.host.is_loopback,
        origins=OriginPolicy(cfg.origins),
        keys=ApiKeys(cfg.api_keys.reveal(), cfg.api_keys_file),
        metrics_public=cfg.metrics_public,
    )
    complete_openapi(app)
    # Also requests no route matches (404/405) get a request id, a log line, metrics and drain refusal.
    observe_all_requests(app, emit=services.plugins.emit, traffic=traffic, debug=cfg.debug > 0)
    return app
