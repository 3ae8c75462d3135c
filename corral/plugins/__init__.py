"""corral's plugin API, in one import: the hook markers and every type a plugin author uses.

Read it together with :mod:`corral.plugins.hookspecs` (the hooks). A backend plugin needs::

    from corral.plugins import hookimpl, Backend, Runner, ModelSpec, Fit, LoadParams, GenerateParams, TokenOut

The types are defined in :mod:`corral.core.engine` (backends and runners),
:mod:`corral.core.sources` (model sources) and :mod:`corral.core.events` (lifecycle events) and
re-exported here unchanged, so ``corral.plugins.ModelSpec is corral.core.engine.ModelSpec``.
"""

from __future__ import annotations

import pluggy

from corral.core.engine import (
    Backend,
    BackendStatus,
    Fit,
    GenerateParams,
    HostInfo,
    LoadParams,
    ModelSpec,
    PromptStats,
    Runner,
    RunnerCapabilities,
    SamplingOptions,
    TokenLogprob,
    TokenOut,
    capabilities_of,
)
from corral.core.events import Event
from corral.core.sources import ModelSource, Progress, ProgressCallback, PullContext

__all__ = [
    "PROJECT_NAME",
    "Backend",
    "BackendStatus",
    "Event",
    "Fit",
    "GenerateParams",
    "HostInfo",
    "LoadParams",
    "ModelSource",
    "ModelSpec",
    "Progress",
    "ProgressCallback",
    "PromptStats",
    "PullContext",
    "Runner",
    "RunnerCapabilities",
    "SamplingOptions",
    "TokenLogprob",
    "TokenOut",
    "capabilities_of",
    "hookimpl",
    "hookspec",
]

PROJECT_NAME = "corral"
"""The pluggy project name and the entry-point group third-party plugins register under."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
