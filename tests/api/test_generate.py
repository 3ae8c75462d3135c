"""/api/generate, /api/chat and /api/ps over real HTTP with a tiny llama.cpp model."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer

METRICS = {
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
}
GREEDY = {"temperature": 0, "top_k": 1, "seed": 7}


def add_tiny(
    server: LiveServer,
    tmp_path: Path,
    name: str = "tiny",
    seed: int = 1,
    context_length: int = 512,
    **extra: Any,
) -> None:
    path = write_tiny_gguf(
        tmp_path / f"tiny-{seed}-{context_length}.gguf", seed=seed, context_length=context_length
    )
    data = path.read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert server.client.post(f"/api/blobs/{digest}", content=data).status_code in (200, 201)
    body = {
        "model": name,
        "files": {"tiny.gguf": digest},
        "stream": False,
        "template": builtin_template("chatml").template,
        **extra,
    }
    r = server.client.post("/api/create", json=body)
    assert r.status_code == 200, r.text


def lines(r: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(x) for x in r.text.splitlines() if x.strip()]


@pytest.fixture
def tiny(live_server: LiveServer, tmp_path: Path) -> LiveServer:
    add_tiny(live_server, tmp_path)
    return live_server


def test_generate_streams_ndjson_with_final_metrics(tiny: LiveServer) -> None:
    r = tiny.client.post(
        "/api/generate",
        json={"model": "tiny", "prompt": "hello world", "options": {**GREEDY, "num_predict": 8}},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    chunks = lines(r)
    assert all(c["model"] == "tiny" and c["created_at"].endswith("Z") for c in chunks)
    assert all(c["done"] is False and isinstance(c["response"], str) for c in chunks[:-1])
    final = chunks[-1]
    assert final["done"] is True and final["response"] == ""
    assert final["done_reason"] in ("length", "stop")
    assert set(final) >= METRICS
    assert final["eval_count"] <= 8
    assert isinstance(final["context"], list) and len(final["context"]) > final["eval_count"]


def test_generate_non_streaming_is_deterministic_and_context_round_trips(tiny: LiveServer) -> None:
    body = {"model": "tiny", "prompt": "the cat", "stream": False, "options": {**GREEDY, "num_predict": 6}}
    a = tiny.client.post("/api/generate", json=body).json()
    b = tiny.client.post("/api/generate", json=body).json()
    assert a["response"] == b["response"] and a["eval_count"] == 6 and a["done_reason"] == "length"
    assert METRICS - {"load_duration"} <= set(b)
    c = tiny.client.post("/api/generate", json={**body, "prompt": "and", "context": a["context"]}).json()
    assert c["prompt_eval_count"] > a["prompt_eval_count"]  # the old context was prepended


def test_raw_mode_has_no_context(tiny: LiveServer) -> None:
    r = tiny.client.post(
        "/api/generate",
        json={"model": "tiny", "prompt": "x", "raw": True, "stream": False, "options": {"num_predict": 2}},
    )
    assert r.status_code == 200 and "context" not in r.json()


def test_load_ps_and_unload(tiny: LiveServer) -> None:
    c = tiny.client
    r = c.post("/api/generate", json={"model": "tiny"})
    body = r.json()
    assert body["done"] is True and body["done_reason"] == "load" and body["response"] == ""
    ps = c.get("/api/ps").json()["models"]
    assert [m["name"] for m in ps] == ["tiny:latest"]
    assert ps[0]["size"] > 0 and ps[0]["size_vram"] == 0 and ps[0]["context_length"] > 0
    assert ps[0]["backend"]["name"] == "llamacpp"
    r = c.post("/api/chat", json={"model": "tiny", "messages": [], "keep_alive": 0})
    assert r.json()["done_reason"] == "unload"
    assert r.json()["message"] == {"role": "assistant", "content": ""}
    assert c.get("/api/ps").json() == {"models": []}


@pytest.mark.parametrize(
    ("keep_alive", "message"),
    [
        ("-1", 'time: missing unit in duration "-1"'),
        ("abc", 'time: invalid duration "abc"'),
        ({}, "Unsupported type: 'map[string]interface {}'"),
    ],
)
def test_keep_alive_errors(tiny: LiveServer, keep_alive: Any, message: str) -> None:
    r = tiny.client.post("/api/generate", json={"model": "tiny", "prompt": "x", "keep_alive": keep_alive})
    assert (r.status_code, r.json()) == (400, {"error": message})


def test_keep_alive_forms(tiny: LiveServer) -> None:
    c = tiny.client
    for value in ("5m", 30, "1h30m", -1, "-5m"):
        assert (
            c.post("/api/generate", json={"model": "tiny", "keep_alive": value}).json()["done_reason"]
            == "load"
        )
    expires = c.get("/api/ps").json()["models"][0]["expires_at"]
    assert expires.startswith("22")  # negative keep_alive: about 292 years ahead
    c.post("/api/generate", json={"model": "tiny", "keep_alive": "1s"})
    deadline = time.monotonic() + 10
    while c.get("/api/ps").json()["models"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert c.get("/api/ps").json() == {"models": []}


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/api/generate", {"model": ""}, 404, "model '' not found"),
        ("/api/generate", {"model": "nope", "prompt": "x"}, 404, "model 'nope' not found"),
        ("/api/chat", {"model": ""}, 400, "model is required"),
        ("/api/chat", {"model": "nope", "messages": []}, 404, "model 'nope' not found"),
        (
            "/api/generate",
            {"model": "tiny", "prompt": "x", "raw": True, "system": "s"},
            400,
            "raw mode does not support template, system, or context",
        ),
        (
            "/api/generate",
            {"model": "tiny", "prompt": "x", "top_logprobs": 21},
            400,
            "top_logprobs must be between 0 and 20",
        ),
        (
            "/api/generate",
            {"model": "tiny", "prompt": "x", "think": True},
            400,
            '"tiny" does not support thinking',
        ),
        (
            "/api/generate",
            {"model": "tiny", "prompt": "x", "think": "extreme"},
            400,
            'invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)',
        ),
        (
            "/api/generate",
            {"model": "tiny", "prompt": "x", "suffix": "y"},
            400,
            "registry.ollama.ai/library/tiny:latest does not support insert",
        ),
        (
            "/api/generate",
            {"model": "tiny", "prompt": "x", "images": ["aGk="]},
            400,
            "registry.ollama.ai/library/tiny:latest does not support vision",
        ),
        (
            "/api/chat",
            {
                "model": "tiny",
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "function", "function": {"name": "f"}}],
            },
            400,
            "registry.ollama.ai/library/tiny:latest does not support tools",
        ),
        (
            "/api/generate",
            {"model": "tiny", "prompt": "x", "options": {"temperature": "hot"}},
            400,
            'option "temperature" must be of type float32',
        ),
        ("/api/generate", {"model": "tiny", "prompt": "x", "options": {"num_ctx": -1}}, 400, None),
    ],
)
def test_request_errors(
    tiny: LiveServer, path: str, body: dict[str, Any], status: int, message: str | None
) -> None:
    r = tiny.client.post(path, json=body)
    assert r.status_code == status, r.text
    if message is not None:
        assert r.json() == {"error": message}
    else:
        assert "error" in r.json()


def test_chat_stream_and_non_stream(tiny: LiveServer) -> None:
    c = tiny.client
    body = {
        "model": "tiny",
        "messages": [{"role": "user", "content": "hi"}],
        "options": {**GREEDY, "num_predict": 5},
    }
    chunks = lines(c.post("/api/chat", json=body))
    assert all(ch["message"]["role"] == "assistant" for ch in chunks)
    assert chunks[-1]["done"] is True and chunks[-1]["message"]["content"] == ""
    assert "context" not in chunks[-1]
    streamed = "".join(ch["message"]["content"] for ch in chunks)
    whole = c.post("/api/chat", json={**body, "stream": False}).json()
    assert whole["message"]["content"] == streamed
    assert METRICS - {"load_duration"} <= set(whole)


def test_debug_render_only(tiny: LiveServer) -> None:
    r = tiny.client.post(
        "/api/chat",
        json={"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "_debug_render_only": True},
    )
    body = r.json()
    assert (
        body["_debug_info"]["rendered_template"] == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    assert tiny.client.get("/api/ps").json() == {"models": []}  # nothing was loaded


def test_stop_strings_cut_output(tiny: LiveServer) -> None:
    body = {
        "model": "tiny",
        "prompt": "the cat",
        "stream": False,
        "raw": True,
        "options": {**GREEDY, "num_predict": 12},
    }
    full = tiny.client.post("/api/generate", json=body).json()["response"]
    assert len(full) > 4
    stop = full[3:5]
    cut = tiny.client.post(
        "/api/generate", json={**body, "options": {**body["options"], "stop": [stop]}}
    ).json()
    assert cut["response"] == full[: full.index(stop)]
    assert cut["done_reason"] == "stop"


def test_logprobs(tiny: LiveServer) -> None:
    r = tiny.client.post(
        "/api/generate",
        json={
            "model": "tiny",
            "prompt": "x",
            "stream": False,
            "logprobs": True,
            "top_logprobs": 3,
            "options": {**GREEDY, "num_predict": 3},
        },
    )
    lps = r.json()["logprobs"]
    assert len(lps) == 3
    assert all(lp["logprob"] <= 0 and len(lp["top_logprobs"]) == 3 for lp in lps)


def test_eviction_with_max_loaded_models(servers: Any, tmp_path: Path) -> None:
    s = servers.start(max_loaded_models=1)
    add_tiny(s, tmp_path, "a", seed=1)
    add_tiny(s, tmp_path, "b", seed=2)
    s.client.post("/api/generate", json={"model": "a"})
    s.client.post("/api/generate", json={"model": "b"})
    assert [m["name"] for m in s.client.get("/api/ps").json()["models"]] == ["b:latest"]


def test_reload_on_num_ctx_change(tiny: LiveServer) -> None:
    c = tiny.client
    c.post("/api/generate", json={"model": "tiny", "options": {"num_ctx": 256}})
    assert c.get("/api/ps").json()["models"][0]["context_length"] == 256
    c.post("/api/generate", json={"model": "tiny", "options": {"num_ctx": 512}})
    ps = c.get("/api/ps").json()["models"]
    assert [m["context_length"] for m in ps] == [512]


# Long enough that it is still running when the test acts: only a disconnect ends it early.
LONG = {"model": "tiny", "prompt": "go", "options": {"num_predict": 100000, "num_ctx": 65536}}


def test_queue_cap_answers_503(servers: Any, tmp_path: Path) -> None:
    s = servers.start(max_queue=1)
    add_tiny(s, tmp_path, context_length=65536)
    waiter_status: list[int] = []

    def waiter() -> None:
        waiter_status.append(
            httpx.post(
                s.base_url + "/api/generate",
                timeout=60,
                json={"model": "tiny", "prompt": "x", "stream": False, "options": {"num_predict": 1}},
            ).status_code
        )

    with httpx.stream("POST", s.base_url + "/api/generate", timeout=60, json=LONG) as r:
        next(r.iter_lines())  # the runner is busy now
        t = threading.Thread(target=waiter, daemon=True)
        t.start()
        deadline = time.monotonic() + 20
        while s.services.scheduler.pending < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert s.services.scheduler.pending == 1
        r3 = s.client.post("/api/generate", json={"model": "tiny", "prompt": "x"}, timeout=30)
        assert r3.status_code == 503
        assert r3.json() == {"error": "server busy, please try again.  maximum pending requests exceeded"}
    # Closing the long stream cancels it; the queued request is then served.
    t.join(30)
    assert waiter_status == [200]


def test_disconnect_cancels_generation(live_server: LiveServer, tmp_path: Path) -> None:
    tiny = live_server
    add_tiny(tiny, tmp_path, context_length=65536)
    with httpx.stream("POST", tiny.base_url + "/api/generate", timeout=30, json=LONG) as r:
        next(r.iter_lines())
    # The runner is free again promptly: a second request completes without waiting for the first.
    t0 = time.monotonic()
    r2 = tiny.client.post(
        "/api/generate",
        json={
            "model": "tiny",
            "prompt": "x",
            "stream": False,
            "options": {"num_predict": 2, "num_ctx": 65536},
        },
        timeout=20,
    )
    assert r2.status_code == 200 and r2.json()["eval_count"] == 2
    assert time.monotonic() - t0 < 10
    loaded = tiny.services.scheduler.running()
    assert loaded and loaded[0].active == 0
