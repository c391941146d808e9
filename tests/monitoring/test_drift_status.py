"""Every renderer shows a drift decision the same way, from one source: a test that could
not run is ``n/a`` in the JSON, the HTML report, its chart and the CLI table, never ``ok``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from podium.cli.monitor import print_drift
from podium.monitoring.drift.columns import not_enough
from podium.monitoring.drift.status import drift_status
from podium.monitoring.protocol import ColumnDriftResult, DriftResult
from podium.monitoring.report import render_html
from podium.monitoring.report_svg import DRIFT_COLOUR, NOTE_COLOUR, OK_COLOUR, score_bars

_START = datetime(2024, 1, 1, tzinfo=UTC)


def _column(name: str, score: float | None, drifted: bool) -> ColumnDriftResult:
    return ColumnDriftResult(
        column=name,
        kind="numeric",
        test="wasserstein",
        score=score,
        threshold=0.1,
        drifted=drifted,
        statistic_kind="distance",
        reason="not enough data: no values now" if score is None else f"distance {score}",
        reference_rows=2000,
        current_rows=0 if score is None else 100,
    )


def _result(*columns: ColumnDriftResult, prediction: ColumnDriftResult | None) -> DriftResult:
    tested = [c for c in columns if c.score is not None]
    drifted = [c.column for c in tested if c.drifted]
    return DriftResult(
        deployment="churn",
        start=_START,
        end=_START + timedelta(hours=1),
        reference="churn/1 (raw.churn@0)",
        rows=100,
        enough_data=True,
        columns=list(columns),
        drifted_columns=drifted,
        share_drifted=len(drifted) / len(tested) if tested else None,
        dataset_drift=bool(tested) and len(drifted) / len(tested) >= 0.5,
        prediction=prediction,
    )


def _decisions(page: str) -> dict[str, str]:
    """column -> the decision cell's text, from the report's drift table."""
    rows = re.findall(r"<tr><td>(?:<b>)?([^<]+)(?:</b>)?</td>((?:<td>.*?</td>){5})</tr>", page)
    return {name: re.findall(r"<span[^>]*>([^<]+)</span>", cells)[-1] for name, cells in rows}


def test_one_status_for_drift_ok_and_not_tested() -> None:
    assert drift_status(None, False) == "n/a"
    assert drift_status(0.3, True) == "drift"
    assert drift_status(0.01, False) == "ok"
    untested = not_enough("age", "numeric", "ks", 0.05, "no values", None, None)
    assert untested.status == "n/a" and untested.to_dict()["status"] == "n/a"


def test_the_json_the_html_and_the_chart_agree(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # a terminal wide enough for whole rows
    result = _result(
        _column("tenure", 0.4, True),
        _column("charges", 0.02, False),
        _column("plan", None, False),
        prediction=_column("prediction", None, False),
    )
    document = {"deployment": "churn", "drift": result.model_dump(mode="json")}
    statuses = {c["column"]: c["status"] for c in document["drift"]["columns"]}
    statuses["(prediction)"] = document["drift"]["prediction"]["status"]
    assert statuses == {"tenure": "drift", "charges": "ok", "plan": "n/a", "(prediction)": "n/a"}
    assert ColumnDriftResult.model_validate(document["drift"]["columns"][2]).status == "n/a"

    page = render_html(document)
    assert _decisions(page) == statuses
    assert '<p class="drift">dataset drift</p>' in page

    print_drift(result)
    printed = capsys.readouterr().out
    for name, status in statuses.items():
        line = next(line for line in printed.splitlines() if line.strip().startswith(name))
        assert f" {status} " in line, line

    chart = score_bars("scores", [("a", 0.4, 0.1, "drift"), ("b", 0.02, 0.1, "ok")])
    assert f'fill="{DRIFT_COLOUR}"' in chart and f'fill="{OK_COLOUR}"' in chart
    assert f'fill="{NOTE_COLOUR}"' in score_bars("scores", [("c", 0.0, 0.1, "n/a")])


def test_no_tested_column_is_no_verdict_not_no_drift() -> None:
    result = _result(_column("plan", None, False), prediction=None)
    assert result.status == "n/a"
    page = render_html({"deployment": "churn", "drift": result.model_dump(mode="json")})
    assert "no dataset drift" not in page
    assert "n/a: no feature could be tested" in page
