"""Lazy access to llama-cpp-python: importing it, naming the missing extra, describing the build."""

from __future__ import annotations

import functools
import importlib
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from corral.backends.llamacpp._harden import hide_chat_templates
from corral.core.errors import CorralError

__all__ = ["INSTALL_HINT", "BuildInfo", "build_info", "import_error", "llama_cpp", "log_callback", "require"]

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'corral[llamacpp]'"


@functools.cache
def _import() -> tuple[Any, str | None]:
    try:
        module = importlib.import_module("llama_cpp")
    except Exception as exc:  # ImportError, or OSError when the shared library does not load
        return None, f"{type(exc).__name__}: {exc}"
    _route_native_logs(module)
    hide_chat_templates(module)
    return module, None


_native_log = logging.getLogger("corral.backends.llamacpp.native")
# ggml levels: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 continuation of the previous line.
# llama.cpp warns about things an operator cannot act on (unused context capacity, SWA cache
# sizing...), so its warnings are logged at INFO and its info at DEBUG.
_LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.DEBUG, 3: logging.INFO, 4: logging.ERROR}
_log_callback: Any = None
_log_lock = threading.Lock()


def _route_native_logs(module: Any) -> None:
    """Send llama.cpp's own log lines to Python logging instead of stderr (once per process)."""
    # functools.cache lets two threads that call _import() at once both run it. A second callback
    # would replace the first in _log_callback and free it while llama.cpp still calls it: a
    # segfault at the next load (seen when the web page asks /api/show of several models at once).
    with _log_lock:
        if _log_callback is None:
            _install_log_callback(module)


def _install_log_callback(module: Any) -> None:
    global _log_callback
    last = [logging.DEBUG]

    def forward(level: int, text: bytes, _user_data: Any) -> None:
        py_level = last[0] if level == 5 else _LEVELS.get(level, logging.DEBUG)
        last[0] = py_level
        message = text.decode("utf-8", "replace").rstrip()
        if message and _native_log.isEnabledFor(py_level):
            _native_log.log(py_level, "%s", message)

    try:
        _log_callback = module.llama_log_callback(forward)
        module.llama_log_set(_log_callback, None)
    except Exception:  # pragma: no cover - an old binding: keep its stderr logging
        log.debug("could not install the llama.cpp log callback", exc_info=True)


def log_callback() -> Any | None:
    """The ctypes log callback installed for llama.cpp (None before the first import or when it
    could not be installed), for the other native libraries of the build (mtmd) to log through."""
    _import()
    return _log_callback


def llama_cpp() -> Any | None:
    """The ``llama_cpp`` module, or None when it cannot be imported (typed ``Any``: it is a ctypes
    binding whose own annotations are loose)."""
    return _import()[0]


def import_error() -> str | None:
    """Why ``llama_cpp`` could not be imported, or None when it can."""
    return _import()[1]


def require() -> Any:
    """The ``llama_cpp`` module; raises :class:`CorralError` naming the extra when it is missing."""
    module, error = _import()
    if module is None:
        raise CorralError(f"the llama.cpp backend needs llama-cpp-python ({INSTALL_HINT}): {error}")
    return module


@dataclass(frozen=True)
class BuildInfo:
    """What the installed llama.cpp build can do."""

    version: str
    gpu_offload: bool
    """``llama_supports_gpu_offload()``: a GPU backend (CUDA, Metal, Vulkan...) is compiled in."""
    cpu_features: tuple[str, ...]
    """SIMD features the CPU backend reports as enabled (``AVX2``, ``NEON``...)."""

    def describe_cpu(self) -> str:
        """A short label for the CPU build such as ``AVX2 build``."""
        for best in ("AVX512", "AVX2", "AVX", "SVE", "NEON"):
            if best in self.cpu_features:
                return f"{best} build"
        return "generic CPU build"


_FEATURE = re.compile(r"([A-Z][A-Z0-9_]*)\s*=\s*1")


@functools.cache
def build_info() -> BuildInfo | None:
    """Describe the installed build, or None when llama-cpp-python is not importable."""
    lib = llama_cpp()
    if lib is None:
        return None
    try:
        gpu = bool(lib.llama_supports_gpu_offload())
    except Exception:  # an old binding without the call: assume a CPU build
        gpu = False
    try:
        system_info = lib.llama_print_system_info().decode("utf-8", "replace")
    except Exception:
        system_info = ""
    features = tuple(dict.fromkeys(_FEATURE.findall(system_info)))
    return BuildInfo(version=str(getattr(lib, "__version__", "?")), gpu_offload=gpu, cpu_features=features)
