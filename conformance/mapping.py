"""Model names: which local model plays each name a transcript uses, and rewriting bodies to match."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.transcripts import Transcript

__all__ = [
    "MODELS_FILE",
    "SCRATCH_NAMESPACE",
    "Binding",
    "Bound",
    "ModelMap",
    "qualify",
    "rewrite_names",
]

MODELS_FILE = Path(__file__).with_name("models.toml")
SCRATCH_NAMESPACE = "conformance"
"""Models the suite makes or deletes live under this namespace, away from a user's own models."""

PLAYED_ROLES = ("chat", "embedding", "pull", "code", "vision", "thinking")
FALLBACK_ROLES = ("code", "vision", "thinking")
"""Roles the chat model plays when no model is given for them."""

# Fields whose model is created, overwritten or deleted by the request itself: always scratch.
_TARGET_FIELDS = {
    "POST /api/create": ("model", "name"),
    "DELETE /api/delete": ("model", "name"),
    "POST /api/copy": ("destination",),
}
_NAME_FIELDS = ("model", "name", "from", "source", "destination")


_MODEL_PATH = "/v1/models/"
"""A path that names a model (``GET /v1/models/{model}``)."""


@dataclass(frozen=True)
class Binding:
    """One model name of a transcript and what stands in for it."""

    original: str
    local: str
    role: str
    """A role from models.toml, ``target`` for a name the request itself creates or deletes, or
    ``keep`` for a name the table does not know."""


@dataclass(frozen=True)
class Bound:
    """A transcript's request with its model names replaced by local ones."""

    body: Any
    bindings: tuple[Binding, ...]
    path: str | None = None
    """The request path when a model name in it was replaced (``/v1/models/<name>``)."""

    @property
    def renames(self) -> dict[str, str]:
        """Original name → local name."""
        return {b.original: b.local for b in self.bindings}

    def role(self, role: str) -> list[Binding]:
        """The bindings that have ``role``."""
        return [b for b in self.bindings if b.role == role]


@dataclass(frozen=True)
class ModelMap:
    """The mapping file, with the command line's players applied."""

    roles: dict[str, str]
    names: dict[str, str]
    endpoint_roles: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = MODELS_FILE, **players: str | None) -> ModelMap:
        """Read ``path``; keyword arguments (``chat="tiny"``, ...) replace a role's player when not None."""
        with open(path, "rb") as f:
            data = tomllib.load(f)
        roles = {r: "" for r in PLAYED_ROLES} | {str(k): str(v) for k, v in data.get("roles", {}).items()}
        for role, player in players.items():
            if role not in PLAYED_ROLES:
                raise ValueError(f"unknown role {role!r} (roles: {', '.join(PLAYED_ROLES)})")
            if player is not None:
                roles[role] = player
        names = {str(k): str(v) for k, v in data.get("names", {}).items()}
        endpoint_roles = {
            str(ep): {str(k): str(v) for k, v in table.items()}
            for ep, table in data.get("endpoint_roles", {}).items()
        }
        return cls(roles=roles, names=names, endpoint_roles=endpoint_roles)

    def role_of(self, name: str, endpoint: str) -> str:
        """The role ``name`` plays on ``endpoint`` (``keep`` when the table does not list it)."""
        role = self.names.get(name, "keep")
        return self.endpoint_roles.get(endpoint, {}).get(role, role)

    def bind(self, t: Transcript) -> Bound | str:
        """Replace the model names of ``t``'s request; a string is the reason it cannot run here."""
        body = t.body
        if t.path.startswith(_MODEL_PATH) and len(t.path) > len(_MODEL_PATH):
            played = self._player(t.path[len(_MODEL_PATH) :], t)
            if isinstance(played, str):
                return played
            return Bound(body, (played,), _MODEL_PATH + played.local)
        if not isinstance(body, dict):
            return Bound(body, ())
        body = dict(body)
        bindings: list[Binding] = []
        targets = _TARGET_FIELDS.get(t.endpoint, ())
        for key in _NAME_FIELDS:
            value = body.get(key)
            if not isinstance(value, str) or not value:
                continue
            if key in targets:
                binding = Binding(value, scratch_name(value), "target")
            else:
                played = self._player(value, t)
                if isinstance(played, str):
                    return played
                binding = played
            body[key] = binding.local
            bindings.append(binding)
        return Bound(body, tuple(bindings))

    def _player(self, name: str, t: Transcript) -> Binding | str:
        role = self.role_of(name, t.endpoint)
        if role in ("missing", "keep"):
            return Binding(name, name, role)
        if role in ("scratch", "copy", "f16"):
            return Binding(name, scratch_name(name), role)
        if role not in PLAYED_ROLES:
            raise ValueError(f"models.toml: {name!r} has unknown role {role!r}")
        player = self.roles.get(role, "")
        if not player and role in FALLBACK_ROLES:
            # The chat model stands in; a transcript that needs the capability is skipped later.
            player = self.roles.get("chat", "")
        if not player:
            return f"no local model plays the {role} role (models.toml [roles])"
        return Binding(name, player, role)


def scratch_name(name: str) -> str:
    """``llama3:13b`` → ``conformance/llama3:13b`` (the last path segment keeps its tag)."""
    return f"{SCRATCH_NAMESPACE}/{name.rsplit('/', 1)[-1]}"


def _with_tag(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def qualify(name: str) -> str:
    """A name in full, as Ollama's capability errors print it: ``registry.ollama.ai/library/x:latest``."""
    parts = name.split("/")
    if len(parts) == 1:
        parts = ["registry.ollama.ai", "library", *parts]
    elif len(parts) == 2:
        parts = ["registry.ollama.ai", *parts]
    return _with_tag("/".join(parts))


def _rewrite_text(text: str, renames: dict[str, str]) -> str:
    for orig, local in sorted(renames.items(), key=lambda kv: -len(kv[0])):
        if orig == local:
            continue
        text = text.replace(qualify(orig), qualify(local))
        for q in ("'", '"'):
            if _with_tag(orig) != orig:
                text = text.replace(f"{q}{_with_tag(orig)}{q}", f"{q}{_with_tag(local)}{q}")
            text = text.replace(f"{q}{orig}{q}", f"{q}{local}{q}")
    return text


def rewrite_names(value: Any, renames: dict[str, str]) -> Any:
    """``value`` with model names replaced: strings equal to a name, and names quoted or fully
    qualified inside strings (error messages)."""
    if not renames:
        return value
    if isinstance(value, str):
        if value in renames:
            return renames[value]
        return _rewrite_text(value, renames)
    if isinstance(value, list):
        return [rewrite_names(v, renames) for v in value]
    if isinstance(value, dict):
        return {k: rewrite_names(v, renames) for k, v in value.items()}
    return value
