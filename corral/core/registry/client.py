"""An httpx client of the OCI distribution (Docker Registry v2) API, as much as pull and push need.

Every request goes through :meth:`RegistryClient.open`, which adds auth (answering one 401
challenge per request), follows redirects for GET/HEAD by hand (the ``Authorization`` header is
only sent to the registry's own origin, never to the storage host a blob GET redirects to), and
retries 5xx answers and connection errors with exponential backoff.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import httpx

from corral import __version__
from corral.core.registry.auth import Authenticator, Credentials
from corral.core.registry.blobget import BlobStream, HttpxBlobStream, open_fast, proxied
from corral.core.registry.bodies import RegistryError, read_capped

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "MEDIA_OCI_MANIFEST",
    "RegistryClient",
    "RegistryNotFound",
    "RegistryOptions",
]

MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST_MEDIA_TYPES = (MEDIA_DOCKER_MANIFEST, MEDIA_OCI_MANIFEST)
"""The single-image manifest types a model can be; lists and indexes are refused."""

USER_AGENT = f"corral/{__version__}"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_MAX_ERROR_BODY = 64 * 1024
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

Body = bytes | Callable[[], Iterable[bytes]] | None
"""A request body: bytes, or a factory of chunk iterables (called again for each retry)."""


def _permanent(exc: httpx.TransportError) -> bool:
    """Connection failures a retry cannot fix: an unknown host name (offline use), a TLS failure."""
    text = str(exc).lower()
    return isinstance(exc, httpx.ConnectError) and (
        "name or service" in text or "name resolution" in text or "ssl" in text or "certificate" in text
    )


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client (loading the CA bundle takes ~0.1 s)."""
    return httpx.create_ssl_context()


class RegistryNotFound(RegistryError):
    """The registry answered 404 (a missing manifest or blob)."""

    def __init__(self, message: str = "file does not exist") -> None:
        super().__init__(message, 404)


@dataclass(frozen=True)
class RegistryOptions:
    """Knobs of a registry transfer; the defaults follow Ollama's client."""

    insecure: bool = False
    """Allow plain ``http``; without it every registry URL (and redirect) must be ``https``."""
    credentials: Credentials = field(default_factory=Credentials)
    retries: int = 5
    """Extra attempts after a 5xx answer or a connection error (per request, per download part)."""
    backoff: float = 0.25
    """Seconds before the first retry; doubled each time."""
    timeout: float = 30.0
    """Seconds without progress on one connection before it counts as failed."""
    stall_timeout: float = 60.0
    """A download range that brings fewer than 4 KiB in this many seconds is stalled: it is retried
    (counted as a failed attempt), and the pull fails after ``retries`` stalls."""
    max_manifest_bytes: int = 4 << 20
    part_size: int | None = None
    """Bytes per parallel download range; None is Ollama's size/16 clamped to 100 MB..1000 MB."""
    max_parts: int = 16
    upload_chunk: int = 64 << 20
    """Blobs up to this size go up in one PUT; larger ones as PATCH chunks of this size."""


class RegistryClient:
    """One registry origin (``scheme://host[:port]``); close it (or use ``with``) when done."""

    def __init__(
        self,
        host: str,
        *,
        scheme: str = "https",
        options: RegistryOptions | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.options = options or RegistryOptions()
        if scheme == "http" and not self.options.insecure:
            raise RegistryError("insecure protocol http")
        if scheme not in ("http", "https"):
            raise RegistryError(f"unsupported protocol {scheme}")
        try:
            self.origin = httpx.URL(f"{scheme}://{host}/")
        except httpx.InvalidURL:
            raise RegistryError(f"invalid registry host {host!r}") from None
        self.auth = Authenticator(self.origin, self.options.credentials, insecure=self.options.insecure)
        # An environment proxy would swallow requests meant for a registry on this machine.
        self._trust_env = self.origin.host not in _LOOPBACK
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.options.timeout),
            follow_redirects=False,
            trust_env=self._trust_env,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            transport=transport,
            verify=_ssl_context(),
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def url(self, path: str) -> httpx.URL:
        """An absolute URL on the registry for ``path`` (or a Location header value)."""
        return self.origin.join(path)

    # --- plumbing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def open(
        self,
        method: str,
        url: httpx.URL,
        *,
        headers: dict[str, str] | None = None,
        content: Body = None,
        retry: bool = True,
    ) -> Iterator[httpx.Response]:
        """Send a request and yield the (streamed, not yet read) response; closes it afterwards."""
        response = self._send(method, url, headers or {}, content, retry)
        try:
            yield response
        finally:
            response.close()

    def _send(
        self, method: str, url: httpx.URL, headers: dict[str, str], content: Body, retry: bool
    ) -> httpx.Response:
        attempt = 0
        challenged = False
        while True:
            try:
                response = self._follow(method, url, headers, content)
            except httpx.TransportError as exc:
                if not retry or attempt >= self.options.retries or _permanent(exc):
                    raise RegistryError(f"{method} {url}: {exc or type(exc).__name__}") from None
            else:
                if response.status_code == 401 and not challenged:
                    challenge = response.headers.get("www-authenticate", "")
                    response.close()
                    if not challenge:
                        raise RegistryError("unauthorized: access denied", 401)
                    self.auth.answer(self._http, challenge)
                    challenged = True
                    continue
                if response.status_code == 401:
                    response.close()
                    raise RegistryError("unauthorized: access denied", 401)
                if response.status_code < 500 or not retry or attempt >= self.options.retries:
                    return response
                response.close()
            time.sleep(self.options.backoff * 2**attempt)
            attempt += 1

    def _follow(self, method: str, url: httpx.URL, headers: dict[str, str], content: Body) -> httpx.Response:
        for _ in range(_MAX_REDIRECTS + 1):
            if url.scheme != "https" and not (url.scheme == "http" and self.options.insecure):
                raise RegistryError(f"insecure protocol {url.scheme}")
            sent = dict(headers)
            if self.auth.header and self.auth.same_origin(url):
                sent["Authorization"] = self.auth.header
            body = content() if callable(content) else content
            request = self._http.build_request(method, url, headers=sent, content=body)
            response = self._http.send(request, stream=True)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or not location or method not in ("GET", "HEAD"):
                return response
            response.close()
            url = url.join(location)
        raise RegistryError(f"{method} {url}: too many redirects")

    def check(self, response: httpx.Response, *ok: int) -> None:
        """Raise for an unexpected status: RegistryNotFound for 404, else ``"<code>: <body>"``."""
        if response.status_code in ok:
            return
        if response.status_code == 404:
            raise RegistryNotFound()
        try:
            head = response.request.method == "HEAD"
            body = b"" if head else read_capped(response, _MAX_ERROR_BODY, "error body")
        except (RegistryError, httpx.TransportError):
            body = b""
        text = body[:512].decode("utf-8", "replace").strip()
        raise RegistryError(f"{response.status_code}: {text}" if text else f"{response.status_code}")

    # --- manifests ---------------------------------------------------------------------------

    def get_manifest(self, repo: str, reference: str) -> tuple[bytes, str]:
        """The manifest bytes (capped) and their Content-Type; RegistryNotFound when absent."""
        headers = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES), "Accept-Encoding": "identity"}
        with self.open("GET", self.url(f"/v2/{repo}/manifests/{reference}"), headers=headers) as response:
            self.check(response, 200)
            data = read_capped(response, self.options.max_manifest_bytes, "manifest")
            return data, response.headers.get("content-type", "").split(";")[0].strip()

    def put_manifest(self, repo: str, reference: str, data: bytes, media_type: str) -> None:
        """Upload a manifest under a tag."""
        url = self.url(f"/v2/{repo}/manifests/{reference}")
        with self.open("PUT", url, headers={"Content-Type": media_type}, content=data) as response:
            self.check(response, 200, 201, 202)

    # --- blobs -------------------------------------------------------------------------------

    def blob_size(self, repo: str, digest: str) -> int | None:
        """HEAD a blob: its size, or None when the repository does not have it."""
        with self.open("HEAD", self.url(f"/v2/{repo}/blobs/{digest}")) as response:
            if response.status_code == 404:
                return None
            self.check(response, 200)
            try:
                return int(response.headers.get("content-length", ""))
            except ValueError:
                return 0

    @contextlib.contextmanager
    def open_blob(self, repo: str, digest: str, start: int, end: int) -> Iterator[BlobStream]:
        """GET bytes ``start..end`` (inclusive) of a blob; yields the checked 206/200 response.

        Without an environment proxy the body is read by :mod:`~corral.core.registry.blobget`'s
        ``http.client`` path (same auth and redirect rules, a fraction of httpx's CPU per byte).
        """
        headers = {"Range": f"bytes={start}-{end}", "Accept-Encoding": "identity"}
        url = self.url(f"/v2/{repo}/blobs/{digest}")
        if proxied(url, self._trust_env):
            with self.open("GET", url, headers=headers) as response:
                self.check(response, 200, 206)
                yield HttpxBlobStream(response)
            return
        stream = open_fast(
            url,
            headers,
            auth=self.auth,
            client=self._http,
            insecure=self.options.insecure,
            timeout=min(self.options.timeout, self.options.stall_timeout),
            context=_ssl_context(),
        )
        try:
            if stream.status_code not in (200, 206):
                if stream.status_code == 404:
                    raise RegistryNotFound()
                text = stream.read_error_body()[:512].decode("utf-8", "replace").strip()
                code = stream.status_code
                raise RegistryError(f"{code}: {text}" if text else f"{code}")
            yield stream
        finally:
            stream.close()

    def start_upload(self, repo: str, mount: str = "", mount_from: str = "") -> tuple[bool, httpx.URL]:
        """POST an upload session; returns ``(mounted, location)``.

        With ``mount``/``mount_from`` the registry may link the blob from another repository
        (201, nothing to upload) or fall back to an ordinary session (202).
        """
        url = self.url(f"/v2/{repo}/blobs/uploads/")
        if mount and mount_from:
            url = url.copy_merge_params({"mount": mount, "from": mount_from})
        with self.open("POST", url, headers={"Content-Length": "0"}) as response:
            self.check(response, 201, 202)
            mounted = response.status_code == 201
            location = response.headers.get("docker-upload-location") or response.headers.get("location")
            if not location and not mounted:
                raise RegistryError("registry did not return an upload location")
            return mounted, self.url(location or "/")

    def upload_chunk(self, location: httpx.URL, chunk: bytes, start: int) -> httpx.URL:
        """PATCH one chunk into an upload session; returns the session's next location."""
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{start}-{start + len(chunk) - 1}",
        }
        with self.open("PATCH", location, headers=headers, content=chunk, retry=False) as response:
            self.check(response, 202, 204)
            next_location = response.headers.get("docker-upload-location") or response.headers.get("location")
            return location.join(next_location) if next_location else location

    def finish_upload(self, location: httpx.URL, digest: str, content: Body = None, size: int = 0) -> None:
        """PUT the final request of an upload (with the remaining bytes, if any)."""
        url = location.copy_merge_params({"digest": digest})
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        with self.open("PUT", url, headers=headers, content=content or b"", retry=False) as response:
            self.check(response, 201, 204)
