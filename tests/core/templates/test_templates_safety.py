"""Untrusted templates cannot reach Python internals, and every render is bounded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from corral.core.errors import TemplateError
from corral.core.templates import Message, Template, TemplateLimitError, TemplateValues

DATA: dict[str, Any] = {"Messages": [Message("user", "hi")], "Name": "n", "Obj": object(), "N": 3}


@pytest.mark.parametrize(
    "source",
    [
        "{{ .__class__ }}",
        "{{ ._private }}",
        '{{ index . "__class__" }}',
        '{{ index . "_x" }}',
        "{{ (index .Messages 0).__dict__ }}",
        "{{ (index .Messages 0).role }}",  # Python attribute names are not Go fields
        "{{ (index .Messages 0).Role.upper }}",
        "{{ .Name.__len__ }}",
        "{{ .N.real }}",
        "{{ .Obj.__class__ }}",
        "{{ .Obj.Anything }}",
        '{{ printf "%s" .__globals__ }}',
        "{{ $.__init__ }}",
        "{{ call .Obj }}",
        '{{ template "x" }}',
    ],
)
def test_python_internals_are_unreachable(source: str) -> None:
    with pytest.raises(TemplateError):
        Template.parse(source).render(DATA)


def test_underscore_keys_are_refused_even_when_present() -> None:
    with pytest.raises(TemplateError, match="not accessible"):
        Template.parse("{{ ._secret }}").render({"_secret": "x"})


def test_only_declared_struct_fields_resolve() -> None:
    t = Template.parse("{{ range .Messages }}{{ .Role }}:{{ .Content }}{{ end }}")
    assert t.render(DATA) == "user:hi"


def test_jinja_module_only_uses_the_immutable_sandbox() -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from corral.core.templates import jinja

    assert isinstance(jinja._environment(), ImmutableSandboxedEnvironment)
    package = Path(jinja.__file__).parent
    for source in package.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "jinja2.Environment(" not in text and "from jinja2 import Environment" not in text


@pytest.mark.parametrize(
    "source",
    [
        "{{ range 100000000 }}{{ end }}",
        "{{ range 1000 }}{{ range 1000 }}{{ range 1000 }}{{ end }}{{ end }}{{ end }}",
        "{{ range 10000000 }}0123456789{{ end }}",
        '{{ $s := "ab" }}{{ range 64 }}{{ $s = printf "%s%s" $s $s }}{{ end }}',
        '{{ $s := "ab" }}{{ range 64 }}{{ $s = print $s $s }}{{ end }}{{ len $s }}',
    ],
)
def test_render_is_bounded(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateLimitError) as info:
        Template.parse(source).render({})
    assert info.value.status == 500
    assert time.monotonic() - started < 10


def test_limits_are_per_template_and_adjustable() -> None:
    t = Template.parse("{{ range 100 }}x{{ end }}")
    t.max_output = 50
    with pytest.raises(TemplateLimitError, match="output exceeded 50"):
        t.render({})
    t.max_output = 1000
    t.max_steps = 20
    with pytest.raises(TemplateLimitError, match="20 evaluation steps"):
        t.render({})


def test_legacy_turns_share_one_budget() -> None:
    t = Template.parse("{{ .Prompt }}{{ .Response }}")
    t.max_output = 30
    turns = [Message("user", "0123456789"), Message("assistant", "0123456789")] * 3
    with pytest.raises(TemplateLimitError):
        t.execute(TemplateValues(messages=turns))
