"""The page under the server's security rules, in headless Chromium: the Content-Security-Policy is
enforced (no inline code runs), and with API keys on the page asks for one on a 401, keeps it in the
tab's memory only and sends it as a Bearer token on every request.

The server runs with real API keys (an admin key and an inference key); a recorder in front of the
app notes the Authorization header each request carried.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from corral.core.config import Secret
from tests.api.ui.ui_support import console_errors, open_page, row, settle, wait
from tests.conftest import LiveServer, _Servers
from tests.ops.ops_support import add_tiny_model

pytestmark = pytest.mark.integration

KEY = "corral-test-key-0123456789"
INFERENCE_KEY = "corral-test-inference-key"
_OPEN_PATHS = ("/", "/health", "/ready")


class RequireKey:
    """Records the Authorization header of every request the page makes, in front of the app; the
    server's own API keys (``CORRAL_API_KEYS``: an admin key and an inference key) refuse or admit."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path not in _OPEN_PATHS and not path.startswith("/ui"):
            self.seen.append((path, dict(scope["headers"]).get(b"authorization", b"").decode()))
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, RequireKey]]:
    guards: list[RequireKey] = []

    def wrap(app: Any) -> RequireKey:
        guards.append(RequireKey(app))
        return guards[0]

    servers = _Servers(tmp_path_factory.mktemp("ui-keys"))
    try:
        server = servers.start(wrap=wrap, api_keys=Secret(f"{KEY}:admin,{INFERENCE_KEY}"))
        server.client.headers["Authorization"] = f"Bearer {KEY}"
        add_tiny_model(server.client, tmp_path_factory.mktemp("ui-keys-models"), "tiny")
        yield server, guards[0]
    finally:
        servers.stop_all()


def _dialog_open(driver: WebDriver) -> bool:
    return driver.find_element(By.ID, "key-dialog").get_attribute("open") is not None


def _enter_key(driver: WebDriver, key: str) -> None:
    field = driver.find_element(By.ID, "key-input")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.ID, "key-ok").click()


def _answer_prompt_and_see_models(driver: WebDriver, key: str) -> None:
    wait(driver, _dialog_open, what="the key dialog")
    _enter_key(driver, key)
    wait(driver, lambda d: row(d, "models-body", "tiny:latest"), what="models listed with the key")


def test_inline_script_is_refused_by_the_policy(browser: WebDriver, ui_server: LiveServer) -> None:
    open_page(browser, ui_server)
    violations = browser.execute_async_script(
        """
        const done = arguments[0];
        const seen = [];
        document.addEventListener("securitypolicyviolation", (e) => seen.push(e.violatedDirective));
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.body.append(script);
        const img = document.createElement("img");
        img.src = "https://example.com/pixel.png";
        document.body.append(img);
        setTimeout(() => done(seen), 500);
        """
    )
    assert browser.execute_script("return window.inlineRan") is None
    assert any(v.startswith("script-src") for v in violations), violations
    assert any(v.startswith("img-src") for v in violations), violations


def test_page_asks_for_the_key_and_sends_it_as_bearer(
    browser: WebDriver, keyed: tuple[LiveServer, RequireKey]
) -> None:
    server, guard = keyed
    console_errors(browser)
    browser.get(f"{server.base_url}/ui")
    wait(browser, _dialog_open, what="the key dialog after a 401")
    assert (
        browser.find_element(By.ID, "key-message").text == "missing API key: send 'Authorization: Bearer KEY'"
    )

    _enter_key(browser, "wrong-key")
    wait(browser, _dialog_open, what="the key dialog again after a wrong key")
    assert browser.find_element(By.ID, "key-message").text == "invalid API key"
    _enter_key(browser, KEY)
    wait(browser, lambda d: row(d, "models-body", "tiny:latest"), what="models listed with the key")
    assert browser.find_element(By.ID, "key-state").text == "key set (this tab only)"

    # Every request after the key was accepted carried it.
    guard.seen.clear()
    settle(2.5)
    browser.find_element(By.ID, "chat-input").send_keys("hello")
    browser.find_element(By.ID, "chat-send").click()
    wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#chat-log .message.assistant .stats"), timeout=60
    )
    paths = {p for p, _ in guard.seen}
    assert {"/api/ps", "/metrics", "/api/chat"} <= paths, paths
    assert {auth for _, auth in guard.seen} == {f"Bearer {KEY}"}

    stored = browser.execute_script(
        "return [localStorage.length, sessionStorage.length, document.cookie, performance.getEntriesByType"
        "('navigation').length]"
    )
    assert stored[:3] == [0, 0, ""]
    errors = [e for e in console_errors(browser) if "401" not in e]
    assert errors == []

    # A reload forgets the key: it lived in the tab's memory only.
    browser.refresh()
    wait(browser, _dialog_open, what="the key dialog after a reload")


def test_cancel_stops_the_asking_until_the_key_button(
    browser: WebDriver, keyed: tuple[LiveServer, RequireKey]
) -> None:
    server, guard = keyed
    browser.get(f"{server.base_url}/ui")
    wait(browser, _dialog_open, what="the key dialog")
    browser.find_element(By.ID, "key-cancel").click()
    assert not _dialog_open(browser)
    settle(4.5)  # two polling rounds, each answered 401
    assert not _dialog_open(browser)
    assert sum(1 for p, _ in guard.seen if p == "/api/ps") >= 2
    assert row(browser, "models-body", "tiny:latest") is None

    browser.find_element(By.ID, "key-button").click()
    _answer_prompt_and_see_models(browser, KEY)


def test_a_key_without_the_admin_role_sees_why_a_pull_is_refused(
    browser: WebDriver, keyed: tuple[LiveServer, RequireKey]
) -> None:
    server, _ = keyed
    browser.get(f"{server.base_url}/ui")
    _answer_prompt_and_see_models(browser, INFERENCE_KEY)
    browser.find_element(By.ID, "pull-name").send_keys("gemma3:270m")
    browser.find_element(By.ID, "pull-button").click()
    text = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".pull.failed #pull-text").text)
    assert text == "pull gemma3:270m: this API key may not call /api/pull (needs the admin role)"
    assert not _dialog_open(browser)  # a 403 is not a reason to ask for another key
