"""Request-lifecycle and model-lifecycle events, delivered to observer plugins."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

__all__ = [
    "CURRENT_REQUEST",
    "BytesTransferred",
    "Event",
    "FirstToken",
    "HttpRequestFinished",
    "InterTokenLatency",
    "KvCacheUsage",
    "ModelLoadFailed",
    "ModelLoaded",
    "ModelUnloaded",
    "RequestContext",
    "RequestDequeued",
    "RequestFinished",
    "RequestQueued",
    "RequestReleased",
    "RequestStarted",
    "current_request_id",
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


@dataclass(frozen=True)
class BytesTransferred:
    """Bytes of a model moved over the network by a registry pull or push.

    ``direction`` is ``pull`` or ``push``; emitted per chunk batch, so sum ``bytes`` to count.
    """

    model: str
    direction: str
    bytes: int


@dataclass(frozen=True)
class RequestDequeued:
    """A request left the runner queue: ``admitted`` when it got a runner slot, else it gave up or failed.

    ``waiting`` is the queue length after it left. An admitted request runs until
    :class:`RequestReleased`.
    """

    request_id: str
    model: str
    waiting: int
    admitted: bool


@dataclass(frozen=True)
class RequestReleased:
    """An admitted request gave its runner slot back."""

    request_id: str
    model: str


@dataclass(frozen=True)
class InterTokenLatency:
    """The gaps between consecutive streamed chunks of one request (one chunk is about one token)."""

    request_id: str
    model: str
    gaps_s: tuple[float, ...]


@dataclass(frozen=True)
class KvCacheUsage:
    """A generation ended holding ``used_tokens`` of the runner's ``capacity_tokens`` context."""

    model: str
    used_tokens: int
    capacity_tokens: int


@dataclass(frozen=True)
class ModelLoadFailed:
    """A backend failed to load a model."""

    model: str
    backend: str
    duration_s: float
    error: str


@dataclass(frozen=True)
class HttpRequestFinished:
    """An HTTP request to any endpoint finished (the response was sent or the client went away).

    ``endpoint`` is the route template (``/api/blobs/{digest:str}``), never the raw path, so it is a
    bounded label; ``model`` is the request's model name when it named one, else ``""``.
    """

    request_id: str
    method: str
    endpoint: str
    model: str
    status: int
    duration_s: float
    prompt_tokens: int = 0
    eval_tokens: int = 0


Event = (
    RequestStarted
    | RequestQueued
    | FirstToken
    | RequestFinished
    | ModelLoaded
    | ModelUnloaded
    | BytesTransferred
    | RequestDequeued
    | RequestReleased
    | InterTokenLatency
    | KvCacheUsage
    | ModelLoadFailed
    | HttpRequestFinished
)


# --- the request in progress ------------------------------------------------------------------


@dataclass
class RequestContext:
    """What the HTTP layer knows about the request being served; the core fills in model and tokens."""

    request_id: str
    model: str = ""
    prompt_tokens: int = 0
    eval_tokens: int = 0


CURRENT_REQUEST: ContextVar[RequestContext | None] = ContextVar("corral_request", default=None)
"""Set by the HTTP middleware for the duration of one request (``None`` outside a request)."""


def current_request_id() -> str:
    """The id of the request being served (``X-Request-ID``), or ``""`` outside a request."""
    ctx = CURRENT_REQUEST.get()
    return ctx.request_id if ctx is not None else ""
