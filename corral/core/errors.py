"""Domain errors: every failure a client can cause or see, with the HTTP status it maps to.

The API adapters turn these into Ollama's ``{"error": "..."}`` or OpenAI's
``{"error": {...}}`` shape; nothing in ``core`` knows about HTTP beyond the status number.
"""

from __future__ import annotations

import errno

__all__ = [
    "BadRequest",
    "Canceled",
    "CorralError",
    "GGUFError",
    "InvalidDigest",
    "InvalidModelName",
    "ModelNotFound",
    "ModelfileError",
    "NotFound",
    "QueueFull",
    "StorageError",
    "TemplateError",
]


class CorralError(Exception):
    """Base class: ``message`` is what the client reads, ``status`` the HTTP status."""

    status: int = 500

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message


class BadRequest(CorralError):
    """The client sent something wrong (400)."""

    status = 400


class NotFound(CorralError):
    """Something the client named does not exist (404)."""

    status = 404


class InvalidModelName(BadRequest):
    """A model name failed Ollama's validation rules."""

    def __init__(self, message: str = "invalid model name") -> None:
        super().__init__(message)


class InvalidDigest(BadRequest):
    """A digest is not ``sha256[:-]`` followed by 64 hex digits."""

    def __init__(self, message: str = "invalid digest format") -> None:
        super().__init__(message)


class ModelNotFound(NotFound):
    """No manifest exists for a model name (the message wording varies by endpoint)."""


class GGUFError(BadRequest):
    """A GGUF file is malformed, truncated or hostile."""


class ModelfileError(BadRequest):
    """A Modelfile could not be parsed."""


class TemplateError(BadRequest):
    """A prompt template failed to parse or to render."""


class QueueFull(CorralError):
    """Too many requests are waiting for a runner (503)."""

    status = 503

    def __init__(
        self, message: str = "server busy, please try again.  maximum pending requests exceeded"
    ) -> None:
        super().__init__(message)


class Canceled(CorralError):
    """The client went away before its request was served (499)."""

    status = 499

    def __init__(self, message: str = "request canceled") -> None:
        super().__init__(message)


class StorageError(CorralError):
    """The server's disk failed a read or write: 507 when it is full, else 500.

    The message is the system's error text only (``no space left on device``), never a path of
    the server's machine.
    """

    def __init__(self, exc: OSError) -> None:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        text = (exc.strerror or type(exc).__name__).lower()
        super().__init__(text, 507 if full else 500)
