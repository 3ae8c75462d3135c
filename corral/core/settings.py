"""The settings table: every ``CORRAL_*`` variable (``OLLAMA_*`` as the fallback), its default, meaning
and parser (:mod:`corral.core.setting_values`). It is the single source for ``corral serve --help``
and docs/configuration.md; :mod:`corral.core.config` reads it into a :class:`~corral.core.config.Config`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corral.core.setting_values import (
    HostURL,
    Secret,
    clean,
    parse_bool,
    parse_debug,
    parse_duration,
    parse_engine,
    parse_host,
    parse_int,
    parse_models,
    parse_optional_size,
    parse_origins,
    parse_path,
    parse_seconds,
    parse_secret,
    parse_size,
)

__all__ = [
    "SETTINGS",
    "HostURL",
    "Secret",
    "Setting",
    "clean",
    "parse_host",
    "settings_markdown",
    "settings_table",
]


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    default: str
    description: str
    parse: Callable[[str], Any]
    ollama: bool = True
    """Whether an ``OLLAMA_<name>`` variable of the same meaning exists and is honoured."""

    @property
    def env(self) -> str:
        return f"CORRAL_{self.name}"

    @property
    def ollama_env(self) -> str | None:
        return f"OLLAMA_{self.name}" if self.ollama else None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "HOST", "127.0.0.1:11434", "Listen address [scheme://]host[:port]; clients use it too", parse_host
    ),
    Setting(
        "MODELS", "~/.corral/models", "Model store (Ollama's layout: manifests/ and blobs/)", parse_models
    ),
    Setting(
        "KEEP_ALIVE",
        "5m",
        "How long an idle model stays loaded (duration or seconds; <0 forever)",
        parse_duration,
    ),
    Setting(
        "NUM_PARALLEL",
        "0",
        "Generations served at once per loaded model (slots, each with num_ctx of context); "
        "0 = auto: up to 4 when memory allows",
        parse_int,
    ),
    Setting(
        "MAX_LOADED_MODELS",
        "3",
        "Models kept loaded at once; the least recently used idle one is evicted",
        parse_int,
    ),
    Setting(
        "ENGINE",
        "process",
        "process: each loaded model runs in a worker process of its own (a crash fails that model, "
        "not the server); inprocess: in the server process (debugging)",
        parse_engine,
        ollama=False,
    ),
    Setting(
        "MAX_MEMORY",
        "",
        "System memory loaded models may use together (e.g. 8G); empty: 90% of RAM, and never more "
        "than is available when a model loads",
        parse_optional_size,
        ollama=False,
    ),
    Setting(
        "GPU_OVERHEAD",
        "0",
        "Memory to leave free on each GPU (bytes, or with a K/M/G suffix)",
        parse_size,
    ),
    Setting("MAX_QUEUE", "512", "Requests allowed to wait for a runner before 503 server busy", parse_int),
    Setting(
        "CONTEXT_LENGTH",
        "4096",
        "Default num_ctx when neither the model nor the request sets one",
        parse_int,
    ),
    Setting(
        "ORIGINS",
        "",
        "Extra CORS origins, comma-separated (localhost and app schemes always allowed)",
        parse_origins,
    ),
    Setting("DEBUG", "0", "1 or true: debug logging (prompts are logged only then); 2: trace", parse_debug),
    Setting("NOPRUNE", "false", "Do not remove unused blobs at startup or after create", parse_bool),
    Setting(
        "LOAD_TIMEOUT",
        "5m",
        "How long a model load may take before it fails (<=0: no limit)",
        parse_duration,
    ),
    Setting(
        "SHUTDOWN_TIMEOUT",
        "30s",
        "On SIGTERM, how long in-flight requests may finish before they are cut off",
        parse_duration,
        ollama=False,
    ),
    Setting(
        "BACKEND",
        "",
        "Force one backend (llamacpp, onnx, cpu-ref, or a plugin's) for every model",
        clean,
        ollama=False,
    ),
    Setting(
        "DISABLED_PLUGINS",
        "",
        "Plugins not to load, comma-separated names as corral backends lists them (llamacpp, onnx, "
        "cpu-ref, packages, registry, metrics, or an entry point's name)",
        parse_origins,
        ollama=False,
    ),
    Setting(
        "API_KEYS",
        "",
        "API keys the server accepts, comma-separated key[:role] (role inference (default) or admin)",
        parse_secret,
        ollama=False,
    ),
    Setting(
        "API_KEYS_FILE",
        "",
        "File of API keys, one key[:role] a line (# comments); re-read when it changes",
        parse_path,
        ollama=False,
    ),
    Setting(
        "API_KEY",
        "",
        "Client side: the key the corral CLI sends (Authorization: Bearer)",
        parse_secret,
        ollama=False,
    ),
    Setting(
        "ALLOW_UNAUTHENTICATED",
        "false",
        "Serve beyond loopback without API keys (otherwise corral serve refuses to start)",
        parse_bool,
        ollama=False,
    ),
    Setting(
        "METRICS_PUBLIC",
        "false",
        "With API keys configured: /metrics answers without a key",
        parse_bool,
        ollama=False,
    ),
    Setting(
        "HEADER_TIMEOUT",
        "10s",
        "A request's headers must arrive within this time of the connection (or of the last response)",
        parse_seconds,
        ollama=False,
    ),
    Setting(
        "BODY_TIMEOUT",
        "10s",
        "A request body that brings less than 4 KiB in this long is cut off (slow clients)",
        parse_seconds,
        ollama=False,
    ),
    Setting(
        "MAX_CONNECTIONS",
        "1024",
        "Open connections at most; more are closed at once, and requests over it get 503",
        parse_int,
        ollama=False,
    ),
    Setting(
        "MAX_REQUEST_SIZE",
        "64M",
        "Largest JSON request body (413 above it)",
        parse_size,
        ollama=False,
    ),
    Setting(
        "MAX_BLOB_SIZE",
        "256G",
        "Largest blob upload to /api/blobs (413 above it, or when the disk cannot hold it)",
        parse_size,
        ollama=False,
    ),
    Setting(
        "MAX_PULLS",
        "3",
        "Pulls and pushes running at once; more get 503",
        parse_int,
        ollama=False,
    ),
    Setting(
        "PULL_STALL_TIMEOUT",
        "60s",
        "A pull or push that moves no byte for this long fails",
        parse_seconds,
        ollama=False,
    ),
    Setting(
        "PARTIAL_MAX_AGE",
        "24h",
        "Unfinished download/upload files older than this are removed (at start and hourly)",
        parse_seconds,
        ollama=False,
    ),
)


def settings_table() -> str:
    """A plain-text table of every setting: variables, default, meaning (for ``--help`` and docs)."""
    lines = []
    for s in SETTINGS:
        names = s.env + (f" / {s.ollama_env}" if s.ollama_env else "")
        lines.append(f"  {names}\n      default: {s.default or '(none)'}\n      {s.description}")
    return "\n".join(lines)


def settings_markdown() -> str:
    """docs/configuration.md, generated from :data:`SETTINGS` (a test keeps the file in sync)."""
    rows = [
        "# Configuration",
        "",
        "corral reads its settings from environment variables. Each `CORRAL_*` variable falls back to the",
        "`OLLAMA_*` variable of the same meaning when it is unset, so an existing Ollama setup carries over.",
        "Values are trimmed of spaces and surrounding quotes; a value that does not parse falls back to the",
        "default. This page is generated from `corral/core/config.py` (`python -m corral.core.config`).",
        "",
        "| variable | fallback | default | meaning |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS:
        fallback = f"`{s.ollama_env}`" if s.ollama_env else "—"
        default = f"`{s.default}`" if s.default else "—"
        rows.append(f"| `{s.env}` | {fallback} | {default} | {s.description} |")
    return "\n".join(rows) + "\n"
