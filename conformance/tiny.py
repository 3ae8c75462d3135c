"""Tiny stand-in models (random weights) for fast runs: a chat model with tools, a fill-in-the-middle
model, a thinking model and a vision model (with a tiny projector), created on the server from one
small GGUF, and an embedding model (the same kind of GGUF with a pooling type); all removed afterwards."""

from __future__ import annotations

import tempfile
from pathlib import Path

from conformance.mapping import SCRATCH_NAMESPACE
from conformance.prepare import Preparer, Unavailable

__all__ = ["TINY_EMBED", "TINY_MODELS", "TINY_VISION", "TOOLS_TEMPLATE", "create_tiny_models"]

# Each template uses the variables that give its model the capability (tools, insert, thinking)
# and no other, so the "does not support ..." error transcripts still hold for the chat model.
_CHAT = (
    "{{- if .Messages }}"
    "{{- if .Tools }}tools:{{ range .Tools }} {{ .Function.Name }}{{ end }}\n{{ end }}"
    "{{- range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}assistant:"
    "{{- else }}{{ if .System }}{{ .System }}\n{{ end }}{{ .Prompt }}{{ end }}"
)
_CODE = "{{- if .Suffix }}<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>{{- else }}{{ .Prompt }}{{- end }}"
_THINK = (
    "{{- range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}assistant:{{ if .Think }} <think>{{ end }}"
)

TOOLS_TEMPLATE = _CHAT
"""A chat template that shows ``.Tools``: a model created with it has the ``tools`` capability."""

TINY_MODELS = {
    "chat": (f"{SCRATCH_NAMESPACE}/tiny-chat", _CHAT),
    "code": (f"{SCRATCH_NAMESPACE}/tiny-code", _CODE),
    "thinking": (f"{SCRATCH_NAMESPACE}/tiny-think", _THINK),
}
"""Role → (model name, template) of the tiny stand-ins."""

TINY_VISION = f"{SCRATCH_NAMESPACE}/tiny-vision"
"""The tiny vision stand-in: the chat model plus a tiny projector (the ``vision`` capability)."""

TINY_EMBED = f"{SCRATCH_NAMESPACE}/tiny-embed"
"""The tiny embedding stand-in: ``llama.pooling_type`` 1 (mean) gives it the ``embedding`` capability."""


def create_tiny_models(prep: Preparer) -> dict[str, str]:
    """Create the tiny models (registered for cleanup); return role → model name."""
    digest = prep.upload(prep.gguf_bytes())
    out = {}
    for role, (name, template) in TINY_MODELS.items():
        r = prep.client.post(
            "/api/create",
            json={"model": name, "files": {"tiny.gguf": digest}, "template": template, "stream": False},
        )
        if r.status_code != 200:
            raise Unavailable(f"could not create tiny model {name!r}: {r.status_code} {r.text[:200]}")
        prep.created.add(name)
        out[role] = name
    projector = _projector_gguf()
    if projector is not None:
        files = {"tiny.gguf": digest, "mmproj.gguf": prep.upload(projector)}
        r = prep.client.post(
            "/api/create", json={"model": TINY_VISION, "files": files, "template": _CHAT, "stream": False}
        )
        if r.status_code != 200:
            raise Unavailable(f"could not create tiny model {TINY_VISION!r}: {r.status_code} {r.text[:200]}")
        prep.created.add(TINY_VISION)
        out["vision"] = TINY_VISION
    digest = prep.upload(_embedding_gguf())
    r = prep.client.post(
        "/api/create", json={"model": TINY_EMBED, "files": {"tiny.gguf": digest}, "stream": False}
    )
    if r.status_code != 200:
        raise Unavailable(f"could not create tiny model {TINY_EMBED!r}: {r.status_code} {r.text[:200]}")
    prep.created.add(TINY_EMBED)
    out["embedding"] = TINY_EMBED
    return out


def _projector_gguf() -> bytes | None:
    """A tiny projector for the tiny GGUF (n_embd 64), or None with a corral.testing that has none."""
    try:
        from corral.testing.tiny_projector import write_tiny_projector
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        return write_tiny_projector(Path(tmp) / "mmproj.gguf", text_embd=64).read_bytes()


def _embedding_gguf() -> bytes:
    from corral.testing import write_tiny_gguf  # importable: prep.gguf_bytes() needed it already

    with tempfile.TemporaryDirectory() as tmp:
        path = write_tiny_gguf(Path(tmp) / "embed.gguf", seed=11, extra_metadata={"llama.pooling_type": 1})
        return path.read_bytes()
