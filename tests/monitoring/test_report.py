"""The monitoring report: a self-contained HTML page (inline SVG, no scripts) and its
JSON twin, for drifted traffic and for an empty window."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from podium.monitoring.report import render_html, write_report
from podium.platform import Platform
from tests.monitoring.traffic import Churn, now, register_churn, traffic


@pytest.fixture
def churn(platform: Platform) -> Churn:
    return register_churn(platform)


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the JSON twin")

    return json.loads(text, parse_constant=refuse)


def test_report_of_drifted_traffic(churn: Churn, platform: Platform, tmp_path: Path) -> None:
    sent = traffic(churn, 300, at=now(), shift=2.0)
    platform.monitoring.feedback_many(sent[:100])
    document = platform.monitoring.report("churn")
    html_path, json_path = write_report(document, tmp_path / "out" / "churn.html")

    page = html_path.read_text()
    assert page.startswith("<!doctype html>")
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert page.count("<svg") >= 5  # drift scores, 3 distributions, 2 timelines
    assert "tenure" in page and "dataset drift" in page

    twin = _strict_json(json_path.read_text())
    assert twin["deployment"] == "churn"
    assert twin["drift"]["drifted_columns"] == ["tenure"]
    assert twin["accuracy"]["labeled"] == 100
    assert twin["performance"]["overall"]["requests"] == 300
    tenure = twin["distributions"]["tenure"]
    assert sum(tenure["reference"]) == pytest.approx(1.0)
    assert sum(tenure["current"]) == pytest.approx(1.0)
    # The shifted current distribution sits right of the reference's mass.
    middle = len(tenure["labels"]) // 2
    assert sum(tenure["current"][middle:]) > sum(tenure["reference"][middle:])
    assert set(twin["distributions"]["plan"]["labels"]) == {"basic", "plus", "pro"}


def test_report_of_an_empty_window_says_so(
    churn: Churn, platform: Platform, tmp_path: Path
) -> None:
    platform.deployments.create("churn", model="churn/1")
    html_path, json_path = write_report(platform.monitoring.report("churn"), tmp_path / "r")
    assert html_path.suffix == ".html" and json_path.suffix == ".json"
    assert "not enough data" in html_path.read_text()
    twin = _strict_json(json_path.read_text())
    assert twin["drift"]["enough_data"] is False
    assert twin["distributions"] == {}


def test_text_in_the_report_is_escaped() -> None:
    page = render_html(
        {
            "deployment": "<script>alert(1)</script>",
            "drift": {"enough_data": False, "reason": "<img src=x onerror=alert(1)>"},
        }
    )
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page
