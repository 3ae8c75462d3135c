"""Which requests the cluster's ingress sends to a model's replicas, and under which deployment name.

Pure functions (no Ray): the ingress reads the JSON body's ``model`` field of an inference request
and forwards the request, as it came, to that model's deployment. Everything else (tags, show,
pull, create, copy, delete, ps, the web page, metrics) is answered by the ingress's own copy of the
app over the shared store.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from corral.api.errors import anthropic_error_body, dialect_error, openai_error_body
from corral.core.errors import CorralError
from corral.core.names import parse_name

__all__ = [
    "INFERENCE_PATHS",
    "POOL_DEPLOYMENT",
    "deployment_for",
    "error_response",
    "is_inference",
    "model_key",
    "model_of",
    "plain_scope",
    "stream_error_frame",
]

INFERENCE_PATHS = frozenset(
    {
        "/api/generate",
        "/api/chat",
        "/api/embed",
        "/api/embeddings",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/responses",
        "/v1/messages",
    }
)
"""POST routes that run a model. Tokenizer routes stay on the ingress: they read the GGUF's
vocabulary from the shared store and never load weights."""

POOL_DEPLOYMENT = "corral-models"
"""The deployment serving every model without a deployment of its own (pulled or created later)."""

_UNSAFE = re.compile(r"[^a-z0-9]+")
_SCOPE_KEYS = (
    "type", "asgi", "http_version", "method", "scheme", "path", "raw_path", "query_string",
    "root_path", "headers", "client", "server",
)  # fmt: skip


class _ModelField(msgspec.Struct):
    model: str = ""


_decode_model = msgspec.json.Decoder(_ModelField).decode


def is_inference(method: str, path: str) -> bool:
    """True for a request the ingress forwards to a model's replicas."""
    return method == "POST" and path.rstrip("/") in INFERENCE_PATHS


def model_of(body: bytes) -> str | None:
    """The ``model`` named by a JSON request body; None when the body is not JSON with a string
    ``model`` (the ingress's own app then answers with the dialect's 400)."""
    try:
        name = _decode_model(body).model
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return name or None


def model_key(name: str) -> str:
    """One spelling per model: ``tiny``, ``tiny:latest`` and ``registry.ollama.ai/library/tiny``
    are the same model. An invalid name keeps its spelling (the replica answers its 400)."""
    try:
        return parse_name(name).display_shortest()
    except CorralError:
        return name


def deployment_for(name: str) -> str:
    """The Ray Serve deployment name of a model with a deployment of its own (``model-tiny-latest``)."""
    return "model-" + _UNSAFE.sub("-", model_key(name).lower()).strip("-")


def plain_scope(scope: dict[str, Any]) -> dict[str, Any]:
    """The parts of an ASGI HTTP scope that cross to a replica (plain values only: no app, state or
    server objects)."""
    out = {key: scope[key] for key in _SCOPE_KEYS if key in scope}
    out["headers"] = [(bytes(k), bytes(v)) for k, v in scope.get("headers", [])]
    return out


def error_response(path: str, message: str, status: int) -> list[dict[str, Any]]:
    """The ASGI messages of an error answered before a response began, in the client's dialect."""
    body, media_type = dialect_error(path, message, status)
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())],
        },
        {"type": "http.response.body", "body": body, "more_body": False},
    ]


def stream_error_frame(path: str, content_type: str, message: str) -> bytes:
    """The last frame of a stream cut by a lost replica: an Ollama ``{"error"}`` line, an OpenAI
    error object as an SSE ``data:`` frame (the SDKs raise it), or Anthropic's ``error`` event."""
    if content_type.startswith("text/event-stream"):
        if path.startswith("/v1/messages"):
            return b"event: error\ndata: " + anthropic_error_body(message, 500) + b"\n\n"
        return b"data: " + openai_error_body(message, 500) + b"\n\n"
    return msgspec.json.encode({"error": message}) + b"\n"
