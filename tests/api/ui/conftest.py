"""A real headless Chromium (Debian's chromium + chromium-driver, driven by selenium) for the /ui tests.

Nothing is downloaded: the browser and the driver are the system's. Without them the browser tests
skip on a developer machine and fail under ``CORRAL_CI=1``, where .ci/run installs both.
Screenshots go to ``$CORRAL_TEST_ARTIFACTS/ui`` (default ``test-artifacts/ui`` in the checkout).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, _Servers

CHROMIUM = os.environ.get("CORRAL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CORRAL_CHROMEDRIVER", "/usr/bin/chromedriver")

_FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root in CI containers, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1440,1080",
    "--force-device-scale-factor=1",
)


def artifacts_dir() -> Path:
    """Where screenshots are written (created on demand)."""
    root = Path(os.environ.get("CORRAL_TEST_ARTIFACTS", Path(__file__).parents[3] / "test-artifacts"))
    path = root / "ui"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A selenium Chrome WebDriver on the system Chromium with a fresh profile; closed after the module."""
    problem = _missing()
    if problem:
        if os.environ.get("CORRAL_CI") == "1":
            pytest.fail(f"browser tests cannot run: {problem}")
        pytest.skip(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Selenium Manager would fetch a driver when it cannot find one; both paths are given, and offline
    # mode makes sure it never goes to the network.
    os.environ["SE_OFFLINE"] = "true"
    profile = tempfile.mkdtemp(prefix="corral-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in _FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def serving_tiny_models(tmp_path_factory: pytest.TempPathFactory, **overrides: Any) -> Iterator[LiveServer]:
    """A corral (config ``overrides``) holding ``tiny`` (chatml) and ``tiny-long`` (answers for seconds)."""
    from tests.api.ui.ui_support import add_long_model
    from tests.ops.ops_support import add_tiny_model

    servers = _Servers(tmp_path_factory.mktemp("ui"))
    try:
        server = servers.start(**overrides)
        work = tmp_path_factory.mktemp("ui-models")
        add_tiny_model(server.client, work, "tiny")
        add_long_model(server.client, work)
        yield server
    finally:
        servers.stop_all()


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """:func:`serving_tiny_models` with the default settings, one per test module."""
    with serving_tiny_models(tmp_path_factory) as server:
        yield server
