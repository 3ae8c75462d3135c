"""What the generated ``/schema`` cannot see: request bodies, error answers, non-JSON replies.

The handlers decode their bodies themselves (Go-compatible errors, see :mod:`corral.api.decode`),
so Litestar documents neither the bodies nor the errors. This module completes the document once,
after the app is built: each body's msgspec Struct becomes a component; every operation gets a
``default`` response with its dialect's error object (4xx and 5xx all carry one); text replies
(``/``, ``/metrics``) and streams are documented with their real media types.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin

from corral.api.anthropic.protocol import CountTokensRequest, MessagesRequest
from corral.api.llama_server import protocol as llama_server
from corral.api.ollama.protocol import (
    ChatRequest,
    CopyRequest,
    CreateRequest,
    DeleteRequest,
    DetokenizeRequest,
    EmbeddingRequest,
    EmbedRequest,
    GenerateRequest,
    PullRequest,
    PushRequest,
    ShowRequest,
    TokenizeRequest,
)
from corral.api.openai.embeddings import OpenAIEmbeddingRequest
from corral.api.openai.protocol import ChatCompletionRequest, CompletionRequest
from corral.api.responses.protocol import ResponsesRequest

__all__ = ["complete_openapi"]

_BODIES: dict[tuple[str, str], type[Any]] = {
    ("post", "/api/show"): ShowRequest,
    ("post", "/api/copy"): CopyRequest,
    ("delete", "/api/delete"): DeleteRequest,
    ("post", "/api/create"): CreateRequest,
    ("post", "/api/pull"): PullRequest,
    ("post", "/api/push"): PushRequest,
    ("post", "/api/generate"): GenerateRequest,
    ("post", "/api/chat"): ChatRequest,
    ("post", "/api/embed"): EmbedRequest,
    ("post", "/api/embeddings"): EmbeddingRequest,
    ("post", "/v1/chat/completions"): ChatCompletionRequest,
    ("post", "/v1/completions"): CompletionRequest,
    ("post", "/v1/embeddings"): OpenAIEmbeddingRequest,
    ("post", "/api/tokenize"): TokenizeRequest,
    ("post", "/api/detokenize"): DetokenizeRequest,
    ("post", "/tokenize"): llama_server.TokenizeRequest,
    ("post", "/detokenize"): llama_server.DetokenizeRequest,
    ("post", "/v1/messages"): MessagesRequest,
    ("post", "/v1/messages/count_tokens"): CountTokensRequest,
    ("post", "/v1/responses"): ResponsesRequest,
}
_STREAMS = {"/api/create", "/api/pull", "/api/push", "/api/generate", "/api/chat"}
_SSE = {"/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/responses"}
_TEXT = {"/": "text/plain", "/metrics": "text/plain"}

_OLLAMA_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
_OPENAI_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {},
                "code": {},
            },
            "required": ["message", "type"],
        }
    },
    "required": ["error"],
}
_ANY_OBJECT: dict[str, Any] = {"type": "object"}


def _error(path: str) -> dict[str, Any]:
    # /v1 (OpenAI and Anthropic) and llama-server's paths answer {"error": {"message", "type", ...}}.
    nested = path.startswith("/v1/") or path in ("/tokenize", "/detokenize")
    schema = _OPENAI_ERROR if nested else _OLLAMA_ERROR
    return {
        "description": "An error, in the dialect's shape",
        "content": {"application/json": {"schema": schema}},
    }


def _json_reply(path: str) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": _ANY_OBJECT}}
    if path in _STREAMS:
        content["application/x-ndjson"] = {"schema": {"type": "string"}}
    if path in _SSE:
        content["text/event-stream"] = {"schema": {"type": "string"}}
    return {"description": "Success", "content": content}


def complete_openapi(app: Litestar) -> None:
    """Fill in ``app``'s OpenAPI document (call once, after every route is registered)."""
    doc = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    types = sorted(set(_BODIES.values()), key=lambda t: t.__name__)
    _, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    doc.setdefault("components", {}).setdefault("schemas", {}).update(components)
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses: dict[str, Any] = op["responses"]
            body = _BODIES.get((method, path))
            if body is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{body.__name__}"}}
                    },
                }
            for status in [s for s in responses if s.startswith(("4", "5"))]:
                del responses[status]  # Litestar's {detail} shape: corral answers the dialect's
            if path in _TEXT:
                responses["200"] = {
                    "description": "Text",
                    "content": {_TEXT[path]: {"schema": {"type": "string"}}},
                }
            elif method == "head" or path.startswith("/api/blobs/"):
                for status, reply in list(responses.items()):
                    responses[status] = {"description": reply.get("description", "Success")}
            else:
                for status in [s for s in responses if s.startswith("2")]:
                    responses[status] = _json_reply(path)
            responses["default"] = _error(path)
