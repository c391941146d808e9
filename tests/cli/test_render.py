"""How values are shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from podium.cli.render import format_datetime, format_mapping, format_ms, format_number


def test_numbers() -> None:
    assert format_number(3.0) == "3"
    assert format_number(0.83456) == "0.8346"
    assert format_number(123456.7) == "1.235e+05"
    assert format_number(float("nan")) == "nan"
    assert format_number(float("inf")) == "inf"


def test_times_are_utc() -> None:
    assert format_ms(0) == "1970-01-01 00:00:00"
    assert format_ms(None) == "-"
    plus_two = timezone(timedelta(hours=2))
    assert format_datetime(datetime(2024, 5, 1, 14, 0, tzinfo=plus_two)) == "2024-05-01 12:00:00"
    assert format_datetime(datetime(2024, 5, 1, 12, 0)) == "2024-05-01 12:00:00"
    assert format_datetime(datetime(2024, 5, 1, 12, 0, tzinfo=UTC)) == "2024-05-01 12:00:00"


def test_mappings_sorted() -> None:
    assert format_mapping({"b": "x", "a": "1"}) == "a=1, b=x"
    assert format_mapping({"auc": 0.9, "n": 3.0}) == "auc=0.9000, n=3"
