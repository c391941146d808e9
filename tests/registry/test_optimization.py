"""optimize_version: the ONNX version is registered beside its source, or refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from podium.errors import InvalidInputError
from podium.platform import Platform
from podium.registry.optimization import optimize_version

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture
def frames() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    X, y = make_classification(n_samples=1200, n_features=6, n_informative=4, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    return frame.iloc[:800], y[:800], frame.iloc[800:], y[800:]


@pytest.mark.parametrize(("quantize", "tag"), [(None, "onnx"), ("int8", "onnx-int8")])
def test_the_onnx_version_is_registered_derived_from_its_source(
    platform: Platform,
    frames: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray],
    quantize: str | None,
    tag: str,
) -> None:
    X_train, y_train, X_test, y_test = frames
    fitted = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X_train, y_train)
    source = platform.registry.register("churn", fitted, input_example=X_train.iloc[:5])

    optimized, comparison = optimize_version(
        platform.registry,
        "churn/1",
        sample=X_test,
        labels=y_test,
        quantize=quantize,  # type: ignore[arg-type]
    )

    assert optimized.ref == "churn/2"
    assert optimized.flavor == "onnx"
    assert optimized.derived_from == source.ref
    assert optimized.tags == {"optimized": tag}
    assert optimized.signature == source.signature
    assert comparison.rows == len(X_test)
    assert comparison.agreement >= 0.99
    assert comparison.accuracy_delta is not None and abs(comparison.accuracy_delta) <= 0.01
    loaded = platform.registry.load("churn/2")
    assert (loaded.predict(X_test) == fitted.predict(X_test)).mean() >= 0.99
    lineage = platform.registry.lineage("churn/2")
    assert {"source": "model:churn/1", "target": "model:churn/2", "kind": "derived_from"} in (
        lineage["edges"]
    )


def test_a_candidate_under_the_threshold_is_refused_and_not_registered(
    platform: Platform,
) -> None:
    # x1 + x2 is small, but each is near 1e8, where float32 (ONNX) keeps multiples of 8.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x1": 1e8 + rng.uniform(-1, 1, 200), "x2": -1e8 + rng.uniform(-1, 1, 200)}
    )
    fitted = LogisticRegression().fit(frame, np.arange(200) % 2)
    fitted.coef_, fitted.intercept_ = np.array([[1.0, 1.0]]), np.array([0.0])
    platform.registry.register("fragile", fitted, input_example=frame.iloc[:5])

    with pytest.raises(InvalidInputError, match=r"agrees with the source on .* of 200 rows"):
        optimize_version(platform.registry, "fragile/1", sample=frame)

    assert [v.version for v in platform.registry.list_versions("fragile")] == [1]


def test_only_scikit_learn_versions_are_optimized(
    platform: Platform, frames: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]
) -> None:
    X_train, y_train, X_test, _ = frames
    fitted = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X_train, y_train)
    platform.registry.register("churn", fitted, input_example=X_train.iloc[:5])
    optimize_version(platform.registry, "churn/1", sample=X_test)

    with pytest.raises(InvalidInputError, match="churn/2 is a 'onnx' model"):
        optimize_version(platform.registry, "churn/2", sample=X_test)


@pytest.mark.parametrize("threshold", [0.0, 1.5])
def test_the_threshold_must_be_a_share(platform: Platform, threshold: float) -> None:
    with pytest.raises(InvalidInputError, match="the threshold must be in"):
        optimize_version(platform.registry, "churn/1", sample=pd.DataFrame(), threshold=threshold)
