"""The comparison rules file (rules.toml): skips, pending endpoints, optional and exact keys, status lines."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RULES_FILE", "EndpointRules", "Rules"]

RULES_FILE = Path(__file__).with_name("rules.toml")


def _strs(value: Any) -> frozenset[str]:
    return frozenset(str(v) for v in value or ())


@dataclass(frozen=True)
class EndpointRules:
    """The rules that apply to one endpoint's responses."""

    optional: frozenset[str] = frozenset()
    extensions: frozenset[str] = frozenset()
    free_form: frozenset[str] = frozenset()
    nullable: frozenset[str] = frozenset()
    exact: frozenset[str] = frozenset()
    exact_when: dict[str, frozenset[Any]] = field(default_factory=dict)
    formats: dict[str, re.Pattern[str]] = field(default_factory=dict)
    status_lines: tuple[re.Pattern[str], ...] = ()
    status_skippable: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class Rules:
    """rules.toml, parsed."""

    data: dict[str, Any]

    @classmethod
    def load(cls, path: Path = RULES_FILE) -> Rules:
        """Read a rules file."""
        with open(path, "rb") as f:
            return cls(tomllib.load(f))

    def skip_reason(self, name: str) -> str | None:
        """Why transcript ``name`` cannot be reproduced, if it cannot."""
        reason = self.data.get("skip", {}).get(name)
        return str(reason) if reason else None

    def pending(self, endpoint: str) -> str | None:
        """Why ``endpoint`` may be missing on the server, if it may."""
        reason = self.data.get("pending", {}).get(endpoint)
        return str(reason) if reason else None

    def _table(self, section: str, endpoint: str) -> frozenset[str]:
        table = self.data.get(section, {})
        return _strs(table.get(endpoint)) | _strs(table.get("*"))

    def for_endpoint(self, endpoint: str) -> EndpointRules:
        """The rules for ``endpoint`` (entries under ``"*"`` apply to every endpoint)."""
        status = self.data.get("status", {})
        return EndpointRules(
            optional=self._table("optional", endpoint),
            extensions=self._table("extensions", endpoint),
            free_form=self._table("free_form", endpoint),
            nullable=self._table("nullable", endpoint),
            exact=self._table("exact", endpoint),
            exact_when={str(k): frozenset(v) for k, v in self.data.get("exact_when", {}).items()},
            formats={str(k): re.compile(str(v)) for k, v in self.data.get("formats", {}).items()},
            status_lines=tuple(re.compile(p) for p in status.get("lines", {}).get(endpoint, ())),
            status_skippable=tuple(re.compile(p) for p in status.get("skippable", {}).get(endpoint, ())),
        )
