"""Server-side SVG charts: well-formed, escaped, and without inline styles (the CSP)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from podium.ui import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    assert "style=" not in markup and "<script" not in markup
    return ET.fromstring(markup)


def test_a_line_chart_draws_one_line_per_series() -> None:
    svg = _parse(charts.line_chart({"a": [(0, 1.0), (1, 2.0)], "b": [(0, 3.0), (1, 1.0)]}))
    assert len(svg.findall(f"{SVG}polyline")) == 2


def test_names_are_escaped() -> None:
    markup = charts.line_chart({"<script>alert(1)</script>": [(0, 1.0), (1, 2.0)]}, title="<b>")
    svg = _parse(markup)
    assert "&lt;script&gt;" in markup
    assert svg.find(f"{SVG}script") is None


def test_no_data_and_not_finite_values_still_draw_a_chart() -> None:
    assert "no data" in charts.line_chart({})
    assert "no data" in charts.line_chart({"a": [(0, float("nan"))]})
    assert "n/a" in charts.bar_chart([("x", None), ("y", float("inf"))])


def test_bars_flag_what_drifted_and_draw_the_threshold() -> None:
    svg = _parse(charts.bar_chart([("age", 0.9), ("income", 0.1)], flagged=["age"], threshold=0.5))
    fills = [rect.get("fill") for rect in svg.findall(f"{SVG}rect")]
    assert fills == ["#d62728", "#1f77b4"]
    assert any(line.get("stroke-dasharray") for line in svg.findall(f"{SVG}line"))


def test_parallel_coordinates_cross_every_axis_and_place_text_values() -> None:
    rows = {"r1": {"C": "0.1", "model": "rf", "auc": 0.8},
            "r2": {"C": "10", "model": "logreg", "auc": 0.9}}  # fmt: skip
    svg = _parse(charts.parallel_coordinates(["C", "model", "auc"], rows))
    lines = svg.findall(f"{SVG}polyline")
    assert len(lines) == 2
    assert all(len(line.get("points", "").split()) == 3 for line in lines)


def test_a_graph_puts_each_node_right_of_its_source() -> None:
    markup = charts.graph(
        [("t", "table", "raw"), ("r", "run", "run 1"), ("m", "model_version", "m/1")],
        [("t", "r", "read_by"), ("r", "m", "produced")],
    )
    svg = _parse(markup)
    xs = [float(g.find(f"{SVG}rect").get("x", "0")) for g in svg.findall(f"{SVG}g")]  # type: ignore[union-attr]
    assert xs == sorted(xs) and len(set(xs)) == 3
