"""The ``lightgbm`` flavor: native text round trips, picked by model type, pickles refused."""

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
from podium.registry.flavors import flavor_for, get_flavor
from podium.registry.flavors.lightgbm import LightGBMFlavor, LightGBMModel
from podium.registry.service import RegistryService
from podium.registry.tables import ModelVersionRow
from podium.store.artifacts import ArtifactStore

lgb = pytest.importorskip("lightgbm")

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
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(240, 4)), columns=["a", "b", "c", "d"])
    X["visits"] = rng.integers(0, 20, 240)
    y = (X["a"] + X["b"] * X["c"] + X["visits"] / 10 > 1).astype(int).to_numpy()
    return X, y


# One thread each: the suite runs beside others on two cores, where OpenMP's spinning
# threads make training many times slower.
_SMALL = {"n_estimators": 15, "min_child_samples": 5, "verbose": -1, "n_jobs": 1}
MODELS = {
    "classifier": lambda X, y: lgb.LGBMClassifier(**_SMALL).fit(X, y),
    "labels": lambda X, y: lgb.LGBMClassifier(**_SMALL).fit(X, np.where(y == 1, "yes", "no")),
    "multiclass": lambda X, y: lgb.LGBMClassifier(**_SMALL).fit(X, (X["a"] > 0) + y),
    "regressor": lambda X, y: lgb.LGBMRegressor(**_SMALL).fit(X, X["a"] * 2 + y),
    "booster": lambda X, y: lgb.train(
        {"objective": "binary", "verbose": -1, "min_data_in_leaf": 5, "num_threads": 1},
        lgb.Dataset(X, label=y),
        10,
    ),
}


@SQLITE
def test_register_load_predicts_exactly_like_the_source(
    frame: tuple[pd.DataFrame, np.ndarray[Any, Any]], registry: RegistryService
) -> None:
    X, y = frame
    row = X.iloc[3].to_dict() | {"visits": int(X["visits"].iloc[3])}  # as serving sends it
    for kind, fit in MODELS.items():  # one registry for all: its setup costs more than a fit
        model = fit(X, y)
        version = registry.register(kind, model, input_example=X[:5])
        assert version.flavor == "lightgbm", kind  # by the model type: not sklearn, not pickle
        assert [c["name"] for c in version.signature["inputs"]] == list(X.columns)
        loaded = registry.load(version.ref)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X), kind)
        assert loaded.predict(row)[0] == model.predict(X.iloc[[3]])[0], kind
        if kind in ("classifier", "labels", "multiclass"):
            assert loaded.supports_predict_proba, kind
            np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
            assert loaded.classes == list(model.classes_)
        else:
            assert not loaded.supports_predict_proba, kind
            with pytest.raises(InvalidInputError, match="has no predict_proba"):
                loaded.predict_proba(X)


def test_the_file_holds_lightgbm_text_that_lightgbm_itself_opens(
    frame: tuple[pd.DataFrame, np.ndarray[Any, Any]],
) -> None:
    X, y = frame
    model = MODELS["labels"](X, y)
    document = json.loads(LightGBMFlavor().save(model))
    assert document["estimator"] == "LGBMClassifier"
    assert document["classes"] == ["no", "yes"]
    assert document["model"].startswith("tree\nversion=")
    opened = lgb.Booster(model_str=document["model"])
    np.testing.assert_array_equal(opened.predict(X), model.predict_proba(X)[:, 1])


def test_a_loaded_model_saves_back_to_the_same_bytes(
    frame: tuple[pd.DataFrame, np.ndarray[Any, Any]],
) -> None:
    X, y = frame
    flavor = LightGBMFlavor()
    for kind in ("labels", "booster"):
        data = flavor.save(MODELS[kind](X, y))
        loaded = flavor.load(data)
        assert isinstance(loaded, LightGBMModel)
        assert flavor_for(loaded) is get_flavor("lightgbm")
        assert flavor.save(loaded) == data


def test_a_pickle_disguised_as_a_lightgbm_file_is_refused_unrun(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps(MarkerPayload(marker))
    disguised = [
        payload,
        b"{" + payload,
        json.dumps({"format": "podium.lightgbm", "format_version": 1, "estimator": "Booster",
                    "classes": None, "model": payload.decode("latin-1")}).encode(),
        json.dumps({"format": "podium.lightgbm", "format_version": 1,
                    "estimator": "os.system", "classes": None, "model": "tree"}).encode(),
    ]  # fmt: skip
    for data in disguised:
        with pytest.raises(InvalidInputError, match="not a LightGBM model file") as caught:
            LightGBMFlavor().load(data)
        assert caught.value.remedy and "never loads pickles" in caught.value.remedy
    assert not marker.exists()


@SQLITE
def test_a_version_claiming_lightgbm_over_pickle_bytes_is_refused_on_load(
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
    with pytest.raises(InvalidInputError, match="not a LightGBM model file"):
        registry.load(version.ref)
    assert not marker.exists()


def test_a_missing_lightgbm_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    data = json.dumps(
        {"format": "podium.lightgbm", "format_version": 1, "estimator": "Booster", "model": ""}
    ).encode()
    with pytest.raises(MissingDependencyError) as caught:
        LightGBMFlavor().load(data)
    assert caught.value.remedy == "pip install 'podium[lightgbm]'"
