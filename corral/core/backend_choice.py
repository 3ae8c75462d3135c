"""Which backend runs a model: every backend probes it; an override or the best fit wins.

The policy (also in ``docs/backends.md``). The choice is made when a model loads, from each
installed backend's :meth:`~corral.core.engine.Backend.probe` of that model on this host
(:class:`~corral.core.engine.HostInfo`); the highest :attr:`~corral.core.engine.Fit.score` wins,
ties go to the backend registered first (llamacpp, onnx, cpu-ref, then plugins):

=====  ==========================================================  =========================
score  backend and situation                                       rule it implements
=====  ==========================================================  =========================
120    llamacpp, build with GPU offload, host has CUDA or Metal    an accelerator beats CPU;
110    onnx, onnxruntime-gpu installed, host has a CUDA device     llama.cpp first on a GPU
50     llamacpp on the CPU                                         llama.cpp beats onnx on
40     onnx on the CPU (CPUExecutionProvider)                      the CPU when both fit
10     cpu-ref (numpy reference engine)                            the reference comes last
5      llamacpp, architecture not in its list (may fail to load)   a guess below everything
=====  ==========================================================  =========================

A backend that is unavailable on this host (its Python extra missing: see
:func:`backend_status`) is never probed. A backend that cannot run the model (architecture, tensor
types, tokenizer) returns None and is left out. ``PARAMETER backend NAME`` in the Modelfile, else
the ``CORRAL_BACKEND`` setting, overrides the scores but not the probe: the named backend must be
installed, available and accept the model, or the request is refused (400) with the reason.
The reason shown by ``/api/ps`` and ``/api/show`` is the winner's
:attr:`~corral.core.engine.Fit.reason` plus how it won (for a model not loaded, ``/api/show`` runs
the probes again and reports what the policy would pick now).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from corral.core.engine import Backend, BackendStatus, Fit, HostInfo, ModelSpec, formats_of
from corral.core.errors import CorralError
from corral.core.gguf import GGUFInfo, read_model_file
from corral.core.gguf.validate import validate_model
from corral.core.store import LocalModel

__all__ = [
    "Choice",
    "backend_status",
    "check_override",
    "choose_backend",
    "explain_choice",
    "model_spec",
    "probe_metadata",
    "spec_from_file",
]

log = logging.getLogger("corral.scheduler")


@dataclass(frozen=True)
class Choice:
    """The backend picked for a model and the reason an operator reads in /api/show and /api/ps."""

    backend: Backend
    fit: Fit
    reason: str


def backend_status(backend: Backend, host: HostInfo) -> BackendStatus:
    """``backend.status(host)`` when the backend has that optional method, else available.

    A plugin's failing ``status`` makes it unavailable with the error as the reason, rather than
    failing the caller."""
    report = getattr(backend, "status", None)
    if report is None:
        return BackendStatus(True, "installed (the plugin reports no status)", _distribution_version(backend))
    try:
        status = report(host)
    except Exception as exc:
        log.warning("backend %s status failed: %s", backend.name, exc)
        return BackendStatus(False, f"its status check failed: {type(exc).__name__}: {exc}")
    if not isinstance(status, BackendStatus):
        return BackendStatus(False, f"its status check returned {type(status).__name__}, not BackendStatus")
    return status


def _distribution_version(backend: Backend) -> str | None:
    """The version of the distribution that ships ``backend`` (a plugin without ``status``)."""
    top = type(backend).__module__.partition(".")[0]
    try:
        dists = metadata.packages_distributions().get(top, [])
        return metadata.version(dists[0]) if dists else None
    except (metadata.PackageNotFoundError, OSError):
        return None


def check_override(name: str, backends: Mapping[str, Backend], host: HostInfo) -> Backend:
    """The backend ``name`` names, if installed and available; else a 400 that says why (and, for
    a missing extra, what to install)."""
    backend = backends.get(name)
    if backend is None:
        installed = ", ".join(sorted(backends))
        raise CorralError(f'backend "{name}" is not installed (installed: {installed})', 400)
    status = backend_status(backend, host)
    if not status.available:
        raise CorralError(f'backend "{name}" is not available: {status.reason}', 400)
    return backend


def probe_metadata(info: GGUFInfo) -> dict[str, Any]:
    """The GGUF key/values a :class:`ModelSpec` carries: all but the long arrays."""
    return {k: v for k, v in info.metadata.items() if not isinstance(v, list) or len(v) <= 64}


def model_spec(local: LocalModel, *, validate: bool = False) -> ModelSpec:
    """Describe a stored model for probes (GGUF metadata without the large arrays; a legacy GGML
    file's header translated to GGUF keys, with ``format`` naming its container).

    ``validate`` also checks that it is a servable model (:func:`validate_model`), as a load does:
    a store written by another program, or a pull, never went through ``/api/create``'s checks.
    """
    if local.model_path is None:
        raise CorralError(f"model '{local.name.display_shortest()}' has no model weights", 500)
    digest = next(
        (layer.digest for layer in local.manifest.layers if layer.media_type.endswith(".model")), ""
    )
    return spec_from_file(
        Path(local.model_path),
        name=local.name.display_full(),
        digest=digest,
        adapters=tuple(Path(p) for p in local.adapters),
        projector=Path(local.projector) if local.projector is not None else None,
        parameters=dict(local.params),
        validate=validate,
    )


def spec_from_file(
    path: Path,
    *,
    name: str,
    digest: str = "",
    adapters: tuple[Path, ...] = (),
    projector: Path | None = None,
    parameters: Mapping[str, Any] | None = None,
    validate: bool = False,
) -> ModelSpec:
    """Describe the model file at ``path`` (GGUF or legacy GGML) as probes and loads see it."""
    info = read_model_file(path, keep_arrays=False)
    if validate:
        validate_model(info)
    return ModelSpec(
        name=name,
        model_path=path,
        digest=digest,
        architecture=info.architecture,
        metadata=probe_metadata(info),
        tensor_types=info.tensor_type_names,
        adapters=adapters,
        projector=projector,
        parameters=dict(parameters or {}),
        format=info.container,
    )


def choose_backend(
    spec: ModelSpec, host: HostInfo, backends: Mapping[str, Backend], override: str | None
) -> Choice:
    """Pick the backend for ``spec``.

    ``override`` (the model's ``PARAMETER backend`` or ``CORRAL_BACKEND``) must name an installed
    backend whose probe accepts the model. Otherwise the highest probe score wins; ties go to the
    backend registered first.
    """
    if not backends:
        raise CorralError("no inference backend is installed: pip install 'corral[llamacpp]'", 500)
    if override:
        backend = check_override(override, backends, host)
        fit = backend.probe(spec, host) if spec.format in formats_of(backend) else None
        if fit is None:
            raise CorralError(f'backend "{override}" cannot run model {spec.name} ({spec.architecture})', 400)
        return Choice(backend, fit, f"{fit.reason} (chosen by override)")
    fits: list[tuple[float, int, Backend, Fit]] = []
    refusals: list[str] = []
    for order, backend in enumerate(backends.values()):
        status = backend_status(backend, host)
        if not status.available:
            refusals.append(f"{backend.name} (unavailable: {status.reason})")
            continue
        if spec.format not in formats_of(backend):
            refusals.append(f"{backend.name} (does not read {spec.format} files)")
            continue
        try:
            fit = backend.probe(spec, host)
        except Exception as exc:  # a plugin's bug must not take the model down with it
            log.warning("backend %s probe failed: %s", backend.name, exc)
            fit = None
        if fit is None:
            refusals.append(backend.name)
        else:
            fits.append((fit.score, -order, backend, fit))
    if not fits:
        raise CorralError(
            f"no installed backend can run model {spec.name} "
            f"({spec.format}, architecture {spec.architecture}; "
            f"tried {'; '.join(refusals)})",
            500,
        )
    fits.sort(key=lambda f: (f[0], f[1]), reverse=True)
    _, _, backend, fit = fits[0]
    others = [f"{b.name} {s:g}" for s, _, b, _ in fits[1:]]
    reason = fit.reason + (f" (best fit; also possible: {', '.join(others)})" if others else "")
    return Choice(backend, fit, reason)


def explain_choice(
    local: LocalModel, host: HostInfo, backends: Mapping[str, Backend], override: str | None
) -> tuple[str | None, str]:
    """The backend :func:`choose_backend` would pick for ``local`` now, and why.

    Never raises for a model no backend can run: the answer is then ``(None, why)``. Reads the
    GGUF header (call it from a worker thread).
    """
    try:
        choice = choose_backend(model_spec(local), host, backends, override)
    except CorralError as exc:
        return None, exc.message
    except (OSError, ValueError) as exc:
        return None, f"cannot read model {local.name.display_shortest()}: {exc}"
    return choice.backend.name, choice.reason
