"""Stand-ins for built-in backends whose plugin module cannot be imported (a missing extra).

The built-in backend modules import their engine library lazily, so this is a second line of
defence: should a future import slip to module level, the server still starts, and the backend is
listed as unavailable with the error and the extra to install instead of ending start-up."""

from __future__ import annotations

from collections.abc import Callable

from corral.core.engine import Backend, BackendStatus, Fit, HostInfo, LoadParams, ModelSpec, Runner
from corral.core.errors import CorralError
from corral.plugins import hookimpl

__all__ = ["BUILTIN_BACKEND_EXTRAS", "UnavailableBackend", "unavailable_plugin"]

BUILTIN_BACKEND_EXTRAS: dict[str, tuple[str, str]] = {
    "corral.backends.llamacpp.plugin": ("llamacpp", "llamacpp"),
    "corral.backends.onnx.plugin": ("onnx", "onnx"),
}
"""Built-in backend plugin module → (backend name, extra that installs its library)."""


class UnavailableBackend:
    """A registered backend that declines every model and says why."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def status(self, host: HostInfo) -> BackendStatus:
        del host
        return BackendStatus(False, self.reason)

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        del model, host
        return None

    def load(self, model: ModelSpec, params: LoadParams) -> Runner:
        del model, params
        raise CorralError(f'backend "{self.name}" is not available: {self.reason}', 400)


class _Plugin:
    def __init__(self, backend: UnavailableBackend) -> None:
        self.backend = backend

    @hookimpl
    def corral_register_backends(self, register: Callable[[Backend], None]) -> None:
        register(self.backend)


def unavailable_plugin(module: str, error: BaseException) -> object | None:
    """A plugin registering an :class:`UnavailableBackend` for the built-in ``module`` that failed
    to import with ``error``, or None when ``module`` is not a built-in backend."""
    known = BUILTIN_BACKEND_EXTRAS.get(module)
    if known is None:
        return None
    name, extra = known
    reason = f"{type(error).__name__}: {error}: pip install 'corral[{extra}]'"
    return _Plugin(UnavailableBackend(name, reason))
