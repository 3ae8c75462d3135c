"""Requests that match no route (404, 405) are observed like the others by ``corral serve``."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.serve_support import Serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Serve]:
    s = Serve(tmp_path, shutdown_timeout="60s")
    yield s
    s.close()


def test_ops_404_and_405_get_request_id_log_line_and_metrics(server: Serve) -> None:
    missing = server.client.get("/no/such/route", headers={"X-Request-ID": "lost-1"})
    assert (missing.status_code, missing.headers["x-request-id"]) == (404, "lost-1")
    wrong_method = server.client.delete("/api/tags")
    assert wrong_method.status_code == 405
    made_up = wrong_method.headers["x-request-id"]
    assert len(made_up) == 32
    ok = server.client.get("/api/tags", headers={"X-Request-ID": "found-1"})
    assert (ok.status_code, ok.headers["x-request-id"]) == (200, "found-1")  # one header, not two
    assert ok.headers.get_list("x-request-id") == ["found-1"]

    metrics = server.client.get("/metrics").text
    assert any('status="404"' in line and "/no/such/route" not in line for line in metrics.splitlines())
    assert any('status="405"' in line for line in metrics.splitlines())
    deadline = time.monotonic() + 5
    while "request_id=" + made_up not in server.log():
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)
    log = server.log()
    assert "method=GET path=/no/such/route status=404" in log and "request_id=lost-1" in log
    assert 'method=DELETE path=/api/tags status=405 model="" ' in log
    assert log.count("request_id=found-1") == 1  # the route-level middleware did not log it again


def test_ops_unmatched_route_refused_during_drain(server: Serve) -> None:
    # An upload whose body never finishes keeps the drain going while the test looks.
    with server.slow_upload():
        server.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while server.client.get("/ready").status_code != 503:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)
        refused = server.client.get("/no/such/route", headers={"X-Request-ID": "late-404"})
        assert (refused.status_code, refused.headers["x-request-id"]) == (503, "late-404")
        assert refused.json() == {"error": "server is shutting down"}
    assert server.wait(30) == 0, server.log()
