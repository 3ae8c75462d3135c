"""Turn a parsed Modelfile into a JSON ``/api/create`` request plus the local files to upload as blobs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.core.modelfile import Modelfile, is_local_path, resolve_path

__all__ = [
    "BlobFile",
    "CreatePlan",
    "CreateRequestError",
    "build_create_request",
    "file_digest",
    "model_files",
]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class BlobFile:
    """A local file the server needs as a blob, and the name it has inside the model."""

    name: str
    path: Path
    digest: str
    size: int


@dataclass
class CreatePlan:
    """The create request (``model`` and ``quantize`` filled in by the caller) and its blobs."""

    request: dict[str, Any] = field(default_factory=dict)
    blobs: list[BlobFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class CreateRequestError(Exception):
    """A FROM or ADAPTER path cannot be used (missing, or a directory without model files)."""


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def model_files(directory: Path) -> list[Path]:
    """The files of a model directory that the server needs, in a stable order.

    Weights are ``*.safetensors`` or else ``*.gguf``; with them go the JSON configuration files
    (top level and one level down, as sentence-transformers models nest some) and
    ``tokenizer.model``.
    """
    weights = sorted(directory.glob("*.safetensors")) or sorted(directory.glob("*.gguf"))
    if not weights:
        raise CreateRequestError(f"no safetensors or gguf files found in {directory}")
    extra = sorted(directory.glob("*.json")) + sorted(directory.glob("*/*.json"))
    extra += sorted(p for p in (directory / "tokenizer.model",) if p.exists())
    return [p for p in weights + extra if p.is_file()]


def _blobs_for(path: Path) -> list[BlobFile]:
    if path.is_dir():
        files = [(p.relative_to(path).as_posix(), p) for p in model_files(path)]
    else:
        files = [(path.name, path)]
    return [BlobFile(name, p, file_digest(p), p.stat().st_size) for name, p in files]


def _local_blobs(arg: str, modelfile_dir: Path) -> list[BlobFile] | None:
    """The blobs of a FROM/ADAPTER argument naming a local path; None when it names a model."""
    path = resolve_path(arg, modelfile_dir)
    if path.exists():
        return _blobs_for(path)
    if is_local_path(arg, modelfile_dir):
        raise CreateRequestError(f"{arg}: no such file or directory")
    return None


def build_create_request(modelfile: Modelfile, modelfile_dir: Path) -> CreatePlan:
    """Translate ``modelfile`` the way Ollama's CLI does before calling ``/api/create``.

    FROM naming an existing local file or directory becomes ``files`` (each file hashed, to be
    uploaded as a blob; a directory contributes its model files under their relative names); any
    other FROM becomes ``from``. ADAPTER paths become ``adapters``. TEMPLATE, SYSTEM, LICENSE (a
    list), MESSAGE (``messages``), PARAMETER (``parameters``, typed), RENDERER, PARSER and REQUIRES
    follow. Deprecated parameters are dropped and reported in :attr:`CreatePlan.warnings`.
    """
    plan = CreatePlan()
    req = plan.request
    for command in modelfile.commands:
        if command.name == "model":
            blobs = _local_blobs(command.args, modelfile_dir)
            if blobs is None:
                req["from"] = command.args
            else:
                plan.blobs += blobs
                req.setdefault("files", {}).update({b.name: b.digest for b in blobs})
        elif command.name == "adapter":
            blobs = _local_blobs(command.args, modelfile_dir)
            if blobs is None:
                raise CreateRequestError(f"{command.args}: no such file or directory")
            plan.blobs += blobs
            req.setdefault("adapters", {}).update({b.name: b.digest for b in blobs})
        elif command.name == "draft":
            raise CreateRequestError("DRAFT is not supported")
    for key in ("template", "system", "renderer", "parser", "requires"):
        value = getattr(modelfile, key)
        if value is not None:
            req[key] = value
    if modelfile.license:
        req["license"] = modelfile.license
    if modelfile.messages:
        req["messages"] = modelfile.messages
    if modelfile.parameters:
        req["parameters"] = modelfile.parameters
    plan.warnings = modelfile.parameter_warnings
    return plan
