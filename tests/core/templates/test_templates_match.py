"""A built-in template is chosen for a GGUF chat template only when both render the probes alike."""

from __future__ import annotations

import json
from pathlib import Path

from corral.core.errors import TemplateError
from corral.core.templates import Message, Template, TemplateValues, builtin_template
from corral.core.templates.jinja_template import JinjaTemplate
from corral.core.templates.match import PROBES, match_builtin

DATA = Path(__file__).resolve().parents[2] / "data" / "templates"
CASES = json.loads((DATA / "detect_cases.json").read_text(encoding="utf-8"))["cases"]

# Of the 35 real-world templates Ollama maps by edit distance, these render exactly like the
# built-in it picks; the others differ (a default system prompt, a space, an EOS) and keep their Jinja.
IDENTICAL = {1, 2, 3, 4, 5, 6, 13, 15, 16, 21, 22, 23, 25, 29}


def jinja(source: str) -> JinjaTemplate:
    return JinjaTemplate(source, "<s>", "</s>", add_bos=True)


def test_only_identical_renderings_match() -> None:
    matched = set()
    for i, case in enumerate(CASES):
        template = jinja(case["chat_template"])
        found = match_builtin(template)
        if found is None:
            continue
        matched.add(i)
        assert found.name == case["expected_name"]  # never some other built-in
    assert matched == IDENTICAL


def test_a_match_renders_every_probe_the_jinja_accepts_identically() -> None:
    for i in sorted(IDENTICAL):
        template = jinja(CASES[i]["chat_template"])
        go = Template.parse(builtin_template(CASES[i]["expected_name"]).template)
        for probe in PROBES:
            try:
                expected = template.execute(TemplateValues(messages=probe))
            except TemplateError:  # e.g. Gemma refuses a system role; the built-in may render it
                continue
            assert go.execute(TemplateValues(messages=probe)) == expected


def test_default_system_prompt_is_a_different_rendering() -> None:
    # Case 7 is ChatML plus a default system message: Ollama's nearest match would drop that message.
    template = jinja(CASES[7]["chat_template"])
    assert match_builtin(template) is None
    text = template.execute(TemplateValues(messages=[Message("user", "hi")]))
    assert text.startswith("<|im_start|>system\n")


def test_bos_is_stripped_only_when_the_tokenizer_adds_it() -> None:
    source = "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}"
    values = TemplateValues(messages=[Message("user", "hi")])
    assert JinjaTemplate(source, "<s>", "</s>", add_bos=True).execute(values) == "hi</s>"
    assert JinjaTemplate(source, "<s>", "</s>").execute(values) == "<s>hi</s>"
    assert JinjaTemplate(source, "<s>", "</s>", add_bos=True, add_eos=True).execute(values) == "hi"
