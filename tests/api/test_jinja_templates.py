"""A GGUF's own Jinja chat template over real HTTP: chosen when no built-in renders the same, rendered
byte for byte like Jinja's reference, reported by /api/show, and inert against template injection."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jinja2.sandbox
import ollama
import pytest

from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer

NOVEL = (
    "{% for m in messages %}<<{{ m['role'] | upper }}>>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<<ASSISTANT>>{% endif %}"
)
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# ChatML with a default system prompt: a few edits from ChatML, so Ollama's nearest match takes
# ChatML, but it renders differently whenever the user sends no system message.
CHATML_WITH_DEFAULT_SYSTEM = (
    "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are Tiny.<|im_end|>\n' }}{% endif %}"
    + CHATML
)
CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "hello"},
    {"role": "assistant", "content": "hi there"},
    {"role": "user", "content": "tell me more"},
]
GREEDY = {"temperature": 0, "top_k": 1, "seed": 7, "num_predict": 4}


def create_from_gguf(server: LiveServer, tmp_path: Path, name: str, chat_template: str) -> list[str]:
    """Upload a tiny GGUF carrying ``chat_template`` and create ``name`` from it (no TEMPLATE given)."""
    path = write_tiny_gguf(tmp_path / f"{name}.gguf", seed=3, chat_template=chat_template)
    data = path.read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert server.client.post(f"/api/blobs/{digest}", content=data).status_code in (200, 201)
    r = server.client.post("/api/create", json={"model": name, "files": {f"{name}.gguf": digest}})
    assert r.status_code == 200, r.text
    statuses = [json.loads(line)["status"] for line in r.text.splitlines() if line.strip()]
    assert statuses[-1] == "success"
    return statuses


def rendered(server: LiveServer, name: str, messages: list[dict[str, Any]]) -> str:
    r = server.client.post(
        "/api/chat", json={"model": name, "messages": messages, "_debug_render_only": True, "stream": False}
    )
    assert r.status_code == 200, r.text
    text = r.json()["_debug_info"]["rendered_template"]
    assert isinstance(text, str)
    return text


def jinja_reference(source: str, messages: list[dict[str, Any]]) -> str:
    """What Hugging Face's ``apply_chat_template`` renders (its environment settings)."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(source).render(
        messages=messages, add_generation_prompt=True, bos_token="<s>", eos_token="</s>"
    )


def test_novel_template_renders_byte_identical_to_jinja(live_server: LiveServer, tmp_path: Path) -> None:
    statuses = create_from_gguf(live_server, tmp_path, "novel", NOVEL)
    assert not any(s.startswith("using autodetected template") for s in statuses)
    for messages in (CONVERSATION, CONVERSATION[1:2]):
        assert rendered(live_server, "novel", messages) == jinja_reference(NOVEL, messages)
    assert rendered(live_server, "novel", CONVERSATION[1:2]) == "<<USER>>hello\n<<ASSISTANT>>"
    show = ollama.Client(host=live_server.base_url).show("novel")
    raw = live_server.client.post("/api/show", json={"model": "novel"}).json()
    assert raw["template_kind"] == "jinja"
    assert show.template == NOVEL
    assert "TEMPLATE" not in (show.modelfile or "")
    # The model chats through its Jinja prompt with the real client.
    reply = ollama.Client(host=live_server.base_url).chat(
        "novel", messages=CONVERSATION, options=GREEDY
    )
    assert reply.done and reply.prompt_eval_count is not None and reply.prompt_eval_count > 10


def test_bos_written_by_the_template_is_not_doubled(live_server: LiveServer, tmp_path: Path) -> None:
    # The tiny vocabulary adds BOS itself; llama.cpp drops the template's copy, and so does corral.
    create_from_gguf(live_server, tmp_path, "withbos", "{{ bos_token }}" + NOVEL)
    assert rendered(live_server, "withbos", CONVERSATION[1:2]) == "<<USER>>hello\n<<ASSISTANT>>"


def test_identical_builtin_is_used_and_nearest_is_not(live_server: LiveServer, tmp_path: Path) -> None:
    statuses = create_from_gguf(live_server, tmp_path, "plainchatml", CHATML)
    assert "using autodetected template chatml" in statuses
    show = live_server.client.post("/api/show", json={"model": "plainchatml"}).json()
    assert show["template_kind"] == "go"
    assert show["template"] == builtin_template("chatml").template

    statuses = create_from_gguf(live_server, tmp_path, "defsys", CHATML_WITH_DEFAULT_SYSTEM)
    assert not any(s.startswith("using autodetected template") for s in statuses)
    assert live_server.client.post("/api/show", json={"model": "defsys"}).json()["template_kind"] == "jinja"
    text = rendered(live_server, "defsys", CONVERSATION[1:2])
    assert text.startswith("<|im_start|>system\nYou are Tiny.<|im_end|>\n<|im_start|>user\nhello")
    assert text == jinja_reference(CHATML_WITH_DEFAULT_SYSTEM, CONVERSATION[1:2])


def test_tools_and_thinking_follow_the_jinja_template(live_server: LiveServer, tmp_path: Path) -> None:
    source = (
        "{% if tools %}TOOLS {{ tools | tojson }}\n{% endif %}"
        "{% for m in messages %}<{{ m.role }}>"
        "{% if m.reasoning_content %}<think>{{ m.reasoning_content }}</think>{% endif %}"
        "{% if m.tool_calls %}{% for c in m.tool_calls %}<call>{{ c.function | tojson }}</call>"
        "{% endfor %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% if enable_thinking is defined and not enable_thinking %}"
        "<think></think>{% endif %}{% endif %}"
    )
    create_from_gguf(live_server, tmp_path, "agent", source)
    show = live_server.client.post("/api/show", json={"model": "agent"}).json()
    assert {"completion", "tools", "thinking"} <= set(show["capabilities"])
    tool = {"type": "function", "function": {"name": "now", "description": "time", "parameters": {}}}
    r = live_server.client.post(
        "/api/chat",
        json={
            "model": "agent",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [tool],
            "think": False,
            "_debug_render_only": True,
        },
    )
    text = r.json()["_debug_info"]["rendered_template"]
    assert text.startswith('TOOLS [{"type": "function", "function": {"name": "now"')
    assert text.endswith("<user>hi<assistant><think></think>")  # trim_blocks eats the newline


SSTI_PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('touch {marker}') }}",
    "{{ lipsum.__globals__['os'].popen('touch {marker}').read() }}",
    "{{ self.__init__.__globals__.__builtins__.open('{marker}', 'w').write('x') }}",
    "{{ messages.append(1) or messages.clear() }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{{ 'x' * 10**9 }}",  # 1 GB if folded anywhere (test_llamacpp_harden has the 10 GB case)
]


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_ssti_payloads_are_inert_from_create_to_chat(
    live_server: LiveServer, tmp_path: Path, payload: str
) -> None:
    marker = tmp_path / "pwned"
    source = payload.replace("{marker}", str(marker)) + NOVEL
    create_from_gguf(live_server, tmp_path, "hostile", source)
    r = live_server.client.post(
        "/api/chat",
        json={"model": "hostile", "messages": CONVERSATION[1:2], "options": GREEDY, "stream": False},
    )
    # Either the sandbox refuses the render with an Ollama-shaped error, or it renders nothing harmful.
    if r.status_code != 200:
        assert r.status_code in (400, 500)
        assert set(r.json()) == {"error"} and "chat template" in r.json()["error"]
        assert "Traceback" not in r.text
    assert not marker.exists()
    # The server keeps serving.
    assert live_server.client.get("/api/version").status_code == 200
