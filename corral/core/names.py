"""Model names: Ollama's ``[scheme://][host/][namespace/]model[:tag]`` parsing and validation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from corral.core.errors import InvalidModelName

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_NAMESPACE",
    "DEFAULT_SCHEME",
    "DEFAULT_TAG",
    "ModelName",
    "parse_name",
    "parse_name_bare",
    "validate_name",
]

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
DEFAULT_SCHEME = "https"

# A separator with nothing on one side yields this marker; '!' is never a valid character, so the
# part (and the name) is invalid, and defaults cannot paper over the hole.
_MISSING = "!MISSING!"

_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_REST = _FIRST | frozenset("-.")
_MAX_HOST = 350
_MAX_PART = 80


def _valid_part(s: str, *, host: bool = False, namespace: bool = False) -> bool:
    if not 1 <= len(s) <= (_MAX_HOST if host else _MAX_PART):
        return False
    if s[0] not in _FIRST:
        return False
    for c in s[1:]:
        if c in _REST:
            if c == "." and namespace:
                return False
        elif not (c == ":" and host):
            return False
    return True


@dataclass(frozen=True)
class ModelName:
    """A model name split into its parts.

    Equality and hashing are exact (case-sensitive) and ignore ``scheme``; use
    :meth:`equal_fold` for Ollama's case-insensitive comparison.
    """

    host: str
    namespace: str
    model: str
    tag: str
    scheme: str = field(default=DEFAULT_SCHEME, compare=False)

    def is_valid(self) -> bool:
        """True when every part obeys Ollama's length and character rules."""
        return (
            _valid_part(self.host, host=True)
            and _valid_part(self.namespace, namespace=True)
            and _valid_part(self.model)
            and _valid_part(self.tag)
        )

    def display_shortest(self) -> str:
        """``model:tag``, prefixed by the namespace and host where they are not the defaults."""
        if self.host.lower() != DEFAULT_HOST:
            prefix = f"{self.host}/{self.namespace}/"
        elif self.namespace.lower() != DEFAULT_NAMESPACE:
            prefix = f"{self.namespace}/"
        else:
            prefix = ""
        return f"{prefix}{self.model}:{self.tag}"

    def display_full(self) -> str:
        """``host/namespace/model:tag``."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    def __str__(self) -> str:
        return self.display_full()

    def casefold_key(self) -> tuple[str, str, str, str]:
        """The four parts lower-cased: a key for case-insensitive dicts and sets."""
        return (self.host.lower(), self.namespace.lower(), self.model.lower(), self.tag.lower())

    def equal_fold(self, other: ModelName) -> bool:
        """Case-insensitive equality of the four parts (Ollama's ``EqualFold``)."""
        return self.casefold_key() == other.casefold_key()

    def manifest_relpath(self) -> tuple[str, str, str, str]:
        """``(host, namespace, model, tag)``: the manifest's path below ``manifests/``.

        Raises InvalidModelName for an invalid name, so no path is ever built from one.
        """
        if not self.is_valid():
            raise InvalidModelName()
        return (self.host, self.namespace, self.model, self.tag)

    def with_parts(
        self,
        host: str | None = None,
        namespace: str | None = None,
        model: str | None = None,
        tag: str | None = None,
    ) -> ModelName:
        """A copy with the given parts replaced."""
        return ModelName(
            host=self.host if host is None else host,
            namespace=self.namespace if namespace is None else namespace,
            model=self.model if model is None else model,
            tag=self.tag if tag is None else tag,
            scheme=self.scheme,
        )

    @classmethod
    def from_relpath(cls, parts: Sequence[str]) -> ModelName | None:
        """The name a manifest file ``host/namespace/model/tag`` stands for, or None if invalid."""
        if len(parts) != 4:
            return None
        name = cls(host=parts[0], namespace=parts[1], model=parts[2], tag=parts[3])
        return name if name.is_valid() else None


def _cut_last(s: str, sep: str) -> tuple[str, str, bool]:
    before, found, after = s.rpartition(sep)
    if not found:
        return s, "", False
    return before or _MISSING, after or _MISSING, True


def parse_name_bare(s: str) -> ModelName:
    """Split ``s`` into parts without filling defaults (Ollama ``ParseNameBare``).

    Parts that are absent are ``""``; a separator with nothing next to it gives an invalid part.
    """
    host = namespace = tag = ""
    scheme = ""
    # The tag separator must follow the last '/', so a registry port (host:port/...) stays put.
    if s.rfind(":") > s.rfind("/"):
        s, tag, _ = _cut_last(s, ":")
    rest, model, found = _cut_last(s, "/")
    if not found:
        return ModelName(host="", namespace="", model=s, tag=tag, scheme="")
    rest, namespace, found = _cut_last(rest, "/")
    if not found:
        return ModelName(host="", namespace=rest, model=model, tag=tag, scheme="")
    scheme_part, sep, host = rest.partition("://")
    if sep:
        scheme = scheme_part
    else:
        host = rest
    return ModelName(host=host, namespace=namespace, model=model, tag=tag, scheme=scheme)


def parse_name(s: str) -> ModelName:
    """Parse ``s`` and fill absent parts with the defaults (Ollama ``ParseName``).

    Never raises; check :meth:`ModelName.is_valid` (or call :func:`validate_name`).
    ``parse_name("xx")`` is ``registry.ollama.ai/library/xx:latest``.
    """
    bare = parse_name_bare(s)
    return ModelName(
        host=bare.host or DEFAULT_HOST,
        namespace=bare.namespace or DEFAULT_NAMESPACE,
        model=bare.model,
        tag=bare.tag or DEFAULT_TAG,
        scheme=bare.scheme or DEFAULT_SCHEME,
    )


def validate_name(s: object) -> ModelName:
    """Parse ``s`` with defaults and raise InvalidModelName (``invalid model name``) if invalid."""
    if not isinstance(s, str):
        raise InvalidModelName()
    name = parse_name(s)
    if not name.is_valid():
        raise InvalidModelName()
    return name
