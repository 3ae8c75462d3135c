"""Shared fixtures: a real corral server on a free loopback port, over a temporary store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from corral.api.app import create_app
from corral.api.limits import uvicorn_limits
from corral.core.config import HostURL, load_config
from corral.core.services import Services, build_services
from corral.plugins.manager import Plugins, build_plugins
from corral.testing import free_port


@dataclass
class LiveServer:
    base_url: str
    models: Path
    services: Services
    client: httpx.Client


class _Servers:
    """Starts real servers (uvicorn threads) and stops them all at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.running: list[tuple[uvicorn.Server, threading.Thread, httpx.Client]] = []

    def start(
        self,
        models: Path | None = None,
        wrap: Callable[[Any], Any] | None = None,
        plugins: Plugins | None = None,
        **overrides: Any,
    ) -> LiveServer:
        """Start a server; ``wrap`` (an ASGI app → app) puts a fault injector in front of corral's app;
        ``plugins`` replaces the built-in plugins (without entry points)."""
        port = free_port()
        models = models or self.tmp_path / "models"
        config = load_config({}, host=HostURL("http", "127.0.0.1", port), models=models, **overrides)
        services = build_services(config, plugins=plugins or build_plugins(entry_points=False))
        app: Any = create_app(services)
        if wrap is not None:
            app = wrap(app)
        server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **uvicorn_limits(config)
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=base, timeout=120)
        self.running.append((server, thread, client))
        return LiveServer(base, config.models, services, client)

    def stop_all(self) -> None:
        for server, thread, client in self.running:
            client.close()
            server.should_exit = True
            thread.join(timeout=30)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[_Servers]:
    """A factory of live servers: ``servers.start(max_queue=1, ...)`` (config overrides)."""
    factory = _Servers(tmp_path)
    yield factory
    factory.stop_all()


@pytest.fixture
def live_server(servers: _Servers) -> LiveServer:
    """corral serving on 127.0.0.1:<free port> with an empty store in tmp_path; stops after the test."""
    return servers.start()


@pytest.fixture
def cli_live_server(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    """``live_server``, with the CLI (``corral.cli.main.main`` in this process) pointed at it through
    ``CORRAL_HOST`` (``OLLAMA_HOST`` unset)."""
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.setenv("CORRAL_HOST", live_server.base_url.removeprefix("http://"))
    return live_server
