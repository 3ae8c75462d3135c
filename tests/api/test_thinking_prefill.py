"""A prompt that ends inside an open thinking block: the model's output is parsed as thinking.

The tiny model never writes ``<think>`` itself, so without the prefill rule everything it says is
content; with it, everything up to a ``</think>`` (which it never writes either) is thinking.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import ollama
import pytest

from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer

# A Go template that opens the thinking block for the model when thinking is on (as Qwen3-style
# templates do), and shows earlier thinking in <think></think>.
GO_TEMPLATE = (
    "{{- range $i, $m := .Messages }}{{ $last := eq (len (slice $.Messages $i)) 1 }}<|{{ $m.Role }}|>"
    "{{ if $m.Thinking }}<think>{{ $m.Thinking }}</think>{{ end }}{{ $m.Content }}"
    "{{ if ne $m.Role \"assistant\" }}\n{{ end }}"
    "{{ if and $last (ne $m.Role \"assistant\") }}<|assistant|>{{ if $.Think }}<think>{{ end }}{{ end }}"
    "{{ end }}"
)
# A GGUF Jinja template: a trailing assistant message is continued (no generation prompt).
JINJA_TEMPLATE = (
    "{% for m in messages %}<|{{ m.role }}|>"
    "{% if m.reasoning_content %}<think>{{ m.reasoning_content }}</think>{% endif %}{{ m.content }}"
    "{% if m.role != 'assistant' %}\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% if enable_thinking %}<think>{% endif %}{% endif %}"
)
GREEDY = {"temperature": 0, "top_k": 1, "seed": 3, "num_predict": 8}
USER = {"role": "user", "content": "why is the sky blue"}


def create(server: LiveServer, tmp_path: Path, name: str, *, template: str | None, jinja: str | None) -> None:
    path = write_tiny_gguf(tmp_path / f"{name}.gguf", seed=4, chat_template=jinja)
    data = path.read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert server.client.post(f"/api/blobs/{digest}", content=data).status_code in (200, 201)
    body: dict[str, object] = {"model": name, "files": {"m.gguf": digest}, "stream": False}
    if template is not None:
        body["template"] = template
    r = server.client.post("/api/create", json=body)
    assert r.status_code == 200, r.text


@pytest.fixture
def thinker(live_server: LiveServer, tmp_path: Path) -> ollama.Client:
    create(live_server, tmp_path, "go-thinker", template=GO_TEMPLATE, jinja=None)
    create(live_server, tmp_path, "jinja-thinker", template=None, jinja=JINJA_TEMPLATE)
    return ollama.Client(host=live_server.base_url)


@pytest.mark.parametrize("model", ["go-thinker", "jinja-thinker"])
def test_template_that_opens_the_block_makes_the_output_thinking(thinker: ollama.Client, model: str) -> None:
    assert "thinking" in (thinker.show(model).capabilities or [])
    thought = thinker.chat(model, messages=[USER], think=True, options=GREEDY)
    assert thought.message.thinking and not thought.message.content
    # The same model without the open block: the same kind of output is plain content.
    plain = thinker.chat(model, messages=[USER], think=False, options=GREEDY)
    assert plain.message.content and not plain.message.thinking


def test_prefilled_assistant_thinking_is_continued_as_thinking(thinker: ollama.Client) -> None:
    prefill = {"role": "assistant", "content": "<think>Rayleigh scattering means"}
    out = thinker.chat("jinja-thinker", messages=[USER, prefill], options=GREEDY)
    assert out.message.thinking and not out.message.content
    # A closed block in the prefill: the continuation is content.
    closed = {"role": "assistant", "content": "<think>short</think>The answer:"}
    out = thinker.chat("jinja-thinker", messages=[USER, closed], options=GREEDY)
    assert out.message.content and not out.message.thinking


def test_raw_generate_prompt_left_inside_thinking(thinker: ollama.Client) -> None:
    out = thinker.generate(
        "go-thinker", "<|user|>hi\n<|assistant|><think>let me see", raw=True, options=GREEDY
    )
    assert out.thinking and not out.response
    out = thinker.generate("go-thinker", "<|user|>hi\n<|assistant|>", raw=True, options=GREEDY)
    assert out.response and not out.thinking
