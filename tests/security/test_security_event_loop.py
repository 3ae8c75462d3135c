"""One big chat body does not stall other clients (SECURITY.md row 25; issue 17 item 4).

While a stream runs, a chat of 3,000 messages of 1 KB each is submitted: /health keeps answering
in under 200 ms and the running stream's largest gap between tokens stays under 1 s.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from corral.testing import write_tiny_gguf
from tests.conftest import _Servers
from tests.security.security_support import create_tiny

pytestmark = pytest.mark.integration


def test_big_chat_body_does_not_block_the_loop(servers: _Servers, tmp_path: Path) -> None:
    live = servers.start(num_parallel=2)
    create_tiny(
        live.client, "tiny", write_tiny_gguf(tmp_path / "t.gguf", seed=2, context_length=16384).read_bytes()
    )
    sentence = "the quick brown fox jumps over the lazy dog and keeps running " * 16
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": sentence[:1024]} for i in range(3000)
    ]
    # The same num_ctx as the stream: both share the loaded model (a different one would wait for a reload).
    big = {
        "model": "tiny",
        "messages": messages,
        "stream": False,
        "options": {"num_predict": 1, "num_ctx": 4096},
    }
    holder = {
        "model": "tiny",
        "prompt": "hold the slot",
        "options": {"num_predict": 100000, "num_ctx": 4096, "seed": 1},
    }
    stamps: list[float] = []
    big_done: list[httpx.Response] = []

    with (
        httpx.Client(base_url=live.base_url, timeout=120) as c,
        c.stream("POST", "/api/generate", json=holder) as r,
    ):
        lines = r.iter_lines()
        next(lines)

        def send_big() -> None:
            with httpx.Client(base_url=live.base_url, timeout=120) as other:
                big_done.append(other.post("/api/chat", json=big))

        sender = threading.Thread(target=send_big)
        sender.start()
        health: list[float] = []
        probe = httpx.Client(base_url=live.base_url, timeout=5)
        watching = True

        def read_stream() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the stream is closed under it at the end
                for line in lines:
                    stamps.append(time.monotonic())
                    if json.loads(line)["done"] or not watching:
                        return

        reader = threading.Thread(target=read_stream, daemon=True)
        reader.start()
        while sender.is_alive():
            began = time.monotonic()
            assert probe.get("/health").status_code == 200
            health.append(time.monotonic() - began)
            time.sleep(0.05)
        watching = False
        probe.close()
    reader.join(10)
    assert big_done and big_done[0].status_code == 200, big_done[0].text if big_done else "no answer"
    assert big_done[0].json()["prompt_eval_count"] <= 4096  # truncated to the context
    assert len(health) >= 3
    assert max(health) < 0.2, f"/health took {max(health):.3f}s"
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert gaps and max(gaps) < 1.0, f"largest inter-token gap {max(gaps):.2f}s"
