"""All server settings, parsed: :func:`load_config` reads the table in :mod:`corral.core.settings`
from ``CORRAL_*`` with ``OLLAMA_*`` as the fallback into a :class:`Config`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from corral.core.settings import (
    SETTINGS,
    HostURL,
    Secret,
    Setting,
    clean,
    parse_host,
    settings_markdown,
    settings_table,
)

__all__ = [
    "SETTINGS",
    "Config",
    "HostURL",
    "Secret",
    "Setting",
    "load_config",
    "parse_host",
    "settings_markdown",
    "settings_table",
]


def _settings_by_name() -> dict[str, Setting]:
    return {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    """The server's settings, already parsed. Build it with :func:`load_config`."""

    host: HostURL
    models: Path
    keep_alive_ns: int
    num_parallel: int
    max_loaded_models: int
    max_queue: int
    context_length: int
    origins: tuple[str, ...]
    debug: int
    noprune: bool
    load_timeout_ns: int
    backend: str
    shutdown_timeout_ns: int = 30 * 10**9
    """Graceful-shutdown drain limit (``SHUTDOWN_TIMEOUT``)."""
    api_keys: Secret = field(default_factory=lambda: Secret(""))
    api_keys_file: Path | None = None
    api_key: Secret = field(default_factory=lambda: Secret(""))
    """The key the CLI sends (client side)."""
    allow_unauthenticated: bool = False
    metrics_public: bool = False
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    max_connections: int = 1024
    max_request_size: int = 64 << 20
    max_blob_size: int = 256 << 30
    max_pulls: int = 3
    pull_stall_timeout_s: float = 60.0
    partial_max_age_s: float = 24 * 3600.0
    engine: str = "process"
    """Where runners live: ``process`` (a worker process per model) or ``inprocess``."""
    max_memory: int = 0
    """System memory loaded models may use together; 0: 90% of RAM (and what is available)."""
    gpu_overhead: int = 0
    """Memory left free on each GPU."""
    disabled_plugins: tuple[str, ...] = ()
    """Plugins left out of the plugin manager (``DISABLED_PLUGINS``)."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """For each setting, which variable it came from (or ``"default"``)."""


def _raw_value(setting: Setting, env: Mapping[str, str]) -> tuple[str, str]:
    for var in (setting.env, setting.ollama_env):
        if var is not None and clean(env.get(var, "")):
            return clean(env[var]), var
    return setting.default, "default"


def load_config(env: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """Read every setting from ``env`` (default ``os.environ``); keyword overrides win.

    An unparsable value falls back to the default, as Ollama does, rather than refusing to start.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for s in SETTINGS:
        raw, src = _raw_value(s, env)
        try:
            values[s.name] = s.parse(raw)
        except Exception:
            values[s.name] = s.parse(s.default)
            src = "default"
        sources[s.name] = src
    cfg = Config(
        host=values["HOST"],
        models=values["MODELS"],
        keep_alive_ns=values["KEEP_ALIVE"],
        num_parallel=max(0, values["NUM_PARALLEL"]),
        max_loaded_models=max(1, values["MAX_LOADED_MODELS"]),
        max_queue=max(1, values["MAX_QUEUE"]),
        context_length=max(0, values["CONTEXT_LENGTH"]),
        origins=values["ORIGINS"],
        debug=values["DEBUG"],
        noprune=values["NOPRUNE"],
        load_timeout_ns=values["LOAD_TIMEOUT"],
        backend=values["BACKEND"],
        shutdown_timeout_ns=max(0, values["SHUTDOWN_TIMEOUT"]),
        api_keys=values["API_KEYS"],
        api_keys_file=values["API_KEYS_FILE"],
        api_key=values["API_KEY"],
        allow_unauthenticated=values["ALLOW_UNAUTHENTICATED"],
        metrics_public=values["METRICS_PUBLIC"],
        header_timeout_s=max(0.5, values["HEADER_TIMEOUT"]),
        body_timeout_s=max(0.5, values["BODY_TIMEOUT"]),
        max_connections=max(1, values["MAX_CONNECTIONS"]),
        max_request_size=max(1024, values["MAX_REQUEST_SIZE"]),
        max_blob_size=max(1, values["MAX_BLOB_SIZE"]),
        max_pulls=max(1, values["MAX_PULLS"]),
        pull_stall_timeout_s=max(1.0, values["PULL_STALL_TIMEOUT"]),
        partial_max_age_s=max(60.0, values["PARTIAL_MAX_AGE"]),
        engine=values["ENGINE"],
        max_memory=values["MAX_MEMORY"],
        gpu_overhead=values["GPU_OVERHEAD"],
        disabled_plugins=values["DISABLED_PLUGINS"],
        sources=sources,
    )
    if overrides:
        cfg = replace(cfg, **overrides)
    return cfg


if __name__ == "__main__":
    print(settings_markdown(), end="")
