"""Ollama option typing: Modelfile PARAMETER values, request options, and Go-style printing."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from corral.core.engine import LoadParams, SamplingOptions
from corral.core.errors import BadRequest, ModelfileError
from corral.core.options import (
    DEPRECATED_OPTIONS,
    OPTIONS,
    format_parameters_for_show,
    format_params,
    go_quote,
    go_value_str,
    resolve_options,
)

# --- the table ---------------------------------------------------------------------------------


def test_table_covers_every_engine_field_with_the_same_default() -> None:
    for f in dataclasses.fields(SamplingOptions):
        assert OPTIONS[f.name].default == f.default, f.name
        assert not OPTIONS[f.name].load_time
    for f in dataclasses.fields(LoadParams):
        if f.name in ("embedding", "num_ctx"):
            continue
        assert OPTIONS[f.name].default == f.default, f.name
        assert OPTIONS[f.name].load_time, f.name


def test_deprecated_names_are_not_options() -> None:
    assert not DEPRECATED_OPTIONS & set(OPTIONS)
    assert {"mirostat", "tfs_z", "penalize_newline", "numa", "use_mlock"} <= DEPRECATED_OPTIONS


# --- format_params (Modelfile PARAMETER, /set parameter) ---------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("num_ctx", "4096", 4096),
        ("num_ctx", "-1", -1),
        ("seed", "+42", 42),
        ("top_k", "0", 0),
        ("temperature", "0.7", 0.7),
        ("temperature", "1", 1.0),
        ("temperature", ".5", 0.5),
        ("temperature", "5.", 5.0),
        ("temperature", "1e-3", 0.001),
        ("top_p", "0.123456789", 0.12345679),  # float32 precision, shortest decimal
        ("use_mmap", "true", True),
        ("use_mmap", "T", True),
        ("use_mmap", "1", True),
        ("use_mmap", "FALSE", False),
        ("use_mmap", "f", False),
        ("backend", "cpu-ref", "cpu-ref"),
        ("stop", "<|eot_id|>", ["<|eot_id|>"]),
    ],
)
def test_format_params_types_values(name: str, raw: str, expected: Any) -> None:
    out = format_params({name: [raw]})
    assert out == {name: expected}
    assert type(out[name]) is type(expected)


def test_format_params_stop_keeps_every_value_others_take_the_first() -> None:
    assert format_params({"stop": ["a", "b c"], "top_k": ["5", "6"]}) == {"stop": ["a", "b c"], "top_k": 5}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"Temperature": ["1"]}, "unknown parameter 'Temperature'"),
        ({"bogus": ["1"]}, "unknown parameter 'bogus'"),
        ({"top_k": ["1.5"]}, "invalid int value [1.5]"),
        ({"top_k": ["1_000"]}, "invalid int value [1_000]"),
        ({"top_k": [" 1"]}, "invalid int value [ 1]"),
        ({"seed": ["9223372036854775808"]}, "invalid int value [9223372036854775808]"),
        ({"num_ctx": ["a", "b"]}, "invalid int value [a b]"),
        ({"temperature": ["hot"]}, "invalid float value [hot]"),
        ({"temperature": ["1e39"]}, "invalid float value [1e39]"),
        ({"temperature": ["nan"]}, "invalid float value [nan]"),
        ({"temperature": ["inf"]}, "invalid float value [inf]"),
        ({"temperature": ["1,5"]}, "invalid float value [1,5]"),
        ({"use_mmap": ["yes"]}, "invalid bool value [yes]"),
        ({"use_mmap": ["tRUE"]}, "invalid bool value [tRUE]"),
    ],
)
def test_format_params_errors_use_ollamas_wording(params: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ModelfileError) as err:
        format_params(params)
    assert str(err.value) == message
    assert err.value.status == 400


def test_format_params_skips_deprecated_names_with_a_warning() -> None:
    warnings: list[str] = []
    out = format_params(
        {"mirostat": ["2"], "temperature": ["0.1"], "penalize_newline": ["x"]}, warnings=warnings
    )
    assert out == {"temperature": 0.1}
    assert warnings == ["parameter mirostat is deprecated", "parameter penalize_newline is deprecated"]
    assert format_params({"tfs_z": ["1"]}) == {}  # no list given: still skipped, not an error


# --- resolve_options (request options over model params over defaults) --------------------------


def resolve(model: dict[str, Any] | None = None, request: dict[str, Any] | None = None, **kw: Any) -> Any:
    return resolve_options(model or {}, request, default_num_ctx=kw.pop("default_num_ctx", 4096), **kw)


def test_defaults_when_nothing_is_set() -> None:
    r = resolve()
    assert r.load == LoadParams(num_ctx=4096)
    assert r.sampling == SamplingOptions()
    assert (r.num_predict, r.num_keep, r.stop, r.backend, r.ignored) == (-1, 4, [], None, ())


def test_precedence_defaults_then_model_then_request() -> None:
    model = {"temperature": 0.2, "top_k": 10, "stop": ["<end>"], "num_ctx": 8192}
    request = {"temperature": 0.9, "num_predict": 5}
    r = resolve(model, request)
    assert r.sampling.temperature == 0.9
    assert r.sampling.top_k == 10
    assert r.stop == ["<end>"]
    assert r.load.num_ctx == 8192
    assert r.num_predict == 5
    assert r.sampling.top_p == 0.9  # default


def test_request_stop_replaces_model_stop() -> None:
    assert resolve({"stop": ["a"]}, {"stop": ["b", "c"]}).stop == ["b", "c"]


def test_null_leaves_the_lower_layer_value() -> None:
    r = resolve({"temperature": 0.3}, {"temperature": None, "stop": None})
    assert r.sampling.temperature == 0.3
    assert r.stop == []


def test_unknown_and_deprecated_keys_are_ignored_and_reported() -> None:
    r = resolve({"mirostat": 2}, {"bogus": "x", "tfs_z": 1.0, "bogus2": None, "temperature": 0.1})
    assert r.ignored == ("mirostat", "bogus", "tfs_z", "bogus2")
    assert r.sampling.temperature == 0.1


def test_int_options_accept_any_number_and_truncate() -> None:
    r = resolve(request={"num_ctx": 2048.9, "top_k": 3.0, "num_predict": -1.7, "seed": 2**40})
    assert r.load.num_ctx == 2048
    assert r.sampling.top_k == 3
    assert r.num_predict == -1
    assert r.sampling.seed == 2**40


def test_float_options_accept_ints() -> None:
    r = resolve(request={"temperature": 1, "repeat_penalty": 2})
    assert r.sampling.temperature == 1.0 and isinstance(r.sampling.temperature, float)
    assert r.sampling.repeat_penalty == 2.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"temperature": "0.5"}, 'option "temperature" must be of type float32'),
        ({"temperature": True}, 'option "temperature" must be of type float32'),
        ({"top_k": "40"}, 'option "top_k" must be of type integer'),
        ({"num_ctx": False}, 'option "num_ctx" must be of type integer'),
        ({"num_ctx": [1]}, 'option "num_ctx" must be of type integer'),
        ({"num_ctx": float("nan")}, 'option "num_ctx" must be of type integer'),
        ({"use_mmap": 1}, 'option "use_mmap" must be of type boolean'),
        ({"use_mmap": "true"}, 'option "use_mmap" must be of type boolean'),
        ({"stop": "</s>"}, 'option "stop" must be of type array'),
        ({"stop": ["a", 1]}, 'option "stop" must be of an array of strings'),
        ({"backend": 3}, 'option "backend" must be of type string'),
        ({"temperature": float("inf")}, 'option "temperature" must be a finite number'),
        ({"top_p": 1e39}, 'option "top_p" must be a finite number'),
    ],
)
def test_wrong_json_types_are_bad_requests(options: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as err:
        resolve(request=options)
    assert str(err.value) == message
    assert err.value.status == 400


def test_model_params_are_checked_like_request_options() -> None:
    # /api/create stores `parameters` unvalidated, so a bad stored value must fail at request time.
    with pytest.raises(BadRequest, match='option "num_batch" must be at least 1'):
        resolve({"num_batch": 0})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_ctx": -1}, 'option "num_ctx" must be at least 0'),
        ({"num_batch": 0}, 'option "num_batch" must be at least 1'),
        ({"num_batch": -512}, 'option "num_batch" must be at least 1'),
        ({"num_gpu": -2}, 'option "num_gpu" must be at least -1'),
        ({"main_gpu": -1}, 'option "main_gpu" must be at least 0'),
        ({"num_thread": -4}, 'option "num_thread" must be at least 0'),
        ({"num_keep": -5}, 'option "num_keep" must be at least -1'),
        ({"num_predict": -3}, 'option "num_predict" must be at least -2'),
        ({"top_k": -1}, 'option "top_k" must be at least 0'),
        ({"repeat_last_n": -2}, 'option "repeat_last_n" must be at least -1'),
        ({"num_ctx": 2**31}, 'option "num_ctx" must be at most 2147483647'),
        ({"num_keep": -(2**40)}, 'option "num_keep" must be at least -1'),
        ({"top_k": 1e300}, 'option "top_k" must be at most 2147483647'),
        ({"seed": 2**63}, 'option "seed" must be at most 9223372036854775807'),
        ({"repeat_penalty": 0}, 'option "repeat_penalty" must be greater than 0'),
        ({"repeat_penalty": -1.5}, 'option "repeat_penalty" must be greater than 0'),
    ],
)
def test_values_that_could_hurt_a_backend_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as err:
        resolve(request=options)
    assert str(err.value) == message


def test_boundary_values_are_accepted() -> None:
    r = resolve(
        request={
            "num_keep": -1,
            "num_predict": -2,
            "repeat_last_n": -1,
            "num_gpu": -1,
            "top_k": 0,
            "seed": -1,
        }
    )
    assert (r.num_keep, r.num_predict, r.sampling.repeat_last_n, r.load.num_gpu) == (-1, -2, -1, -1)


def test_probability_like_floats_and_temperature_are_clamped() -> None:
    r = resolve(request={"top_p": 3, "min_p": -0.5, "typical_p": 1.5, "temperature": -1})
    assert (r.sampling.top_p, r.sampling.min_p, r.sampling.typical_p) == (1.0, 0.0, 1.0)
    assert r.sampling.temperature == 0.0


@pytest.mark.parametrize(
    ("requested", "expected"), [(None, 4096), (0, 4096), (1, 4), (3, 4), (4, 4), (100, 100)]
)
def test_num_ctx_zero_means_default_and_tiny_values_are_raised_to_four(requested: Any, expected: int) -> None:
    assert resolve(request={"num_ctx": requested}).load.num_ctx == expected


def test_num_ctx_default_comes_from_the_caller() -> None:
    assert resolve(default_num_ctx=32768).load.num_ctx == 32768


def test_load_key_changes_only_with_load_time_options() -> None:
    base = resolve().load_key()
    assert resolve(request={"temperature": 0.1, "stop": ["x"], "num_predict": 3}).load_key() == base
    for change in (
        {"num_ctx": 2048},
        {"num_batch": 64},
        {"num_gpu": 0},
        {"use_mmap": False},
        {"backend": "x"},
    ):
        assert resolve(request=change).load_key() != base, change
    assert resolve(embedding=True).load_key() != base
    hash(base)


def test_backend_option_and_empty_backend() -> None:
    assert resolve({"backend": "llamacpp"}).backend == "llamacpp"
    assert resolve({"backend": "llamacpp"}, {"backend": "cpu-ref"}).backend == "cpu-ref"
    assert resolve({"backend": ""}).backend is None


def test_use_mmap_is_tri_state() -> None:
    assert resolve().load.use_mmap is None
    assert resolve(request={"use_mmap": False}).load.use_mmap is False


# --- Go-style printing --------------------------------------------------------------------------


def test_show_parameters_matches_ollamas_transcript() -> None:
    params = {"num_keep": 24, "stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]}
    assert format_parameters_for_show(params) == (
        "num_keep                       24\n"
        'stop                           "<|start_header_id|>"\n'
        'stop                           "<|end_header_id|>"\n'
        'stop                           "<|eot_id|>"'
    )


def test_show_parameters_values() -> None:
    params = {"temperature": 0.7, "use_mmap": False, "top_p": 1.0, "min_p": 1e-05, "seed": 1234567.0}
    assert format_parameters_for_show(params).split("\n") == [
        "temperature                    0.7",
        "use_mmap                       false",
        "top_p                          1",
        "min_p                          1e-05",
        "seed                           1.234567e+06",
    ]
    assert format_parameters_for_show({}) == ""
    assert format_parameters_for_show({"a_very_long_parameter_name_over_30": 1}) == (
        "a_very_long_parameter_name_over_30 1"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ('say "hi"', r'"say \"hi\""'),
        ("back\\slash", r'"back\\slash"'),
        ("a\nb\tc\rd", r'"a\nb\tc\rd"'),
        ("\x07\x08\x0c\x0b", r'"\a\b\f\v"'),
        ("\x00\x1b\x7f", r'"\x00\x1b\x7f"'),
        ("\u0085\u00a0\u00ad", r'"\u0085\u00a0\u00ad"'),
        ("\U000e0001", r'"\U000e0001"'),
        ("你好👋 é", '"你好👋 é"'),
        ("", '""'),
    ],
)
def test_go_quote(value: str, expected: str) -> None:
    assert go_quote(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<|eot_id|>", "<|eot_id|>"),
        (True, "true"),
        (False, "false"),
        (4096, "4096"),
        (1000000, "1000000"),
        (-1, "-1"),
        (0.7, "0.7"),
        (1.0, "1"),
        (100.0, "100"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1.5e16, "1.5e+16"),
        (1e21, "1e+21"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1.25e-7, "1.25e-07"),
        (1e100, "1e+100"),
        (-0.5, "-0.5"),
        (0.0, "0"),
        (-0.0, "-0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (float("nan"), "NaN"),
        (None, "<nil>"),
    ],
)
def test_go_value_str(value: Any, expected: str) -> None:
    assert go_value_str(value) == expected
