"""Helpers for the browser tests: a server holding tiny models, waiting on the page, screenshots."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.api.ui.conftest import artifacts_dir
from tests.conftest import LiveServer
from tests.ops.ops_support import add_tiny_model

__all__ = [
    "add_long_model",
    "assistant_bubbles",
    "console_errors",
    "metric_total",
    "open_page",
    "row",
    "screenshot",
    "wait",
]

T = TypeVar("T")


def wait(driver: WebDriver, condition: Callable[[WebDriver], T], timeout: float = 30, what: str = "") -> T:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    result: T = WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition, message=what)
    return result


def open_page(driver: WebDriver, server: LiveServer, expect_model: str = "tiny:latest") -> None:
    """Load /ui and wait until the models table shows ``expect_model`` (console log emptied first)."""
    console_errors(driver)
    driver.get(f"{server.base_url}/ui")
    wait(driver, lambda d: row(d, "models-body", expect_model), what=f"{expect_model} in the models table")


def row(driver: WebDriver, table_body: str, model: str) -> WebElement | None:
    """The row of ``model`` in ``#<table_body>``, or None."""
    found = driver.find_elements(By.CSS_SELECTOR, f'#{table_body} tr[data-model="{model}"]')
    return found[0] if found else None


def assistant_bubbles(driver: WebDriver) -> list[WebElement]:
    """The assistant's answers in the chat log, oldest first."""
    return driver.find_elements(By.CSS_SELECTOR, "#chat-log .message.assistant")


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save a PNG of the page as a test artefact; returns its path."""
    path = artifacts_dir() / name
    assert driver.save_screenshot(str(path)), path
    return path


def console_errors(driver: WebDriver) -> list[str]:
    """Messages the page logged at SEVERE since the last call (uncaught errors, failed loads, CSP)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def metric_total(client: httpx.Client, name: str) -> float:
    """Sum of every series of ``name`` on /metrics."""
    text = client.get("/metrics").text
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return sum(float(v) for v in pattern.findall(text))


def add_long_model(client: httpx.Client, workdir: Path, name: str = "tiny-long") -> None:
    """A tiny model whose answers run for seconds: a 32k context, no token cap, greedy decoding.

    Its random weights never pick the end token greedily in the first thousands of steps, so a stream
    is still running when the test presses Stop.
    """
    add_tiny_model(client, workdir, "tiny-long-base", context_length=32768)
    body: dict[str, Any] = {
        "model": name,
        "from": "tiny-long-base",
        "parameters": {"num_ctx": 32768, "num_predict": -1, "temperature": 0},
        "stream": False,
    }
    r = client.post("/api/create", json=body)
    assert r.status_code == 200, r.text
    assert client.request("DELETE", "/api/delete", json={"model": "tiny-long-base"}).status_code == 200


def settle(seconds: float) -> None:
    """Let the page run (poll intervals, countdown ticks) for ``seconds``."""
    time.sleep(seconds)
