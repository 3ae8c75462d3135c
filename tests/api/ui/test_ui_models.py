"""The models and running panes in headless Chromium: details and backend of each model, a pull with a
visible progress bar, delete with confirmation, the keep-alive countdown and unload."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.api.ui.ui_support import console_errors, open_page, row, screenshot, settle, wait
from tests.conftest import LiveServer

pytestmark = pytest.mark.integration

# Records every change of the pull progress bar: [value, max, whether the bar is on screen].
_WATCH_PROGRESS = """
window.progressSeen = [];
const bar = document.getElementById("pull-progress");
new MutationObserver(() => {
  window.progressSeen.push([bar.value, bar.max, bar.getBoundingClientRect().height > 0]);
}).observe(bar, { attributes: true });
"""


def test_models_show_details_and_backend(browser: WebDriver, ui_server: LiveServer) -> None:
    open_page(browser, ui_server)
    tiny = row(browser, "models-body", "tiny:latest")
    assert tiny is not None
    cells = [c.text for c in tiny.find_elements(By.TAG_NAME, "td")]
    assert cells[0] == "tiny:latest"
    assert re.fullmatch(r"\d+ KB", cells[1])
    assert cells[2:5] == ["llama", "137K", "F16"]
    show = ui_server.client.post("/api/show", json={"model": "tiny"}).json()
    backend = tiny.find_element(By.CSS_SELECTOR, ".tag").text
    assert backend == show["backend"]["name"]
    assert show["backend"]["reason"] in cells[5]
    assert console_errors(browser) == []


def test_pull_shows_a_progress_bar_then_lists_the_model(browser: WebDriver, ui_server: LiveServer) -> None:
    open_page(browser, ui_server)
    browser.execute_script(_WATCH_PROGRESS)
    browser.find_element(By.ID, "pull-name").send_keys("gemma3:270m")
    browser.find_element(By.ID, "pull-button").click()
    mid = wait(
        browser,
        lambda d: any(0 < v < m for v, m, _ in d.execute_script("return window.progressSeen")),
        timeout=120,
        what="a progress value between 0 and the total",
    )
    assert mid
    screenshot(browser, "pull-progress.png")
    gemma = wait(browser, lambda d: row(d, "models-body", "gemma3:270m"), timeout=300, what="gemma3 listed")
    seen = browser.execute_script("return window.progressSeen")
    partial = [(v, m) for v, m, visible in seen if 0 < v < m and visible]
    assert partial, seen
    assert max(m for _, m in partial) > 250_000_000  # the weights' layer, in bytes
    assert browser.find_element(By.ID, "pull-text").text == "success"
    bar = browser.find_element(By.ID, "pull-progress")
    assert bar.get_attribute("value") == bar.get_attribute("max")
    cells = [c.text for c in gemma.find_elements(By.TAG_NAME, "td")]
    assert cells[2:5] == ["gemma3", "268.10M", "Q4_K_M"]
    assert "gemma3:270m" in [m["name"] for m in ui_server.client.get("/api/tags").json()["models"]]
    assert "gemma3:270m" in browser.find_element(By.ID, "chat-model").text
    screenshot(browser, "models.png")


def test_failed_pull_says_why(browser: WebDriver, ui_server: LiveServer) -> None:
    open_page(browser, ui_server)
    browser.find_element(By.ID, "pull-name").send_keys("no/such:model?")
    browser.find_element(By.ID, "pull-button").click()
    text = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".pull.failed #pull-text").text)
    assert text.startswith("pull no/such:model?: ")
    assert "invalid" in text


def test_delete_asks_first(browser: WebDriver, ui_server: LiveServer) -> None:
    c = ui_server.client
    assert c.post("/api/copy", json={"source": "tiny", "destination": "doomed"}).status_code == 200
    open_page(browser, ui_server, "doomed:latest")

    def ask() -> None:
        doomed = row(browser, "models-body", "doomed:latest")
        assert doomed is not None
        doomed.find_element(By.CSS_SELECTOR, "[data-action=delete]").click()
        wait(browser, lambda d: d.find_element(By.ID, "confirm-dialog").get_attribute("open") is not None)
        assert "doomed:latest" in browser.find_element(By.ID, "confirm-text").text

    ask()
    browser.find_element(By.ID, "confirm-cancel").click()
    settle(0.5)
    assert row(browser, "models-body", "doomed:latest") is not None
    assert "doomed:latest" in [m["name"] for m in c.get("/api/tags").json()["models"]]
    ask()
    browser.find_element(By.ID, "confirm-ok").click()
    wait(browser, lambda d: row(d, "models-body", "doomed:latest") is None, what="doomed gone from the table")
    assert "doomed:latest" not in [m["name"] for m in c.get("/api/tags").json()["models"]]
    assert row(browser, "models-body", "tiny:latest") is not None  # its blobs were shared with tiny
    assert c.post("/api/show", json={"model": "tiny"}).status_code == 200


def test_running_model_counts_down_and_unloads(browser: WebDriver, ui_server: LiveServer) -> None:
    c = ui_server.client
    r = c.post("/api/generate", json={"model": "tiny", "prompt": "hi", "keep_alive": "10m", "stream": False})
    assert r.status_code == 200
    open_page(browser, ui_server)
    running = wait(browser, lambda d: row(d, "running-body", "tiny:latest"), what="tiny in the running table")
    countdown = running.find_element(By.CSS_SELECTOR, ".countdown")
    first = countdown.text
    assert re.fullmatch(r"(9|10):\d\d", first), first
    settle(2.2)
    later = countdown.text
    as_seconds = [int(m) * 60 + int(s) for m, s in (t.split(":") for t in (first, later))]
    assert 1 <= as_seconds[0] - as_seconds[1] <= 4, (first, later)
    total = c.get("/api/ps").json()["models"][0]["slots"]["total"]
    assert running.find_element(By.CSS_SELECTOR, "[data-cell=requests]").text == f"0 of {total} slots in use"
    expected_backend = c.get("/api/ps").json()["models"][0]["backend"]["name"]
    assert running.find_element(By.CSS_SELECTOR, ".tag").text == expected_backend

    screenshot(browser, "models-running.png")

    running.find_element(By.CSS_SELECTOR, "[data-action=unload]").click()
    wait(browser, lambda d: row(d, "running-body", "tiny:latest") is None, what="tiny gone from running")
    assert c.get("/api/ps").json()["models"] == []
    assert browser.find_element(By.ID, "running-empty").is_displayed()
    assert console_errors(browser) == []
