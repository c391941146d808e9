"""What a notebook shows for podium's results: rich HTML with the UI's charts, every
user-provided string escaped, no script and no URL; and a plain repr that stays short.

One embedded installation (SQLite) is filled once: the monitoring tests' churn model with
logged predictions and labels, runs and a model whose names hold HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from podium import Entity, Feature, FeatureView
from podium.config import Settings
from podium.notebook import model_card, table_history
from podium.platform import Installation, Platform
from tests.monitoring.traffic import now, register_churn, traffic

HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
NAME = "<img src=x onerror=alert(1)>"  # names take no slash
NAME_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@dataclass
class Filled:
    platform: Platform
    run_ids: list[str]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    home = tmp_path_factory.mktemp("notebook")
    settings = Settings(home=home / "home", database_url=f"sqlite:///{home / 'podium.db'}",
                        metric_flush_interval=0.05)  # fmt: skip
    installation = Installation(settings)
    platform = installation.platform("notebook", user="local:test")
    churn = register_churn(platform)
    run_ids = []
    for i, c in enumerate((0.1, 1.0, 10.0)):
        with platform.tracking.start_run("grid", name=f"{NAME}{i}") as run:
            run.log_params({"C": c, "note": HOSTILE})
            for step in range(3):
                run.log_metric("auc", 0.7 + 0.05 * i + 0.01 * step, step=step)
            run.log_metric("loss", 1 / (i + 1))
            run.set_tag("owner", HOSTILE)
        run_ids.append(run.id)
    platform.registry.register(
        "churn", churn.model, run_id=run_ids[2], input_example=None, signature=
        platform.registry.get_version("churn/1").signature, description=HOSTILE,
    )  # fmt: skip
    predictions = traffic(churn, 200, at=now(), shift=2.0, plan=HOSTILE, seed=4)
    predictions += traffic(churn, 200, at=now(), shift=2.0, plan="basic", seed=5)
    platform.monitoring.feedback_many([(rid, 1 - p if i % 5 == 0 else p)
                                       for i, (rid, p) in enumerate(predictions)])  # fmt: skip
    yield Filled(platform, run_ids)
    installation.close()


def rich(value: object) -> str:
    html = value._repr_html_()  # type: ignore[attr-defined]
    assert isinstance(html, str)
    assert "<script" not in html.lower()
    assert "http" not in html  # no request of any kind, not even the SVG namespace
    assert not re.search(r"<[a-z]+ [^>]*\b(src|href)=", html)  # no tag loads anything
    return html


def test_a_page_of_runs_shows_a_table_and_the_compare_charts(filled: Filled) -> None:
    page = filled.platform.tracking.search_runs("grid", order_by=["metrics.auc DESC"])
    html = rich(page)
    assert html.count("<tr>") == 1 + 3  # head and one row per run
    assert "auc (last)" in html and "params and metrics" in html  # the UI's compare charts
    assert html.count("<svg") == 3  # auc, loss and parallel coordinates
    assert NAME not in html and NAME_ESCAPED in html and HOSTILE not in html and ESCAPED in html
    assert repr(page) == "RunPage(3 runs, next_page_token=None)"


def test_a_run_shows_its_params_and_its_metrics_as_a_chart(filled: Filled) -> None:
    run = filled.platform.tracking.get_run(filled.run_ids[2])
    html = rich(run)
    assert "<svg" in html and "metrics (last value)" in html
    assert "0.82" in html  # auc's last value
    assert NAME not in html and NAME_ESCAPED in html  # the name
    assert HOSTILE not in html and html.count(ESCAPED) >= 2  # a param and a tag
    assert len(repr(run)) < 160 and "2 params, 2 metrics" in repr(run)


def test_a_model_version_and_a_model_with_its_versions(filled: Filled) -> None:
    registry = filled.platform.registry
    version = registry.get_version("churn/2")
    html = rich(version)
    assert "churn/2" in html and "<svg" in html and "auc" in html
    assert HOSTILE not in html and ESCAPED in html  # the description
    assert repr(version) == "ModelVersion('churn/2', stage='none', flavor='sklearn')"

    card = rich(model_card(registry, "churn"))
    assert card.index("<td", card.index("<tbody")) < card.index(">2<")  # newest first
    assert "version</text>" in card  # metrics charted by version
    assert "<svg" in card and HOSTILE not in card
    assert rich(registry.get_model("churn")).count("<svg") == 0  # a summary, no versions

    lineage = rich(registry.lineage("churn/2"))
    assert "<svg" in lineage and "lineage of" in lineage


def test_drift_shows_the_ui_drift_chart_with_the_shifted_feature_flagged(filled: Filled) -> None:
    drift = filled.platform.monitoring.drift("churn", window=timedelta(hours=1))
    html = rich(drift)
    assert "drift per feature" in html and "<svg" in html
    assert 'fill="#d62728"><title>tenure' in html  # flagged red, as on the UI's page
    assert "tenure" in drift.drifted_columns
    assert repr(drift).startswith("DriftResult('churn', status='drift'")


def test_accuracy_and_fairness_show_their_metrics_and_charts(filled: Filled) -> None:
    monitoring = filled.platform.monitoring
    accuracy = monitoring.accuracy("churn", window=timedelta(hours=1))
    html = rich(accuracy)
    assert accuracy.labeled == 400 and "<svg" in html and "0.8" in html  # 80% right
    fairness = monitoring.fairness("churn", "plan", window=timedelta(hours=1))
    html = rich(fairness)
    assert "selection_rate per group" in html and "<svg" in html
    assert HOSTILE not in html and ESCAPED in html  # a group named by user data
    assert len(repr(fairness)) < 300


def test_a_training_set_shows_its_lineage_rows_and_missing_values(filled: Filled) -> None:
    platform = filled.platform
    start = now() - timedelta(days=2)
    platform.data.write("raw.plans", pd.DataFrame({
        "plan": ["basic", HOSTILE], "price": [10.0, 30.0], "ts": [start, start]}))  # fmt: skip
    platform.features.apply([
        Entity(name="plan", join_keys=["plan"]),
        FeatureView(name="plan_prices", entities=["plan"], source="raw.plans",
                    timestamp_field="ts", features=[Feature("price")]),
    ])  # fmt: skip
    entity = pd.DataFrame({"plan": ["basic", HOSTILE, "pro"],
                           "event_timestamp": [now()] * 3})  # fmt: skip
    training = platform.features.get_historical_features(entity, ["plan_prices:price"])
    html = rich(training)
    assert "raw.plans@0" in html and "plan_prices@1:price" in html
    assert "missing values per column" in html  # "pro" has no price
    assert HOSTILE not in html and ESCAPED in html
    assert repr(training).startswith("HistoricalFeatures(3 rows")


def test_a_table_shows_its_schema_and_its_history_as_a_chart(filled: Filled) -> None:
    data = filled.platform.data
    html = rich(data.table_info("monitoring.inference_log"))
    assert "request_id" in html and "features" in html
    history = rich(
        table_history("monitoring.inference_log", data.history("monitoring.inference_log"))
    )
    assert "rows per commit" in history and "<svg" in history
    assert "WRITE" in rich(data.history("monitoring.inference_log")[0])


def test_importing_podium_loads_no_renderer(tmp_path: Path) -> None:
    from tests.test_lazy_imports import loaded_after

    statement = "import podium, podium.tracking.types, podium.monitoring.protocol"
    assert loaded_after(statement, ["podium.notebook", "podium.ui.charts"]) == []
