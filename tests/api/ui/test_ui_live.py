"""The live charts and request counts in headless Chromium, driven by real traffic: two streams on a
model with one slot (``num_parallel=1``) put one request in the queue; the page shows it from /metrics."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.api.ui.conftest import serving_tiny_models
from tests.api.ui.ui_support import console_errors, metric_total, open_page, row, screenshot, wait
from tests.conftest import LiveServer

pytestmark = pytest.mark.integration

# Records every value shown next to a chart's caption.
_WATCH_OUTPUTS = """
window.shown = { "now-tps": [], "now-queue": [], "now-ttft": [] };
for (const id of Object.keys(window.shown)) {
  const out = document.getElementById(id);
  new MutationObserver(() => window.shown[id].push(out.textContent)).observe(out, { childList: true });
}
"""

# Pixels drawn between the chart's top grid line and just above its baseline (charts.js: 16 px top
# padding, 6 px bottom, a 2 px line): grid lines and labels are the same whatever the data; a line
# there means a value above zero.
_INK_ABOVE_BASELINE = """
const canvas = document.getElementById(arguments[0]);
const ratio = window.devicePixelRatio || 1;
const top = Math.round(16 * ratio);
const height = canvas.height - top - Math.round(12 * ratio);
const { data } = canvas.getContext("2d").getImageData(0, top, canvas.width, height);
let ink = 0;
for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink += 1;
return ink;
"""


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The tiny models on a server with one slot per model, so a second request waits."""
    with serving_tiny_models(tmp_path_factory, num_parallel=1) as server:
        yield server


class _Stream:
    """A chat stream over HTTP that holds its connection open until ``close()``."""

    def __init__(self, server: LiveServer, model: str) -> None:
        self.started = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(server, model), daemon=True)
        self.thread.start()

    def _run(self, server: LiveServer, model: str) -> None:
        body = {"model": model, "messages": [{"role": "user", "content": "go on"}]}
        with server.client.stream("POST", "/api/chat", json=body) as r:
            for line in r.iter_lines():
                assert "error" not in json.loads(line)
                self.started.set()
                if self.stop.is_set():
                    break

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


@pytest.fixture
def two_streams(ui_server: LiveServer) -> Iterator[list[_Stream]]:
    streams: list[_Stream] = []
    yield streams
    for s in streams:
        s.close()


def test_queue_ttft_and_tokens_per_second_follow_the_traffic(
    browser: WebDriver, ui_server: LiveServer, two_streams: list[_Stream]
) -> None:
    c = ui_server.client
    open_page(browser, ui_server)
    browser.execute_script(_WATCH_OUTPUTS)
    wait(browser, lambda d: d.find_element(By.ID, "now-queue").text == "0", what="a first queue point")
    flat = {c: browser.execute_script(_INK_ABOVE_BASELINE, c) for c in ("chart-queue", "chart-tps")}

    two_streams.extend(_Stream(ui_server, "tiny-long") for _ in range(2))
    assert two_streams[0].started.wait(60) or two_streams[1].started.wait(60)
    wait(browser, lambda _: metric_total(c, "corral_requests_waiting") == 1, what="one request queued")
    wait(browser, lambda d: d.find_element(By.ID, "now-queue").text == "1", what="queue depth 1 on the page")
    running = wait(browser, lambda d: row(d, "running-body", "tiny-long:latest"))
    wait(
        browser,
        lambda _: (
            running.find_element(By.CSS_SELECTOR, "[data-cell=requests]").text
            == "1 of 1 slots in use, 1 waiting"
        ),
    )
    assert running.find_element(By.CSS_SELECTOR, ".countdown").text == "in use"
    wait(browser, lambda d: d.find_element(By.ID, "now-ttft").text.endswith("ms"), what="a TTFT point")
    assert browser.execute_script(_INK_ABOVE_BASELINE, "chart-queue") > flat["chart-queue"]
    screenshot(browser, "live-queue.png")

    for stream in two_streams:
        stream.close()  # the first gives its slot to the second, which then goes too
    two_streams.clear()
    wait(browser, lambda d: d.find_element(By.ID, "now-queue").text == "0", what="queue empty again")
    # Generated tokens are counted when a generation ends (stopped ones are not counted at all: their
    # last chunk carries no eval_count); the page turns the counter's growth into a rate.
    r = c.post(
        "/api/chat", json={"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stream": False}
    )
    assert r.status_code == 200 and r.json()["eval_count"] > 0
    wait(
        browser,
        lambda d: any(float(v or 0) > 0 for v in d.execute_script("return window.shown['now-tps']")),
        what="tokens/s above zero",
    )
    assert browser.execute_script(_INK_ABOVE_BASELINE, "chart-tps") > flat["chart-tps"]
    assert console_errors(browser) == []
