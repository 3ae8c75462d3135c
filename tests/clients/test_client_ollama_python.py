"""The real ollama-python client (sync, async, streaming) against a live corral, for what corral serves."""

from __future__ import annotations

import asyncio
from pathlib import Path

import ollama
import pytest

from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer

OPTS = {"temperature": 0, "top_k": 1, "num_predict": 4}


@pytest.fixture
def client(live_server: LiveServer, tmp_path: Path) -> ollama.Client:
    c = ollama.Client(host=live_server.base_url)
    digest = c.create_blob(write_tiny_gguf(tmp_path / "tiny.gguf", seed=3))
    progress = c.create(
        model="tiny",
        files={"tiny.gguf": digest},
        template=builtin_template("chatml").template,
        system="be brief",
        parameters={"temperature": 0.5},
    )
    assert progress.status == "success"
    return c


def test_model_management(client: ollama.Client) -> None:
    names = [m.model for m in client.list().models]
    assert names == ["tiny:latest"]
    info = client.show("tiny")
    assert "SYSTEM be brief" in (info.modelfile or "") and info.details.family == "llama"
    assert info.capabilities == ["completion"]
    assert "temperature" in (info.parameters or "")
    assert client.copy("tiny", "tiny2").status == "success"
    assert sorted(m.model for m in client.list().models) == ["tiny2:latest", "tiny:latest"]
    assert client.delete("tiny2").status == "success"
    with pytest.raises(ollama.ResponseError) as err:
        client.show("nope")
    assert err.value.status_code == 404 and err.value.error == "model 'nope:latest' not found"


def test_pull_streaming_and_not(client: ollama.Client) -> None:
    statuses = [p.status for p in client.pull("gemma3:270m", stream=True)]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    assert client.pull("gemma3:270m").status == "success"
    with pytest.raises(ollama.ResponseError) as err:
        client.pull("no-such-model:1b")
    assert err.value.error == "pull model manifest: file does not exist"


def test_generate_and_chat_sync_and_streaming(client: ollama.Client) -> None:
    whole = client.generate(model="tiny", prompt="hello", options=OPTS)
    assert whole.done and whole.eval_count == 4 and whole.done_reason == "length"
    streamed = list(client.generate(model="tiny", prompt="hello", options=OPTS, stream=True))
    assert "".join(c.response for c in streamed) == whole.response
    assert streamed[-1].done and streamed[-1].context
    chat = client.chat(model="tiny", messages=[{"role": "user", "content": "hi"}], options=OPTS)
    assert chat.message.role == "assistant" and chat.done
    parts = list(
        client.chat(model="tiny", messages=[{"role": "user", "content": "hi"}], options=OPTS, stream=True)
    )
    assert "".join(p.message.content or "" for p in parts) == chat.message.content
    running = client.ps().models
    assert [m.model for m in running] == ["tiny:latest"] and running[0].size and running[0].expires_at


def test_async_client(client: ollama.Client, live_server: LiveServer) -> None:
    async def main() -> tuple[str, str, list[str]]:
        ac = ollama.AsyncClient(host=live_server.base_url)
        g = await ac.generate(model="tiny", prompt="hello", options=OPTS)
        pieces = [
            c.message.content or ""
            async for c in await ac.chat(
                model="tiny", messages=[{"role": "user", "content": "hi"}], options=OPTS, stream=True
            )
        ]
        models = [m.model for m in (await ac.list()).models]
        return g.response, "".join(pieces), [str(x) for x in models]

    response, chat, models = asyncio.run(main())
    assert response == client.generate(model="tiny", prompt="hello", options=OPTS).response
    assert (
        chat
        == client.chat(
            model="tiny", messages=[{"role": "user", "content": "hi"}], options=OPTS
        ).message.content
    )
    assert models == ["tiny:latest"]


def test_load_and_unload_through_the_client(client: ollama.Client) -> None:
    assert client.generate(model="tiny").done_reason == "load"
    assert client.generate(model="tiny", keep_alive=0).done_reason == "unload"
    assert client.ps().models == []
