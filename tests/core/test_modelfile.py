"""Modelfile grammar (Ollama's parser.ParseFile), show --modelfile serialization, FROM path handling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corral.core.errors import ModelfileError
from corral.core.modelfile import (
    Command,
    Modelfile,
    is_local_path,
    parse_modelfile,
    resolve_path,
    serialize_modelfile,
)
from corral.core.modelfile_show import render_show_modelfile

INVALID_COMMAND = (
    'command must be one of "from", "license", "template", "system", "adapter", "draft", "renderer", '
    '"parser", "parameter", "message", or "requires"'
)
INVALID_ROLE = 'message role must be one of "system", "user", or "assistant"'

LLAMA3_TEMPLATE = (
    "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}"
    "{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>{{ end }}"
    "<|start_header_id|>assistant<|end_header_id|>\n\n{{ .Response }}<|eot_id|>"
)


def commands(text: str | bytes) -> list[tuple[str, str]]:
    return [(c.name, c.args) for c in parse_modelfile(text, validate=False).commands]


# --- grammar -----------------------------------------------------------------------------------


def test_a_full_modelfile() -> None:
    text = (
        "\nFROM model1\nADAPTER adapter1\nLICENSE MIT\nPARAMETER param1 value1\nPARAMETER param2 value2\n"
        f'TEMPLATE """{LLAMA3_TEMPLATE}"""    \n'
    )
    assert commands(text) == [
        ("model", "model1"),
        ("adapter", "adapter1"),
        ("license", "MIT"),
        ("param1", "value1"),
        ("param2", "value2"),
        ("template", LLAMA3_TEMPLATE),
    ]


def test_whitespace_is_trimmed_outside_quotes_and_kept_inside() -> None:
    text = (
        '\nFROM "     model 1"\nADAPTER      adapter3\nLICENSE "MIT       "\nPARAMETER param1        value1\n'
        'TEMPLATE """   {{ .Prompt }}   """    \n'
    )
    assert commands(text) == [
        ("model", "     model 1"),
        ("adapter", "adapter3"),
        ("license", "MIT       "),
        ("param1", "value1"),
        ("template", "   {{ .Prompt }}   "),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('FROM "FOO  BAR  "', [("model", "FOO  BAR  ")]),
        ('FROM "FOO BAR"\nPARAMETER param1 value1', [("model", "FOO BAR"), ("param1", "value1")]),
        ("FROM     FOOO BAR    ", [("model", "FOOO BAR")]),
        ("FROM /what/is/the path ", [("model", "/what/is/the path")]),
        ("FROM llama3:7b-instruct-q4_K_M", [("model", "llama3:7b-instruct-q4_K_M")]),
        ("from foo", [("model", "foo")]),
        ("FrOm foo", [("model", "foo")]),
        ("FROM\tfoo", [("model", "foo")]),
        ("PARAMETER param1 value1\nFROM foo", [("param1", "value1"), ("model", "foo")]),
        (
            "PARAMETER what the \nFROM lemons make lemonade ",
            [("what", "the"), ("model", "lemons make lemonade")],
        ),
        ("FROM foo # not a comment", [("model", "foo # not a comment")]),
        ("\n# comment\nFROM foo\n\t", [("model", "foo")]),
        ("  # indented comment\n\n\nFROM foo\n# trailing comment", [("model", "foo")]),
        ("FROM test\n\tSYSTEM 你好👋", [("model", "test"), ("system", "你好👋")]),
        ("FROM base\nDRAFT ./assistant\n", [("model", "base"), ("draft", "./assistant")]),
        (
            "FROM foo\nRENDERER r1\nPARSER p1\nREQUIRES 0.14.0",
            [
                ("model", "foo"),
                ("renderer", "r1"),
                ("parser", "p1"),
                ("requires", "0.14.0"),
            ],
        ),
        ("FROM foo\r\nSYSTEM hi\r\n", [("model", "foo"), ("system", "hi")]),
        ("FROM foo\nSYSTEM a\x00b\u200bc", [("model", "foo"), ("system", "abc")]),  # unprintables dropped
        ("FROM foo\nSYSTEM ", [("model", "foo"), ("system", "")]),
    ],
)
def test_instructions(text: str, expected: list[tuple[str, str]]) -> None:
    assert commands(text) == expected


@pytest.mark.parametrize(
    ("line", "name", "value"),
    [
        ("num_ctx 1", "num_ctx", "1"),
        ("Temperature 1", "Temperature", "1"),  # the name keeps its case
        ("stop ### User:", "stop", "### User:"),
        ("stop ### User: ", "stop", "### User:"),
        ('stop "### User:"', "stop", "### User:"),
        ('stop "### User: "', "stop", "### User: "),
        ('stop """### User:"""', "stop", "### User:"),
        ('stop """### User:\n"""', "stop", "### User:\n"),
        ("stop <|eot_id|>", "stop", "<|eot_id|>"),
        ("stop </s>", "stop", "</s>"),
        ("  temperature 1", "", "temperature 1"),  # Ollama's quirk: two spaces give an empty name
    ],
)
def test_parameter_lines(line: str, name: str, value: str) -> None:
    assert commands(f"FROM foo\nPARAMETER {line}\n") == [("model", "foo"), (name, value)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('SYSTEM """\nThis is a\nmultiline system.\n"""\n\t\t\t', "\nThis is a\nmultiline system.\n"),
        ('SYSTEM """\nThis is a\nmultiline system."""', "\nThis is a\nmultiline system."),
        ('SYSTEM """This is a\nmultiline system."""', "This is a\nmultiline system."),
        ('SYSTEM """This is a multiline system."""', "This is a multiline system."),
        ('SYSTEM """\nWith "quotes".\n"""\n', '\nWith "quotes".\n'),
        ('SYSTEM """"""\n', ""),
        ('SYSTEM ""\n', ""),
        ('SYSTEM "\'"\n', "'"),
        ('SYSTEM """\'\'"\'""\'""\'"\'\'\'\'\'""\'""\'"""\n', "''\"'\"\"'\"\"'\"'''''\"\"'\"\"'"),
        ('SYSTEM "spans\nlines"', "spans\nlines"),
        ('SYSTEM "a\r\nb"', "a\r\nb"),
        ('SYSTEM "keep\ttabs"', "keep\ttabs"),
        ("SYSTEM no \\n escapes", "no \\n escapes"),
        ("SYSTEM 'single quotes are literal'", "'single quotes are literal'"),
    ],
)
def test_quoted_values(text: str, value: str) -> None:
    assert commands("FROM foo\n" + text) == [("model", "foo"), ("system", value)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MESSAGE system You are a file parser.\n", "system: You are a file parser."),
        ("MESSAGE user Hey there!", "user: Hey there!"),
        ("MESSAGE assistant Hello, I parse things!\n", "assistant: Hello, I parse things!"),
        ('MESSAGE system """\nA multiline parser.\n"""\n\t\t\t', "system: \nA multiline parser.\n"),
    ],
)
def test_messages(text: str, expected: str) -> None:
    assert commands("FROM foo\n" + text) == [("model", "foo"), ("message", expected)]


def test_byte_input_with_boms() -> None:
    text = "FROM bob\nPARAMETER param1 1\nSYSTEM You are a utf16 file 你好👋.\n"
    expected = [("model", "bob"), ("param1", "1"), ("system", "You are a utf16 file 你好👋.")]
    assert commands(b"\xff\xfe" + text.encode("utf-16-le")) == expected
    assert commands(b"\xfe\xff" + text.encode("utf-16-be")) == expected
    assert commands(b"\xef\xbb\xbf" + text.encode()) == expected
    assert commands(text.encode()) == expected
    assert commands("\ufeff" + text) == expected


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no FROM line"),
        ("# only a comment\n", "no FROM line"),
        ("PARAMETER param1 value1", "no FROM line"),
        ("\nFROM foo\nBADCOMMAND param1 value1\n", f"(line 3): {INVALID_COMMAND}"),
        ("FROM foo\nPARAM x 1", f"(line 2): {INVALID_COMMAND}"),
        ("FROM: foo", f"(line 1): {INVALID_COMMAND}"),
        ("FROM2 foo", f"(line 1): {INVALID_COMMAND}"),
        ("FROM\nfoo", f"(line 2): {INVALID_COMMAND}"),  # the newline ends the name: Ollama counts it
        ("FROM foo\r\n\r\nBAD x\r\n", f"(line 3): {INVALID_COMMAND}"),  # CRLF is one line (Ollama: 5)
        ("\nFROM foo\nMESSAGE badguy I'm a bad guy!\n", f"(line 3): {INVALID_ROLE}"),
        ("FROM foo\nMESSAGE User hi\n", f"(line 2): {INVALID_ROLE}"),
        ("FROM foo\nMESSAGE system\n", "unexpected EOF: system"),
        ("FROM foo\nMESSAGE system", "unexpected EOF"),
        ("FROM foo\nMESSAGE user1 hi", "unexpected EOF: user"),
        ("FROM foo\nPARAMETER param1\n", "unexpected EOF: param1"),
        ("FROM foo\nPARAMETER temp-x 1\n", "unexpected EOF: temp"),
        ("FROM foo\nPARAMETER param1", "unexpected EOF"),
        ("FROM", "unexpected EOF"),
        ('FROM foo\nSYSTEM """This is a multiline system.""\n\t\t\t', "unexpected EOF"),
        ('FROM foo\nSYSTEM "\n\t\t\t', "unexpected EOF"),
        ('FROM foo\nSYSTEM """abc', "unexpected EOF"),
        ('FROM foo\nSYSTEM """abc""" trailing\n', "unexpected EOF"),
    ],
)
def test_grammar_errors(text: str, message: str) -> None:
    with pytest.raises(ModelfileError) as err:
        parse_modelfile(text, validate=False)
    assert str(err.value) == message
    assert err.value.status == 400


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM foo\nPARAMETER param1 value1", "unknown parameter 'param1'"),
        ("FROM foo\nPARAMETER Temperature 1", "unknown parameter 'Temperature'"),
        ("FROM foo\nPARAMETER system be evil", "unknown parameter 'system'"),
        ("FROM foo\nPARAMETER model other", "unknown parameter 'model'"),
        ("FROM foo\nPARAMETER top_k 1.5", "invalid int value [1.5]"),
        ("FROM foo\nPARAMETER temperature warm", "invalid float value [warm]"),
        ("FROM foo\nPARAMETER use_mmap maybe", "invalid bool value [maybe]"),
        ("FROM foo\nREQUIRES 1.x", "requires must be a valid semver (e.g. 0.14.0)"),
        ("FROM foo\nREQUIRES 01.2.3", "requires must be a valid semver (e.g. 0.14.0)"),
        ("FROM foo\nREQUIRES latest", "requires must be a valid semver (e.g. 0.14.0)"),
    ],
)
def test_validation_errors(text: str, message: str) -> None:
    with pytest.raises(ModelfileError) as err:
        parse_modelfile(text)
    assert str(err.value) == message
    parse_modelfile(text, validate=False)  # the grammar itself is fine


@pytest.mark.parametrize(
    ("raw", "version"),
    [
        ("0.14.0", "0.14.0"),
        ("v0.14.0", "0.14.0"),
        ("1", "1"),
        ("1.2", "1.2"),
        ("1.2.3-rc.1+build.5", "1.2.3-rc.1+build.5"),
    ],
)
def test_requires_accepts_semver(raw: str, version: str) -> None:
    assert parse_modelfile(f"FROM foo\nREQUIRES {raw}").requires == version


# --- accessors ---------------------------------------------------------------------------------


def test_accessors() -> None:
    mf = parse_modelfile(
        "FROM base:latest\nFROM ./projector.gguf\nADAPTER ./lora.gguf\nTEMPLATE first\nTEMPLATE second\n"
        "SYSTEM be brief\nPARAMETER temperature 0.5\nPARAMETER top_k 1\nPARAMETER stop <a>\n"
        "PARAMETER stop <b>\nPARAMETER mirostat 2\nPARAMETER backend cpu-ref\nLICENSE one\nLICENSE two\n"
        "MESSAGE user Hello: there\nMESSAGE assistant Hi!\n"
    )
    assert mf.from_ == "base:latest"
    assert mf.froms == ["base:latest", "./projector.gguf"]
    assert mf.adapters == ["./lora.gguf"]
    assert mf.template == "second"
    assert mf.system == "be brief"
    assert mf.parameters == {"temperature": 0.5, "top_k": 1, "stop": ["<a>", "<b>"], "backend": "cpu-ref"}
    assert mf.parameter_warnings == ["parameter mirostat is deprecated"]
    assert mf.license == ["one", "two"]
    assert mf.messages == [
        {"role": "user", "content": "Hello: there"},
        {"role": "assistant", "content": "Hi!"},
    ]
    assert (mf.draft, mf.renderer, mf.parser, mf.requires) == (None, None, None, None)


def test_accessors_on_a_minimal_modelfile() -> None:
    mf = parse_modelfile("FROM foo")
    assert (mf.template, mf.system, mf.parameters, mf.messages, mf.license) == (None, None, {}, [], [])


# --- serialization -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "line"),
    [
        (Command("model", "/blobs/sha256-abc"), "FROM /blobs/sha256-abc"),
        (Command("adapter", "/blobs/sha256-def"), "ADAPTER /blobs/sha256-def"),
        (Command("template", "{{ .Prompt }}"), "TEMPLATE {{ .Prompt }}"),
        (Command("system", "two\nlines"), 'SYSTEM "two\nlines"'),
        (Command("system", 'say "hi"\nplease'), 'SYSTEM """say "hi"\nplease"""'),
        (Command("system", " lead"), 'SYSTEM " lead"'),
        (Command("system", "trail "), 'SYSTEM "trail "'),
        (Command("system", 'say "hi"'), 'SYSTEM say "hi"'),  # quotes inside need no quoting
        (Command("system", ""), "SYSTEM "),
        (Command("stop", "<|eot_id|>"), "PARAMETER stop <|eot_id|>"),
        (Command("temperature", "0.7"), "PARAMETER temperature 0.7"),
        (Command("message", "user: Hello there"), "MESSAGE user Hello there"),
        (Command("message", "assistant: multi\nline"), 'MESSAGE assistant "multi\nline"'),
        (Command("license", "MIT"), "LICENSE MIT"),
        (Command("requires", "0.14.0"), "REQUIRES 0.14.0"),
        (Command("draft", "./d"), "DRAFT ./d"),
    ],
)
def test_command_lines(command: Command, line: str) -> None:
    assert command.to_line() == line


TRICKY_VALUES = [
    "plain",
    LLAMA3_TEMPLATE,
    "  leading spaces",
    "trailing spaces   ",
    "\tleading tab",
    "trailing tab\t",
    '"starts with a quote',
    'ends with a quote"',
    '"fully quoted"',
    'has "quotes" and\nnewlines',
    "\nstarts with a newline",
    "ends with a newline\n",
    "crlf\r\ninside",
    'mixed """triple""" inside',
    "",
    "# not a comment",
    "MESSAGE user looks like an instruction",
    "你好👋 unicode",
]


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_round_trip_serialize_then_parse(value: str) -> None:
    original = [
        Command("model", "/blobs/sha256-1"),
        Command("adapter", "/blobs/sha256-2"),
        Command("template", value),
        Command("system", value),
        Command("stop", value),
        Command("license", value),
        Command("message", f"user: {value}"),
        Command("message", f"assistant: {value}"),
    ]
    text = serialize_modelfile(original)
    assert parse_modelfile(text, validate=False).commands == original
    assert Modelfile(original).to_text() == text


def test_round_trip_parse_then_serialize_then_parse() -> None:
    text = (
        "\nFROM foo\nADAPTER adapter1\n"
        'LICENSE """\nVery long and boring legal text.\n"Oh look, a quote!"\n"""\n\n'
        "PARAMETER temperature 0.5\nPARAMETER stop <a>\nTEMPLATE template1\n"
        'MESSAGE system """\nYou are a store greeter. Always respond with "Hello!".\n"""\n'
        "MESSAGE user Hey there!\n"
    )
    first = parse_modelfile(text)
    assert parse_modelfile(first.to_text()).commands == first.commands


def test_render_show_modelfile_layout() -> None:
    text = render_show_modelfile(
        display_name="llama3.2:latest",
        model_path="/home/u/.ollama/models/blobs/sha256-aaa",
        adapters=["/blobs/sha256-bbb"],
        projectors=["/blobs/sha256-ccc"],
        template="{{ .Prompt }}",
        system="You are\nhelpful",
        params={"stop": ["<|eot_id|>", "<|end|>"], "temperature": 0.7, "num_ctx": 8192, "use_mmap": False},
        license=["MIT", 'Line one\n"quoted"'],
        messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " Hello"}],
    )
    assert text == (
        '# Modelfile generated by "ollama show"\n'
        "# To build a new Modelfile based on this, replace FROM with:\n"
        "# FROM llama3.2:latest\n"
        "\n"
        "FROM /home/u/.ollama/models/blobs/sha256-aaa\n"
        "ADAPTER /blobs/sha256-bbb\n"
        "FROM /blobs/sha256-ccc\n"
        "TEMPLATE {{ .Prompt }}\n"
        'SYSTEM "You are\nhelpful"\n'
        "PARAMETER stop <|eot_id|>\n"
        "PARAMETER stop <|end|>\n"
        "PARAMETER temperature 0.7\n"
        "PARAMETER num_ctx 8192\n"
        "PARAMETER use_mmap false\n"
        "LICENSE MIT\n"
        'LICENSE """Line one\n"quoted""""\n'
        "MESSAGE user Hi\n"
        'MESSAGE assistant " Hello"\n'
    )
    # What show prints is a valid Modelfile that reads back to the same model.
    mf = parse_modelfile(text)
    assert mf.parameters == {
        "stop": ["<|eot_id|>", "<|end|>"],
        "temperature": 0.7,
        "num_ctx": 8192,
        "use_mmap": False,
    }
    assert mf.messages[1] == {"role": "assistant", "content": " Hello"}
    assert mf.license == ["MIT", 'Line one\n"quoted"']


def test_render_show_modelfile_omissions_and_single_license() -> None:
    text = render_show_modelfile(display_name="m:latest", model_path="/b", system="", license="Apache")
    assert text.endswith("\n\nFROM /b\nLICENSE Apache\n")
    assert "TEMPLATE" not in text and "SYSTEM" not in text
    assert "TEMPLATE \n" in render_show_modelfile(display_name="m", model_path="/b", template="")


def test_render_show_modelfile_params_named_like_instructions_stay_parameters() -> None:
    text = render_show_modelfile(display_name="m", model_path="/b", params={"system": "x", "model": "y"})
    assert "PARAMETER system x\nPARAMETER model y\n" in text


def test_render_show_modelfile_other_optional_lines_in_order() -> None:
    text = render_show_modelfile(
        display_name="m", model_path="/b", draft="/d", renderer="r", parser="p", template="t", system="s"
    )
    assert text.split("\n\n", 1)[1] == "FROM /b\nDRAFT /d\nTEMPLATE t\nSYSTEM s\nRENDERER r\nPARSER p\n"


# --- paths -------------------------------------------------------------------------------------


def test_resolve_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    base = tmp_path / "project"
    assert resolve_path("model.gguf", base) == base / "model.gguf"
    assert resolve_path("./sub/../model.gguf", base) == base / "model.gguf"
    assert resolve_path("../other/m.gguf", base) == tmp_path / "other" / "m.gguf"
    assert resolve_path("/abs/m.gguf", base) == Path("/abs/m.gguf")
    assert resolve_path("~/models/m.gguf", base) == home / "models" / "m.gguf"
    assert resolve_path("~", base) == home


def test_resolve_path_unknown_user() -> None:
    with pytest.raises(ModelfileError, match="failed to find user 'no_such_user_corral_test'"):
        resolve_path("~no_such_user_corral_test/m.gguf", "/tmp")


def test_is_local_path(tmp_path: Path) -> None:
    (tmp_path / "weights.gguf").write_bytes(b"GGUF")
    (tmp_path / "safetensors-dir").mkdir()
    assert is_local_path("weights.gguf", tmp_path)
    assert is_local_path("safetensors-dir", tmp_path)
    assert not is_local_path("weights.gguf", tmp_path / "elsewhere")
    for arg in ("./missing.gguf", "../missing", "/abs/missing", "~/missing", ".", "C:\\models\\m.gguf"):
        assert is_local_path(arg, tmp_path), arg
    for arg in ("llama3.2", "llama3.2:1b", "library/llama3:latest", "registry.example.com/ns/m:tag"):
        assert not is_local_path(arg, tmp_path), arg


def test_is_local_path_defaults_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here.gguf").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert is_local_path("here.gguf")
    assert not is_local_path("there.gguf")
    assert os.getcwd() == str(tmp_path)
