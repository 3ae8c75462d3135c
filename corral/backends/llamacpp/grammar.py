"""Output constraints for llama.cpp: GBNF text, ``format: "json"`` and JSON schemas, checked and cached."""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from corral.core.engine import GenerateParams
from corral.core.errors import BadRequest

__all__ = [
    "GrammarCache",
    "check_grammar_shape",
    "check_schema_bounds",
    "json_object_grammar",
    "schema_to_gbnf",
]

_ROOT = b"root"
MAX_GRAMMAR_CHARS = 1 << 20
MAX_NESTING = 1000
"""llama.cpp parses GBNF recursively: a few thousand nested groups overflow the C stack and kill the
process (a JSON schema with ``maxLength: 100000`` becomes 100000 nested optional groups)."""
_REPEAT = re.compile(r"\{\s*(\d*)\s*(,?)\s*(\d*)\s*\}")


def check_grammar_shape(gbnf: str) -> None:
    """Refuse GBNF that llama.cpp's parser cannot read or survive: text over
    :data:`MAX_GRAMMAR_CHARS`, NUL characters or lone surrogates, groups nested deeper than
    :data:`MAX_NESTING`, and ``{m,n}`` with ``m > n`` (which makes the parser loop forever).
    Raises :class:`BadRequest`."""
    if len(gbnf) > MAX_GRAMMAR_CHARS:
        raise BadRequest(f"invalid grammar: longer than {MAX_GRAMMAR_CHARS} characters")
    if "\x00" in gbnf:  # llama.cpp reads the grammar as a C string
        raise BadRequest("invalid grammar: contains a NUL character")
    try:
        gbnf.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(f"invalid grammar: {exc.reason}") from exc
    depth, i, n = 0, 0, len(gbnf)
    while i < n:
        c = gbnf[i]
        if c in '"[':  # a literal or a character class: skip it, escapes included
            close = '"' if c == '"' else "]"
            i += 1
            while i < n and gbnf[i] != close:
                i += 2 if gbnf[i] == "\\" else 1
        elif c == "#":
            while i < n and gbnf[i] not in "\r\n":
                i += 1
        elif c == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise BadRequest(f"invalid grammar: groups nested more than {MAX_NESTING} deep")
        elif c == ")":
            depth -= 1
        elif c == "{":
            match = _REPEAT.match(gbnf, i)
            if match and match.group(1) and match.group(3) and int(match.group(1)) > int(match.group(3)):
                raise BadRequest(f"invalid grammar: repetition {match.group(0)} has min > max")
        i += 1


def json_object_grammar(lib: Any) -> str:
    """The GBNF for ``format: "json"``: a JSON object, as Ollama constrains it."""
    text: str = lib.llama_grammar.JSON_GBNF
    return text


def schema_to_gbnf(lib: Any, schema: Mapping[str, Any]) -> str:
    """Convert a JSON schema to GBNF with llama.cpp's converter; a schema it rejects is a 400
    (Ollama's wording, ``invalid JSON schema in format``, followed by the converter's reason)."""
    check_schema_bounds(schema)
    text = _schema_text(schema)
    try:
        grammar: str = lib.llama_grammar.json_schema_to_gbnf(text)
    except RecursionError as exc:
        raise BadRequest("invalid JSON schema in format: nested too deeply") from exc
    except Exception as exc:  # the converter raises AssertionError/KeyError/ValueError... on bad input
        raise BadRequest(f"invalid JSON schema in format: {exc or type(exc).__name__}") from exc
    return grammar


def _schema_text(schema: Mapping[str, Any]) -> str:
    try:
        return json.dumps(schema)
    except (TypeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"invalid JSON schema in format: {exc}") from exc


_BOUNDS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")
_PATTERN_COUNT = re.compile(r"\{(\d+)(?:,(\d*))?\}")


def check_schema_bounds(schema: Any) -> None:
    """Refuse repetition counts over :data:`MAX_NESTING` before the converter sees them: it spells
    repetitions out one by one, so ``maxLength: 1000000000`` would take minutes and gigabytes."""
    pending: list[Any] = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in _BOUNDS and isinstance(value, int | float) and value > MAX_NESTING:
                    raise BadRequest(
                        f"invalid JSON schema in format: {key} {value} "
                        f"is over corral's limit of {MAX_NESTING}"
                    )
                if key == "pattern" and isinstance(value, str):
                    for match in _PATTERN_COUNT.finditer(value):
                        if any(int(n) > MAX_NESTING for n in match.groups() if n):
                            raise BadRequest(
                                f"invalid JSON schema in format: pattern repetition {match.group(0)} "
                                f"is over corral's limit of {MAX_NESTING}"
                            )
                pending.append(value)
        elif isinstance(node, list | tuple):
            pending.extend(node)


class GrammarCache:
    """Turns a request's constraint into GBNF text that llama.cpp accepted, caching by text.

    llama.cpp parses GBNF only when a grammar sampler is created, and answers a parse error with a
    NULL sampler; adding NULL to a sampler chain would crash the process. So every grammar is test-
    compiled once against the model's vocabulary before any generation may use it.
    """

    def __init__(self, lib: Any, vocab: Any, *, max_entries: int = 64) -> None:
        self._lib = lib
        self._vocab = vocab
        self._max = max_entries
        self._lock = threading.Lock()
        self._checked: OrderedDict[str, bool] = OrderedDict()
        self._schemas: OrderedDict[str, str] = OrderedDict()

    def for_request(self, params: GenerateParams) -> str | None:
        """The checked GBNF text constraining ``params``'s output, or None for free text.

        A GBNF grammar wins over a JSON schema, which wins over JSON mode.
        """
        if params.grammar:
            return self.check(params.grammar)
        if params.json_schema is not None:
            return self.check(self._schema_grammar(params.json_schema))
        if params.json_mode:
            return self.check(json_object_grammar(self._lib))
        return None

    def check(self, gbnf: str) -> str:
        """Return ``gbnf`` if llama.cpp can compile it, else raise :class:`BadRequest`."""
        with self._lock:
            if gbnf in self._checked:
                self._checked.move_to_end(gbnf)
                return gbnf
        check_grammar_shape(gbnf)
        sampler = self._lib.llama_sampler_init_grammar(self._vocab, gbnf.encode("utf-8"), _ROOT)
        if not sampler:
            raise BadRequest("invalid grammar: llama.cpp could not parse it (see the server log)")
        self._lib.llama_sampler_free(sampler)
        with self._lock:
            self._checked[gbnf] = True
            _trim(self._checked, self._max)
        return gbnf

    def _schema_grammar(self, schema: Mapping[str, Any]) -> str:
        key = _schema_text(schema)  # not sorted: property order shapes the output
        with self._lock:
            cached = self._schemas.get(key)
            if cached is not None:
                self._schemas.move_to_end(key)
                return cached
        gbnf = schema_to_gbnf(self._lib, schema)
        with self._lock:
            self._schemas[key] = gbnf
            _trim(self._schemas, self._max)
        return gbnf


def _trim(cache: OrderedDict[str, Any], limit: int) -> None:
    while len(cache) > limit:
        cache.popitem(last=False)
