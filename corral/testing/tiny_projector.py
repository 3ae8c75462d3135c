"""Tiny vision projectors (LLaVA-style ``mlp`` CLIP GGUF files) with random weights, and tiny PNG images.

A projector from :func:`write_tiny_projector` loads in llama.cpp's multimodal library (mtmd) beside a
tiny text model from :func:`corral.testing.write_tiny_gguf` of the same ``n_embd``: an image of any
size is resized to ``image_size`` pixels square, cut into ``(image_size // patch_size) ** 2``
patches, run through a one-layer vision transformer and projected by a two-layer MLP to the text
model's embedding size. Each image therefore becomes that many prompt tokens (4 by default).
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import numpy as np
from gguf import GGUFWriter

__all__ = ["tiny_png", "write_tiny_projector"]


def write_tiny_projector(
    path: Path,
    *,
    text_embd: int = 64,
    seed: int = 0,
    image_size: int = 28,
    patch_size: int = 14,
    n_embd: int = 32,
    n_head: int = 4,
    n_ff: int = 64,
) -> Path:
    """Write a LLaVA ``mlp`` projector whose output size is ``text_embd`` (the text model's
    ``n_embd``; mtmd refuses a mismatch). Weights are normal noise drawn from ``seed``; the same
    arguments always give the same bytes. Returns ``path``."""
    if image_size % patch_size or n_embd % n_head:
        raise ValueError("image_size must be a multiple of patch_size, and n_embd of n_head")
    rng = np.random.default_rng(seed)
    n_patches = (image_size // patch_size) ** 2
    # Two blocks: the LLaVA graph runs all but the last one (it takes the second-to-last layer).
    n_layer = 2

    writer = GGUFWriter(path, "clip")
    writer.add_name("tiny-projector")
    writer.add_string("clip.projector_type", "mlp")
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_bool("clip.use_gelu", True)
    writer.add_uint32("clip.vision.image_size", image_size)
    writer.add_uint32("clip.vision.patch_size", patch_size)
    writer.add_uint32("clip.vision.embedding_length", n_embd)
    writer.add_uint32("clip.vision.feed_forward_length", n_ff)
    writer.add_uint32("clip.vision.block_count", n_layer)
    writer.add_uint32("clip.vision.projection_dim", text_embd)
    writer.add_uint32("clip.vision.attention.head_count", n_head)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-5)
    writer.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    writer.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])

    def weight(name: str, *shape: int) -> None:
        # Matrices as F16 (ggml's conv2d wants an F16 kernel), scaled so activations stay near 1.
        data = rng.standard_normal(shape) / math.sqrt(shape[-1] if len(shape) == 2 else np.prod(shape[1:]))
        writer.add_tensor(name, data.astype(np.float16))

    def vector(name: str, size: int, *, mean: float = 0.0) -> None:
        writer.add_tensor(name, (mean + 0.1 * rng.standard_normal(size)).astype(np.float32))

    # numpy shapes are ggml's reversed: the conv kernel is [patch, patch, 3, n_embd] in ggml.
    weight("v.patch_embd.weight", n_embd, 3, patch_size, patch_size)
    vector("v.patch_embd.bias", n_embd)
    writer.add_tensor("v.position_embd.weight", rng.standard_normal((n_patches, n_embd)).astype(np.float32))
    for i in range(n_layer):
        for part in ("q", "k", "v", "out"):
            weight(f"v.blk.{i}.attn_{part}.weight", n_embd, n_embd)
            vector(f"v.blk.{i}.attn_{part}.bias", n_embd)
        for norm in ("ln1", "ln2"):
            vector(f"v.blk.{i}.{norm}.weight", n_embd, mean=1.0)
            vector(f"v.blk.{i}.{norm}.bias", n_embd)
        weight(f"v.blk.{i}.ffn_up.weight", n_ff, n_embd)
        vector(f"v.blk.{i}.ffn_up.bias", n_ff)
        weight(f"v.blk.{i}.ffn_down.weight", n_embd, n_ff)
        vector(f"v.blk.{i}.ffn_down.bias", n_embd)
    # The projector proper: a large output scale so an image moves the text model's logits.
    weight("mm.0.weight", text_embd, n_embd)
    vector("mm.0.bias", text_embd)
    writer.add_tensor(
        "mm.2.weight",
        (4.0 * rng.standard_normal((text_embd, text_embd)) / math.sqrt(text_embd)).astype(np.float16),
    )
    vector("mm.2.bias", text_embd)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def tiny_png(width: int, height: int, rgb: tuple[int, int, int] | None = None, *, seed: int = 0) -> bytes:
    """A PNG image (8-bit RGB) of one colour, or of random pixels from ``seed`` when ``rgb`` is None."""
    if rgb is None:
        pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:
        pixels = np.empty((height, width, 3), dtype=np.uint8)
        pixels[:] = rgb
    # Each scanline starts with filter type 0 (none).
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
