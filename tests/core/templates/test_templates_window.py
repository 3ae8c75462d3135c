"""The linear truncation (``templates.window``) cuts exactly where Ollama's quadratic loop does."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import pytest

from corral.core.templates import Message, Template, build_chat_prompt
from corral.core.templates.prompt import _tool_block_start, chat_messages, count_tokens
from corral.core.templates.types import TemplateValues, ToolCall, ToolCallFunction

ROLES = Template.parse(
    "{{ range .Messages }}<{{ .Role }}>{{ .Content }}{{ range .ToolCalls }}[call {{ .Function.Name }}]"
    "{{ end }}\n{{ end }}"
)


def words(text: str) -> list[int]:
    return [len(w) for w in text.replace("<", " <").replace(">", "> ").split()]


def quadratic_cut(template: Template, msgs: Sequence[Message], num_ctx: int) -> str:
    """Ollama's chatPrompt loop, as corral had it before: render everything at every cut."""
    msgs = chat_messages(msgs)
    kept: list[Message] = []
    start = 0
    for i in range(len(msgs)):
        start = _tool_block_start(msgs, i)
        kept = [m for m in msgs[:start] if m.role == "system"]
        size = count_tokens(words, template.execute(TemplateValues(messages=[*kept, *msgs[start:]])))
        if size <= num_ctx or i == len(msgs) - 1:
            break
    return template.execute(TemplateValues(messages=[*kept, *msgs[start:]]))


def conversation(rng: random.Random, n: int) -> list[Message]:
    msgs: list[Message] = []
    for _ in range(n):
        kind = rng.random()
        text = " ".join(rng.choice(["a", "bb", "ccc", "dddd"]) for _ in range(rng.randint(0, 12)))
        if kind < 0.1:
            msgs.append(Message(role="system", content=text))
        elif kind < 0.2:
            call = ToolCall(function=ToolCallFunction(name="f"))
            msgs.append(Message(role="assistant", content="", tool_calls=[call]))
            msgs.extend(Message(role="tool", content=text) for _ in range(rng.randint(1, 3)))
        else:
            msgs.append(Message(role=rng.choice(["user", "assistant"]), content=text))
    return msgs


@pytest.mark.parametrize("seed", range(60))
def test_same_cut_as_the_quadratic_loop(seed: int) -> None:
    rng = random.Random(seed)
    msgs = conversation(rng, rng.randint(1, 40))
    for num_ctx in (1, 5, 20, 60, 200, 10_000):
        expected = quadratic_cut(ROLES, msgs, num_ctx)
        assert build_chat_prompt(ROLES, msgs, num_ctx=num_ctx, tokenize=words).prompt == expected


def test_linear_on_a_long_conversation() -> None:
    msgs = [Message(role="user" if i % 2 else "assistant", content="word " * 200) for i in range(3000)]
    started = time.perf_counter()
    prompt = build_chat_prompt(ROLES, msgs, num_ctx=4096, tokenize=words).prompt
    took = time.perf_counter() - started
    assert 0 < count_tokens(words, prompt) <= 4096
    assert prompt.endswith("word \n")
    assert took < 5, f"{took:.1f}s: the cut search is not linear"
