"""Quantizing a GGUF with llama.cpp's ``llama_model_quantize``, in a child process.

The child keeps a crash in native code (or an out-of-memory kill) away from the server, and its
llama.cpp log callback turns the per-tensor lines (``[  12/ 201] blk.0.attn_q.weight ...``) into
``progress 12 201`` lines on stdout that the parent reads as it goes.

Run as ``python -m corral.backends.llamacpp.quantize SOURCE TARGET FTYPE``.
"""

from __future__ import annotations

import collections
import ctypes
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corral.backends.llamacpp import _lib
from corral.core.errors import BadRequest, CorralError
from corral.core.quantize import QuantizeType

__all__ = ["quantize_gguf", "quantize_unavailable"]

_TENSOR_LINE = re.compile(rb"^\[\s*(\d+)/\s*(\d+)\]")
_PROGRESS = re.compile(r"^progress (\d+) (\d+)$")


def quantize_unavailable() -> str | None:
    """None when llama-cpp-python is importable, else the 400 message naming the extra."""
    if _lib.llama_cpp() is None:
        return f"quantizing needs llama-cpp-python: install it with {_lib.INSTALL_HINT}"
    return None


def quantize_gguf(
    source: Path, target: Path, ftype: QuantizeType, progress: Callable[[float], None]
) -> None:
    """Write ``target`` as ``source`` quantized to ``ftype``; ``progress`` gets the fraction done."""
    reason = quantize_unavailable()
    if reason is not None:
        raise BadRequest(reason)
    cmd = [sys.executable, "-m", __name__, str(source), str(target), str(ftype.ftype)]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        for line in child.stdout:
            found = _PROGRESS.match(line.strip())
            if found and int(found[2]) > 0:
                progress(min(1.0, int(found[1]) / int(found[2])))
        errors = collections.deque(child.stderr, maxlen=5)
        code = child.wait()
    if code != 0 or not target.is_file():
        detail = " ".join(line.strip() for line in errors if line.strip()) or f"exit status {code}"
        raise CorralError(f"quantizing to {ftype.name} failed: {detail}")
    progress(1.0)


def _main(argv: list[str]) -> int:
    source, target, ftype = argv[0], argv[1], int(argv[2])
    lib: Any = _lib.require()

    def on_log(_level: int, text: bytes, _user_data: Any) -> None:
        found = _TENSOR_LINE.match(text or b"")
        if found:
            print(f"progress {int(found[1])} {int(found[2])}", flush=True)

    callback = lib.llama_log_callback(on_log)
    lib.llama_log_set(callback, None)
    params = lib.llama_model_quantize_default_params()
    params.ftype = ftype
    code = int(lib.llama_model_quantize(source.encode(), target.encode(), ctypes.byref(params)))
    if code != 0:
        print(f"llama_model_quantize returned {code}", file=sys.stderr)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
