"""The new dialects with the real Gemma 3 270M: Anthropic's and OpenAI's Responses SDKs get the
same greedy answer as /api/chat for the same conversation (the 270M model answers poorly, so no
test relies on what it says); the tokenizer endpoints and count_tokens read Gemma's 262k-token
vocabulary without loading the weights and agree with what llama.cpp fed itself."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from tests.conftest import LiveServer, _Servers

pytestmark = [pytest.mark.slow, pytest.mark.integration]

MODEL = "gemma3:270m"
ASK = "What is the capital of France? Answer in one word."


@pytest.fixture(scope="module")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    servers = _Servers(tmp_path_factory.mktemp("gemma-dialects"))
    try:
        server = servers.start()
        r = server.client.post("/api/pull", json={"model": MODEL, "stream": False})
        assert r.status_code == 200 and r.json()["status"] == "success", r.text
        yield server
    finally:
        servers.stop_all()


def test_tokenizer_reads_the_vocabulary_only_and_agrees_with_llama_cpp(gemma: LiveServer) -> None:
    text = "<start_of_turn>user\nHello, wörld!<end_of_turn>"
    r = gemma.client.post("/api/tokenize", json={"model": MODEL, "content": text, "add_special": True})
    assert r.status_code == 200, r.text
    tokens = r.json()["tokens"]
    assert tokens[0] == 2 and 105 in tokens  # <bos>, <start_of_turn> parsed as one token
    assert gemma.client.get("/api/ps").json()["models"] == []
    body = {"model": MODEL, "prompt": text, "template": "{{ .Prompt }}", "stream": False}
    gen = gemma.client.post(
        "/api/generate", json={**body, "options": {"num_predict": 1, "temperature": 0}}
    ).json()
    assert gen["context"][: gen["prompt_eval_count"]] == tokens
    back = gemma.client.post("/detokenize", json={"model": MODEL, "tokens": tokens[1:]}).json()
    assert back == {"content": text}


def _native(gemma: LiveServer, messages: list[dict[str, str]]) -> dict[str, object]:
    body = {"model": MODEL, "messages": messages, "stream": False, "options": {"top_k": 1, "num_predict": 8}}
    reply: dict[str, object] = gemma.client.post("/api/chat", json=body).json()
    return reply


def test_anthropic_sdk_answers_and_counts(gemma: LiveServer) -> None:
    client = anthropic.Anthropic(base_url=gemma.base_url, api_key="unused", max_retries=0)
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": ASK}]
    reply = client.messages.create(
        model=MODEL, max_tokens=8, messages=messages, system="Be brief.", extra_body={"top_k": 1}
    )
    text = reply.content[0].text  # type: ignore[union-attr]
    native = _native(gemma, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": ASK}])
    assert text == native["message"]["content"]  # type: ignore[index]
    assert text and "<end_of_turn>" not in text and reply.stop_reason in ("end_turn", "max_tokens")
    counted = client.messages.count_tokens(model=MODEL, messages=messages, system="Be brief.")
    assert counted.input_tokens == reply.usage.input_tokens > 10


def test_openai_responses_answers(gemma: LiveServer) -> None:
    client = openai.OpenAI(base_url=gemma.base_url + "/v1", api_key="unused", max_retries=0)
    reply = client.responses.create(model=MODEL, input=ASK, max_output_tokens=8, temperature=0)
    first = [{"role": "user", "content": ASK}]
    assert reply.output_text and reply.output_text == _native(gemma, first)["message"]["content"]  # type: ignore[index]
    follow = client.responses.create(
        model=MODEL, input="And of Italy?", previous_response_id=reply.id, max_output_tokens=8, temperature=0
    )
    turns = [
        *first,
        {"role": "assistant", "content": reply.output_text},
        {"role": "user", "content": "And of Italy?"},
    ]
    native = _native(gemma, turns)
    assert follow.output_text == native["message"]["content"]  # type: ignore[index]
    # Whole prompts (a KV-cache hit does not shrink them): the follow-up's holds the first turn.
    assert follow.usage and reply.usage and follow.usage.input_tokens > reply.usage.input_tokens + 10
