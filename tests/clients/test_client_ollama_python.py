"""The real ollama-python client (sync, async, streaming) against a live corral, for what corral serves."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import ollama
import pytest
from clients_models import tiny_embedding_gguf

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
    # registry.ollama.ai answers "file does not exist"; offline, the lookup error follows the colon
    assert err.value.status_code == 500 and err.value.error.startswith("pull model manifest: ")


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


def test_embed_and_embeddings_sync_and_async(
    client: ollama.Client, live_server: LiveServer, tmp_path: Path
) -> None:
    digest = client.create_blob(tiny_embedding_gguf(tmp_path / "embed.gguf"))
    assert client.create(model="tiny-embed", files={"embed.gguf": digest}).status == "success"
    assert client.show("tiny-embed").capabilities == ["embedding"]
    out = client.embed(model="tiny-embed", input=["hello", "world", "hello"])
    vectors = out.embeddings
    assert out.model == "tiny-embed" and len(vectors) == 3 and len(vectors[0]) == 64
    assert vectors[0] == vectors[2] != vectors[1] and out.prompt_eval_count
    assert all(abs(math.fsum(x * x for x in v) - 1) < 1e-4 for v in vectors)
    assert client.embed(model="tiny-embed", input="hello", dimensions=16).embeddings[0] != vectors[0][:16]
    legacy = client.embeddings(model="tiny-embed", prompt="hello").embedding
    norm = math.sqrt(math.fsum(x * x for x in legacy))
    assert norm > 0 and all(abs(a / norm - b) < 1e-5 for a, b in zip(legacy, vectors[0], strict=True))
    with pytest.raises(ollama.ResponseError) as err:
        client.generate(model="tiny-embed", prompt="hello")
    assert err.value.status_code == 400 and err.value.error == '"tiny-embed" does not support generate'

    async def main() -> list[float]:
        result = await ollama.AsyncClient(host=live_server.base_url).embed(model="tiny-embed", input="hello")
        return list(result.embeddings[0])

    assert asyncio.run(main()) == vectors[0]


def test_push_to_a_registry_and_pull_back(
    client: ollama.Client, live_server: LiveServer, registry: str
) -> None:
    name = f"{registry}/library/tiny:latest"
    assert client.copy("tiny", name).status == "success"
    statuses = [p.status for p in client.push(name, insecure=True, stream=True)]
    assert statuses[0] == "retrieving manifest" and statuses[-2:] == ["pushing manifest", "success"]
    assert any(s.startswith("pushing ") and s != "pushing manifest" for s in statuses)
    assert client.delete(name).status == "success"
    assert client.pull(name, insecure=True).status == "success"
    assert client.show(name).template == client.show("tiny").template

    async def main() -> str | None:
        return (await ollama.AsyncClient(host=live_server.base_url).push(name, insecure=True)).status

    assert asyncio.run(main()) == "success"
