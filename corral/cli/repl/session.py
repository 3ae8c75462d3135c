"""The state of one ``corral run`` conversation and the requests built from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corral.cli.client import Message

__all__ = ["Session"]


@dataclass
class Session:
    """Everything ``/set``, ``/load`` and ``/clear`` change; what ``/save`` stores.

    ``messages`` is the conversation typed in this session (the model's own stored messages are
    prepended by the server, so they are not repeated here). A ``/set system`` message lives in
    ``messages`` too, where Ollama's CLI keeps it.
    """

    model: str
    system: str = ""
    messages: list[Message] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    format: str = ""
    think: bool | str | None = None
    hide_thinking: bool = False
    keep_alive: str | None = None
    verbose: bool = False
    word_wrap: bool = True

    def set_system(self, text: str) -> None:
        """Make ``text`` the system message (replacing a system message that ends the conversation)."""
        self.system = text
        message: Message = {"role": "system", "content": text}
        if self.messages and self.messages[-1].get("role") == "system":
            self.messages[-1] = message
        else:
            self.messages.append(message)

    def clear(self) -> None:
        """Forget the conversation, keeping the system message if one was set."""
        self.messages = [{"role": "system", "content": self.system}] if self.system else []

    def switch(self, model: str) -> None:
        """Start over with ``model`` (``/load``): the conversation is dropped, settings are kept."""
        self.model = model
        self.messages = []

    def chat_request(self) -> dict[str, Any]:
        """The ``/api/chat`` body for the conversation as it stands."""
        body: dict[str, Any] = {"model": self.model, "messages": list(self.messages)}
        if self.format:
            body["format"] = self.format
        if self.options:
            body["options"] = dict(self.options)
        if self.think is not None:
            body["think"] = self.think
        if self.keep_alive is not None:
            body["keep_alive"] = self.keep_alive
        return body

    def create_request(self, name: str) -> dict[str, Any]:
        """The ``/api/create`` body of ``/save NAME``: this model plus the session's system,
        parameters and conversation (which becomes the new model's messages layer)."""
        body: dict[str, Any] = {"model": name, "from": self.model}
        if self.system:
            body["system"] = self.system
        if self.options:
            body["parameters"] = dict(self.options)
        if self.messages:
            body["messages"] = [dict(m) for m in self.messages]
        return body
