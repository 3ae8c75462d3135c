"""Parsing: Ollama's Vars cases, parse errors with line/column, lexing rules (trim markers, literals)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from corral.core.errors import BadRequest, TemplateError
from corral.core.templates import Template, TemplateParseError
from corral.core.templates.parser import MAX_DEPTH

DATA = Path(__file__).resolve().parents[2] / "data" / "templates"
PARSE = json.loads((DATA / "parse_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", PARSE["valid"], ids=lambda c: c["template"][:40])
def test_vars(case: dict[str, Any]) -> None:
    assert list(Template.parse(case["template"]).vars) == case["vars"]


@pytest.mark.parametrize("case", PARSE["invalid"], ids=lambda c: c["error_contains"])
def test_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(TemplateParseError, match=case["error_contains"]):
        Template.parse(case["template"])


def test_uses_reports_capability_fields() -> None:
    t = Template.parse("{{ range .Messages }}{{ if $.Tools }}{{ .Content }}{{ end }}{{ end }}")
    assert t.uses("Messages") and t.uses("tools") and t.uses(".Content")
    assert not t.uses("Suffix") and not t.uses("Response") and not t.uses("Think")
    fim = Template.parse("{{ if .Suffix }}<PRE>{{ .Prompt }}{{ end }}{{ if .Think }}x{{ end }}")
    assert fim.uses("Suffix") and fim.uses("Think") and fim.uses("Response")  # appended by Ollama's rule


def test_parse_error_is_a_400_with_position() -> None:
    with pytest.raises(TemplateParseError) as info:
        Template.parse("line one\nline two {{ .Prompt ")
    err = info.value
    assert isinstance(err, TemplateError) and isinstance(err, BadRequest)
    assert err.status == 400
    assert (err.line, err.column) == (2, 20)
    assert str(err) == "template: :2:20: unclosed action"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ if }}", "missing value for if"),
        ("{{ end }}", "unexpected {{end}}"),
        ("{{ else }}", "unexpected {{else}}"),
        ("{{ if .X }}open", "unexpected EOF"),
        ("{{ if .X }}{{ else }}a{{ else }}b{{ end }}", "expected end; found {{else}}"),
        ("{{ foo }}", 'function "foo" not defined'),
        ("{{ call .X }}", 'function "call" not defined'),
        ("{{ $x }}", 'undefined variable "$x"'),
        ("{{ if 1 }}{{ $y := 1 }}{{ end }}{{ $y }}", 'undefined variable "$y"'),
        ("{{ break }}", "{{break}} outside {{range}}"),
        ("{{ range .X }}{{ else }}{{ continue }}{{ end }}", "{{continue}} outside {{range}}"),
        ("{{ 1 | 2 }}", "non executable command in pipeline stage 2"),
        ('{{ "abc }}', "unterminated quoted string"),
        ("{{ `abc }}", "unterminated raw quoted string"),
        ("{{ 'ab }}", "unterminated character constant"),
        ("{{ (.X }}", "unclosed left paren"),
        ("{{ .X) }}", "unexpected right paren"),
        ("{{ 3x }}", 'bad number syntax: "3x"'),
        ("{{ .X# }}", "bad character U+0023 '#'"),
        ("{{ .X : }}", "expected :="),
        ("{{/* never closed }}", "unclosed comment"),
        ("{{/* x */ .Y }}", "comment ends before closing delimiter"),
        ('{{ "\\q" }}', "invalid syntax"),
        ("{{ $a, $b := .X }}", "too many declarations in command"),
        ("{{ range $a, 1 }}{{ end }}", "range can only initialize variables"),
        ("{{ 1.X }}", 'bad number syntax: "1.X"'),
        ('{{ "s".X }}', "unexpected . after term"),
        ('{{ define "x" }}{{ end }}', "undefined template specified"),
        ('{{ template "x" }}', "undefined template specified"),
        ('{{ block "x" . }}{{ end }}', "undefined template specified"),
    ],
)
def test_parse_errors(source: str, message: str) -> None:
    with pytest.raises(TemplateParseError) as info:
        Template.parse(source)
    assert message in str(info.value)
    assert info.value.line >= 1


def test_nesting_is_bounded() -> None:
    deep = "{{ if 1 }}" * (MAX_DEPTH + 1) + "x" + "{{ end }}" * (MAX_DEPTH + 1)
    with pytest.raises(TemplateParseError, match="nesting too deep"):
        Template.parse(deep)
    parens = "{{ " + "(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1) + " }}"
    with pytest.raises(TemplateParseError, match="nesting too deep"):
        Template.parse(parens)
    ok = "{{ if 1 }}" * 50 + "x" + "{{ end }}" * 50
    assert Template.parse(ok).render({}) == "x"


def render(source: str, data: dict[str, Any] | None = None) -> str:
    return Template.parse(source).render(data or {})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a  {{- 1 -}}  b", "a1b"),
        ("a \n\t{{- 1 }} \n b", "a1 \n b"),
        ("a {{ 1 -}} \r\n\t b", "a 1b"),
        ("{{-3}}", "-3"),
        ("{{- 3 -}}", "3"),
        ("{{ 1 -}}{{- 2 }}", "12"),
        ("x {{- /* c */ -}} y", "xy"),
        ("a {{/* c */}} b", "a  b"),
        ("{{/* multi\nline */}}ok", "ok"),
        ('{{ "a\\tb\\n\\x41\\u00e9\\101" }}', "a\tb\nAéA"),
        ("{{ `raw\\n{{` }}", "raw\\n{{"),
        ("{{ 'a' }} {{ '\\n' }}", "97 10"),
        (
            "{{ 1.5 }} {{ 1e6 }} {{ 0x10 }} {{ 017 }} {{ 0b11 }} {{ 1_000 }} {{ -3 }} {{ +4 }}",
            "1.5 1e+06 16 15 3 1000 -3 4",
        ),
        ("{{ true }} {{ false }}", "true false"),
        ("{{\n.X\n}}", "1"),
        ("{{.X}}{{ .X}}{{.X }}", "111"),
        ("no actions at all", "no actions at all"),
        ("", ""),
        ('{ {{ "}}" }} }', "{ }} }"),
    ],
)
def test_lexing(source: str, expected: str) -> None:
    assert render(source, {"X": 1}) == expected


def test_dash_must_be_followed_by_space_to_trim() -> None:
    # "{{-3}}" is the number -3, and "a -}}" inside text is just text.
    assert render("x {{-3}} y") == "x -3 y"
    assert render("a -}} b") == "a -}} b"


def test_crlf_text_is_kept() -> None:
    assert render("a\r\n{{ .X }}\r\n", {"X": "b"}) == "a\r\nb\r\n"


def test_response_appended_only_for_ollama_execution() -> None:
    t = Template.parse("{{ .Prompt }}")
    assert t.vars == ("prompt", "response")
    assert t.render({"Prompt": "hi"}) == "hi"  # render() executes the template as written
    assert str(t) == "{{ .Prompt }}" and t.text == "{{ .Prompt }}"
