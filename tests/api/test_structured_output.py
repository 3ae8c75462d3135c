"""Structured output on every built-in backend, through the ollama and openai SDKs: ``format: "json"``,
a JSON schema and a forced tool call give valid output on llama.cpp (its GBNF grammars), cpu-ref and
onnx (llguidance masks over corral's tokenizer), from the same tiny random-weight model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import ollama
import openai
import pytest

from conformance.tiny import TOOLS_TEMPLATE
from corral.core import constrain
from corral.testing import write_tiny_gguf
from tests.api.openai.conftest import add_model
from tests.conftest import LiveServer, _Servers

BACKENDS = ("llamacpp", "cpu-ref", "onnx")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "enum": ["yes", "no", "maybe"]},
        "sure": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 8}, "maxItems": 2},
    },
    "required": ["answer", "sure", "tags"],
    "additionalProperties": False,
}
OPTIONS = {"temperature": 0, "top_k": 1, "seed": 9, "num_predict": 400}
ASK = [{"role": "user", "content": "Is the sky blue? Answer in JSON."}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "enum": ["Paris", "Oslo"]}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``tiny-<backend>`` for each backend: the same GGUF and a template that shows tools."""
    servers = _Servers(tmp_path_factory.mktemp("structured"))
    try:
        live = servers.start()
        gguf = write_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf", seed=8)
        for backend in BACKENDS:
            add_model(live.client, gguf, f"tiny-{backend}", TOOLS_TEMPLATE, {"backend": backend})
        yield live
    finally:
        servers.stop_all()


def chat(server: LiveServer, backend: str, fmt: Any) -> str:
    reply = ollama.Client(host=server.base_url).chat(
        f"tiny-{backend}", messages=ASK, format=fmt, options=OPTIONS
    )
    assert reply.done_reason == "stop", "the grammar should end the output before num_predict"
    return reply.message.content or ""


@pytest.mark.parametrize("backend", ["cpu-ref", "onnx"])  # llama.cpp's JSON mode: tests/backends/llamacpp
def test_json_mode_gives_a_json_object(server: LiveServer, backend: str) -> None:
    assert isinstance(json.loads(chat(server, backend, "json")), dict)


def test_schema_output_is_valid_on_every_backend(server: LiveServer) -> None:
    outputs = {b: json.loads(chat(server, b, SCHEMA)) for b in BACKENDS}
    for value in outputs.values():
        jsonschema.validate(value, SCHEMA)
    # cpu-ref and onnx share the llguidance constraint and agree on greedy logits: same object.
    assert outputs["cpu-ref"] == outputs["onnx"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_forced_tool_call_through_openai(server: LiveServer, backend: str) -> None:
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused")
    reply = client.chat.completions.create(
        model=f"tiny-{backend}",
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="required",
        temperature=0,
        seed=1,
        max_tokens=200,
    )
    calls = reply.choices[0].message.tool_calls or []
    assert len(calls) == 1 and calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(calls[0].function.arguments)["city"] in ("Paris", "Oslo")  # type: ignore[union-attr]


@pytest.mark.parametrize("backend", ["cpu-ref", "onnx"])
def test_bad_schema_is_a_400_before_running(server: LiveServer, backend: str) -> None:
    r = server.client.post(
        "/api/chat",
        json={"model": f"tiny-{backend}", "messages": ASK, "format": {"properties": {"a": {"type": "x"}}}},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid output format: Invalid type: x"


def test_without_llguidance_constrained_requests_are_refused_with_the_extra(
    servers: _Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(name: str) -> Any:
        raise ImportError(name)

    # The runner checks for llguidance where it runs: in this process, so the patch reaches it.
    server = servers.start(engine="inprocess")
    add_model(server.client, write_tiny_gguf(tmp_path / "t.gguf", seed=8), "tiny-cpu-ref", TOOLS_TEMPLATE,
              {"backend": "cpu-ref"})  # fmt: skip
    monkeypatch.setattr(constrain.importlib, "import_module", missing)  # as if it were not installed
    r = server.client.post(
        "/api/chat", json={"model": "tiny-cpu-ref", "messages": ASK, "format": "json", "stream": False}
    )
    assert r.status_code == 400
    assert r.json()["error"] == (
        "structured output (format, JSON schema, forced tool calls) on the cpu-ref backend needs "
        "llguidance: install it with pip install 'corral[structured]'"
    )

