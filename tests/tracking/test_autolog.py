"""podium.autolog() with scikit-learn: a search over a lake table (SQLite, PostgreSQL, HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split

import podium
from podium.errors import InvalidInputError
from podium.platform import Platform
from podium.tracking.autolog.patches import is_patched
from podium.tracking.types import Run
from tests.conftest import LiveServer


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


def test_grid_search_over_a_lake_table(platform: Platform) -> None:
    """The issue's must-show: one parent, one child per candidate with its params and
    scores, the best model registered on request, the table version recorded."""
    written = platform.data.write("raw.churn", _frame(), mode="overwrite")
    podium.autolog(platform, experiment="churn", register_best="churn-best")
    frame = platform.data.read("raw.churn").to_pandas()
    x_train, _, y_train, _ = train_test_split(
        frame[["a", "b"]], frame["label"], test_size=0.25, random_state=0
    )
    search = GridSearchCV(LogisticRegression(), {"C": [0.01, 1.0, 100.0]}, cv=2)
    search.fit(x_train, y_train)

    runs = _runs(platform, "churn")
    parents = [r for r in runs if r.parent_run_id is None]
    assert len(parents) == 1
    parent = parents[0]
    children = sorted(
        (r for r in runs if r.parent_run_id == parent.id),
        key=lambda r: int(r.tags["podium.search.candidate"]),
    )
    assert len(runs) == 4 and len(children) == 3
    assert [c.params["C"] for c in children] == ["0.01", "1.0", "100.0"]
    for child, mean, std in zip(
        children,
        search.cv_results_["mean_test_score"],
        search.cv_results_["std_test_score"],
        strict=True,
    ):
        assert child.metrics["mean_test_score"] == pytest.approx(mean)
        assert child.metrics["std_test_score"] == pytest.approx(std)
        assert child.status == "FINISHED"
        assert platform.tracking.list_artifacts(child.id) == []
    best = children[search.best_index_]
    assert parent.params["best_C"] == best.params["C"]
    assert parent.tags["podium.search.best_run_id"] == best.id
    assert parent.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert "training_accuracy_score" in parent.metrics
    assert parent.inputs == [f"raw.churn@{written.version}"]
    files = [a.path for a in platform.tracking.list_artifacts(parent.id)]
    assert files == ["model/model.json", "model/model.sklearn"]

    version = platform.registry.get_version("churn-best/1")
    assert version.run_id == parent.id
    loaded = platform.registry.load("churn-best/1")
    assert list(loaded.predict(x_train)) == list(search.best_estimator_.predict(x_train))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"experiment": ""}, "experiment"), ({"register_best": ""}, "register_best")],
)
def test_bad_arguments_are_refused_with_a_remedy(kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        podium.autolog(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.remedy
    assert not is_patched(LogisticRegression, "fit")


def test_over_http_the_lake_version_and_the_runs_are_recorded(live_server: LiveServer) -> None:
    """Remote mode: the same autolog against ``podium up``, through the HTTP clients."""
    project = f"t-{uuid.uuid4().hex[:10]}"
    remote = podium.connect(live_server.url, api_key=live_server.key(project), project=project)
    written = remote.data.write("raw.remote", _frame(), mode="overwrite")
    podium.autolog(remote, experiment="remote", log_models=False)
    frame = remote.data.read("raw.remote").to_pandas()
    GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(
        frame[["a", "b"]], frame["label"]
    )
    runs = _runs(remote, "remote")
    (parent,) = [r for r in runs if r.parent_run_id is None]
    assert parent.inputs == [f"raw.remote@{written.version}"]
    assert sorted(r.params["C"] for r in runs if r.parent_run_id == parent.id) == ["0.1", "1.0"]
