"""Go duration parsing and keep_alive rules, with Go's error texts."""

from __future__ import annotations

from typing import Any

import pytest

from corral.core.durations import FOREVER_NS, format_go_duration, parse_go_duration, parse_keep_alive
from corral.core.errors import BadRequest

S = 10**9


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0),
        ("5m", 300 * S),
        ("1h30m", 5400 * S),
        ("1.5s", 1_500_000_000),
        ("-1m", -60 * S),
        ("300ms", 300_000_000),
        ("2us", 2000),
        ("2µs", 2000),
        ("10ns", 10),
        ("+3s", 3 * S),
        (".5s", S // 2),
    ],
)
def test_parse_go_duration(text: str, ns: int) -> None:
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1", 'time: missing unit in duration "-1"'),
        ("abc", 'time: invalid duration "abc"'),
        ("", 'time: invalid duration ""'),
        ("5x", 'time: unknown unit "x" in duration "5x"'),
        ("1h-1m", 'time: unknown unit "h-" in duration "1h-1m"'),
    ],
)
def test_parse_go_duration_errors(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse_go_duration(text)
    assert err.value.message == message


@pytest.mark.parametrize(
    ("value", "ns"),
    [
        (30, 30 * S),
        (1.5, 1_500_000_000),
        (0, 0),
        (-1, FOREVER_NS),
        ("-5m", FOREVER_NS),
        ("10m", 600 * S),
        (-1.7976931348623157e308, FOREVER_NS),
        (1.7976931348623157e308, FOREVER_NS),
    ],
)
def test_keep_alive(value: Any, ns: int) -> None:
    assert parse_keep_alive(value) == ns


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "Unsupported type: 'bool'"),
        ([1], "Unsupported type: '[]interface {}'"),
        ({}, "Unsupported type: 'map[string]interface {}'"),
    ],
)
def test_keep_alive_type_errors(value: Any, message: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse_keep_alive(value)
    assert err.value.message == message


def test_format_go_duration() -> None:
    assert format_go_duration(300 * S) == "5m0s"
    assert format_go_duration(5400 * S) == "1h30m0s"
    assert format_go_duration(1_500_000_000) == "1.5s"
    assert format_go_duration(FOREVER_NS) == "-1"
