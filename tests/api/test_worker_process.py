"""Every loaded model runs in a worker process: a dead worker fails that model, not the server.

All through the HTTP API with ollama-python and the openai SDK against a live server (the default
engine, ``CORRAL_ENGINE=process``), with real llama.cpp workers and real signals.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import ollama
import openai
import pytest

from corral.core.store.manifest import Manifest, ModelConfig
from corral.core.worker import WorkerRunner
from corral.plugins.manager import BUILTIN_PLUGINS, build_plugins
from corral.testing.faults import FAULT_KEY, FAULTS_PLUGIN
from corral.testing.processes import child_pids
from corral.testing.tiny_gguf import write_tiny_gguf
from corral.testing.vocab import build_vocab
from tests.api.test_management import create_tiny
from tests.conftest import LiveServer, _Servers

TERMINATED = "llama runner process has terminated: "


def _create(live: LiveServer, name: str, path: Path) -> None:
    create_tiny(live.client, name, path.read_bytes())


def _worker(live: LiveServer, name: str) -> WorkerRunner:
    for loaded in live.services.scheduler.running():
        if loaded.local.name.display_shortest() in (name, f"{name}:latest"):
            assert isinstance(loaded.runner, WorkerRunner)
            return loaded.runner
    raise AssertionError(f"{name} is not loaded")


def _wait(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _running(live: LiveServer) -> list[str]:
    return [m["name"] for m in live.client.get("/api/ps").json()["models"]]


@pytest.fixture
def tiny(servers: _Servers, tmp_path: Path) -> LiveServer:
    live = servers.start()
    _create(live, "tiny", write_tiny_gguf(tmp_path / "tiny.gguf", seed=3))
    return live


def test_model_runs_in_its_own_process_and_unload_ends_it(tiny: LiveServer) -> None:
    client = ollama.Client(host=tiny.base_url)
    out = client.generate(model="tiny", prompt="hello", options={"num_predict": 4, "temperature": 0})
    assert out.done and out.eval_count == 4
    runner = _worker(tiny, "tiny")
    assert runner.pid != os.getpid()
    os.kill(runner.pid, 0)  # alive
    ps = tiny.client.get("/api/ps").json()["models"][0]
    assert ps["size"] >= 10 << 20  # the worker's resident memory, not the tiny weights' estimate
    client.generate(model="tiny", prompt="", keep_alive=0)
    _wait(lambda: runner.process.proc.poll() is not None)
    assert runner.process.proc.returncode == 0
    assert _running(tiny) == []


def test_kill_9_mid_stream_ends_the_stream_and_the_next_request_loads_again(tiny: LiveServer) -> None:
    client = ollama.Client(host=tiny.base_url)
    stream = client.generate(model="tiny", prompt="hello", stream=True, options={"num_predict": 100_000})
    first = next(iter(stream))
    assert not first.done
    runner = _worker(tiny, "tiny")
    os.kill(runner.pid, signal.SIGKILL)
    with pytest.raises(ollama.ResponseError) as err:
        for _ in stream:
            pass
    assert str(err.value.error) == TERMINATED + "signal: killed"
    assert tiny.client.get("/health").status_code == 200
    _wait(lambda: _running(tiny) == [])  # the dead model is unloaded

    again = client.generate(model="tiny", prompt="hello", options={"num_predict": 3})
    assert again.done and again.eval_count == 3
    assert _worker(tiny, "tiny").pid != runner.pid


def test_requests_queued_on_a_dead_worker_get_the_error(servers: _Servers, tmp_path: Path) -> None:
    live = servers.start(num_parallel=1)
    _create(live, "tiny", write_tiny_gguf(tmp_path / "tiny.gguf", seed=3))
    client = ollama.Client(host=live.base_url)
    stream = client.generate(model="tiny", prompt="hello", stream=True, options={"num_predict": 100_000})
    next(iter(stream))
    queued: dict[str, Any] = {}

    def second() -> None:
        r = httpx.post(
            f"{live.base_url}/api/generate",
            json={"model": "tiny", "prompt": "hi", "stream": False, "options": {"num_predict": 2}},
            timeout=60,
        )
        queued["status"], queued["body"] = r.status_code, r.json()

    thread = threading.Thread(target=second)
    thread.start()

    def waiting() -> bool:
        models = live.client.get("/api/ps").json()["models"]
        queued["ps"] = models
        return bool(models) and models[0]["slots"]["waiting"] == 1

    try:
        _wait(waiting, 30)
    except AssertionError:
        raise AssertionError(f"the second request never queued: {queued}") from None
    os.kill(_worker(live, "tiny").pid, signal.SIGKILL)
    with pytest.raises(ollama.ResponseError, match="llama runner process has terminated"):
        for _ in stream:
            pass
    thread.join(30)
    assert queued["status"] == 500
    assert queued["body"] == {"error": TERMINATED + "signal: killed"}


def test_a_native_abort_fails_the_request_and_other_models_keep_serving(
    tiny: LiveServer, tmp_path: Path
) -> None:
    """A GGUF that passes the header parse and corral's model checks but aborts llama.cpp: a
    SentencePiece vocabulary without byte-fallback tokens. Tokenizing a character it lacks throws
    ``std::out_of_range`` through llama.cpp's C API, which ends the process (SIGABRT)."""
    tokens = [t if not t.startswith("<0x") else "<byte" + t[3:] for t in build_vocab().tokens]
    crafted = write_tiny_gguf(tmp_path / "nobytes.gguf", extra_metadata={"tokenizer.ggml.tokens": tokens})
    _create(tiny, "nobytes", crafted)
    sdk = openai.OpenAI(base_url=f"{tiny.base_url}/v1", api_key="unused", max_retries=0)
    sdk.completions.create(model="tiny", prompt="hello", max_tokens=2)
    tiny_pid = _worker(tiny, "tiny").pid

    r = tiny.client.post("/api/generate", json={"model": "nobytes", "prompt": "plain ascii", "stream": False})
    assert r.status_code == 200  # the crafted model itself loads and serves ASCII prompts
    r = tiny.client.post("/api/generate", json={"model": "nobytes", "prompt": "price: 5 €", "stream": False})
    assert r.status_code == 500
    error = r.json()["error"]
    assert error.startswith(TERMINATED + "signal: aborted")
    assert "std::out_of_range" in error

    assert tiny.client.get("/health").status_code == 200
    answer = sdk.completions.create(model="tiny", prompt="hello", max_tokens=2)
    assert answer.choices[0].text is not None
    assert _worker(tiny, "tiny").pid == tiny_pid  # the other model's worker was never touched
    _wait(lambda: "nobytes:latest" not in _running(tiny))


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("abort-on-load", TERMINATED + "signal: aborted"),
        (
            "exit-on-load",
            TERMINATED + "exit status 3: error loading model: the fault backend was told to exit",
        ),
        ("raise-on-load", "fault backend: raise-on-load"),
    ],
)
def test_a_worker_that_dies_while_loading_is_a_load_error(
    servers: _Servers, tmp_path: Path, mode: str, expected: str
) -> None:
    live = servers.start(
        plugins=build_plugins(builtins=(*BUILTIN_PLUGINS, FAULTS_PLUGIN), entry_points=False)
    )
    _create(live, "broken", write_tiny_gguf(tmp_path / "broken.gguf", extra_metadata={FAULT_KEY: mode}))
    _create(live, "tiny", write_tiny_gguf(tmp_path / "tiny.gguf"))
    with pytest.raises(ollama.ResponseError) as err:
        ollama.Client(host=live.base_url).generate(model="broken", prompt="hi")
    assert err.value.status_code == 500
    assert str(err.value.error) == expected
    assert live.client.get("/health").status_code == 200
    assert _running(live) == []
    out = ollama.Client(host=live.base_url).generate(model="tiny", prompt="hi", options={"num_predict": 2})
    assert out.eval_count == 2


def test_a_load_that_makes_no_progress_is_killed_after_the_load_timeout(
    servers: _Servers, tmp_path: Path
) -> None:
    plugins = build_plugins(builtins=(*BUILTIN_PLUGINS, FAULTS_PLUGIN), entry_points=False)
    live = servers.start(plugins=plugins, load_timeout_ns=2 * 10**9)
    _create(
        live, "stuck", write_tiny_gguf(tmp_path / "stuck.gguf", extra_metadata={FAULT_KEY: "hang-on-load"})
    )
    before = child_pids(os.getpid())
    started = time.monotonic()
    r = live.client.post("/api/generate", json={"model": "stuck", "prompt": "hi", "stream": False})
    assert r.status_code == 500
    assert r.json() == {"error": "timed out waiting for llama runner to start - progress 0.00 - "}
    assert 2 <= time.monotonic() - started < 15
    assert child_pids(os.getpid()) == before  # the stuck worker was killed and reaped
    assert _running(live) == []


def test_inprocess_engine_keeps_runners_in_the_server(servers: _Servers, tmp_path: Path) -> None:
    live = servers.start(engine="inprocess")
    _create(live, "tiny", write_tiny_gguf(tmp_path / "tiny.gguf"))
    out = ollama.Client(host=live.base_url).generate(model="tiny", prompt="hi", options={"num_predict": 2})
    assert out.eval_count == 2
    (loaded,) = live.services.scheduler.running()
    assert not isinstance(loaded.runner, WorkerRunner)


def test_a_stored_model_that_never_went_through_create_is_validated_at_load(
    tiny: LiveServer, tmp_path: Path
) -> None:
    """A store written by another program (or a pull) holds a model whose EOS id is outside its
    vocabulary: the load refuses it with the create-time message, before any worker starts."""
    bad = write_tiny_gguf(tmp_path / "bad.gguf", extra_metadata={"tokenizer.ggml.eos_token_id": 99_999})
    store = tiny.services.store
    layer = store.add_layer(bad.read_bytes(), "application/vnd.ollama.image.model")
    config = store.add_config(ModelConfig(model_family="llama", model_families=["llama"], file_type="F16"))
    store.write_manifest("elsewhere", Manifest(config=config, layers=[layer]))
    assert "elsewhere:latest" in [m["name"] for m in tiny.client.get("/api/tags").json()["models"]]

    r = tiny.client.post("/api/generate", json={"model": "elsewhere", "prompt": "hi", "stream": False})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid model: tokenizer.ggml.eos_token_id 99999 is not a token id"}
    assert _running(tiny) == []


def test_kill_9_mid_stream_on_v1_ends_with_an_openai_error(tiny: LiveServer) -> None:
    sdk = openai.OpenAI(base_url=f"{tiny.base_url}/v1", api_key="unused", max_retries=0)
    stream = sdk.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "hello"}], max_tokens=100_000, stream=True
    )
    next(iter(stream))
    os.kill(_worker(tiny, "tiny").pid, signal.SIGKILL)
    with pytest.raises(openai.APIError, match="llama runner process has terminated: signal: killed"):
        for _ in stream:
            pass
    again = sdk.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=2
    )
    assert again.usage is not None and again.usage.completion_tokens == 2
