"""A deployment's live panel (request rate, latency per version, breakers) as a page and
as the fragment the script refreshes; the drift page's distributions, accuracy and
fairness over time; and the charts they are drawn with."""

from __future__ import annotations

import re

import httpx
import pytest
from tests.ui.conftest import Shop, log_in, send_drifted_traffic

from podium.access.roles import Role
from podium.ui import charts
from podium.ui.drift_charts import distribution_charts

pytestmark = pytest.mark.anyio


async def test_live_traffic_then_drift_distributions_accuracy_and_fairness(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    labels = send_drifted_traffic(shop, rows=30)
    await log_in(http, shop.key(Role.READER))

    whole = await http.get("/ui/deployments/churn-model")
    assert whole.status_code == 200
    assert 'data-refresh-url="/ui/deployments/churn-model/live?minutes=15"' in whole.text
    assert "<script>" not in whole.text  # the refresh is ui.js's, never inline

    fragment = await http.get("/ui/deployments/churn-model/live?minutes=5")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "Last 5 minutes" in fragment.text
    summary = re.search(r'class="live-summary"><b>([0-9.]+)</b> requests/s', fragment.text)
    assert summary and float(summary.group(1)) > 0, fragment.text
    rows = re.findall(r'<tr><td>(\w+)</td><td class="num">(\d+)</td>', fragment.text)
    assert ("1", "30") in rows  # version 1 answered the 30 rows
    assert fragment.text.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 2
    assert "p99 latency (ms)" in fragment.text
    # The breaker table appears once the server has loaded the deployment (it has).
    assert 'class="breakers"' in fragment.text and "br-closed" in fragment.text
    fallback = await http.get("/ui/deployments/churn-model/live?minutes=7")  # not offered
    assert "Last 15 minutes" in fallback.text

    unlabeled = (await http.get("/ui/monitoring/churn-model?hours=1&attribute=%3Cb%3E")).text
    assert 'data-feature="charges"' in unlabeled and 'data-feature="tenure"' in unlabeled
    assert "accuracy-charts" not in unlabeled and "fairness-charts" not in unlabeled
    assert "p.monitoring.feedback(request_id, label)" in unlabeled
    assert "<b>" not in unlabeled.split("<h1")[1]  # an unknown attribute is dropped

    shop.platform.monitoring.feedback_many(labels)
    found = await http.get("/ui/monitoring/churn-model?hours=1&attribute=tenure")
    assert found.status_code == 200
    html = found.text
    for feature in ("tenure", "charges"):
        figure = re.search(rf'<figure data-feature="{feature}">(.*?)</figure>', html, re.S)
        assert figure, f"no distribution of {feature}"
        assert "reference" in figure.group(1) and "current" in figure.group(1)
    accuracy = re.search(r'class="charts accuracy-charts">(.*?)</div>', html, re.S)
    assert accuracy and 'aria-label="accuracy"' in accuracy.group(1)
    assert "<circle" in accuracy.group(1)  # at least one slice has labels
    fairness = re.search(r'class="charts fairness-charts">(.*?)</div>', html, re.S)
    assert fairness and "tenure: " in fairness.group(1)
    assert '<option value="tenure" selected>' in html
    assert "No alerts." in html  # the deployment's alerts table


async def test_the_live_panel_of_a_quiet_unknown_or_logged_out_deployment(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    refused = await http.get("/ui/deployments/churn-model/live")
    assert refused.status_code == 303 and "/ui/login" in refused.headers["location"]
    await log_in(http, shop.key(Role.READER))
    quiet = await http.get("/ui/deployments/churn-model/live")
    assert quiet.status_code == 200
    assert "No requests logged in the last 15 minutes" in quiet.text
    missing = await http.get("/ui/deployments/nope/live")
    assert missing.status_code == 404
    assert "Traceback" not in missing.text


def test_a_paired_histogram_draws_both_distributions_escaped() -> None:
    svg = charts.paired_histogram(["<a>", "b"], [0.75, 0.25], [0.25, 0.75], title="x&y")
    assert svg.count("<rect") == 4 + 2  # two bars per label, two legend swatches
    assert "&lt;a&gt;" in svg and "<a>" not in svg and "x&amp;y" in svg
    assert "no data" in charts.paired_histogram(["a"], [1.0], [], title="t")


def test_distribution_charts_skip_what_they_cannot_draw() -> None:
    shown = {
        "good": {"kind": "numeric", "labels": ["1", "2"], "reference": [0.5, 0.5],
                 "current": [0.1, 0.9]},
        "bad": {"kind": "numeric", "labels": None},
        "worse": "not a mapping",
    }  # fmt: skip
    drawn = distribution_charts(shown)
    assert list(drawn) == ["good"]
    assert "good (numeric)" in drawn["good"]
