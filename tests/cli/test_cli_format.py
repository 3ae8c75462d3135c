"""Human-readable sizes, times and tables match Ollama's CLI output."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from corral.cli.format import human_bytes, human_duration, human_time, parse_timestamp, render_table


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1 KB"),
        (1500, "1.5 KB"),
        (253_000_000, "253 MB"),
        (253_906_176, "253 MB"),
        (12_500_000, "12 MB"),
        (1_000_000_000, "1 GB"),
        (4_920_000_000, "4.9 GB"),
        (2_000_000_000_000, "2 TB"),
    ],
)
def test_human_bytes(n: int, text: str) -> None:
    assert human_bytes(n) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (59 * 60, "59 minutes"),
        (3600, "About an hour"),
        (2.6 * 3600, "3 hours"),
        (47 * 3600, "47 hours"),
        (3 * 86400, "3 days"),
        (20 * 86400, "2 weeks"),
        (90 * 86400, "3 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_human_time_past_future_never_forever() -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert human_time(now - timedelta(minutes=2), now=now) == "2 minutes ago"
    assert human_time(now + timedelta(hours=4), now=now) == "4 hours from now"
    assert human_time(None, "Never", now=now) == "Never"
    assert human_time(now + timedelta(days=365 * 30), now=now) == "Forever"


def test_parse_timestamp_handles_nanoseconds_and_offsets() -> None:
    t = parse_timestamp("2024-05-06T07:08:09.123456789-07:00")
    assert t is not None
    assert t.utcoffset() == timedelta(hours=-7)
    assert t.microsecond == 123456
    z = parse_timestamp("2024-05-06T07:08:09Z")
    assert z == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert parse_timestamp("0001-01-01T00:00:00Z") is None  # Go's zero time
    assert parse_timestamp("garbage") is None
    assert parse_timestamp(None) is None


def test_render_table_aligns_left_with_four_space_gaps() -> None:
    out = render_table(["NAME", "ID"], [["gemma3:270m", "abc"], ["x:latest", "defghi"]])
    assert out.splitlines() == [
        "NAME           ID",
        "gemma3:270m    abc",
        "x:latest       defghi",
    ]
