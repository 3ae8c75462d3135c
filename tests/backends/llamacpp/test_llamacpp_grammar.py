"""Constrained output on llama.cpp: GBNF grammars, JSON mode and JSON schemas, and their errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from corral.backends.llamacpp import LlamaCppRunner
from corral.backends.llamacpp.grammar import GrammarCache, check_grammar_shape
from corral.core.engine import GenerateParams, SamplingOptions
from corral.core.errors import BadRequest

GREEDY = SamplingOptions(temperature=0)
COLOR_SCHEMA = {
    "type": "object",
    "properties": {"color": {"enum": ["red", "green"]}, "count": {"type": "integer", "minimum": 0}},
    "required": ["color", "count"],
    "additionalProperties": False,
}


def text_of(runner: LlamaCppRunner, errors: str = "strict", **kw: Any) -> str:
    params = GenerateParams(runner.tokenize("hello the world is"), GREEDY, **kw)
    out = list(runner.generate(params, threading.Event()))
    assert out[-1].eog, "the constrained output should be complete"
    return b"".join(t.piece for t in out if not t.eog).decode("utf-8", errors)


def test_a_gbnf_grammar_constrains_the_output(tiny_runner: LlamaCppRunner) -> None:
    text = text_of(tiny_runner, grammar='root ::= ("yes" | "no") "!"', num_predict=20)
    assert text in ("yes!", "no!")


def test_json_mode_output_is_a_json_object(tiny_runner: LlamaCppRunner) -> None:
    value = json.loads(text_of(tiny_runner, json_mode=True, num_predict=200))
    assert isinstance(value, dict)


def test_json_schema_output_validates(tiny_runner: LlamaCppRunner) -> None:
    value = json.loads(text_of(tiny_runner, json_schema=COLOR_SCHEMA, num_predict=200))
    assert set(value) == {"color", "count"}
    assert value["color"] in ("red", "green")
    assert isinstance(value["count"], int) and value["count"] >= 0


def test_a_grammar_wins_over_a_schema_and_json_mode(tiny_runner: LlamaCppRunner) -> None:
    text = text_of(tiny_runner, grammar='root ::= "ok"', json_schema=COLOR_SCHEMA, json_mode=True)
    assert text == "ok"


@pytest.mark.parametrize("grammar", ['root ::= "unterminated', "root ::= missing-rule", "no rules here"])
def test_an_invalid_grammar_is_a_bad_request(tiny_runner: LlamaCppRunner, grammar: str) -> None:
    with pytest.raises(BadRequest, match="invalid grammar"):
        tiny_runner.generate(GenerateParams([1, 5], grammar=grammar), threading.Event())
    # The runner is still healthy.
    assert text_of(tiny_runner, grammar='root ::= "ok"') == "ok"


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "foo"}, "Unrecognized schema"),
        ({"$ref": "#/definitions/missing"}, "Error resolving ref"),
        (
            {"properties": {"a": {"$ref": "https://example.com/s.json"}}},
            "Fetching remote schemas is not allowed",
        ),
        ({"type": "string", "pattern": "["}, "Pattern must start"),
        ({"allOf": 3}, "not iterable"),
    ],
)
def test_an_invalid_schema_is_a_bad_request(tiny_runner: LlamaCppRunner, schema: Any, reason: str) -> None:
    with pytest.raises(BadRequest, match=f"^invalid JSON schema in format: .*{reason}"):
        tiny_runner.generate(GenerateParams([1, 5], json_schema=schema), threading.Event())


def test_a_grammar_that_allows_no_token_fails_without_killing_the_process(tiny_gguf: Path) -> None:
    # `[\x00]` rules out every token; accepting one anyway makes llama.cpp throw a C++ exception,
    # which aborts the whole process. Run in a child so a regression cannot take pytest down.
    grammars = [r"root ::= [\x00]", r'root ::= "a" "\x00"']
    code = textwrap.dedent(
        f"""
        import threading
        from pathlib import Path
        from corral.backends.llamacpp import LlamaCppBackend
        from corral.core.engine import GenerateParams, LoadParams, ModelSpec, SamplingOptions
        from corral.core.errors import BadRequest
        spec = ModelSpec(name="t", model_path=Path({str(tiny_gguf)!r}), digest="", architecture="llama")
        runner = LlamaCppBackend().load(spec, LoadParams(num_ctx=64, num_thread=1))
        for temperature in (0.0, 0.8):
            for grammar in {grammars!r}:
                params = GenerateParams([1, 5], SamplingOptions(temperature=temperature), grammar=grammar)
                try:
                    list(runner.generate(params, threading.Event()))
                except BadRequest as exc:
                    print("refused:", exc)
        """
    )
    repo = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    refusal = "refused: the grammar allows no token at this point of the output"
    assert done.stdout.splitlines() == [refusal] * 4


@pytest.mark.parametrize(
    ("grammar", "reason"),
    [
        ('root ::= "a"{5,2}', "repetition {5,2} has min > max"),  # llama.cpp's parser loops forever
        ("root ::= " + '("a" ' * 1500 + ")?" * 1500, "nested more than 1000 deep"),  # stack overflow
        ('root ::= "' + "a" * (1 << 20) + '"', "longer than 1048576 characters"),
        ('root ::= "a\x00b"', "contains a NUL character"),  # would be cut short at the NUL
        ('root ::= "\ud800"', "surrogates not allowed"),
    ],
)
def test_grammars_that_would_hang_or_crash_llama_cpp_are_refused(
    tiny_runner: LlamaCppRunner, grammar: str, reason: str
) -> None:
    with pytest.raises(BadRequest, match=re.escape(reason)):
        tiny_runner.generate(GenerateParams([1, 5], grammar=grammar), threading.Event())


def test_check_grammar_shape_reads_past_literals_classes_and_comments() -> None:
    check_grammar_shape('root ::= "((((" [(((] x{2,5} # ((((( {9,1}\nx ::= "{9,1}" ")"')
    check_grammar_shape('root ::= "\\"" ("a" | "b"){0,3}')
    with pytest.raises(BadRequest):
        check_grammar_shape('root ::= "\\"" x{9,1}')


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        # The converter spells repetitions out: these would take minutes and gigabytes, or nest
        # groups deep enough to overflow llama.cpp's parser.
        ({"type": "string", "maxLength": 10**9}, "maxLength 1000000000 is over corral's limit of 1000"),
        ({"type": "array", "items": {"type": "integer"}, "maxItems": 5000}, "maxItems 5000"),
        ({"properties": {"a": {"type": "array", "minItems": 2000}}}, "minItems 2000"),
        ({"type": "string", "pattern": "^a{3,100000}$"}, "pattern repetition {3,100000}"),
    ],
)
def test_schemas_with_huge_repetitions_are_refused_quickly(
    tiny_runner: LlamaCppRunner, schema: Any, reason: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(BadRequest, match=re.escape(reason)):
        tiny_runner.generate(GenerateParams([1, 5], json_schema=schema), threading.Event())
    assert time.perf_counter() - started < 1.0


def test_a_schema_within_the_limits_still_works(tiny_runner: LlamaCppRunner) -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "maxLength": 900}}, "required": ["s"]}
    # The random model strings together byte tokens that are not valid UTF-8 on their own, and
    # llama.cpp's grammar lets some of those bytes through; only the structure is checked here.
    value = json.loads(text_of(tiny_runner, "replace", json_schema=schema, num_predict=400), strict=False)
    assert isinstance(value["s"], str) and len(value["s"]) <= 900


class _CountingLib:
    """Passes everything to llama_cpp, counting grammar compilations."""

    def __init__(self, lib: Any) -> None:
        self._lib = lib
        self.compiled = 0

    def llama_sampler_init_grammar(self, *args: Any) -> Any:
        self.compiled += 1
        return self._lib.llama_sampler_init_grammar(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lib, name)


def test_grammars_are_checked_once_per_text(tiny_runner: LlamaCppRunner) -> None:
    import llama_cpp

    counting = _CountingLib(llama_cpp)
    cache = GrammarCache(counting, tiny_runner._vocab)
    for _ in range(3):
        assert cache.for_request(GenerateParams([1], json_schema=COLOR_SCHEMA))
        assert cache.for_request(GenerateParams([1], json_mode=True))
    assert counting.compiled == 2
    assert cache.for_request(GenerateParams([1])) is None
