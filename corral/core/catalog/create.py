"""``/api/create``: assemble a manifest from uploaded blobs, a base model and text layers."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.core.catalog.chat_template import gguf_jinja_template
from corral.core.catalog.quantize_step import quantize_model_layer
from corral.core.convert import convert_into_store, is_hf_model_dir
from corral.core.digest import parse_digest, sha256_digest
from corral.core.errors import BadRequest, ModelNotFound
from corral.core.gguf import GGUFInfo, is_legacy_ggml, read_gguf, read_model_file, validate_model
from corral.core.names import ModelName, parse_name
from corral.core.quantize import find_quantizer
from corral.core.sources import Progress, ProgressCallback
from corral.core.store import Store
from corral.core.store.manifest import Layer, Manifest, ModelConfig, encode_config
from corral.core.store.media import (
    MEDIA_ADAPTER,
    MEDIA_CONFIG,
    MEDIA_LICENSE,
    MEDIA_MESSAGES,
    MEDIA_MODEL,
    MEDIA_PARAMS,
    MEDIA_PROJECTOR,
    MEDIA_SYSTEM,
    MEDIA_TEMPLATE,
)
from corral.core.store.pins import Pins
from corral.core.templates.match import match_builtin

if TYPE_CHECKING:
    from corral.core.catalog import Catalog
    from corral.core.catalog.spec import CreateSpec

__all__ = ["create_model", "model_config"]

log = logging.getLogger("corral.catalog")

_WEIGHT_TYPES = (MEDIA_MODEL, MEDIA_ADAPTER, MEDIA_PROJECTOR)


@dataclass
class _Draft:
    """The layers of the model being built, by kind."""

    weights: list[Layer] = field(default_factory=list)
    template: str | None = None
    system: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)
    license: list[str] = field(default_factory=list)
    info: GGUFInfo | None = None


def model_config(info: GGUFInfo | None) -> ModelConfig:
    """The config blob for a model whose weights ``info`` describes."""
    if info is None:
        return ModelConfig()
    arch = info.architecture
    cfg = ModelConfig(
        model_format=info.container,
        model_family=arch,
        model_families=[arch],
        model_type=info.parameter_size,
        file_type=info.quantization_level,
    )
    if info.context_length:
        cfg.context_length = info.context_length
    if info.embedding_length:
        cfg.embedding_length = info.embedding_length
    return cfg


def _from_base(
    catalog: Catalog, base_name: str, draft: _Draft, progress: ProgressCallback, pins: Pins
) -> None:
    base = parse_name(base_name)
    if not base.is_valid():
        raise BadRequest(f'invalid model name "{base_name}"')
    catalog.ensure_local(base, progress)
    local = catalog.store.resolve(base)
    if pins.require(local.manifest.digests()):  # deleted meanwhile: fail now, not with a broken manifest
        raise ModelNotFound(f"model '{base.display_shortest()}' not found")
    origin = base.display_shortest()
    for layer in local.manifest.layers:
        if layer.media_type in _WEIGHT_TYPES:
            draft.weights.append(
                layer if layer.from_ else Layer(layer.media_type, layer.digest, layer.size, origin)
            )
    draft.template = local.template
    draft.system = local.system
    draft.params = dict(local.params)
    draft.messages = [dict(m) for m in local.messages]
    draft.license = list(local.license)
    if local.model_path is not None:
        draft.info = read_model_file(local.model_path, keep_arrays=False)


def _from_files(store: Store, spec: CreateSpec, draft: _Draft, progress: ProgressCallback) -> None:
    # A legacy GGML file (legacy.bin) is a model file whatever its name: its magic says so.
    ggufs = sorted(
        name for name in spec.files if name.endswith(".gguf") or _is_legacy(store, spec.files[name])
    )
    others = [name for name in spec.files if name not in ggufs]
    if others and not ggufs:
        if not is_hf_model_dir(others):
            raise BadRequest(
                "importing this model is not supported; use a GGUF file or a BERT directory with "
                f"safetensors, config.json and tokenizer.json (got {', '.join(sorted(others))})"
            )
        _convert(store, spec, draft, progress)
        return
    progress(Progress("parsing GGUF"))
    model_path: Path | None = None
    for name in ggufs:
        digest = parse_digest(spec.files[name])
        if not store.has_blob(digest):
            raise BadRequest(f'blob "{spec.files[name]}" not found; upload it with POST /api/blobs first')
        path = store.blob_path(digest)
        info = read_model_file(path, keep_arrays=False)
        media = MEDIA_PROJECTOR if info.architecture == "clip" else MEDIA_MODEL
        if media == MEDIA_MODEL:
            validate_model(info)
            draft.weights = [w for w in draft.weights if w.media_type != MEDIA_MODEL]
            draft.info = info
            model_path = path
        draft.weights.append(Layer(media, digest, path.stat().st_size))
    if model_path is not None and draft.template is None and spec.template is None:
        _autodetect_template(model_path, draft, progress)


def _is_legacy(store: Store, raw_digest: str) -> bool:
    """Whether an uploaded blob starts with a legacy GGML magic (see :mod:`corral.core.gguf.legacy`)."""
    digest = parse_digest(raw_digest)
    if not store.has_blob(digest):
        return False
    with open(store.blob_path(digest), "rb") as f:
        return is_legacy_ggml(f.read(4))


def _convert(store: Store, spec: CreateSpec, draft: _Draft, progress: ProgressCallback) -> None:
    """Safetensors + tokenizer.json (BERT) → a GGUF model layer, like Ollama's ``converting model``."""
    paths = {}
    for name, ref in spec.files.items():
        digest = parse_digest(ref)
        if not store.has_blob(digest):
            raise BadRequest(f'blob "{ref}" not found; upload it with POST /api/blobs first')
        paths[name] = store.blob_path(digest)
    progress(Progress("converting model"))
    digest, size = convert_into_store(store, paths)
    info = read_gguf(store.blob_path(digest), keep_arrays=False)
    validate_model(info)
    draft.weights = [w for w in draft.weights if w.media_type != MEDIA_MODEL]
    draft.weights.append(Layer(MEDIA_MODEL, digest, size))
    draft.info = info


def _autodetect_template(model_path: Path, draft: _Draft, progress: ProgressCallback) -> None:
    """Use a built-in template only if it renders like the GGUF's chat template; otherwise write no
    template layer, so the model keeps rendering with its own Jinja template."""
    jinja = gguf_jinja_template(model_path)
    if jinja is None:
        return
    found = match_builtin(jinja)
    if found is None:
        return
    progress(Progress(f"using autodetected template {found.name}"))
    draft.template = found.template
    for key, value in found.parameters.items():
        draft.params.setdefault(key, value)


def _quantize(catalog: Catalog, quantize: str, draft: _Draft, progress: ProgressCallback) -> None:
    at = next(i for i, w in enumerate(draft.weights) if w.media_type == MEDIA_MODEL)
    layer = draft.weights[at]
    info = draft.info or read_model_file(catalog.store.blob_path(layer.digest), keep_arrays=False)
    if info.container != "gguf":
        raise BadRequest(
            f"quantize: {info.container} files cannot be quantized; convert the model to GGUF first"
        )
    quantizer = find_quantizer(catalog.quantizers)
    new, draft.info = quantize_model_layer(catalog.store, quantizer, layer, info, quantize, progress)
    draft.weights[at] = new


def _adapters(store: Store, spec: CreateSpec, draft: _Draft) -> None:
    for name in sorted(spec.adapters):
        digest = parse_digest(spec.adapters[name])
        if not store.has_blob(digest):
            raise BadRequest(f'blob "{spec.adapters[name]}" not found; upload it with POST /api/blobs first')
        path = store.blob_path(digest)
        if name.endswith(".gguf"):
            read_gguf(path, keep_arrays=False)
        draft.weights = [w for w in draft.weights if w.media_type != MEDIA_ADAPTER]
        draft.weights.append(Layer(MEDIA_ADAPTER, digest, path.stat().st_size))


def _apply_overrides(spec: CreateSpec, draft: _Draft) -> None:
    if spec.template is not None:
        draft.template = spec.template
    if spec.system is not None:
        draft.system = spec.system
    if spec.parameters:
        draft.params.update(spec.parameters)
    if spec.messages is not None:
        draft.messages = [{"role": role, "content": content} for role, content in spec.messages]
    if spec.license is not None:
        draft.license = list(spec.license)


def _text_layers(draft: _Draft) -> list[tuple[bytes, str]]:
    out: list[tuple[bytes, str]] = []
    if draft.template:
        out.append((draft.template.encode(), MEDIA_TEMPLATE))
    if draft.system:
        out.append((draft.system.encode(), MEDIA_SYSTEM))
    if draft.params:
        out.append((json.dumps(draft.params, separators=(",", ":")).encode(), MEDIA_PARAMS))
    if draft.messages:
        out.append((json.dumps(draft.messages, separators=(",", ":")).encode(), MEDIA_MESSAGES))
    out.extend((text.encode(), MEDIA_LICENSE) for text in draft.license)
    return out


def _report_layer(digest: str, progress: ProgressCallback, existed: bool) -> None:
    verb = "using existing layer" if existed else "creating new layer"
    progress(Progress(f"{verb} {digest}"))


def create_model(catalog: Catalog, spec: CreateSpec, progress: ProgressCallback) -> None:
    """Build and write the manifest for ``spec``, reporting Ollama's create status lines."""
    store = catalog.store
    target: ModelName = spec.validate()
    with store.pinned() as pins:
        _require_uploads(spec, pins)
        _create_pinned(catalog, spec, target, progress, pins)


def _require_uploads(spec: CreateSpec, pins: Pins) -> None:
    """Pin every uploaded blob the request names, so no concurrent delete removes one meanwhile."""
    named = {**spec.files, **spec.adapters}
    missing = pins.require(parse_digest(d) for d in named.values())
    if missing:
        raw = next(d for d in named.values() if parse_digest(d) == missing[0])
        raise BadRequest(f'blob "{raw}" not found; upload it with POST /api/blobs first')


def _create_pinned(
    catalog: Catalog, spec: CreateSpec, target: ModelName, progress: ProgressCallback, pins: Pins
) -> None:
    store = catalog.store
    draft = _Draft()
    if spec.from_:
        _from_base(catalog, spec.from_, draft, progress, pins)
    if spec.files:
        _from_files(store, spec, draft, progress)
    _adapters(store, spec, draft)
    _apply_overrides(spec, draft)
    if not any(w.media_type == MEDIA_MODEL for w in draft.weights):
        raise BadRequest("no model weights: 'files' must include a GGUF file or 'from' must name a model")
    if spec.quantize:
        _quantize(catalog, spec.quantize, draft, progress)

    layers: list[Layer] = []
    for layer in draft.weights:
        _report_layer(layer.digest, progress, True)
        layers.append(layer)
    for data, media in _text_layers(draft):
        pins.hold([sha256_digest(data)])
        existed = store.has_blob(sha256_digest(data))
        layer = store.add_layer(data, media)
        _report_layer(layer.digest, progress, existed)
        layers.append(layer)
    config_bytes = encode_config(model_config(draft.info))
    pins.hold([sha256_digest(config_bytes)])
    config_layer = store.add_layer(config_bytes, MEDIA_CONFIG)
    progress(Progress("writing manifest"))
    store.publish(target, Manifest(config=config_layer, layers=layers), prune_old=not catalog.noprune)
    progress(Progress("success"))
