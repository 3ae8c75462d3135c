"""The batched engine through the HTTP API on the tiny model (llama.cpp): slots in /api/ps, more
requests than slots, OpenAI n > 1 sharing the prompt's KV, context shift, shift and truncate off."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import openai
import pytest

from tests.backends.cpu_ref.test_cpuref_server import create_tiny
from tests.conftest import LiveServer

pytest.importorskip("llama_cpp", reason="the llamacpp extra is not installed")

GREEDY = {"temperature": 0, "seed": -1}


def generate(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post("/api/generate", json={"model": "tiny", "stream": False, **body})


def test_ps_reports_slots_and_the_modelfile_sets_them(live_server: LiveServer, tmp_path: Path) -> None:
    client = live_server.client
    create_tiny(client, tmp_path, num_parallel=2)
    r = generate(client, prompt="hello", options={**GREEDY, "num_predict": 3})
    assert r.status_code == 200, r.text
    (model,) = client.get("/api/ps").json()["models"]
    assert model["slots"] == {"total": 2, "in_use": 0, "waiting": 0}


def test_sixteen_streams_on_four_slots_all_finish(live_server: LiveServer, tmp_path: Path) -> None:
    create_tiny(live_server.client, tmp_path, num_parallel=4)

    async def one(client: httpx.AsyncClient, i: int) -> dict[str, object]:
        body = {"model": "tiny", "prompt": f"hello {i}", "options": {**GREEDY, "num_predict": 40}}
        async with client.stream("POST", "/api/generate", json=body) as r:
            assert r.status_code == 200
            lines = [json.loads(line) async for line in r.aiter_lines() if line]
        final: dict[str, object] = lines[-1]
        return final

    async def main() -> list[dict[str, object]]:
        async with httpx.AsyncClient(base_url=live_server.base_url, timeout=120) as client:
            return await asyncio.gather(*(one(client, i) for i in range(16)))

    finals = asyncio.run(main())
    assert all(f["done"] and f["eval_count"] == 40 for f in finals)
    (model,) = live_server.client.get("/api/ps").json()["models"]
    assert model["slots"]["total"] == 4 and model["slots"]["in_use"] == 0


def test_openai_n_choices_decode_in_parallel_on_a_shared_prompt(
    live_server: LiveServer, tmp_path: Path
) -> None:
    create_tiny(live_server.client, tmp_path, num_parallel=4)
    client = openai.OpenAI(base_url=f"{live_server.base_url}/v1", api_key="unused")
    prompt = "hello the world is one of the " * 4
    reply = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": prompt}], n=3, temperature=0, max_tokens=12
    )
    texts = [c.message.content for c in reply.choices]
    assert len(texts) == 3 and texts[0] and len(set(texts)) == 1  # greedy: the same text three times
    assert reply.usage is not None and reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens == 0  # the prompt was new
    # Asked again, the prompt is served from the KV cache but for its last token.
    again = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": prompt}], temperature=0, max_tokens=12
    )
    assert again.choices[0].message.content == texts[0]
    assert again.usage is not None and again.usage.prompt_tokens_details is not None
    assert again.usage.prompt_tokens_details.cached_tokens == again.usage.prompt_tokens - 1


def test_a_full_context_shifts_and_generation_goes_on(live_server: LiveServer, tmp_path: Path) -> None:
    create_tiny(live_server.client, tmp_path)
    r = generate(live_server.client, prompt="hello", options={**GREEDY, "num_ctx": 256, "num_predict": 600})
    body = r.json()
    assert r.status_code == 200 and body["done_reason"] == "length"
    assert body["eval_count"] == 600  # far past num_ctx 256: the window shifted


def test_shift_false_stops_at_the_end_of_the_context(live_server: LiveServer, tmp_path: Path) -> None:
    create_tiny(live_server.client, tmp_path)
    r = generate(
        live_server.client,
        prompt="hello",
        shift=False,
        options={**GREEDY, "num_ctx": 256, "num_predict": 600},
    )
    body = r.json()
    assert r.status_code == 200 and body["done_reason"] == "length"
    assert 100 < body["prompt_eval_count"] + body["eval_count"] <= 257


def test_truncate_false_refuses_a_prompt_longer_than_the_context(
    live_server: LiveServer, tmp_path: Path
) -> None:
    create_tiny(live_server.client, tmp_path)
    long = "the of and to a in is it " * 100
    r = generate(live_server.client, prompt=long, truncate=False, options={"num_ctx": 256})
    assert r.status_code == 400 and r.json() == {"error": "the input length exceeds the context length"}
    ok = generate(live_server.client, prompt=long, options={**GREEDY, "num_ctx": 256, "num_predict": 2})
    assert ok.status_code == 200 and ok.json()["prompt_eval_count"] <= 256
