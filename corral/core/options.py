"""Ollama's request options: the typed table, Modelfile typing, resolution with range checks, Go printing.

Three places carry options and each has its own typing rules, all Ollama's:

* Modelfile ``PARAMETER`` lines and the REPL's ``/set parameter`` give strings, typed by
  :func:`format_params` (Go's ``api.FormatParams``).
* Request ``options`` and a model's stored ``params`` layer give JSON values, checked by
  :func:`resolve_options` (Go's ``Options.FromMap``), which also range-checks every value a backend
  sees so a hostile request cannot push a negative size into a C library.
* ``/api/show`` and ``show --modelfile`` print values the way Go's ``fmt`` does
  (:func:`format_parameters_for_show`, :func:`go_value_str`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from corral.core.engine import LoadParams, SamplingOptions
from corral.core.errors import BadRequest, ModelfileError
from corral.core.templates._strconv import format_float_g, go_quote

__all__ = [
    "DEPRECATED_OPTIONS",
    "OPTIONS",
    "OptionSpec",
    "ResolvedOptions",
    "format_parameters_for_show",
    "format_params",
    "go_quote",
    "go_value_str",
    "resolve_options",
]

OptionType = Literal["int", "float", "bool", "str", "str_list"]

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_FLOAT32_MAX = 3.4028234663852886e38


@dataclass(frozen=True)
class OptionSpec:
    """One option: its JSON/Modelfile name, value type, built-in default and when it applies."""

    name: str
    type: OptionType
    default: Any
    load_time: bool = False
    """True when a change means reloading the model (Ollama's "runner" options)."""
    minimum: int | float | None = None
    """Smallest accepted value (after int truncation); smaller values are a 400."""
    maximum: int | float | None = None
    """Largest accepted value; larger values are a 400 (ints default to the int32 range)."""
    positive: bool = False
    """The value must be greater than zero (a 400 otherwise)."""
    clamp: tuple[float, float] | None = None
    """Floats outside this closed range are silently clamped into it (backends treat them alike)."""


def _spec(name: str, type_: OptionType, default: Any, **kw: Any) -> tuple[str, OptionSpec]:
    return name, OptionSpec(name, type_, default, **kw)


_MAX_BATCH = 1 << 16


def max_threads() -> int:
    """The most ``num_thread`` a request may ask for: four per core here (at least 8). More only
    thrashes, and tens of thousands make native thread creation fail."""
    return max(8, 4 * (os.cpu_count() or 1))


OPTIONS: Mapping[str, OptionSpec] = dict(
    [
        # Load-time options. num_ctx's default is the server's (CORRAL_CONTEXT_LENGTH), so None here;
        # 0 also means "the server's default", and 1..3 is raised to 4 like Ollama does.
        _spec("num_ctx", "int", None, load_time=True, minimum=0),
        # Bounded so a request cannot make the engine reserve gigabytes of batch buffers.
        _spec("num_batch", "int", 512, load_time=True, minimum=1, maximum=_MAX_BATCH),
        _spec("num_gpu", "int", -1, load_time=True, minimum=-1),
        _spec("main_gpu", "int", 0, load_time=True, minimum=0),
        _spec("use_mmap", "bool", None, load_time=True),
        _spec("num_thread", "int", 0, load_time=True, minimum=0),
        # corral's own (Ollama #4894): slots for this model; 0 = the server's NUM_PARALLEL.
        _spec("num_parallel", "int", 0, load_time=True, minimum=0, maximum=64),
        # Runtime options.
        _spec("num_keep", "int", 4, minimum=-1),
        _spec("seed", "int", -1, minimum=_INT64_MIN, maximum=_INT64_MAX),
        _spec("num_predict", "int", -1, minimum=-2),
        _spec("top_k", "int", 40, minimum=0),
        _spec("top_p", "float", 0.9, clamp=(0.0, 1.0)),
        _spec("min_p", "float", 0.0, clamp=(0.0, 1.0)),
        _spec("typical_p", "float", 1.0, clamp=(0.0, 1.0)),
        _spec("repeat_last_n", "int", 64, minimum=-1),
        _spec("temperature", "float", 0.8, clamp=(0.0, _FLOAT32_MAX)),
        _spec("repeat_penalty", "float", 1.0, positive=True),
        _spec("presence_penalty", "float", 0.0),
        _spec("frequency_penalty", "float", 0.0),
        _spec("stop", "str_list", None),
        # Accepted for Ollama compatibility; corral has no draft models and ignores it.
        _spec("draft_num_predict", "int", 4, minimum=0),
        # corral's own: which backend runs the model (overrides CORRAL_BACKEND and the probes).
        _spec("backend", "str", None, load_time=True),
        # corral's own: replica bounds of the model's deployment on a cluster (corral.cluster reads
        # them from the Modelfile at deploy time; a single server has no replicas to bound).
        _spec("min_replicas", "int", None, load_time=True, minimum=0, maximum=1024),
        _spec("max_replicas", "int", None, load_time=True, minimum=1, maximum=1024),
    ]
)
"""Every option corral accepts, by name, in Ollama's documentation order."""

DEPRECATED_OPTIONS: frozenset[str] = frozenset(
    {
        "numa", "low_vram", "f16_kv", "logits_all", "vocab_only", "use_mlock", "embedding_only",
        "num_gqa", "tfs_z", "mirostat", "mirostat_tau", "mirostat_eta", "penalize_newline",
    }
)  # fmt: skip
"""Options older clients still send; they are accepted and ignored everywhere."""


# ---------------------------------------------------------------------------------------------
# Modelfile / `/set parameter` typing (api.FormatParams)

_GO_INT = re.compile(r"[+-]?[0-9]+")
_GO_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def format_params(
    params: Mapping[str, Sequence[str]], *, warnings: list[str] | None = None
) -> dict[str, Any]:
    """Type string parameter values the way Ollama's ``api.FormatParams`` does.

    ``params`` maps a name to its raw values; only ``stop`` keeps them all (as a list), every other
    option uses the first. Ints parse as base-10 int64, floats as float32 (stored as the shortest
    decimal that float32 round-trips, as Go's JSON encoder writes it), bools with Go's
    ``strconv.ParseBool``. Deprecated names are skipped with ``"parameter X is deprecated"`` appended
    to ``warnings`` (when given).

    Raises :class:`ModelfileError` with Ollama's wording: ``unknown parameter 'x'``,
    ``invalid int value [x]``, ``invalid float value [x]``, ``invalid bool value [x]``.
    Unlike Go, ``inf``/``nan`` are rejected as invalid floats: they cannot be stored as JSON.
    """
    out: dict[str, Any] = {}
    for key, vals in params.items():
        if key in DEPRECATED_OPTIONS:
            if warnings is not None:
                warnings.append(f"parameter {key} is deprecated")
            continue
        spec = OPTIONS.get(key)
        if spec is None:
            raise ModelfileError(f"unknown parameter '{key}'")
        shown = "[" + " ".join(vals) + "]"  # Go's %s of a []string
        first = vals[0] if vals else ""
        if spec.type == "str_list":
            out[key] = list(vals)
        elif spec.type == "str":
            out[key] = first
        elif spec.type == "int":
            if not _GO_INT.fullmatch(first) or not _INT64_MIN <= int(first) <= _INT64_MAX:
                raise ModelfileError(f"invalid int value {shown}")
            out[key] = int(first)
        elif spec.type == "float":
            value = _parse_float32(first)
            if value is None:
                raise ModelfileError(f"invalid float value {shown}")
            out[key] = value
        else:
            if first in _GO_TRUE:
                out[key] = True
            elif first in _GO_FALSE:
                out[key] = False
            else:
                raise ModelfileError(f"invalid bool value {shown}")
    return out


def _parse_float32(text: str) -> float | None:
    """Go's ``ParseFloat(text, 32)`` for decimal input, as the shortest float32 decimal; None if bad."""
    if not _GO_FLOAT.fullmatch(text):
        return None
    wide = float(text)
    if not math.isfinite(wide):
        return None
    try:
        packed = struct.pack("<f", wide)
    except OverflowError:  # beyond float32's range: Go's ParseFloat reports ErrRange
        return None
    narrow: float = struct.unpack("<f", packed)[0]
    for digits in range(1, 10):
        candidate = float(f"{narrow:.{digits}g}")
        if struct.pack("<f", candidate) == packed:
            return candidate
    return narrow


# ---------------------------------------------------------------------------------------------
# Request-time resolution (Options.FromMap) and range checks


@dataclass(frozen=True)
class ResolvedOptions:
    """The options one request runs with: defaults < model params < request options, all checked."""

    load: LoadParams
    sampling: SamplingOptions
    num_predict: int = -1
    num_keep: int = 4
    stop: list[str] = field(default_factory=list)
    backend: str | None = None
    """A backend named by ``PARAMETER backend`` or the request, or None to let the probes choose."""
    ignored: tuple[str, ...] = ()
    """Unknown and deprecated keys that were dropped (for a debug log line)."""

    def load_key(self) -> tuple[Any, ...]:
        """A hashable key of everything load-time: a runner loaded with another key must be reloaded."""
        return (*dataclasses.astuple(self.load), self.backend)


_TYPE_WORDS = {"int": "integer", "float": "float32", "bool": "boolean", "str": "string"}


def resolve_options(
    model_params: Mapping[str, Any],
    request_options: Mapping[str, Any] | None,
    *,
    default_num_ctx: int,
    default_num_parallel: int = 0,
    embedding: bool = False,
) -> ResolvedOptions:
    """Merge and check options: built-in defaults, then the model's params, then the request's.

    Typing follows Ollama: ints accept any JSON number (truncated toward zero), floats any number,
    ``null`` leaves the value unset, numeric strings are not converted, unknown keys are ignored.
    A wrong type raises :class:`BadRequest` with Ollama's text (``option "temperature" must be of
    type float32``; ``integer``, ``boolean``, ``string``, ``array``, ``of an array of strings``).
    Values that could hurt a backend are refused (``option "num_batch" must be at least 1``) or, for
    the probability-like floats, clamped. ``num_ctx`` 0 or absent means ``default_num_ctx``.
    """
    values: dict[str, Any] = {}
    ignored: list[str] = []
    for source in (model_params, request_options or {}):
        for key, raw in source.items():
            spec = OPTIONS.get(key)
            if spec is None:
                ignored.append(key)
                continue
            if raw is None:
                continue
            values[key] = _check_value(spec, raw)

    def get(name: str) -> Any:
        return values.get(name, OPTIONS[name].default)

    num_ctx = get("num_ctx") or default_num_ctx
    if get("num_thread") > max_threads():
        raise BadRequest(
            f'option "num_thread" must be at most {max_threads()} (four per core; this host has '
            f"{os.cpu_count() or 1})"
        )
    load = LoadParams(
        num_ctx=max(num_ctx, 4),
        num_batch=get("num_batch"),
        num_gpu=get("num_gpu"),
        main_gpu=get("main_gpu"),
        num_thread=get("num_thread"),
        use_mmap=get("use_mmap"),
        embedding=embedding,
        num_parallel=get("num_parallel") or default_num_parallel,
    )
    sampling = SamplingOptions(
        **{f.name: get(f.name) for f in dataclasses.fields(SamplingOptions)},
    )
    return ResolvedOptions(
        load=load,
        sampling=sampling,
        num_predict=get("num_predict"),
        num_keep=get("num_keep"),
        stop=list(get("stop") or []),
        backend=get("backend") or None,
        ignored=tuple(dict.fromkeys(ignored)),
    )


def _check_value(spec: OptionSpec, raw: Any) -> Any:
    """Type-check and range-check one JSON value for ``spec``; return the value to use."""
    name = spec.name
    is_number = isinstance(raw, int | float) and not isinstance(raw, bool)
    if spec.type == "str_list":
        if not isinstance(raw, list | tuple):
            raise BadRequest(f'option "{name}" must be of type array')
        if not all(isinstance(item, str) for item in raw):
            raise BadRequest(f'option "{name}" must be of an array of strings')
        return list(raw)
    if spec.type == "bool" and not isinstance(raw, bool):
        raise BadRequest(f'option "{name}" must be of type boolean')
    if spec.type == "str" and not isinstance(raw, str):
        raise BadRequest(f'option "{name}" must be of type string')
    if spec.type in ("bool", "str"):
        return raw
    if not is_number:
        raise BadRequest(f'option "{name}" must be of type {_TYPE_WORDS[spec.type]}')
    if isinstance(raw, float) and not math.isfinite(raw):
        word = "of type integer" if spec.type == "int" else "a finite number"
        raise BadRequest(f'option "{name}" must be {word}')
    value: int | float
    if spec.type == "int":
        value = int(raw)
        low = spec.minimum if spec.minimum is not None else _INT32_MIN
        high = spec.maximum if spec.maximum is not None else _INT32_MAX
        if value < low:
            raise BadRequest(f'option "{name}" must be at least {low}')
        if value > high:
            raise BadRequest(f'option "{name}" must be at most {high}')
        return value
    if abs(raw) > _FLOAT32_MAX:
        raise BadRequest(f'option "{name}" must be a finite number')
    value = float(raw)
    if spec.positive and value <= 0:
        raise BadRequest(f'option "{name}" must be greater than 0')
    if spec.clamp is not None:
        value = min(max(value, spec.clamp[0]), spec.clamp[1])
    return value


# ---------------------------------------------------------------------------------------------
# Go-style printing (fmt %v and %#v)


def go_value_str(value: Any) -> str:
    """A parameter value as Go's ``%v`` prints it, for ``PARAMETER`` lines in a Modelfile.

    Strings as they are, bools ``true``/``false``, floats like Go (``0.7``, ``1e-05``, ``1e+06``).
    Python ints print plainly (Go would print a JSON-decoded ``1000000`` as ``1e+06``, which its own
    Modelfile parser then rejects).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float_g(value)
    if value is None:
        return "<nil>"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_value_str(v) for v in value) + "]"
    return str(value)


def _go_sharp_v(value: Any) -> str:
    """Go's ``%#v`` for a JSON-decoded value: strings quoted, numbers and bools as ``%v``."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list | tuple):
        return "[]interface {}{" + ", ".join(_go_sharp_v(v) for v in value) + "}"
    return go_value_str(value)


def format_parameters_for_show(params: Mapping[str, Any]) -> str:
    """``/api/show``'s ``parameters`` text: ``"%-30s %#v"`` per value, list items one per line."""
    lines: list[str] = []
    for key, value in params.items():
        items = value if isinstance(value, list | tuple) else [value]
        lines.extend(f"{key:<30} {_go_sharp_v(item)}" for item in items)
    return "\n".join(lines)
