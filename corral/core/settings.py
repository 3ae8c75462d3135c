"""The settings table: every ``CORRAL_*`` variable (``OLLAMA_*`` as the fallback), its default, meaning
and parser. It is the single source for ``corral serve --help`` and docs/configuration.md;
:mod:`corral.core.config` reads it into a :class:`~corral.core.config.Config`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.core.durations import parse_keep_alive

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
    s = clean(raw)
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


def clean(value: str) -> str:
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


def _parse_size(value: str) -> int:
    """A byte count: plain digits, or with a K/M/G/T suffix (binary multiples, ``64M`` = 64 MiB)."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    size = int(float(number) * scale)
    if size < 0:
        raise ValueError(value)
    return size


def _parse_optional_size(value: str) -> int:
    """A byte count as :func:`_parse_size`; empty is 0 (automatic)."""
    return _parse_size(value) if value else 0


def _parse_engine(value: str) -> str:
    mode = value.lower()
    if mode not in ("process", "inprocess"):
        raise ValueError(value)
    return mode


def _parse_seconds(value: str) -> float:
    # Timeouts below the scheduler's: a plain number is seconds, else a Go duration.
    return _parse_duration(value) / 1e9


def _parse_secret(value: str) -> Secret:
    return Secret(value)


def _parse_path(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


def _parse_debug(value: str) -> int:
    # 1/true → DEBUG (1); 2 → TRACE (2); anything else false-ish → 0.
    if value.isdigit():
        return int(value)
    return 1 if _parse_bool(value) else 0


class Secret:
    """A setting's value that must never reach a log or a repr (API keys)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one place that needs it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"


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
    Setting(
        "ENGINE",
        "process",
        "process: each loaded model runs in a worker process of its own (a crash fails that model, "
        "not the server); inprocess: in the server process (debugging)",
        _parse_engine,
        ollama=False,
    ),
    Setting(
        "MAX_MEMORY",
        "",
        "System memory loaded models may use together (e.g. 8G); empty: 90% of RAM, and never more "
        "than is available when a model loads",
        _parse_optional_size,
        ollama=False,
    ),
    Setting(
        "GPU_OVERHEAD",
        "0",
        "Memory to leave free on each GPU (bytes, or with a K/M/G suffix)",
        _parse_size,
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
        clean,
        ollama=False,
    ),
    Setting(
        "DISABLED_PLUGINS",
        "",
        "Plugins not to load, comma-separated names as corral backends lists them (llamacpp, onnx, "
        "cpu-ref, packages, registry, metrics, or an entry point's name)",
        _parse_origins,
        ollama=False,
    ),
    Setting(
        "API_KEYS",
        "",
        "API keys the server accepts, comma-separated key[:role] (role inference (default) or admin)",
        _parse_secret,
        ollama=False,
    ),
    Setting(
        "API_KEYS_FILE",
        "",
        "File of API keys, one key[:role] a line (# comments); re-read when it changes",
        _parse_path,
        ollama=False,
    ),
    Setting(
        "API_KEY",
        "",
        "Client side: the key the corral CLI sends (Authorization: Bearer)",
        _parse_secret,
        ollama=False,
    ),
    Setting(
        "ALLOW_UNAUTHENTICATED",
        "false",
        "Serve beyond loopback without API keys (otherwise corral serve refuses to start)",
        _parse_bool,
        ollama=False,
    ),
    Setting(
        "METRICS_PUBLIC",
        "false",
        "With API keys configured: /metrics answers without a key",
        _parse_bool,
        ollama=False,
    ),
    Setting(
        "HEADER_TIMEOUT",
        "10s",
        "A request's headers must arrive within this time of the connection (or of the last response)",
        _parse_seconds,
        ollama=False,
    ),
    Setting(
        "BODY_TIMEOUT",
        "10s",
        "A request body that brings less than 4 KiB in this long is cut off (slow clients)",
        _parse_seconds,
        ollama=False,
    ),
    Setting(
        "MAX_CONNECTIONS",
        "1024",
        "Open connections at most; more are closed at once, and requests over it get 503",
        _parse_int,
        ollama=False,
    ),
    Setting(
        "MAX_REQUEST_SIZE",
        "64M",
        "Largest JSON request body (413 above it)",
        _parse_size,
        ollama=False,
    ),
    Setting(
        "MAX_BLOB_SIZE",
        "256G",
        "Largest blob upload to /api/blobs (413 above it, or when the disk cannot hold it)",
        _parse_size,
        ollama=False,
    ),
    Setting(
        "MAX_PULLS",
        "3",
        "Pulls and pushes running at once; more get 503",
        _parse_int,
        ollama=False,
    ),
    Setting(
        "PULL_STALL_TIMEOUT",
        "60s",
        "A pull or push that moves no byte for this long fails",
        _parse_seconds,
        ollama=False,
    ),
    Setting(
        "PARTIAL_MAX_AGE",
        "24h",
        "Unfinished download/upload files older than this are removed (at start and hourly)",
        _parse_seconds,
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
