"""NDJSON lines survive every line splitter: a model's NEL, LINE SEPARATOR or PARAGRAPH SEPARATOR
(which JSON may leave raw) is escaped, so httpx's ``aiter_lines`` (ollama-python's reader, built on
``str.splitlines``) never cuts a line in two. Found by the 64-stream soak: a tiny model's random token
cut ``{"model":"tiny",...,"response":"`` mid-string."""

from __future__ import annotations

import json

import pytest

from corral.api.streaming import ndjson_line


@pytest.mark.parametrize("text", ["a\x85b", "a\u2028b", "a\u2029b", "plain é 😀", "\x85\u2028\u2029"])
def test_a_line_is_one_line_for_splitlines_and_decodes_back(text: str) -> None:
    line = ndjson_line({"response": text, "done": False})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    decoded = line.decode("utf-8")
    assert len(decoded.splitlines()) == 1
    assert json.loads(decoded) == {"response": text, "done": False}
