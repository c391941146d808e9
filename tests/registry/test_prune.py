"""Pruning: a tree ensemble loses the trees its predictions do not need, passes the
agreement gate and is registered derived from its source, or is refused with the figure."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from podium.errors import InvalidInputError
from podium.platform import Installation, Platform
from podium.registry.optimization import prune_version
from podium.registry.prune import prune_ensemble
from tests.cli.assertions import Invoke
from tests.cli.conftest import embedded, home, invoke  # noqa: F401 (fixtures)

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def churn(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"tenure": rng.uniform(0, 72, rows), "spend": rng.uniform(10, 120, rows)})
    score = frame["spend"] / 120 - frame["tenure"] / 72
    return frame, np.digitize(score, [-0.3, 0.3]).astype(np.int64)  # three classes


ENSEMBLES = {
    "forest": lambda: RandomForestClassifier(n_estimators=40, random_state=0),
    "boosting": lambda: GradientBoostingClassifier(n_estimators=40, random_state=0),
    "pipeline": lambda: make_pipeline(
        StandardScaler(), RandomForestClassifier(n_estimators=30, random_state=0)
    ),
}


@pytest.mark.parametrize("kind", ENSEMBLES)
def test_pruning_keeps_the_predictions_on_the_rows_it_pruned_on(kind: str) -> None:
    frame, labels = churn(600)
    model = ENSEMBLES[kind]().fit(frame[:300], labels[:300])
    pruned, kept = prune_ensemble(model, frame[300:], 0.99)
    total = len(model[-1].estimators_ if kind == "pipeline" else model.estimators_)
    assert 1 <= kept < total
    assert np.mean(pruned.predict(frame[300:]) == model.predict(frame[300:])) >= 0.99
    assert len(model[-1].estimators_ if kind == "pipeline" else model.estimators_) == total


def test_a_regressor_keeps_every_tree_its_predictions_need() -> None:
    frame, labels = churn(300)
    model = RandomForestRegressor(n_estimators=10, random_state=0).fit(frame, labels * 1.5)
    pruned, kept = prune_ensemble(model, frame, 1.0)
    assert kept == 10
    np.testing.assert_allclose(pruned.predict(frame), model.predict(frame))


@SQLITE
def test_a_pruned_forest_passes_the_gate_and_is_registered_derived(platform: Platform) -> None:
    frame, labels = churn(700, seed=1)
    forest = RandomForestClassifier(n_estimators=40, random_state=0).fit(frame[:300], labels[:300])
    platform.registry.register("churn", forest, input_example=frame[:5])

    pruned, comparison = prune_version(
        platform.registry, "churn/1", sample=frame[300:], labels=labels[300:], threshold=0.97
    )

    assert pruned.ref == "churn/2" and pruned.derived_from == "churn/1"
    kept, total = map(int, pruned.tags["trees"].split("/"))
    assert pruned.tags["optimized"] == "pruned" and kept < total == 40
    assert f"pruned from 40 to {kept} trees" in pruned.description
    assert comparison.agreement >= 0.97 and comparison.rows == 120
    assert comparison.size_bytes_candidate < comparison.size_bytes_source
    loaded = platform.registry.load("churn/2")
    assert np.mean(loaded.predict(frame[300:]) == forest.predict(frame[300:])) >= 0.97


@SQLITE
def test_a_pruned_forest_under_the_bound_is_refused_with_the_measured_figure(
    platform: Platform,
) -> None:
    frame, labels = churn(700, seed=1)
    forest = RandomForestClassifier(n_estimators=40, random_state=0).fit(frame[:300], labels[:300])
    platform.registry.register("churn", forest, input_example=frame[:5])

    with pytest.raises(InvalidInputError) as caught:
        prune_version(platform.registry, "churn/1", sample=frame[300:], threshold=0.98)

    error = caught.value
    assert error.code == "agreement-too-low" and error.remedy
    measured = re.search(r"agrees with the source on (\d+\.\d\d)% of 120 rows", error.message)
    assert measured is not None and float(measured.group(1)) < 98.0
    assert [v.version for v in platform.registry.list_versions("churn")] == [1]


@SQLITE
def test_only_tree_ensembles_are_pruned(platform: Platform) -> None:
    frame, labels = churn(100)
    platform.registry.register(
        "linear", LogisticRegression().fit(frame, labels), input_example=frame[:5]
    )
    with pytest.raises(InvalidInputError, match=r"a 'sklearn' model \(LogisticRegression\)"):
        prune_version(platform.registry, "linear/1", sample=frame)


def _register_forest(installation: Installation) -> None:
    platform = installation.platform()
    frame, labels = churn(600, seed=3)
    written = platform.data.write("raw.churn", frame.assign(churned=labels))
    with platform.tracking.start_run("churn", tags={"target": "churned"}, capture_env=False) as run:
        run.log_input(written.ref)
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(frame[:200], labels[:200])
    platform.registry.register("churn", forest, run_id=run.id, input_example=frame[:5])


def test_cli_prunes_with_the_side_by_side_report(
    invoke: Invoke,  # noqa: F811 (fixtures)
    embedded: Installation,  # noqa: F811
) -> None:
    _register_forest(embedded)

    result = invoke("models", "optimize", "churn", "1", "--prune", "--threshold", "0.97")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "churn/2 vs churn/1 on 180 sample rows" in out
    for row in ("size", "latency, 1 row", "latency, 1,000 rows", "agreement", "accuracy delta"):
        assert re.search(rf"{re.escape(row)}\s+\S", out)
    assert re.search(r"registered churn/2 \(pruned, \d+/30 trees kept\), derived from churn/1", out)


@SQLITE
def test_an_xgboost_classifier_loses_its_trailing_rounds(platform: Platform) -> None:
    xgb = pytest.importorskip("xgboost")
    frame, labels = churn(700, seed=4)
    model = xgb.XGBClassifier(n_estimators=60, max_depth=3, n_jobs=1)
    model.fit(frame[:300], labels[:300])
    platform.registry.register("boosted", model, input_example=frame[:5])

    pruned, comparison = prune_version(
        platform.registry, "boosted/1", sample=frame[300:], threshold=0.97
    )

    kept, total = map(int, pruned.tags["trees"].split("/"))
    assert pruned.flavor == "xgboost" and kept < total == 60
    assert pruned.derived_from == "boosted/1" and comparison.agreement >= 0.97
    loaded = platform.registry.load(pruned.ref)
    expected = model.predict(frame[300:], iteration_range=(0, kept))
    np.testing.assert_array_equal(loaded.predict(frame[300:]), expected)
