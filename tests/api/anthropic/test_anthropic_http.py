"""/v1/messages over HTTP, what the SDK suites do not reach: browser preflight for Anthropic's headers."""

from __future__ import annotations

from tests.conftest import LiveServer

WANTED = ("x-api-key", "anthropic-version", "anthropic-dangerous-direct-browser-access")


def test_browser_preflight_allows_anthropic_headers(live_server: LiveServer) -> None:
    headers = {
        "Origin": "http://localhost:3000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": ",".join(WANTED),
    }
    r = live_server.client.options("/v1/messages", headers=headers)
    assert r.status_code in (200, 204), r.text
    allowed = {h.strip() for h in r.headers["access-control-allow-headers"].lower().split(",")}
    assert set(WANTED) <= allowed
