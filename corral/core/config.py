"""All server settings: one table, read from ``CORRAL_*`` with ``OLLAMA_*`` as the fallback.

The table (:data:`SETTINGS`) is the single source for ``corral serve --help`` and docs/configuration.md.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.core.durations import parse_keep_alive

__all__ = [
    "SETTINGS",
    "Config",
    "HostURL",
    "Setting",
    "load_config",
    "parse_host",
    "settings_markdown",
    "settings_table",
]


@dataclass(frozen=True)
class HostURL:
    """Where the server listens or where a client connects."""

    scheme: str
    host: str
    port: int
    path: str = ""

    @property
    def base_url(self) -> str:
        """``scheme://host:port[/path]`` with IPv6 literals bracketed."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        url = f"{self.scheme}://{host}:{self.port}"
        return url + ("/" + self.path if self.path else "")

    @property
    def is_loopback(self) -> bool:
        """True when the address is a loopback address or ``localhost``."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_host(raw: str) -> HostURL:
    """Parse an ``OLLAMA_HOST``-style value with Ollama's rules.

    ``[scheme://]host[:port][/path]``; the port defaults to 11434 without a scheme, 80 for
    ``http://`` and 443 for ``https://``; an empty value means ``127.0.0.1:11434``; the bare value
    ``ollama.com`` means ``https://ollama.com:443``; an unparsable port falls back to the default.
    """
    s = _clean(raw)
    default_port = 11434
    scheme, sep, hostport = s.partition("://")
    if not sep:
        scheme, hostport = "http", s
        if s == "ollama.com":
            scheme, hostport = "https", "ollama.com:443"
    elif scheme == "http":
        default_port = 80
    elif scheme == "https":
        default_port = 443
    hostport, _, path = hostport.partition("/")
    host, port_text = _split_host_port(hostport)
    if host is None:
        host, port_text = "127.0.0.1", str(default_port)
        bare = hostport.strip("[]")
        try:
            host = str(ipaddress.ip_address(bare))
        except ValueError:
            if hostport:
                host = hostport
    try:
        port = int(port_text)
        if not 0 <= port <= 65535:
            raise ValueError(port_text)
    except ValueError:
        port = default_port
    return HostURL(scheme=scheme, host=host, port=port, path=path)


def _split_host_port(hostport: str) -> tuple[str | None, str]:
    """Go's ``net.SplitHostPort``: ``(None, "")`` when there is no port part."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or not hostport[end + 1 :].startswith(":"):
            return None, ""
        return hostport[1:end], hostport[end + 2 :]
    if hostport.count(":") != 1:
        return None, ""
    host, _, port = hostport.partition(":")
    return host, port


def _clean(value: str) -> str:
    """Ollama trims spaces and surrounding quotes from every variable."""
    return value.strip().strip("\"'")


def _parse_bool(value: str) -> bool:
    # Ollama: a value that does not parse as a bool counts as true.
    return value.lower() not in ("0", "f", "false")


def _parse_duration(value: str) -> int:
    # An integer is seconds; anything else is a Go duration string.
    return parse_keep_alive(int(value) if value.lstrip("-").isdigit() else value)


def _parse_int(value: str) -> int:
    return int(value)


def _parse_models(value: str) -> Path:
    return Path(value).expanduser()


def _parse_origins(value: str) -> tuple[str, ...]:
    return tuple(o.strip() for o in value.split(",") if o.strip())


def _parse_debug(value: str) -> int:
    # 1/true → DEBUG (1); 2 → TRACE (2); anything else false-ish → 0.
    if value.isdigit():
        return int(value)
    return 1 if _parse_bool(value) else 0


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
        "MODELS", "~/.corral/models", "Model store (Ollama's layout: manifests/ and blobs/)", _parse_models
    ),
    Setting(
        "KEEP_ALIVE",
        "5m",
        "How long an idle model stays loaded (duration or seconds; <0 forever)",
        _parse_duration,
    ),
    Setting(
        "NUM_PARALLEL",
        "0",
        "Generations served at once per loaded model (slots, each with num_ctx of context); "
        "0 = auto: up to 4 when memory allows",
        _parse_int,
    ),
    Setting(
        "MAX_LOADED_MODELS",
        "3",
        "Models kept loaded at once; the least recently used idle one is evicted",
        _parse_int,
    ),
    Setting("MAX_QUEUE", "512", "Requests allowed to wait for a runner before 503 server busy", _parse_int),
    Setting(
        "CONTEXT_LENGTH",
        "4096",
        "Default num_ctx when neither the model nor the request sets one",
        _parse_int,
    ),
    Setting(
        "ORIGINS",
        "",
        "Extra CORS origins, comma-separated (localhost and app schemes always allowed)",
        _parse_origins,
    ),
    Setting("DEBUG", "0", "1 or true: debug logging (prompts are logged only then); 2: trace", _parse_debug),
    Setting("NOPRUNE", "false", "Do not remove unused blobs at startup or after create", _parse_bool),
    Setting(
        "LOAD_TIMEOUT",
        "5m",
        "How long a model load may take before it fails (<=0: no limit)",
        _parse_duration,
    ),
    Setting(
        "SHUTDOWN_TIMEOUT",
        "30s",
        "On SIGTERM, how long in-flight requests may finish before they are cut off",
        _parse_duration,
        ollama=False,
    ),
    Setting(
        "BACKEND",
        "",
        "Force one backend (llamacpp, onnx, cpu-ref, or a plugin's) for every model",
        _clean,
        ollama=False,
    ),
)


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
    sources: Mapping[str, str] = field(default_factory=dict)
    """For each setting, which variable it came from (or ``"default"``)."""


def _raw_value(setting: Setting, env: Mapping[str, str]) -> tuple[str, str]:
    for var in (setting.env, setting.ollama_env):
        if var is not None and _clean(env.get(var, "")):
            return _clean(env[var]), var
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
        sources=sources,
    )
    if overrides:
        from dataclasses import replace

        cfg = replace(cfg, **overrides)
    return cfg


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


if __name__ == "__main__":
    print(settings_markdown(), end="")
