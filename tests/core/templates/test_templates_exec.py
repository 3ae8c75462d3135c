"""Execution semantics copied from Go's text/template: truth, comparison, printing, variables, range."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from corral.core.templates import Message, Template, TemplateExecError, Tool, ToolCall
from corral.core.templates.values import Struct

DATA: dict[str, Any] = {
    "L": [1, 2, 3, 4, 5],
    "S": ["a", "b"],
    "M": {"b": 2, "a": 1, "c": 3},
    "E": [],
    "Name": "N",
    "Ms": [Message("user", "hi")],
}


def render(source: str, data: dict[str, Any] | None = None) -> str:
    return Template.parse(source).render(DATA if data is None else data)


def fails(source: str, data: dict[str, Any] | None = None) -> str:
    with pytest.raises(TemplateExecError) as info:
        render(source, data)
    assert info.value.status == 500
    return str(info.value)


# -- truth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 0.0, "", [], {}, None, False])
def test_false_values(value: Any) -> None:
    assert render("{{ if .V }}t{{ else }}f{{ end }}", {"V": value}) == "f"


@pytest.mark.parametrize("value", [1, -0.5, "x", [0], {"a": None}, True, Struct("T", {})])
def test_true_values(value: Any) -> None:
    assert render("{{ if .V }}t{{ else }}f{{ end }}", {"V": value}) == "t"


def test_and_or_return_the_deciding_operand() -> None:
    assert (
        render('{{ and 1 0 2 }}|{{ and 1 2 }}|{{ or 0 "" "x" 3 }}|{{ or 0 "" }}|{{ not 0 }}') == "0|2|x||true"
    )


def test_and_or_short_circuit() -> None:
    # The second operand would fail if it were evaluated.
    assert render("{{ or 1 .Nope.X }}{{ and 0 .Nope.X }}") == "10"
    assert render("{{ 1 | and 2 }}") == "1"


# -- comparison -------------------------------------------------------------------------------


def test_comparisons() -> None:
    out = render(
        '{{ eq 1 2 3 1 }} {{ eq "a" "b" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ lt "a" "b" }} '
        "{{ le 2 2 }} {{ gt 3 2 }} {{ ge 1 2 }} {{ eq true true }} {{ lt 1.5 2.5 }}"
    )
    assert out == "true false true true true true true false true true"


def test_eq_with_missing_value_is_false_not_an_error() -> None:
    assert render('{{ eq .Nope "x" }} {{ eq "x" .Nope }} {{ ne .Nope "x" }}') == "false false true"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ eq 1 1.0 }}", "error calling eq: incompatible types for comparison"),
        ('{{ eq 1 "1" }}', "error calling eq: incompatible types for comparison"),
        ('{{ lt 1 "a" }}', "error calling lt: incompatible types for comparison"),
        ("{{ lt true false }}", "error calling lt: invalid type for comparison"),
        ("{{ lt .Nope 1 }}", "error calling lt: invalid type for comparison"),
        ("{{ eq .L .L }}", "error calling eq: non-comparable types"),
        ("{{ eq 1 }}", "error calling eq: missing argument for comparison"),
    ],
)
def test_comparison_errors(source: str, message: str) -> None:
    assert message in fails(source)


# -- builtins ---------------------------------------------------------------------------------


def test_len_counts_bytes() -> None:
    assert render('{{ len "héllo" }} {{ len .L }} {{ len .M }} {{ len "" }}') == "6 5 3 0"
    assert "len of type int" in fails("{{ len 3 }}")


def test_index_and_slice() -> None:
    out = render('{{ index .L 1 }} {{ index .M "a" }} {{ index .M "zz" }} {{ index "abc" 1 }} {{ index .L }}')
    assert out == "2 1 <no value> 98 [1 2 3 4 5]"
    assert render('{{ slice "abcdef" 1 3 }} {{ slice .L 3 }} {{ slice .L 1 2 }} {{ slice .L }}') == (
        "bc [4 5] [2] [1 2 3 4 5]"
    )
    assert "index out of range: 5" in fails("{{ index .L 5 }}")
    assert "invalid slice index: 2 > 1" in fails("{{ slice .L 2 1 }}")
    assert "can't index item of type int" in fails("{{ index 3 0 }}")
    assert "cannot index slice/array with type string" in fails('{{ index .L "a" }}')


def test_last_message_idiom() -> None:
    source = "{{ range $i, $_ := .L }}{{ if eq (len (slice $.L $i)) 1 }}last={{ . }}{{ end }}{{ end }}"
    assert render(source) == "last=5"


def test_print_functions() -> None:
    assert render('{{ print 1 2 "a" 3 "b" "c" }}') == "1 2a3bc"
    assert render('{{ println 1 "a" }}') == "1 a\n"
    assert render("{{ print }}|{{ print .Nope }}") == "|<nil>"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ printf "%s-%d-%v-%q" "x" 3 true "y" }}', 'x-3-true-"y"'),
        (
            '{{ printf "%5.2f|%-4s|%04d|%+d|%x|%X|%o|%c|%U|%%" 3.14159 "ab" 7 5 255 255 8 65 65 }}',
            " 3.14|ab  |0007|+5|ff|FF|10|A|U+0041|%",
        ),
        ('{{ printf "%e %g %g %v" 1234.5 0.00001 100000.0 1e6 }}', "1.234500e+03 1e-05 100000 1e+06"),
        ('{{ printf "%s\\n\\n%s" "a" "b" }}', "a\n\nb"),
        ('{{ printf "%d %s" 1 }}', "1 %!s(MISSING)"),
        ('{{ printf "%d" "x" }}', "%!d(string=x)"),
        ('{{ printf "a" 1 }}', "a%!(EXTRA int=1)"),
        ('{{ printf "%s" .Nope }}', "%!s(<nil>)"),
        ('{{ printf "%v|%s" .L .S }}', "[1 2 3 4 5]|[a b]"),
        ('{{ printf "%T %T" 1 .M }}', "int map[string]interface {}"),
        ('{{ printf "%.2s" "abcdef" }}', "ab"),
    ],
)
def test_printf(source: str, expected: str) -> None:
    assert render(source) == expected


def test_escapers() -> None:
    assert (
        render("{{ html .V }}", {"V": "<a href='x'>&\"</a>"})
        == "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"
    )
    assert render("{{ js .V }}", {"V": "it's <b>"}) == "it\\'s \\u003Cb\\u003E"
    assert render("{{ urlquery .V }}", {"V": "a b&c/é"}) == "a+b%26c%2F%C3%A9"


def test_dates() -> None:
    today = datetime.datetime.now().astimezone().date()
    expected = f"{today.isoformat()} {(today - datetime.timedelta(days=1)).isoformat()}"
    assert render("{{ currentDate }} {{ yesterdayDate 1 2 }}") == expected


def test_argument_count_errors() -> None:
    assert "wrong number of args for len: want 1 got 0" in fails("{{ len }}")
    assert "wrong number of args for index: want at least 1 got 0" in fails("{{ index }}")
    assert "wrong number of args for not: want 1 got 2" in fails("{{ not 1 2 }}")
    assert "expected string; got int" in fails("{{ printf 3 }}")


# -- printing values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (22.0, "22"),
        (3.14, "3.14"),
        (-0.5, "-0.5"),
        (1e21, "1e+21"),
        (0.1 + 0.2, "0.30000000000000004"),
        (float("inf"), "+Inf"),
        (float("nan"), "NaN"),
        (123456789, "123456789"),
        (True, "true"),
        (None, "<no value>"),
        ([1, "a", None, 2.5], "[1 a <nil> 2.5]"),
        ({"b": [1], "a": {"x": True}}, "map[a:map[x:true] b:[1]]"),
        (b"hi", "[104 105]"),
    ],
)
def test_print_value(value: Any, expected: str) -> None:
    assert render("{{ .V }}", {"V": value}) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {"b": 1.0, "a": "<&>'", "c": [1e21, 1e-7, 0.5, None, True, 1e20]},
            '{"a":"\\u003c\\u0026\\u003e\'","b":1,"c":[1e+21,1e-7,0.5,null,true,100000000000000000000]}',
        ),
        ("line\nbreak\t\u2028", '"line\\nbreak\\t\\u2028"'),
        ([], "[]"),
        (None, "null"),
        (-0.0, "-0"),
        (b"hi", '"aGk="'),
        (float("nan"), ""),  # Ollama ignores json.Marshal's error and prints nothing
    ],
)
def test_json(value: Any, expected: str) -> None:
    assert render("{{ json .V }}", {"V": value}) == expected


def test_api_types_print_like_ollama() -> None:
    tool = Tool.from_json(
        {
            "type": "function",
            "function": {
                "name": "f",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "b": {"type": ["string", "null"]},
                        "a": {"type": "integer", "enum": [1, 2]},
                    },
                },
            },
        }
    )
    call = ToolCall.from_json({"function": {"name": "f", "arguments": {"z": 22, "a": [1.5, "x"]}}})
    data = {"Tools": [tool], "Call": call}
    assert render("{{ (index .Tools 0) }}", data) == (
        '{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":'
        '{"a":{"type":"integer","enum":[1,2]},"b":{"type":["string","null"]}}}}}'
    )
    assert render("{{ (index .Tools 0).Function.Name }}", data) == "f"
    props = (
        "{{ range $k, $v := (index .Tools 0).Function.Parameters.Properties }}"
        "{{ $k }}={{ $v.Type }};{{ end }}"
    )
    assert render(props, data) == "a=integer;b=[string null];"
    assert render("{{ .Call.Function.Arguments }}", data) == '{"a":[1.5,"x"],"z":22}'
    assert render("{{ range $k, $v := .Call.Function.Arguments }}{{ $k }}={{ $v }};{{ end }}", data) == (
        "a=[1.5 x];z=22;"
    )


def test_message_fields() -> None:
    msg = Message("tool", "42", thinking="hm", tool_name="calc", tool_call_id="c1", images=[b"x"])
    source = "{{ .Role }}|{{ .Content }}|{{ .Thinking }}|{{ .ToolName }}|{{ .ToolCallID }}|{{ len .Images }}"
    assert Template.parse(source).render(msg) == "tool|42|hm|calc|c1|1"
    with pytest.raises(TemplateExecError, match=r"can't evaluate field Bogus in type api\.Message"):
        Template.parse("{{ .Bogus }}").render(msg)
    assert Template.parse("{{ json . }}").render(Message("user", "hi")) == '{"role":"user","content":"hi"}'


# -- missing keys and field errors ------------------------------------------------------------


def test_missing_key_prints_no_value() -> None:
    assert render("{{ .Nope }}|{{ if .Nope }}y{{ else }}n{{ end }}") == "<no value>|n"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ .Nope.X }}", "nil pointer evaluating interface {}.X"),
        ("{{ .Name.X }}", "can't evaluate field X in type string"),
        ("{{ .L.X }}", "can't evaluate field X in type []interface {}"),
        ("{{ nil }}", "nil is not a command"),
        ("{{ 1 2 }}", "can't give argument to non-function 1"),
        ("{{ .M 1 }}", "M is not a method but has arguments"),
        ("{{ range .Name }}{{ end }}", "range can't iterate over N"),
        ("{{ range $i, $e := 3 }}{{ end }}", "can't use 3 to iterate over more than one variable"),
    ],
)
def test_execution_errors(source: str, message: str) -> None:
    assert message in fails(source)


def test_execution_error_names_location_and_node() -> None:
    text = fails("line\n  {{ eq 1 1.0 }}")
    assert text.startswith('template: :2:5: executing "" at <eq 1 1.0>: error calling eq:')


# -- variables, control flow ------------------------------------------------------------------


def test_variables_declare_and_assign() -> None:
    assert render("{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}{{ $x := 3 }}{{ $x }}") == "123"
    assert render("{{ $ }}", {"A": 1}) == "map[A:1]"
    assert render("{{ range .S }}{{ $.Name }}{{ . }}{{ end }}") == "NaNb"


def test_assignment_persists_across_iterations() -> None:
    source = '{{ $s := "" }}{{ range .L }}{{ $s = printf "%s%v" $s . }}{{ end }}{{ $s }}'
    assert render(source) == "12345"


def test_body_variables_are_fresh_each_iteration() -> None:
    assert render("{{ range .L }}{{ $z := . }}{{ $z }}{{ end }}") == "12345"


def test_range_forms() -> None:
    assert render("{{ range $i, $v := .S }}{{ $i }}={{ $v }};{{ end }}") == "0=a;1=b;"
    assert render("{{ range $k, $v := .M }}{{ $k }}{{ $v }}{{ end }}") == "a1b2c3"
    assert render("{{ range $v := .M }}{{ $v }}{{ end }}") == "123"
    assert render("{{ range .M }}{{ . }}{{ end }}") == "123"
    assert render("{{ range 3 }}{{ . }}{{ end }}") == "012"
    assert (
        render("{{ range .E }}x{{ else }}none{{ end }}|{{ range .Nope }}x{{ else }}nil{{ end }}")
        == "none|nil"
    )


def test_range_assigns_outer_variables() -> None:
    source = "{{ $i := 0 }}{{ $v := 0 }}{{ range $i, $v = .S }}{{ end }}{{ $i }}{{ $v }}"
    assert render(source) == "1b"


def test_break_and_continue() -> None:
    source = (
        "{{ range .L }}{{ if eq . 2 }}{{ continue }}{{ end }}"
        "{{ if eq . 4 }}{{ break }}{{ end }}{{ . }}{{ end }}"
    )
    assert render(source) == "13"
    nested = (
        "{{ range .S }}{{ range $.L }}{{ if gt . 1 }}{{ break }}{{ end }}{{ . }}{{ end }}{{ . }}{{ end }}"
    )
    assert render(nested) == "1a1b"


def test_if_else_if_chain() -> None:
    source = "{{ range .L }}{{ if eq . 1 }}one{{ else if eq . 2 }}two{{ else }}many{{ end }} {{ end }}"
    assert render(source) == "one two many many many "


def test_with_and_else_with() -> None:
    assert render("{{ with .Name }}{{ . }}{{ else }}none{{ end }}") == "N"
    assert render("{{ with .Nope }}a{{ else with .Name }}<{{ . }}>{{ else }}none{{ end }}") == "<N>"
    assert render("{{ with .Nope }}a{{ else with .E }}b{{ else }}none{{ end }}") == "none"


def test_pipelines_and_parentheses() -> None:
    out = render('{{ "x" | printf "%s-%s" "a" }} {{ .L | len }} {{ (len .L) }} {{ (index .Ms 0).Role }}')
    assert out == "a-x 5 5 user"
    assert render("{{ if and .L (eq (len .L) 5) }}yes{{ end }}") == "yes"


def test_declaration_actions_print_nothing() -> None:
    assert render("a{{ $x := 1 }}b{{ $x = 2 }}c") == "abc"
