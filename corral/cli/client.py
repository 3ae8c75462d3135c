"""A small typed HTTP client for the Ollama API as corral serves it (what every CLI command calls)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, cast

import httpx

from corral.core.config import HostURL, load_config

__all__ = [
    "ChatChunk",
    "Client",
    "ClientError",
    "GenerateChunk",
    "Message",
    "ModelDetails",
    "ModelEntry",
    "ProgressEvent",
    "ResponseError",
    "RunningModel",
    "ServerUnreachable",
    "ShowResponse",
    "client_base_url",
]

_CHUNK = 1 << 20


class ModelDetails(TypedDict, total=False):
    """``details`` of a model in ``/api/tags`` and ``/api/show``."""

    parent_model: str
    format: str
    family: str
    families: list[str] | None
    parameter_size: str
    quantization_level: str


class ModelEntry(TypedDict, total=False):
    """One model of ``GET /api/tags``."""

    name: str
    model: str
    modified_at: str
    size: int
    digest: str
    details: ModelDetails


class ShowResponse(TypedDict, total=False):
    """The body of ``POST /api/show``."""

    license: str
    modelfile: str
    parameters: str
    template: str
    system: str
    details: ModelDetails
    messages: list[dict[str, Any]]
    model_info: dict[str, Any]
    capabilities: list[str]
    modified_at: str
    backend: dict[str, str | None]
    """corral's addition: ``{name, reason}``; name None when no installed backend can run it."""


class ProgressEvent(TypedDict, total=False):
    """One NDJSON line of a pull, push or create stream."""

    status: str
    digest: str
    total: int
    completed: int


class Message(TypedDict, total=False):
    """One chat message, in requests and in ``/api/chat`` answers."""

    role: str
    content: str
    thinking: str
    images: list[str]
    tool_calls: list[dict[str, Any]]
    tool_name: str


class _Metrics(TypedDict, total=False):
    """Timings and counts on the final chunk of a generation (durations in nanoseconds)."""

    total_duration: int
    load_duration: int
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int


class GenerateChunk(_Metrics, total=False):
    """One NDJSON object of ``POST /api/generate``."""

    model: str
    created_at: str
    response: str
    thinking: str
    done: bool
    done_reason: str
    context: list[int]
    tool_calls: list[dict[str, Any]]


class ChatChunk(_Metrics, total=False):
    """One NDJSON object of ``POST /api/chat``."""

    model: str
    created_at: str
    message: Message
    done: bool
    done_reason: str


class RunningModel(TypedDict, total=False):
    """One model of ``GET /api/ps``; ``backend`` (``{name, reason}``) and ``loading`` are corral's."""

    name: str
    model: str
    size: int
    digest: str
    details: ModelDetails
    expires_at: str
    size_vram: int
    context_length: int
    backend: dict[str, str]
    slots: dict[str, int]
    """corral's addition: ``{total, in_use, waiting}``."""
    loading: dict[str, Any]
    """corral's addition, only while the model loads: ``{progress: 0..1 or None, seconds}``."""


class ClientError(Exception):
    """Base class of everything the client raises; ``str()`` is what the user should read."""


class ServerUnreachable(ClientError):
    """Nothing answered at the server's address."""

    def __init__(self, base_url: str) -> None:
        super().__init__(
            f"could not connect to corral server at {base_url} — is it running? Start it with 'corral serve'"
        )
        self.base_url = base_url


class ResponseError(ClientError):
    """The server answered with an error: an HTTP status >= 400 or an ``error`` line in a stream."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def client_base_url(host: HostURL | None = None) -> str:
    """The URL a client should connect to for ``host`` (default: the configured HOST).

    A server listening on the unspecified address (``0.0.0.0`` / ``::``) is reached on loopback.
    """
    host = host or load_config().host
    if host.host in ("0.0.0.0", ""):
        host = HostURL(host.scheme, "127.0.0.1", host.port, host.path)
    elif host.host == "::":
        host = HostURL(host.scheme, "::1", host.port, host.path)
    return host.base_url


def _error_message(response: httpx.Response) -> str:
    """The ``error`` field of a JSON error body, else the body text, else the status line."""
    text = response.text if response.request.method != "HEAD" else ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return error
    if text.strip():
        return text.strip()
    return f"{response.status_code} {response.reason_phrase}".strip()


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ResponseError(f"invalid response from server: {text[:200]!r}") from None


class Client:
    """Ollama API calls over one ``httpx.Client``; use it as a context manager or call :meth:`close`."""

    def __init__(
        self, base_url: str | None = None, *, timeout: float | None = None, connect_timeout: float = 10.0
    ) -> None:
        self.base_url = (base_url or client_base_url()).rstrip("/")
        loopback = httpx.URL(self.base_url).host in ("127.0.0.1", "localhost", "::1")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            # A proxy from the environment would swallow requests meant for this machine.
            trust_env=not loopback,
            headers={"User-Agent": "corral-cli"},
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- plumbing ------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ServerUnreachable(self.base_url) from exc
        except httpx.TransportError as exc:
            raise ResponseError(f"{method} {path}: {exc or type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise ResponseError(_error_message(response), response.status_code)
        return response

    def _json(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        response = self._request(method, path, json=body)
        return _decode(response.text) if response.content else None

    def _ndjson(self, path: str, body: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """POST ``body`` and yield each NDJSON object; an ``error`` line raises :class:`ResponseError`.

        Closing the iterator (or an exception in the consumer, such as Ctrl-C) closes the
        connection, which is how a client cancels a generation on the server.
        """
        try:
            with self._http.stream("POST", path, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ResponseError(_error_message(response), response.status_code)
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    event = _decode(line)
                    if isinstance(event, dict) and event.get("error"):
                        raise ResponseError(str(event["error"]))
                    if isinstance(event, dict):
                        yield event
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ServerUnreachable(self.base_url) from exc
        except httpx.TransportError as exc:
            raise ResponseError(f"POST {path}: {exc or type(exc).__name__}") from exc

    def _stream(self, path: str, body: Mapping[str, Any]) -> Iterator[ProgressEvent]:
        """A progress stream (pull, push, create): :meth:`_ndjson` typed as progress events."""
        for event in self._ndjson(path, body):
            yield cast(ProgressEvent, event)

    # -- endpoints -----------------------------------------------------------------------------

    def heartbeat(self) -> bool:
        """True when a server answers ``HEAD /``; never raises for a missing server."""
        try:
            self._request("HEAD", "/")
        except ClientError:
            return False
        return True

    def version(self) -> str:
        """``GET /api/version``."""
        return str(self._json("GET", "/api/version")["version"])

    def list_models(self) -> list[ModelEntry]:
        """``GET /api/tags``: local models, newest first."""
        body = self._json("GET", "/api/tags") or {}
        return cast(list[ModelEntry], body.get("models") or [])

    def backends(self) -> dict[str, Any]:
        """``GET /api/backends`` (corral's extension): installed backends and whether they can run here."""
        return cast(dict[str, Any], self._json("GET", "/api/backends") or {})

    def show(self, model: str, *, verbose: bool = False) -> ShowResponse:
        """``POST /api/show``."""
        body: dict[str, Any] = {"model": model}
        if verbose:
            body["verbose"] = True
        return cast(ShowResponse, self._json("POST", "/api/show", body))

    def copy(self, source: str, destination: str) -> None:
        """``POST /api/copy``."""
        self._request("POST", "/api/copy", json={"source": source, "destination": destination})

    def delete(self, model: str) -> None:
        """``DELETE /api/delete``."""
        self._request("DELETE", "/api/delete", json={"model": model})

    def pull(self, model: str, *, insecure: bool = False) -> Iterator[ProgressEvent]:
        """``POST /api/pull``, streamed."""
        body: dict[str, Any] = {"model": model, "stream": True}
        if insecure:
            body["insecure"] = True
        return self._stream("/api/pull", body)

    def push(self, model: str, *, insecure: bool = False) -> Iterator[ProgressEvent]:
        """``POST /api/push``, streamed."""
        body: dict[str, Any] = {"model": model, "stream": True}
        if insecure:
            body["insecure"] = True
        return self._stream("/api/push", body)

    def create(self, request: Mapping[str, Any]) -> Iterator[ProgressEvent]:
        """``POST /api/create`` with a JSON create request (the ``model`` field is required), streamed."""
        return self._stream("/api/create", {**request, "stream": True})

    def blob_exists(self, digest: str) -> bool:
        """``HEAD /api/blobs/<digest>``: True on 200, False on 404."""
        try:
            self._request("HEAD", f"/api/blobs/{digest}")
        except ResponseError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def upload_blob(self, digest: str, path: Path, on_progress: Callable[[int], None] | None = None) -> None:
        """``POST /api/blobs/<digest>`` streaming the file; ``on_progress`` gets each chunk's size."""

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    if on_progress is not None:
                        on_progress(len(chunk))
                    yield chunk

        size = path.stat().st_size
        self._request("POST", f"/api/blobs/{digest}", content=chunks(), headers={"Content-Length": str(size)})

    def generate(self, request: Mapping[str, Any]) -> Iterator[GenerateChunk]:
        """``POST /api/generate`` with ``request`` (``model`` required), streamed chunk by chunk."""
        for chunk in self._ndjson("/api/generate", {**request, "stream": True}):
            yield cast(GenerateChunk, chunk)

    def chat(self, request: Mapping[str, Any]) -> Iterator[ChatChunk]:
        """``POST /api/chat`` with ``request`` (``model`` and ``messages``), streamed chunk by chunk."""
        for chunk in self._ndjson("/api/chat", {**request, "stream": True}):
            yield cast(ChatChunk, chunk)

    def embed(
        self, model: str, inputs: Sequence[str], *, keep_alive: str | int | None = None
    ) -> list[list[float]]:
        """``POST /api/embed``: one (normalized) vector per input, in order."""
        body: dict[str, Any] = {"model": model, "input": list(inputs)}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        answer = self._json("POST", "/api/embed", body) or {}
        vectors = answer.get("embeddings")
        if not isinstance(vectors, list) or len(vectors) != len(inputs):
            raise ResponseError("no embeddings returned")
        return [[float(x) for x in v] for v in vectors]

    def load(
        self, model: str, *, keep_alive: str | int | None = None, think: bool | str | None = None
    ) -> str:
        """Load ``model`` with an empty generate (``keep_alive`` 0 unloads it); returns ``done_reason``."""
        body: dict[str, Any] = {"model": model, "stream": False}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        if think is not None:
            body["think"] = think
        answer = self._json("POST", "/api/generate", body) or {}
        return str(answer.get("done_reason", ""))

    def ps(self) -> list[RunningModel]:
        """``GET /api/ps``: the loaded models."""
        body = self._json("GET", "/api/ps") or {}
        return cast(list[RunningModel], body.get("models") or [])
