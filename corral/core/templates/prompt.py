"""Ollama's prompt assembly for /api/chat and /api/generate: system/MESSAGE layers, images, truncation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from corral.core.errors import BadRequest
from corral.core.templates.jinja_template import ChatTemplate
from corral.core.templates.template import DEFAULT_TEMPLATE, Template
from corral.core.templates.types import Message, TemplateValues, Think, Tool

__all__ = [
    "IMAGE_TOKENS",
    "ChatPrompt",
    "Tokenizer",
    "build_chat_prompt",
    "build_generate_prompt",
    "chat_messages",
    "count_tokens",
]

IMAGE_TOKENS = 768
"""Tokens one image is assumed to take when fitting a conversation into the context window."""

Tokenizer = Callable[[str], Sequence[int] | int]
"""Tokenizes text (returns the token ids) or counts its tokens (returns an int)."""


@dataclass(frozen=True, slots=True)
class ChatPrompt:
    """The rendered prompt and the images that go with it, in ``[img-N]`` order."""

    prompt: str
    images: list[bytes]


def count_tokens(tokenize: Tokenizer, text: str) -> int:
    """Number of tokens in ``text`` whether the tokenizer returns ids or a count."""
    result = tokenize(text)
    return result if isinstance(result, int) else len(result)


def chat_messages(
    request_messages: Sequence[Message], *, system: str = "", model_messages: Sequence[Message] = ()
) -> list[Message]:
    """The conversation /api/chat renders: MESSAGE layers, then the request's messages, with the
    model's SYSTEM prepended unless the request starts with its own system message."""
    msgs = [*model_messages, *request_messages]
    if system and (not request_messages or request_messages[0].role != "system"):
        msgs.insert(0, Message(role="system", content=system))
    return msgs


def _tool_block_start(msgs: Sequence[Message], idx: int) -> int:
    """Move a cut that lands on tool results back to the assistant turn that called the tools."""
    if idx <= 0 or idx >= len(msgs) or msgs[idx].role != "tool":
        return idx
    start = idx
    while start > 0 and msgs[start - 1].role == "tool":
        start -= 1
    caller = start - 1
    if caller >= 0 and msgs[caller].role == "assistant" and msgs[caller].tool_calls:
        return caller
    return idx


def _tag_images(msgs: Sequence[Message]) -> tuple[list[Message], list[bytes]]:
    images: list[bytes] = []
    tagged: list[Message] = []
    for m in msgs:
        if not m.images:
            tagged.append(m)
            continue
        prefix, content = "", m.content
        for image in m.images:
            tag = f"[img-{len(images)}]"
            images.append(image)
            if "[img]" in content:
                content = content.replace("[img]", tag, 1)
            else:
                prefix += tag
        tagged.append(dataclasses.replace(m, content=prefix + content))
    return tagged, images


def build_chat_prompt(
    template: ChatTemplate,
    messages: Sequence[Message],
    *,
    tools: Sequence[Tool] | None = None,
    think: Think = None,
    system: str = "",
    model_messages: Sequence[Message] = (),
    num_ctx: int | None = None,
    tokenize: Tokenizer | None = None,
    truncate: bool = True,
    has_projector: bool = False,
    image_tokens: int = IMAGE_TOKENS,
) -> ChatPrompt:
    """Render a chat the way Ollama's ``chatPrompt`` does.

    ``system`` and ``model_messages`` are the model's SYSTEM and MESSAGE layers (see
    ``chat_messages``). When ``truncate`` is set and both ``num_ctx`` and ``tokenize`` are given, the
    oldest messages are dropped until the prompt fits: the last message is always kept, a tool result
    is never separated from the call that produced it, and system messages from the dropped part are
    put back in front. Images count ``image_tokens`` each when the model has a projector. Only the
    kept messages' images are returned, tagged ``[img-0]``, ``[img-1]``, ... in their content.
    """
    msgs = chat_messages(messages, system=system, model_messages=model_messages)

    def render(window: Sequence[Message]) -> str:
        return template.execute(TemplateValues.with_think(think, messages=window, tools=tools))

    kept_system: list[Message] = []
    start = 0
    if truncate and num_ctx is not None and tokenize is not None and msgs:
        last = len(msgs) - 1
        for i in range(len(msgs)):
            start = _tool_block_start(msgs, i)
            kept_system = [m for m in msgs[:start] if m.role == "system"]
            size = count_tokens(tokenize, render([*kept_system, *msgs[start:]]))
            if has_projector:
                size += image_tokens * sum(len(m.images) for m in msgs[start:])
            if size <= num_ctx or i == last:
                break
    tagged, images = _tag_images(msgs[start:])
    return ChatPrompt(render([*kept_system, *tagged]), images)


def build_generate_prompt(
    template: ChatTemplate | None,
    prompt: str,
    *,
    system: str = "",
    model_system: str = "",
    model_messages: Sequence[Message] = (),
    suffix: str = "",
    images: Sequence[bytes] = (),
    raw: bool = False,
    request_template: str = "",
    context: str | None = None,
    think: Think = None,
) -> str:
    """Build the /api/generate prompt the way Ollama does.

    ``raw`` returns ``prompt`` untouched (and refuses ``request_template``, ``system`` or ``context``).
    ``request_template`` replaces the model's template for this call; ``context`` is the detokenized
    text of the deprecated ``context`` field, prepended to the rendered prompt (and then the model's
    MESSAGE layers are left out). With a ``suffix`` the template sees only ``.Prompt`` and ``.Suffix``.
    Each image becomes a ``[img-N]`` user turn before the prompt.
    """
    if raw:
        if request_template or system or context is not None:
            raise BadRequest("raw mode does not support template, system, or context")
        return prompt
    if request_template:
        template = Template.parse(request_template)
    elif template is None:
        template = Template.parse(DEFAULT_TEMPLATE)
    if suffix:
        values = TemplateValues.with_think(think, prompt=prompt, suffix=suffix)
    else:
        msgs: list[Message] = []
        if system or model_system:
            msgs.append(Message(role="system", content=system or model_system))
        if context is None:
            msgs.extend(model_messages)
        msgs.extend(Message(role="user", content=f"[img-{i}]") for i in range(len(images)))
        msgs.append(Message(role="user", content=prompt))
        values = TemplateValues.with_think(think, messages=msgs)
    return (context or "") + template.execute(values)
