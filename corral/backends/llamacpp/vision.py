"""Images through llama.cpp's multimodal library (mtmd): a model's projector, image → embeddings.

A :class:`Projector` wraps one ``mtmd_context`` made from a model's projector GGUF. It turns an
image's bytes into the pieces it takes in the prompt (:meth:`Projector.encode`): the text tokens
the model's format puts around an image (Gemma 3's ``<start_of_image>``...) and an
:class:`ImageBlock` of encoded embeddings, which the batch loop later decodes into one sequence of
the shared context (:meth:`Projector.decode`).

In a sequence's token list an image takes one cell per embedding, each holding the image's
:attr:`ImageBlock.key`: a negative number drawn from a hash of the image's bytes. Token ids are
never negative, so the batch loop knows where an image starts, and the prefix cache only reuses
an image's KV cells for the very same image at the very same place.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import io
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corral.core.errors import BadRequest, CorralError

__all__ = ["ImageBlock", "Projector", "decode_rgb", "image_key", "image_start", "open_projector", "splice"]

log = logging.getLogger(__name__)

_TEXT, _IMAGE = 0, 1
"""``MTMD_INPUT_CHUNK_TYPE_TEXT`` and ``_IMAGE``."""


def image_key(image: bytes) -> int:
    """The negative cell value that stands for ``image`` in a token list (56 bits of BLAKE2b)."""
    return -1 - int.from_bytes(hashlib.blake2b(image, digest_size=7).digest(), "little")


def image_start(prompt: list[int], n: int) -> int:
    """``n`` moved back to the start of the image whose cells it would cut (image cells are negative)."""
    while 0 < n < len(prompt) and prompt[n] < 0 and prompt[n - 1] == prompt[n]:
        n -= 1
    return n


@dataclass(eq=False)
class ImageBlock:
    """One encoded image: its embeddings (``n_tokens`` × the text model's ``n_embd``) and the mtmd
    chunk that describes it, owned until :meth:`close`."""

    key: int
    n_tokens: int
    embd: NDArray[np.float32]
    chunk: Any
    _free: Any = field(repr=False)

    def close(self) -> None:
        """Free the chunk (once)."""
        chunk, self.chunk = self.chunk, None
        if chunk:
            self._free(chunk)


class Projector:
    """A loaded projector. :meth:`encode` may be called from any thread (calls are serialised);
    :meth:`decode` runs on the batch loop's thread, the only one that touches the llama context."""

    def __init__(self, mtmd: Any, ctx: Any, n_embd: int) -> None:
        self._m = mtmd
        self._ctx = ctx
        self._n_embd = n_embd
        self._lock = threading.Lock()
        self._marker: bytes = mtmd.mtmd_default_marker()
        self.mrope = bool(mtmd.mtmd_decode_use_mrope(ctx))
        """M-RoPE models (Qwen2-VL...) give an image fewer positions than cells; the batch loop
        assumes one position per cell, so their images are refused (see ``usable``)."""
        self.usable = bool(mtmd.mtmd_support_vision(ctx)) and not self.mrope
        """Images can be served: the projector reads images and places them one cell per position."""

    def encode(self, image: bytes, number: int) -> list[int | ImageBlock]:
        """The prompt pieces of one image (``number`` names it in errors). Raises
        :class:`BadRequest` when the bytes are not an image mtmd can decode."""
        m = self._m
        width, height, rgb = decode_rgb(image, number)
        pixels = (ctypes.c_uint8 * len(rgb)).from_buffer_copy(rgb)
        with self._lock:
            ctx = self._ctx
            if ctx is None:
                raise CorralError("the model has been unloaded")
            bitmap = m.mtmd_bitmap_init(width, height, pixels)
            if not bitmap:
                raise CorralError(f"image {number}: llama.cpp could not take the image")
            chunks = m.mtmd_input_chunks_init()
            try:
                text = m.mtmd_input_text(self._marker, len(self._marker), False, True)
                bitmaps = (m.mtmd_bitmap_p_ctypes * 1)(bitmap)
                code = int(m.mtmd_tokenize(ctx, chunks, ctypes.byref(text), bitmaps, 1))
                if code != 0:
                    raise BadRequest(
                        f"image {number}: llama.cpp could not prepare it (mtmd_tokenize returned {code})"
                    )
                return self._pieces(chunks, image, number)
            finally:
                m.mtmd_input_chunks_free(chunks)
                m.mtmd_bitmap_free(bitmap)

    def _pieces(self, chunks: Any, image: bytes, number: int) -> list[int | ImageBlock]:
        m, ctx = self._m, self._ctx
        pieces: list[int | ImageBlock] = []
        for i in range(int(m.mtmd_input_chunks_size(chunks))):
            chunk = m.mtmd_input_chunks_get(chunks, i)
            kind = int(m.mtmd_input_chunk_get_type(chunk))
            if kind == _TEXT:
                count = ctypes.c_size_t(0)
                tokens = m.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(count))
                pieces.extend(int(tokens[j]) for j in range(count.value))
                continue
            if kind != _IMAGE:
                raise BadRequest(f"image {number}: this projector does not read images")
            code = int(m.mtmd_encode_chunk(ctx, chunk))
            if code != 0:
                raise CorralError(
                    f"image {number}: llama.cpp failed to encode it (mtmd_encode_chunk returned {code})"
                )
            n_tokens = int(m.mtmd_input_chunk_get_n_tokens(chunk))
            pointer = m.mtmd_get_output_embd(ctx)
            # The output buffer is reused by the next encode: keep a copy.
            embd = np.ctypeslib.as_array(pointer, shape=(n_tokens * self._n_embd,)).copy()
            owned = m.mtmd_input_chunk_copy(chunk)
            pieces.append(ImageBlock(image_key(image), n_tokens, embd, owned, m.mtmd_input_chunk_free))
        return pieces

    def decode(self, lctx: Any, block: ImageBlock, n_past: int, seq_id: int, n_batch: int) -> int:
        """Evaluate ``block``'s embeddings at positions ``n_past...`` of sequence ``seq_id``; returns
        the next position. Raises :class:`CorralError` when llama.cpp refuses."""
        m = self._m
        new_n_past = ctypes.c_int32(0)
        code = int(
            m.mtmd_helper_decode_image_chunk(
                self._ctx,
                lctx,
                block.chunk,
                block.embd.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                n_past,
                seq_id,
                n_batch,
                ctypes.byref(new_n_past),
                m.mtmd_helper_post_decode_callback(),  # NULL: no callback
                None,
            )
        )
        if code != 0:
            raise CorralError(
                f"llama.cpp failed to evaluate an image (mtmd_helper_decode_image_chunk returned {code})"
            )
        return int(new_n_past.value)

    def close(self) -> None:
        """Free the mtmd context (once; before the text model it was made from)."""
        with self._lock:
            ctx, self._ctx = self._ctx, None
        if ctx:
            self._m.mtmd_free(ctx)


IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
"""What an image may be (Pillow's names). mtmd's own file helper would also take audio, and hand
anything else to ffmpeg; corral decodes images itself and gives mtmd pixels."""
MAX_PIXELS = 50_000_000
"""Larger images are refused before they are decoded (a small file can claim a huge size)."""


def decode_rgb(image: bytes, number: int) -> tuple[int, int, bytes]:
    """``image`` as (width, height, 8-bit RGB pixels). Raises :class:`BadRequest` when it is not an
    image of :data:`IMAGE_FORMATS`, is too large, or Pillow is missing."""
    try:
        from PIL import Image
    except ImportError:
        raise BadRequest(
            "reading images needs Pillow: install it with pip install 'corral[llamacpp]'"
        ) from None
    try:
        with Image.open(io.BytesIO(image), formats=IMAGE_FORMATS) as img:
            if img.width * img.height > MAX_PIXELS:
                raise BadRequest(f"image {number} is too large: {img.width}x{img.height} pixels")
            rgb = img.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise BadRequest(
            f"image {number}: unsupported or corrupt image data (expected PNG, JPEG, GIF, BMP or WebP)"
        ) from None
    return rgb.width, rgb.height, rgb.tobytes()


def splice(
    tokens: Sequence[int], positions: Sequence[int], images: Sequence[Sequence[int | ImageBlock]]
) -> tuple[list[int], dict[int, ImageBlock]]:
    """The sequence's cells: ``tokens`` with each image's pieces inserted before
    ``tokens[positions[i]]``, and the image blocks by the index of their first cell."""
    cells: list[int] = []
    blocks: dict[int, ImageBlock] = {}
    at = 0
    for position, pieces in zip(positions, images, strict=True):
        cells.extend(tokens[at:position])
        at = position
        for piece in pieces:
            if isinstance(piece, ImageBlock):
                blocks[len(cells)] = piece
                cells.extend([piece.key] * piece.n_tokens)
            else:
                cells.append(piece)
    cells.extend(tokens[at:])
    return cells, blocks


_mtmd_lock = threading.Lock()


def _mtmd_module() -> Any:
    """``llama_cpp.mtmd_cpp``, with its log lines routed like llama.cpp's own."""
    from corral.backends.llamacpp import _lib

    module = importlib.import_module("llama_cpp.mtmd_cpp")
    callback = _lib.log_callback()
    if callback is not None:
        with _mtmd_lock:
            module.mtmd_log_set(callback, None)
            module.mtmd_helper_log_set(callback, None)
    return module


def open_projector(model: Any, path: Path, *, n_threads: int, use_gpu: bool, name: str) -> Projector:
    """Load the projector GGUF at ``path`` for the llama model ``model``. Raises
    :class:`CorralError` naming ``name`` when mtmd refuses it (its log says why)."""
    try:
        m = _mtmd_module()
    except (ImportError, OSError) as exc:
        raise CorralError(
            f"llama.cpp could not load the projector of model {name}: the mtmd library is missing ({exc})"
        ) from exc
    params = m.mtmd_context_params_default()
    params.use_gpu = use_gpu
    params.n_threads = max(1, n_threads)
    params.print_timings = False
    params.warmup = False
    ctx = m.mtmd_init_from_file(str(path).encode("utf-8"), model, params)
    if not ctx:
        raise CorralError(
            f"llama.cpp could not load the projector of model {name} "
            "(not a projector GGUF, or made for a text model of another size; see the log)"
        )
    lib = importlib.import_module("llama_cpp")
    projector = Projector(m, ctx, int(lib.llama_model_n_embd_inp(model)))
    if projector.mrope:
        log.warning(
            "model %s: its projector uses M-RoPE positions, which corral cannot place; images are refused",
            name,
        )
    return projector
