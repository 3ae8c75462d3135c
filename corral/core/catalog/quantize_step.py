"""The ``quantize`` step of ``/api/create``: replace the model layer by its quantized copy."""

from __future__ import annotations

import tempfile
from pathlib import Path

from corral.core.gguf import GGUFInfo, read_gguf, validate_model
from corral.core.quantize import Quantizer, parse_quantize_type, source_type_name
from corral.core.sources import Progress, ProgressCallback
from corral.core.store import Store
from corral.core.store.manifest import Layer
from corral.core.store.media import MEDIA_MODEL

__all__ = ["QUANTIZE_DIGEST", "quantize_model_layer"]

QUANTIZE_DIGEST = "0000000000000000000"
"""What Ollama puts in ``digest`` on its quantizing progress lines."""

_CHUNK = 1 << 20


def quantize_model_layer(
    store: Store,
    quantizer: Quantizer,
    layer: Layer,
    info: GGUFInfo,
    quantize: str,
    progress: ProgressCallback,
) -> tuple[Layer, GGUFInfo]:
    """Quantize the model ``layer`` (whose header is ``info``) to ``quantize``; returns the new
    layer and its header, or the same ones when the model already has that type (as Ollama)."""
    target = parse_quantize_type(quantize)
    source = source_type_name(info.file_type)  # 400 unless F32/F16/BF16
    if source == target.name:
        return layer, info
    status = f"quantizing {source} model to {target.name}"
    size = layer.size

    def report(fraction: float) -> None:
        done = int(max(0.0, min(1.0, fraction)) * size)
        progress(Progress(status, digest=QUANTIZE_DIGEST, total=size, completed=done))

    report(0.0)
    store.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".quantize-", dir=store.root) as scratch:
        out = Path(scratch) / "model.gguf"
        quantizer.quantize(store.blob_path(layer.digest), out, target, report)
        progress(Progress("verifying conversion"))
        new_info = read_gguf(out, keep_arrays=False)
        validate_model(new_info)
        with out.open("rb") as f:
            digest, written = store.write_blob(iter(lambda: f.read(_CHUNK), b""))
    return Layer(MEDIA_MODEL, digest, written), new_info
