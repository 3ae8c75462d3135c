"""Turning exceptions into responses: Ollama's ``{"error": "..."}`` or OpenAI's object, by path."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException

from corral.core.errors import CorralError

__all__ = [
    "EXCEPTION_HANDLERS",
    "anthropic_error_body",
    "error_body",
    "json_response",
    "llama_server_error_body",
    "openai_error_body",
]

log = logging.getLogger("corral.api")

_OPENAI_TYPES = {400: "invalid_request_error", 404: "not_found_error"}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}
_ANTHROPIC_PATHS = ("/v1/messages",)
_LLAMA_SERVER_PATHS = ("/tokenize", "/detokenize")


def error_body(message: str) -> bytes:
    """Ollama's native error body."""
    return msgspec.json.encode({"error": message})


def openai_error_body(message: str, status: int) -> bytes:
    """OpenAI's error object, with the type Ollama's compatibility layer assigns by status."""
    return msgspec.json.encode(
        {
            "error": {
                "message": message,
                "type": _OPENAI_TYPES.get(status, "api_error"),
                "param": None,
                "code": None,
            }
        }
    )


def anthropic_error_body(message: str, status: int) -> bytes:
    """Anthropic's error object ``{"type": "error", "error": {"type", "message"}}``."""
    kind = _ANTHROPIC_TYPES.get(status, "invalid_request_error" if 400 <= status < 500 else "api_error")
    return msgspec.json.encode({"type": "error", "error": {"type": kind, "message": message}})


def llama_server_error_body(message: str, status: int) -> bytes:
    """llama-server's error object ``{"error": {"code", "message", "type"}}``."""
    kind = "invalid_request_error" if status == 400 else _OPENAI_TYPES.get(status, "server_error")
    return msgspec.json.encode({"error": {"code": status, "message": message, "type": kind}})


def json_response(
    content: Any, status: int = 200, media_type: str = "application/json; charset=utf-8"
) -> Response[bytes]:
    """A JSON response encoded with msgspec (compact, like Go's ``c.JSON``)."""
    body = content if isinstance(content, bytes) else msgspec.json.encode(content)
    return Response(body, status_code=status, media_type=media_type)


def _error_response(request: Request[Any, Any, Any], message: str, status: int) -> Response[bytes]:
    if request.url.path.startswith(_ANTHROPIC_PATHS):
        body = anthropic_error_body(message, status)
        return Response(body, status_code=status, media_type="application/json")
    if request.url.path in _LLAMA_SERVER_PATHS:
        body = llama_server_error_body(message, status)
        return Response(body, status_code=status, media_type="application/json")
    if request.url.path.startswith("/v1/"):
        return Response(openai_error_body(message, status), status_code=status, media_type="application/json")
    return Response(error_body(message), status_code=status, media_type="application/json; charset=utf-8")


def _corral_error(request: Request[Any, Any, Any], exc: CorralError) -> Response[bytes]:
    return _error_response(request, exc.message, exc.status)


def _not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[bytes]:
    if request.url.path.startswith("/v1/"):
        return _error_response(request, "404 page not found", 404)
    return Response(b"404 page not found", status_code=404, media_type="text/plain")


def _method_not_allowed(request: Request[Any, Any, Any], exc: MethodNotAllowedException) -> Response[bytes]:
    if request.url.path.startswith("/v1/"):
        return _error_response(request, "405 method not allowed", 405)
    return Response(b"405 method not allowed", status_code=405, media_type="text/plain")


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    return _error_response(request, str(exc.detail), exc.status_code)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    # A bug, not a client mistake: log the traceback, answer a short message.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error_response(request, f"internal error: {type(exc).__name__}: {exc}", 500)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    CorralError: _corral_error,
    NotFoundException: _not_found,
    MethodNotAllowedException: _method_not_allowed,
    HTTPException: _http_exception,
    Exception: _unexpected,
}
