"""Ranged blob GETs with a low per-byte cost: ``http.client`` reading straight into a reused buffer.

httpx costs about four times the CPU of the transfer itself on a fast link (h11 parses and
copies every 64 KiB read), which is most of a pull's time on loopback or a LAN. For the blob
bodies only, :func:`open_fast` speaks HTTP/1.1 with the standard library and ``readinto`` (into
the caller's buffers), with
the same rules as :class:`~corral.core.registry.client.RegistryClient`: ``Authorization`` only
for the registry's own origin, redirects followed by hand (GET only, at most five, never from
https to http unless ``insecure``), one 401 challenge answered, TLS with the shared verifying
context. Network failures surface as httpx transport errors, so callers retry them as before.
When an environment proxy applies, the caller uses httpx instead (:func:`proxied`).
"""

from __future__ import annotations

import socket
import ssl
import urllib.request
from collections.abc import Iterator
from http.client import HTTPConnection, HTTPException, HTTPResponse, HTTPSConnection
from typing import Protocol

import httpx

from corral.core.registry.auth import Authenticator
from corral.core.registry.bodies import RegistryError

__all__ = ["BlobStream", "FastBlobStream", "HttpxBlobStream", "open_fast", "proxied"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_MAX_ERROR_BODY = 64 * 1024


class BlobStream(Protocol):
    """An open blob response: status, Content-Range, and the body read into the caller's buffers."""

    status_code: int
    content_range: str

    def readinto(self, buffer: memoryview) -> int:
        """Read up to ``len(buffer)`` body bytes into ``buffer``; 0 at the end of the body."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class HttpxBlobStream:
    """A :class:`BlobStream` over a streamed httpx response (used through proxies)."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._chunks: Iterator[bytes] = response.iter_raw()
        self._left = memoryview(b"")
        self.status_code = response.status_code
        self.content_range = response.headers.get("content-range", "")

    def readinto(self, buffer: memoryview) -> int:
        """Copy the next raw bytes httpx received into ``buffer``."""
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = memoryview(chunk)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n

    def close(self) -> None:
        """Close the response."""
        self._response.close()


class FastBlobStream:
    """A :class:`BlobStream` over an ``http.client`` response read into one reused buffer."""

    def __init__(self, conn: HTTPConnection, response: HTTPResponse) -> None:
        self._conn = conn
        self._response = response
        self.status_code = response.status
        self.content_range = response.getheader("content-range") or ""

    def readinto(self, buffer: memoryview) -> int:
        """Read the body bytes that have arrived (one socket read at most) into ``buffer``.

        Not ``readinto``: that waits until the whole buffer is full, so a registry trickling a
        byte at a time would hold a read open for as long as it likes, out of sight of the
        caller's stall check. ``readinto1`` returns what one receive brings (one extra copy).
        """
        try:
            return self._response.readinto1(buffer)
        except (OSError, HTTPException) as exc:
            raise _transport(exc, httpx.ReadError) from None

    def read_error_body(self) -> bytes:
        """At most 64 KiB of an error answer's body (best effort)."""
        try:
            return self._response.read(_MAX_ERROR_BODY)
        except (OSError, HTTPException):
            return b""

    def close(self) -> None:
        """Close the response and its connection."""
        self._response.close()
        self._conn.close()


def proxied(url: httpx.URL, trust_env: bool) -> bool:
    """Whether an environment proxy applies to ``url`` (then the httpx path must be used)."""
    if not trust_env:
        return False
    proxies = urllib.request.getproxies()
    if not (proxies.get(url.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(url.host)


def _transport(exc: BaseException, kind: type[httpx.TransportError]) -> httpx.TransportError:
    if isinstance(exc, TimeoutError | socket.timeout):
        return httpx.ReadTimeout(str(exc) or "timed out")
    return kind(str(exc) or type(exc).__name__)


def _connect(url: httpx.URL, timeout: float, context: ssl.SSLContext) -> HTTPConnection:
    if url.scheme == "https":
        return HTTPSConnection(url.host, url.port, timeout=timeout, context=context)
    return HTTPConnection(url.host, url.port, timeout=timeout)


def open_fast(
    url: httpx.URL,
    headers: dict[str, str],
    *,
    auth: Authenticator,
    client: httpx.Client,
    insecure: bool,
    timeout: float,
    context: ssl.SSLContext,
) -> FastBlobStream:
    """GET ``url`` with the client's rules (see the module docstring); the final response, unchecked."""
    origin_url = url
    challenged = False
    redirects = 0
    while True:
        if url.scheme != "https" and not (url.scheme == "http" and insecure):
            raise RegistryError(f"insecure protocol {url.scheme}")
        sent = {"User-Agent": client.headers.get("user-agent", "corral"), **headers}
        if auth.header and auth.same_origin(url):
            sent["Authorization"] = auth.header
        conn = _connect(url, timeout, context)
        try:
            conn.request("GET", url.raw_path.decode("ascii"), headers=sent)
            response = conn.getresponse()
        except (OSError, HTTPException) as exc:
            conn.close()
            raise _transport(exc, httpx.ConnectError) from None
        stream = FastBlobStream(conn, response)
        status = response.status
        if status == 401 and not challenged:
            challenge = response.getheader("www-authenticate") or ""
            stream.close()
            if not challenge:
                raise RegistryError("unauthorized: access denied", 401)
            auth.answer(client, challenge)
            challenged = True
            url, redirects = origin_url, 0  # as RegistryClient: start again with the new header
            continue
        if status == 401:
            stream.close()
            raise RegistryError("unauthorized: access denied", 401)
        location = response.getheader("location")
        if status in _REDIRECTS and location:
            stream.close()
            redirects += 1
            if redirects > _MAX_REDIRECTS:
                raise RegistryError(f"GET {url}: too many redirects")
            url = url.join(location)
            continue
        return stream
