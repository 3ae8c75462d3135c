"""The values settings take and the parsers that read them from environment variables: addresses
(``OLLAMA_HOST``'s rules), durations, sizes, secrets. :mod:`corral.core.settings` names a parser per
setting; a parser raises on a value it cannot read, and the setting then keeps its default.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from corral.core.durations import parse_keep_alive

__all__ = [
    "HostURL",
    "Secret",
    "clean",
    "parse_bool",
    "parse_debug",
    "parse_duration",
    "parse_engine",
    "parse_host",
    "parse_int",
    "parse_models",
    "parse_optional_size",
    "parse_origins",
    "parse_path",
    "parse_seconds",
    "parse_secret",
    "parse_size",
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


def parse_bool(value: str) -> bool:
    # Ollama: a value that does not parse as a bool counts as true.
    return value.lower() not in ("0", "f", "false")


def parse_duration(value: str) -> int:
    # An integer is seconds; anything else is a Go duration string.
    return parse_keep_alive(int(value) if value.lstrip("-").isdigit() else value)


def parse_int(value: str) -> int:
    return int(value)


def parse_models(value: str) -> Path:
    return Path(value).expanduser()


def parse_origins(value: str) -> tuple[str, ...]:
    return tuple(o.strip() for o in value.split(",") if o.strip())


def parse_size(value: str) -> int:
    """A byte count: plain digits, or with a K/M/G/T suffix (binary multiples, ``64M`` = 64 MiB)."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    size = int(float(number) * scale)
    if size < 0:
        raise ValueError(value)
    return size


def parse_optional_size(value: str) -> int:
    """A byte count as :func:`parse_size`; empty is 0 (automatic)."""
    return parse_size(value) if value else 0


def parse_engine(value: str) -> str:
    mode = value.lower()
    if mode not in ("process", "inprocess"):
        raise ValueError(value)
    return mode


def parse_seconds(value: str) -> float:
    # Timeouts below the scheduler's: a plain number is seconds, else a Go duration.
    return parse_duration(value) / 1e9


def parse_secret(value: str) -> Secret:
    return Secret(value)


def parse_path(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


def parse_debug(value: str) -> int:
    # 1/true → DEBUG (1); 2 → TRACE (2); anything else false-ish → 0.
    if value.isdigit():
        return int(value)
    return 1 if parse_bool(value) else 0


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
