"""podium.autolog() with scikit-learn: plain fits, where runs go, threads, switching off.

On SQLite only: the backends are covered by tests/tracking/test_autolog.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import podium
from podium.platform import Platform
from podium.tracking.autolog.patches import is_patched
from podium.tracking.types import Run


@pytest.fixture(autouse=True)
def _autolog_off() -> Iterator[None]:
    yield
    podium.autolog(disable=True)


def _frame(rows: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    frame["label"] = ((frame["a"] - frame["b"] + rng.normal(scale=0.3, size=rows)) > 0).astype(int)
    return frame


def _runs(p: Platform, experiment: str) -> list[Run]:
    return p.tracking.search_runs(experiment, max_results=1000).runs


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: these tests are about fits, not the metadata database."""
    return f"sqlite:///{tmp_path / 'podium.db'}"


def test_a_plain_fit_logs_params_metrics_and_the_model_once(platform: Platform) -> None:
    frame = _frame()
    podium.autolog(platform, experiment="plain")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5))
    model.fit(frame[["a", "b"]], frame["label"])

    (run,) = _runs(platform, "plain")
    assert run.status == "FINISHED"
    assert run.tags["podium.estimator"] == "Pipeline"
    assert run.params["logisticregression__C"] == "0.5"
    assert run.metrics["training_accuracy_score"] == pytest.approx(
        model.score(frame[["a", "b"]], frame["label"])
    )
    assert {"training_f1_score", "training_log_loss", "training_roc_auc"} <= set(run.metrics)
    assert run.inputs == []  # a frame not read from the lake
    files = [a.path for a in platform.tracking.list_artifacts(run.id)]
    assert files == ["model/model.json", "model/model.sklearn"]


def test_disable_stops_logging_and_restores_the_methods(platform: Platform) -> None:
    frame = _frame()
    podium.autolog(platform, experiment="off")
    assert is_patched(LogisticRegression, "fit")
    podium.autolog(disable=True)
    assert not is_patched(LogisticRegression, "fit")
    LogisticRegression().fit(frame[["a", "b"]], frame["label"])
    platform.tracking.create_experiment("off-check")
    assert [e.name for e in platform.tracking.list_experiments()] == ["off-check"]


def test_a_fit_inside_a_run_block_logs_to_that_run(platform: Platform) -> None:
    frame = _frame()
    podium.autolog(platform, experiment="elsewhere")
    with platform.tracking.start_run("mine", params={"note": "by hand"}) as run:
        LogisticRegression(C=2.0).fit(frame[["a", "b"]], frame["label"])
    (stored,) = _runs(platform, "mine")
    assert stored.id == run.id
    assert stored.params["C"] == "2.0" and stored.params["note"] == "by hand"
    assert "training_accuracy_score" in stored.metrics
    assert [a.path for a in platform.tracking.list_artifacts(run.id)] == [
        "model/model.json",
        "model/model.sklearn",
    ]
    assert [e.name for e in platform.tracking.list_experiments()] == ["mine"]


def test_each_thread_fits_into_a_run_of_its_own(platform: Platform) -> None:
    frame = _frame()
    podium.autolog(platform, experiment="threads", log_models=False)
    errors: list[BaseException] = []

    def fit(c: float) -> None:
        try:
            LogisticRegression(C=c).fit(frame[["a", "b"]], frame["label"])
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=fit, args=(c,)) for c in (0.1, 10.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    runs = _runs(platform, "threads")
    assert sorted(r.params["C"] for r in runs) == ["0.1", "10.0"]
    assert all(r.parent_run_id is None and r.status == "FINISHED" for r in runs)


def test_a_failing_fit_ends_its_run_failed_and_still_raises(platform: Platform) -> None:
    podium.autolog(platform, experiment="fails")
    with pytest.raises(ValueError, match="class"):
        LogisticRegression().fit(np.zeros((4, 2)), np.zeros(4))  # a single class
    (run,) = _runs(platform, "fails")
    assert run.status == "FAILED"


def test_randomized_search_logs_one_child_per_sampled_candidate(platform: Platform) -> None:
    frame = _frame()
    podium.autolog(platform, experiment="random", log_models=False)
    search = RandomizedSearchCV(
        LogisticRegression(), {"C": [0.1, 0.3, 1.0, 3.0, 10.0]}, n_iter=3, cv=2, random_state=0
    )
    search.fit(frame[["a", "b"]], frame["label"])
    runs = _runs(platform, "random")
    (parent,) = [r for r in runs if r.parent_run_id is None]
    children = [r for r in runs if r.parent_run_id == parent.id]
    assert sorted(c.params["C"] for c in children) == sorted(
        str(p["C"]) for p in search.cv_results_["params"]
    )
    assert len(children) == 3


def test_candidates_fitted_in_joblib_threads_log_no_runs_of_their_own(
    platform: Platform,
) -> None:
    frame = _frame()
    podium.autolog(platform, experiment="jobs", log_models=False)
    with joblib.parallel_backend("threading", n_jobs=2):
        GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2, n_jobs=2).fit(
            frame[["a", "b"]], frame["label"]
        )
    runs = _runs(platform, "jobs")
    assert len(runs) == 3
    assert sum(r.parent_run_id is None for r in runs) == 1


@podium.step(cache=False)
def _train_in_a_step(c: float) -> str:
    frame = _frame()
    LogisticRegression(C=c).fit(frame[["a", "b"]], frame["label"])
    return "fitted"


@podium.pipeline("autolog-flow")
def _autolog_flow(c: float = 3.0) -> Any:
    return _train_in_a_step(c)


def test_a_fit_inside_a_pipeline_step_logs_to_the_steps_run(platform: Platform) -> None:
    podium.autolog(platform, experiment="not-here", log_models=False)
    run = platform.pipelines.run(_autolog_flow, params={"c": 3.0})
    assert run.status == "succeeded"
    (step,) = run.steps
    assert step.run_id is not None
    stored = platform.tracking.get_run(step.run_id)
    assert stored.params["C"] == "3.0"
    assert "training_accuracy_score" in stored.metrics
    assert "not-here" not in [e.name for e in platform.tracking.list_experiments()]
