"""How values are shown."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from rich.console import Console
from rich.text import Text

from podium.cli.monitor import print_alerts, print_drift
from podium.cli.render import (
    format_age,
    format_datetime,
    format_duration,
    format_mapping,
    format_ms,
    format_number,
    table,
)
from podium.monitoring.alerts.state import Alert
from podium.monitoring.protocol import ColumnDriftResult, DriftResult


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


def test_durations_in_words() -> None:
    assert format_duration(timedelta(days=90)) == "90 days"
    assert format_duration(86400) == "1 day"
    assert format_duration(5400) == "1 h 30 min"
    assert format_duration(45) == "45 s"
    assert format_duration(0.25) == "250 ms"
    assert format_duration(0) == "0 s"
    assert format_duration(None) == "-"


def test_ages_in_their_largest_unit() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert format_age(now - timedelta(seconds=42), now=now) == "42 s"
    assert format_age(now - timedelta(minutes=12, seconds=5), now=now) == "12 min"
    assert format_age(now - timedelta(hours=3), now=now) == "3 h"
    assert format_age(now - timedelta(days=1, hours=2), now=now) == "1 day"
    assert format_age(datetime(2024, 4, 1, 12, 0), now=now) == "30 days"  # naive is UTC


# -- fitting 80 columns ---------------------------------------------------------------

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LONG_MESSAGE = (
    "feature_drift_share >= 0.1 over 15 min: 2 of 6 features drifted (tenure_months, total_charges)"
)


def _alert(**changes: object) -> Alert:
    fields: dict[str, object] = dict(
        id=1,
        rule="customer-churn-feature-drift",
        deployment="customer-churn",
        metric="feature_drift_share",
        condition=">=",
        threshold=0.1,
        severity="warning",
        state="firing",
        value=1 / 3,
        message=LONG_MESSAGE,
        since=NOW,
        fired_at=NOW,
        resolved_at=None,
        evaluated_at=NOW,
    )
    return Alert.model_validate({**fields, **changes})


def _printed(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


@pytest.fixture
def columns_80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


@pytest.mark.usefixtures("columns_80")
def test_alerts_fit_80_columns_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    print_alerts([_alert(), _alert(id=2, rule="p99", state="pending", value=None)])
    lines = _printed(capsys)
    assert max(len(line) for line in lines) <= 80
    (first,) = [line for line in lines if "customer-churn-feature-drift" in line]  # whole
    assert re.search(r"firing\s+0\.3333\s+\d+ (s|min|h|days?)\s+feature_drift_", first)
    assert first.rstrip().endswith("…")  # the message is cut, not wrapped
    (second,) = [line for line in lines if " p99 " in line]
    assert "pending" in second and "n/a" in second


@pytest.mark.usefixtures("columns_80")
def test_alerts_wide_show_everything(capsys: pytest.CaptureFixture[str]) -> None:
    """Too many columns for 80: each alert becomes a block of ``field value`` lines."""
    print_alerts([_alert()], wide=True)
    lines = _printed(capsys)
    assert max(len(line) for line in lines) <= 80
    for field, value in (
        ("rule", "customer-churn-feature-drift"),
        ("deployment", "customer-churn"),
        ("severity", "warning"),
        ("since (UTC)", "2024-05-01 12:00:00"),
    ):
        assert re.search(rf"^  {re.escape(field)}\s+{re.escape(value)}\s*$", "\n".join(lines), re.M)
    assert f"message {LONG_MESSAGE}" in " ".join(" ".join(lines).split())


def _column(name: str, score: float | None) -> ColumnDriftResult:
    return ColumnDriftResult(
        column=name,
        kind="numeric",
        test="wasserstein",
        score=score,
        threshold=0.1,
        drifted=score is not None and score >= 0.1,
        statistic_kind="distance",
        reason="Wasserstein distance (normed) 0.853 >= 0.1: drift (default for a numeric "
        "column with > 1000 reference values and > 5 distinct values)",
        reference_rows=2000,
        current_rows=400,
    )


def _drift() -> DriftResult:
    columns = [_column("tenure_months", 0.85), _column("contract_two_year", None)]
    return DriftResult(
        deployment="customer-churn",
        start=NOW - timedelta(hours=1),
        end=NOW,
        reference="customer-churn/2 (curated.churn_train@0)",
        rows=400,
        enough_data=True,
        columns=columns,
        drifted_columns=["tenure_months"],
        share_drifted=0.5,
        prediction=_column("prediction", 0.11),
    )


@pytest.mark.usefixtures("columns_80")
def test_drift_fits_80_columns_and_wide_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    print_drift(_drift())
    lines = _printed(capsys)
    assert max(len(line) for line in lines) <= 80
    assert "why" not in lines[2]
    for name in ("tenure_months", "contract_two_year", "(prediction)"):
        (_row,) = [line for line in lines if name in line]  # whole, on one line
    assert re.search(
        r"tenure_months\s+numeric\s+wasserstein\s+0\.8500\s+0\.1000\s+drift", "".join(lines)
    )

    print_drift(_drift(), wide=True)
    text = " ".join(" ".join(_printed(capsys)).split())
    assert "why" in text and "> 5 distinct values)" in text


def test_a_table_keeps_names_whole_and_cuts_long_text() -> None:
    out = table("t", "name", "message", long_text=("message",))
    out.add_row("a-rather-long-deployment-name", "word " * 40)
    shown = Console(width=60, record=True, file=io.StringIO())
    shown.print(out)
    lines = shown.export_text().splitlines()
    (row,) = [line for line in lines if "a-rather-long-deployment-name" in line]
    assert row.rstrip().endswith("…") and len(row) <= 60
    assert lines[0] == "t"  # the title on its own line, not wrapped to the table's width


def test_markup_in_values_is_kept_as_text() -> None:
    out = table(None, "value")
    out.add_row(Text("[1, 2] and [bold]x[/bold]"))
    shown = Console(width=60, record=True, file=io.StringIO())
    shown.print(out)
    assert "[1, 2] and [bold]x[/bold]" in shown.export_text()
