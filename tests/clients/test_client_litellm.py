"""LiteLLM's ``ollama/`` (/api/generate, /api/embed) and ``ollama_chat/`` (/api/chat) providers against a
live corral.

tests/clients/conftest.py sets ``LITELLM_LOCAL_MODEL_COST_MAP`` so importing LiteLLM never reaches
for the network.
"""

from __future__ import annotations

import asyncio
from typing import Any

import litellm
import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "hello"}]


def _complete(server: LiveServer, model: str, **kwargs: Any) -> Any:
    return litellm.completion(
        model=model, messages=MESSAGES, api_base=server.base_url, temperature=0, max_tokens=4, **kwargs
    )


def _streamed_text(stream: Any) -> tuple[str, list[str | None]]:
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    return text, [c.choices[0].finish_reason for c in chunks]


@pytest.mark.parametrize("provider", ["ollama", "ollama_chat"])
def test_completion_whole_and_streamed(tiny_server: LiveServer, provider: str) -> None:
    whole = _complete(tiny_server, f"{provider}/tiny")
    content = whole.choices[0].message.content
    assert isinstance(content, str) and content
    assert whole.usage.completion_tokens == 4 and whole.usage.prompt_tokens > 0
    text, reasons = _streamed_text(_complete(tiny_server, f"{provider}/tiny", stream=True))
    assert text == content
    assert reasons[-1] in ("length", "stop") and not any(reasons[:-1])


def test_ollama_chat_matches_the_native_api(tiny_server: LiveServer) -> None:
    whole = _complete(tiny_server, "ollama_chat/tiny")
    native = tiny_server.client.post(
        "/api/chat",
        json={
            "model": "tiny",
            "messages": MESSAGES,
            "options": {"temperature": 0, "num_predict": 4},
            "stream": False,
        },
    ).json()
    assert whole.choices[0].message.content == native["message"]["content"]
    assert whole.usage.prompt_tokens == native["prompt_eval_count"]


def test_async_completion_and_a_missing_model(tiny_server: LiveServer) -> None:
    async def main() -> str:
        r = await litellm.acompletion(
            model="ollama_chat/tiny",
            messages=MESSAGES,
            api_base=tiny_server.base_url,
            temperature=0,
            max_tokens=4,
        )
        return str(r.choices[0].message.content)

    assert asyncio.run(main()) == _complete(tiny_server, "ollama_chat/tiny").choices[0].message.content
    with pytest.raises(litellm.exceptions.NotFoundError, match="model 'nope' not found"):
        _complete(tiny_server, "ollama_chat/nope")


def test_embedding_matches_the_native_api(tiny_server: LiveServer) -> None:
    r = litellm.embedding(model="ollama/tiny-embed", input=["hello", "world"], api_base=tiny_server.base_url)
    native = tiny_server.client.post(
        "/api/embed", json={"model": "tiny-embed", "input": ["hello", "world"]}
    ).json()
    assert [d["embedding"] for d in r.data] == native["embeddings"]
    assert [d["index"] for d in r.data] == [0, 1]
    assert r.usage.prompt_tokens == native["prompt_eval_count"]
