"""podium.autolog() with XGBoost and LightGBM: per-iteration metrics and native models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import podium
from podium.platform import Platform
from podium.tracking.types import Run

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

ROUNDS = 5


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: these tests are about the libraries, not the metadata database."""
    return f"sqlite:///{tmp_path / 'podium.db'}"


@pytest.fixture(autouse=True)
def _autolog_off() -> Iterator[None]:
    yield
    podium.autolog(disable=True)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(120, 3))
    return x, (x[:, 0] + x[:, 1] > 0).astype(int)


def _only_run(p: Platform, experiment: str) -> Run:
    (run,) = p.tracking.search_runs(experiment).runs
    return run


def _steps(p: Platform, run: Run, key: str) -> list[int]:
    return [point.step for point in p.tracking.metric_history(run.id, key)]


def test_xgboost_estimator_logs_every_iteration_and_a_json_model(platform: Platform) -> None:
    x, y = _data()
    podium.autolog(platform, experiment="xgb")
    model = xgb.XGBClassifier(n_estimators=ROUNDS, max_depth=2, eval_metric="logloss")
    model.fit(x[:90], y[:90], eval_set=[(x[90:], y[90:])], verbose=False)

    run = _only_run(platform, "xgb")
    assert run.params["n_estimators"] == str(ROUNDS) and run.params["max_depth"] == "2"
    history = platform.tracking.metric_history(run.id, "validation_0-logloss")
    assert [p.step for p in history] == list(range(ROUNDS))
    assert [p.value for p in history] == pytest.approx(
        model.evals_result()["validation_0"]["logloss"]
    )
    assert "training_accuracy_score" in run.metrics
    files = [a.path for a in platform.tracking.list_artifacts(run.id)]
    assert files == ["model/model.json", "model/model.xgboost"]
    booster = xgb.Booster()
    booster.load_model(bytearray(platform.tracking.read_artifact(run.id, files[1])))
    assert booster.num_boosted_rounds() == ROUNDS


def test_xgb_train_records_iterations_the_caller_did_not_ask_for(platform: Platform) -> None:
    x, y = _data()
    podium.autolog(platform, experiment="xgb-train")
    train, valid = xgb.DMatrix(x[:90], label=y[:90]), xgb.DMatrix(x[90:], label=y[90:])
    xgb.train(
        {"max_depth": 2, "eval_metric": "rmse"},
        train,
        ROUNDS,
        evals=[(train, "train"), (valid, "valid")],
        verbose_eval=False,
    )
    run = _only_run(platform, "xgb-train")
    assert run.params["num_boost_round"] == str(ROUNDS)
    assert _steps(platform, run, "train-rmse") == list(range(ROUNDS))
    assert _steps(platform, run, "valid-rmse") == list(range(ROUNDS))


def test_lightgbm_estimator_and_train_log_every_iteration(platform: Platform) -> None:
    x, y = _data()
    podium.autolog(platform, experiment="lgb", log_models=False)
    model = lgb.LGBMClassifier(n_estimators=ROUNDS, num_leaves=4, min_child_samples=5, verbose=-1)
    model.fit(x[:90], y[:90], eval_X=(x[90:],), eval_y=(y[90:],))
    run = _only_run(platform, "lgb")
    assert _steps(platform, run, "valid_0-binary_logloss") == list(range(ROUNDS))

    podium.autolog(platform, experiment="lgb-train")
    train = lgb.Dataset(x[:90], label=y[:90])
    valid = lgb.Dataset(x[90:], label=y[90:], reference=train)
    lgb.train(
        {"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 5, "verbose": -1},
        train,
        num_boost_round=ROUNDS,
        valid_sets=[valid],
        valid_names=["holdout"],
    )
    run = _only_run(platform, "lgb-train")
    assert _steps(platform, run, "holdout-binary_logloss") == list(range(ROUNDS))
    files = [a.path for a in platform.tracking.list_artifacts(run.id)]
    assert files == ["model/model.json", "model/model.lightgbm"]


def test_a_boosted_model_inside_a_search_logs_no_model_of_its_own(platform: Platform) -> None:
    from sklearn.model_selection import GridSearchCV

    x, y = _data()
    podium.autolog(platform, experiment="xgb-search")
    GridSearchCV(xgb.XGBClassifier(n_estimators=3), {"max_depth": [1, 2]}, cv=2).fit(x, y)
    runs = platform.tracking.search_runs("xgb-search").runs
    assert len(runs) == 3
    with_files = [r for r in runs if platform.tracking.list_artifacts(r.id)]
    assert [r.parent_run_id for r in with_files] == [None]
