"""Helpers for the assemble tests: seeded random splitting, test templates and tools, drivers."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from corral.core.assemble import ToolCallParser
from corral.core.templates import Template, Tool, builtin_template

DATA = Path(__file__).parent / "data"
TEMPLATE_DATA = Path(__file__).parents[2] / "data" / "templates"


def split(text: str, seed: int, max_size: int = 6) -> list[str]:
    """Cut ``text`` into pieces of 1..max_size characters, chosen by ``seed``."""
    rng = random.Random(seed)
    pieces = []
    i = 0
    while i < len(text):
        size = rng.randint(1, max_size)
        pieces.append(text[i : i + size])
        i += size
    return pieces


def split_bytes(data: bytes, seed: int, max_size: int = 4) -> list[bytes]:
    """Cut ``data`` into pieces of 1..max_size bytes, chosen by ``seed``."""
    rng = random.Random(seed)
    pieces = []
    i = 0
    while i < len(data):
        size = rng.randint(1, max_size)
        pieces.append(data[i : i + size])
        i += size
    return pieces


def load_template(ref: str) -> Template:
    """``tools/NAME`` or ``testdata/NAME`` from tests/data/templates, ``builtin/NAME``, ``thinking/NAME``."""
    folder, name = ref.split("/", 1)
    if folder == "builtin":
        return Template.parse(builtin_template(name).template)
    if folder == "thinking":
        return Template.parse((DATA / "thinking" / f"{name}.gotmpl").read_text(encoding="utf-8"))
    return Template.parse((TEMPLATE_DATA / folder / f"{name}.gotmpl").read_text(encoding="utf-8"))


def load_tools() -> list[Tool]:
    """get_current_weather(location, format), get_time(), web_search(query, limit)."""
    return [Tool.from_json(t) for t in json.loads((DATA / "tools.json").read_text(encoding="utf-8"))]


def run_tool_parser(parser: ToolCallParser, pieces: list[str]) -> tuple[str, list[tuple[int, str, Any]]]:
    """Feed ``pieces`` and flush; return all content and the calls as (index, name, argument items)."""
    content: list[str] = []
    calls = []
    for piece in pieces:
        text, found = parser.push(piece)
        content.append(text)
        calls.extend(found)
    text, found = parser.flush()
    content.append(text)
    calls.extend(found)
    return "".join(content), [
        (c.function.index, c.function.name, list(c.function.arguments.items())) for c in calls
    ]
