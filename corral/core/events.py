"""Request-lifecycle and model-lifecycle events, delivered to observer plugins."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Event",
    "FirstToken",
    "ModelLoaded",
    "ModelUnloaded",
    "RequestFinished",
    "RequestQueued",
    "RequestStarted",
]


@dataclass(frozen=True)
class RequestStarted:
    """An API request was accepted and decoded."""

    request_id: str
    endpoint: str
    model: str


@dataclass(frozen=True)
class RequestQueued:
    """A request waits for a runner (``waiting`` is the queue length after it joined)."""

    request_id: str
    model: str
    waiting: int


@dataclass(frozen=True)
class FirstToken:
    """The first generated token of a request left the runner."""

    request_id: str
    model: str
    seconds_since_start: float


@dataclass(frozen=True)
class RequestFinished:
    """A request ended, successfully or not."""

    request_id: str
    endpoint: str
    model: str
    status: int
    duration_s: float
    prompt_tokens: int = 0
    eval_tokens: int = 0
    eval_duration_s: float = 0.0


@dataclass(frozen=True)
class ModelLoaded:
    """A runner finished loading."""

    model: str
    backend: str
    duration_s: float
    memory_bytes: int


@dataclass(frozen=True)
class ModelUnloaded:
    """A runner was closed; ``reason`` is ``expired``, ``evicted``, ``reload``, ``unload`` or ``shutdown``."""

    model: str
    backend: str
    reason: str


Event = RequestStarted | RequestQueued | FirstToken | RequestFinished | ModelLoaded | ModelUnloaded
