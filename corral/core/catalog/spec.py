"""What a create request asks for, independent of its wire format, and its up-front validation."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from corral.core.digest import parse_digest
from corral.core.errors import BadRequest, TemplateError
from corral.core.names import ModelName, validate_name
from corral.core.templates import Template

__all__ = ["CreateSpec", "valid_relative_path"]


class _MessageLike(Protocol):
    role: str
    content: str


class _CreateRequestLike(Protocol):
    model: str
    name: str
    from_: str
    files: dict[str, str] | None
    adapters: dict[str, str] | None
    template: str | None
    system: str | None
    license: str | list[str] | None
    parameters: dict[str, Any] | None
    quantize: str
    quantization: str

    @property
    def messages(self) -> Sequence[_MessageLike] | None: ...


def valid_relative_path(path: str) -> bool:
    """Go's ``fs.ValidPath`` plus Windows separators and drive letters refused."""
    if path == ".":
        return True
    if not path or path.startswith("/") or "\\" in path or (len(path) > 1 and path[1] == ":"):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/")) and posixpath.normpath(path) == path


@dataclass(frozen=True)
class CreateSpec:
    """A model to create: a name plus where its layers come from."""

    model: str
    from_: str = ""
    files: Mapping[str, str] = field(default_factory=dict)
    adapters: Mapping[str, str] = field(default_factory=dict)
    template: str | None = None
    system: str | None = None
    license: tuple[str, ...] | None = None
    parameters: Mapping[str, Any] | None = None
    messages: tuple[tuple[str, str], ...] | None = None
    quantize: str = ""

    @classmethod
    def from_request(cls, req: _CreateRequestLike) -> CreateSpec:
        """Build a spec from the JSON form of ``/api/create`` (``name`` is an alias of ``model``)."""
        lic = req.license
        license_ = (lic,) if isinstance(lic, str) else tuple(lic) if lic is not None else None
        msgs = req.messages
        return cls(
            model=req.model or req.name,
            from_=req.from_,
            files=dict(req.files or {}),
            adapters=dict(req.adapters or {}),
            template=req.template,
            system=req.system,
            license=license_,
            parameters=req.parameters,
            messages=tuple((m.role, m.content) for m in msgs) if msgs is not None else None,
            quantize=(req.quantize or req.quantization).upper(),
        )

    def validate(self) -> ModelName:
        """Checks Ollama makes before streaming starts; returns the parsed target name."""
        name = validate_name(self.model)
        if not self.from_ and not self.files:
            raise BadRequest("neither 'from' or 'files' was specified")
        for mapping in (self.files, self.adapters):
            for path, digest in mapping.items():
                if not valid_relative_path(path):
                    raise BadRequest("file path must be relative")
                if not digest:
                    raise BadRequest("invalid digest format")
                parse_digest(digest)
        if len([p for p in self.adapters if p.endswith(".gguf")]) > 1:
            raise BadRequest("only one GGUF adapter is allowed")
        if self.template is not None:
            try:
                Template.parse(self.template)
            except TemplateError as exc:
                raise BadRequest(f"template error: {exc.message}") from None
        return name
