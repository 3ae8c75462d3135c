"""Registry authentication: ``WWW-Authenticate`` challenges, Bearer tokens and Basic credentials.

A token is fetched from the challenge's ``realm`` only when the realm is on the registry's own
host (SECURITY.md row 16: a hostile registry must not be able to collect credentials or signed
challenges for another host), and the ``Authorization`` header is only ever attached to requests
for that host (see :class:`~corral.core.registry.client.RegistryClient`).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

import httpx
import msgspec

from corral.core.registry.bodies import RegistryError, read_capped

__all__ = ["MAX_TOKEN_BYTES", "Authenticator", "Challenge", "Credentials", "parse_challenge"]

MAX_TOKEN_BYTES = 1 << 20
"""Cap on a token endpoint's (decoded) answer."""

_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))')


@dataclass(frozen=True)
class Credentials:
    """A user name and password (or token) for Basic auth and for token endpoints."""

    username: str = ""
    password: str = ""

    def basic_header(self) -> str | None:
        """``Basic <base64(user:password)>``, or None without credentials."""
        if not self.username and not self.password:
            return None
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header: scheme (lower case) and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenge(header: str) -> Challenge:
    """Parse ``Bearer realm="…",service="…",scope="…"`` (or ``Basic realm="…"``)."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return Challenge(scheme.lower(), params)


class _TokenReply(msgspec.Struct):
    token: str = ""
    access_token: str = ""


class Authenticator:
    """Turns 401 challenges into an ``Authorization`` header for one registry origin."""

    def __init__(self, origin: httpx.URL, credentials: Credentials, *, insecure: bool = False) -> None:
        self.origin = origin
        self.credentials = credentials
        self.insecure = insecure
        self.header: str | None = credentials.basic_header()

    def same_origin(self, url: httpx.URL) -> bool:
        """Whether ``url`` is on the registry's own scheme, host and port."""
        return (url.scheme, url.host, url.port) == (self.origin.scheme, self.origin.host, self.origin.port)

    def answer(self, http: httpx.Client, www_authenticate: str) -> None:
        """Update :attr:`header` from a 401's challenge; raise RegistryError when that is impossible."""
        challenge = parse_challenge(www_authenticate)
        if challenge.scheme == "basic":
            header = self.credentials.basic_header()
            if header is None:
                raise RegistryError("unauthorized: access denied", 401)
            self.header = header
            return
        if challenge.scheme != "bearer":
            raise RegistryError(f"unsupported registry authentication scheme {challenge.scheme!r}", 401)
        self.header = "Bearer " + self._fetch_token(http, challenge)

    def _fetch_token(self, http: httpx.Client, challenge: Challenge) -> str:
        realm = challenge.params.get("realm", "")
        try:
            url = httpx.URL(realm)
        except httpx.InvalidURL:
            raise RegistryError(f"invalid registry auth realm {realm!r}") from None
        if url.scheme not in ("https", "http") or not url.host:
            raise RegistryError(f"invalid registry auth realm {realm!r}")
        # The realm must be the registry's own host (SECURITY.md row 16).
        if (url.host, url.port or _default_port(url.scheme)) != (
            self.origin.host,
            self.origin.port or _default_port(self.origin.scheme),
        ):
            raise RegistryError(
                f'registry auth realm host "{url.netloc.decode()}" does not match '
                f'registry host "{self.origin.netloc.decode()}"'
            )
        if url.scheme == "http" and not self.insecure:
            raise RegistryError("insecure protocol http")
        params = {k: v for k, v in challenge.params.items() if k in ("service", "scope")}
        headers = {"Accept-Encoding": "identity"}
        basic = self.credentials.basic_header()
        if basic is not None:
            headers["Authorization"] = basic
        try:
            with http.stream("GET", url.copy_merge_params(params), headers=headers) as response:
                body = read_capped(response, MAX_TOKEN_BYTES, "token")
        except httpx.TransportError as exc:
            raise RegistryError(f"registry auth: {exc or type(exc).__name__}") from None
        if response.status_code == 401:
            raise RegistryError("unauthorized: access denied", 401)
        if response.status_code >= 400:
            raise RegistryError(f"registry auth: {response.status_code}: {_text(body)}")
        try:
            reply = msgspec.json.decode(body, type=_TokenReply)
        except msgspec.DecodeError:
            raise RegistryError("registry auth: invalid token response") from None
        token = reply.token or reply.access_token
        if not token:
            raise RegistryError("registry auth: no token in response")
        return token


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _text(body: bytes) -> str:
    return body[:512].decode("utf-8", "replace").strip()
