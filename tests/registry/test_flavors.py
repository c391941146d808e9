"""Flavors: every one round-trips; sklearn refuses untrusted types; PodiumModel predicts."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from podium.errors import InvalidInputError, MissingDependencyError
from podium.registry.flavors import FLAVORS, Flavor, PodiumModel, flavor_for, get_flavor
from podium.registry.flavors.onnx import OnnxFlavor
from podium.registry.flavors.sklearn import trusted_types
from podium.registry.signature import infer_signature


class Doubler(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """A custom transformer: its class lives outside scikit-learn, so skops won't trust it."""

    def fit(self, X: Any, y: Any = None) -> Doubler:
        return self

    def transform(self, X: Any) -> Any:
        return X * 2


class ThresholdModel:
    """A plain Python model with predict and predict_proba."""

    def __init__(self, column: str, threshold: float) -> None:
        self.column = column
        self.threshold = threshold

    def predict(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        return (frame[self.column] > self.threshold).astype(int).to_numpy()

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        positive = (frame[self.column] > self.threshold).astype(float).to_numpy()
        return np.column_stack([1 - positive, positive])


class PredictOnly:
    def predict(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        return np.zeros(len(frame))


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]), y


ESTIMATORS = {
    "logistic": lambda: LogisticRegression(),
    "forest": lambda: RandomForestClassifier(n_estimators=20, random_state=0),
    "boosting": lambda: GradientBoostingClassifier(n_estimators=20, random_state=0),
    "pipeline": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
}


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_sklearn_models_predict_identically_after_a_round_trip(
    kind: str, data: tuple[pd.DataFrame, np.ndarray[Any, Any]]
) -> None:
    X, y = data
    fitted = ESTIMATORS[kind]().fit(X, y)
    flavor = flavor_for(fitted)
    assert flavor.name == "sklearn"
    loaded = PodiumModel.from_bytes(
        flavor.save(fitted), flavor="sklearn", signature=infer_signature(X)
    )
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.classes == list(fitted.classes_)


def test_a_model_fitted_on_an_array_predicts_from_rows(
    data: tuple[pd.DataFrame, np.ndarray[Any, Any]],
) -> None:
    X, y = data
    fitted = LogisticRegression().fit(X.to_numpy(), y)
    model = PodiumModel(fitted, flavor="sklearn", signature=infer_signature(X.to_numpy()))
    rows = [{f"f{i}": float(value) for i, value in enumerate(X.iloc[0])}]
    assert model.predict(rows).tolist() == fitted.predict(X.to_numpy()[:1]).tolist()


def test_a_skops_file_with_an_untrusted_type_is_refused(
    data: tuple[pd.DataFrame, np.ndarray[Any, Any]],
) -> None:
    X, y = data
    pipeline = Pipeline([("double", Doubler()), ("model", LogisticRegression())]).fit(X, y)
    saved = get_flavor("sklearn").save(pipeline)
    with pytest.raises(InvalidInputError, match=f"'{__name__}.Doubler'") as caught:
        get_flavor("sklearn").load(saved)
    assert caught.value.code == "untrusted-type"
    assert caught.value.remedy


def test_only_the_scikit_learn_types_the_file_names_are_trusted() -> None:
    saved = sio.dumps(DecisionTreeClassifier().fit([[0], [1]], [0, 1]))
    assert trusted_types(saved) == ["sklearn.tree._tree.Tree"]
    assert get_flavor("sklearn").load(saved).predict([[1]]).tolist() == [1]


def test_a_pyfunc_model_round_trips(data: tuple[pd.DataFrame, np.ndarray[Any, Any]]) -> None:
    X, _ = data
    original = ThresholdModel("x0", 0.0)
    flavor = flavor_for(original)
    assert flavor.name == "pyfunc"
    model = PodiumModel.from_bytes(
        flavor.save(original), flavor="pyfunc", signature=infer_signature(X)
    )
    np.testing.assert_array_equal(model.predict(X), original.predict(X))
    assert model.predict_proba(X.iloc[0].to_dict()).shape == (1, 2)


def test_predict_proba_on_a_model_without_it_names_the_fix(
    data: tuple[pd.DataFrame, np.ndarray[Any, Any]],
) -> None:
    X, y = data
    for fitted in (PredictOnly(), LinearRegression().fit(X, y)):
        model = PodiumModel(fitted, flavor=flavor_for(fitted).name, signature=infer_signature(X))
        assert not model.supports_predict_proba
        with pytest.raises(InvalidInputError, match="has no predict_proba") as caught:
            model.predict_proba(X)
        assert "call predict instead" in str(caught.value.remedy)


def test_predict_validates_input_first(data: tuple[pd.DataFrame, np.ndarray[Any, Any]]) -> None:
    X, y = data
    model = PodiumModel(
        LogisticRegression().fit(X, y), flavor="sklearn", signature=infer_signature(X)
    )
    with pytest.raises(InvalidInputError, match="column 'x3' is missing"):
        model.predict(X.drop(columns="x3"))
    with pytest.raises(InvalidInputError, match="column 'x1' must be float64; got string"):
        model.predict({**X.iloc[0].to_dict(), "x1": "high"})


@pytest.mark.parametrize("flavor", FLAVORS, ids=lambda flavor: flavor.name)
def test_every_flavor_satisfies_the_protocol(flavor: Flavor) -> None:
    assert isinstance(flavor, Flavor)
    assert get_flavor(flavor.name) is flavor


def test_an_unknown_model_or_flavor_name_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="cannot save a model of type 'object'"):
        flavor_for(object())
    with pytest.raises(
        InvalidInputError,
        match="must be one of 'onnx', 'xgboost', 'lightgbm', 'torch', 'sklearn', 'pyfunc'",
    ):
        get_flavor("tensorflow")


def test_missing_onnxruntime_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(MissingDependencyError) as caught:
        OnnxFlavor().load(b"not needed")
    assert isinstance(caught.value, ImportError)
    assert "'onnxruntime'" in caught.value.message
    assert caught.value.remedy == "pip install 'podium[onnx]'"
