"""Shared fixtures: a real corral server on a free loopback port, over a temporary store."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from corral.api.app import create_app
from corral.core.config import HostURL, load_config
from corral.core.services import Services, build_services
from corral.plugins.manager import build_plugins


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    models: Path
    services: Services
    client: httpx.Client


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """corral serving on 127.0.0.1:<free port> with an empty store in tmp_path; stops after the test."""
    port = free_port()
    config = load_config({}, host=HostURL("http", "127.0.0.1", port), models=tmp_path / "models")
    services = build_services(config, plugins=build_plugins(entry_points=False))
    app = create_app(services)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=60) as client:
        yield LiveServer(base, config.models, services, client)
    server.should_exit = True
    thread.join(timeout=15)
