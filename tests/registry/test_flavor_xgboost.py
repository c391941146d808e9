"""The ``xgboost`` flavor: native JSON round trips, picked by model type, pickles refused."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import update

from podium.access.projects import Project
from podium.errors import InvalidInputError, MissingDependencyError
from podium.platform import Installation
from podium.registry.flavors import PodiumModel, flavor_for, get_flavor
from podium.registry.flavors.xgboost import XGBoostFlavor, XGBoostModel
from podium.registry.service import RegistryService
from podium.registry.signature import infer_signature
from podium.registry.tables import ModelVersionRow
from podium.store.artifacts import ArtifactStore

xgb = pytest.importorskip("xgboost")

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""Flavors do not touch the metadata database beyond the registry's record: SQLite will do."""


class MarkerPayload:
    """A pickle whose loading creates ``marker``: what a disguised model file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(240, 4)), columns=["a", "b", "c", "d"])
    X["visits"] = rng.integers(0, 20, 240)
    y = (X["a"] + X["b"] * X["c"] + X["visits"] / 10 > 1).astype(int).to_numpy()
    return X, y


# One thread each: the suite runs beside others on two cores, where OpenMP's spinning
# threads make training many times slower.
_SMALL = {"n_estimators": 15, "max_depth": 3, "n_jobs": 1}
MODELS = {
    "classifier": lambda X, y: xgb.XGBClassifier(**_SMALL).fit(X, y),
    "multiclass": lambda X, y: xgb.XGBClassifier(**_SMALL).fit(X, (X["a"] > 0) + y),
    "regressor": lambda X, y: xgb.XGBRegressor(**_SMALL).fit(X, X["a"] * 2 + y),
    "booster": lambda X, y: xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(X, label=y),
        10,
    ),
}


def _source_predict(model: Any, X: pd.DataFrame) -> np.ndarray[Any, Any]:
    if isinstance(model, xgb.Booster):
        return np.asarray(model.predict(xgb.DMatrix(X)))
    return np.asarray(model.predict(X))


@SQLITE
def test_register_load_predicts_exactly_like_the_source(
    frame: tuple[pd.DataFrame, np.ndarray[Any, Any]], registry: RegistryService
) -> None:
    X, y = frame
    row = X.iloc[3].to_dict() | {"visits": int(X["visits"].iloc[3])}  # as serving sends it
    for kind, fit in MODELS.items():  # one registry for all: its setup costs more than a fit
        model = fit(X, y)
        version = registry.register(kind, model, input_example=X[:5])
        assert version.flavor == "xgboost", kind  # by the model type: not sklearn, not pickle
        assert [c["name"] for c in version.signature["inputs"]] == list(X.columns)
        loaded = registry.load(version.ref)
        np.testing.assert_array_equal(loaded.predict(X), _source_predict(model, X), kind)
        assert loaded.predict(row)[0] == _source_predict(model, X.iloc[[3]])[0], kind
        if kind in ("classifier", "multiclass"):
            assert loaded.supports_predict_proba, kind
            np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
            assert loaded.classes == list(model.classes_)
            assert type(loaded.model.model) is xgb.XGBClassifier
        else:
            assert not loaded.supports_predict_proba, kind


def test_the_file_is_xgboost_json_that_xgboost_itself_opens(
    frame: tuple[pd.DataFrame, np.ndarray[Any, Any]],
) -> None:
    X, y = frame
    model = MODELS["classifier"](X, y)
    data = XGBoostFlavor().save(model)
    document = json.loads(data)
    assert "learner" in document and "version" in document
    opened = xgb.XGBClassifier()
    opened.load_model(bytearray(data))
    np.testing.assert_array_equal(opened.predict_proba(X), model.predict_proba(X))
    assert model.get_booster().attr("scikit_learn") is None  # the source is left as it was


def test_a_loaded_model_saves_back_to_the_same_bytes(
    frame: tuple[pd.DataFrame, np.ndarray[Any, Any]],
) -> None:
    X, y = frame
    flavor = XGBoostFlavor()
    for kind in ("classifier", "booster"):
        data = flavor.save(MODELS[kind](X, y))
        loaded = flavor.load(data)
        assert flavor_for(loaded) is get_flavor("xgboost")
        assert flavor.save(loaded) == data
    assert isinstance(loaded, XGBoostModel) and loaded.is_booster


def test_a_pickle_disguised_as_an_xgboost_file_is_refused_unrun(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps(MarkerPayload(marker))
    for data in (payload, b"{" + payload, b'{"learner": ' + payload + b"}"):
        with pytest.raises(InvalidInputError, match="not an XGBoost model file") as caught:
            XGBoostFlavor().load(data)
        assert caught.value.remedy and "never loads pickles" in caught.value.remedy
    assert not marker.exists()


@SQLITE
def test_a_version_claiming_xgboost_over_pickle_bytes_is_refused_on_load(
    tmp_path: Path,
    frame: tuple[pd.DataFrame, np.ndarray[Any, Any]],
    registry: RegistryService,
    artifacts: ArtifactStore,
    installation: Installation,
    project: Project,
) -> None:
    X, y = frame
    version = registry.register("boosted", MODELS["classifier"](X, y), input_example=X[:5])
    marker = tmp_path / "pwned"
    blob = artifacts.put(pickle.dumps(MarkerPayload(marker)))
    with installation.db.write() as session:  # the record now points at a pickle
        session.execute(
            update(ModelVersionRow)
            .where(
                ModelVersionRow.project_id == project.id,
                ModelVersionRow.model_name == version.name,
                ModelVersionRow.version == version.version,
            )
            .values(artifact_digest=blob.digest, artifact_size=blob.size)
        )
    with pytest.raises(InvalidInputError, match="not an XGBoost model file"):
        registry.load(version.ref)
    assert not marker.exists()


def test_an_unknown_estimator_type_in_the_file_is_refused(
    frame: tuple[pd.DataFrame, np.ndarray[Any, Any]],
) -> None:
    X, y = frame
    booster = MODELS["booster"](X, y)
    booster.set_attr(scikit_learn=json.dumps({"_estimator_type": "os.system"}))
    data = bytes(booster.save_raw(raw_format="json"))
    with pytest.raises(InvalidInputError, match=r"'os\.system' is not one podium loads"):
        XGBoostFlavor().load(data)


def test_a_missing_xgboost_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xgboost", None)
    with pytest.raises(MissingDependencyError) as caught:
        XGBoostFlavor().load(b"{}")
    assert caught.value.remedy == "pip install 'podium[xgboost]'"


def test_podium_model_wraps_a_booster_with_its_signature(
    frame: tuple[pd.DataFrame, np.ndarray[Any, Any]],
) -> None:
    X, y = frame
    data = XGBoostFlavor().save(MODELS["booster"](X, y))
    model = PodiumModel.from_bytes(data, flavor="xgboost", signature=infer_signature(X))
    with pytest.raises(InvalidInputError, match="column 'c' is missing"):
        model.predict(X.drop(columns="c"))
    with pytest.raises(InvalidInputError, match="has no predict_proba"):
        model.predict_proba(X)


def test_a_signature_in_another_column_order_than_training_is_refused(
    frame: tuple[pd.DataFrame, np.ndarray[Any, Any]],
) -> None:
    X, y = frame
    data = XGBoostFlavor().save(MODELS["classifier"](X, y))
    shuffled = infer_signature(X[["b", "a", "c", "d", "visits"]])
    model = PodiumModel.from_bytes(data, flavor="xgboost", signature=shuffled)
    with pytest.raises(InvalidInputError, match="trained on the columns") as caught:
        model.predict(X)
    assert caught.value.remedy and "training order" in caught.value.remedy
