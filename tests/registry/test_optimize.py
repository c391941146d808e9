"""Optimization: ONNX and int8 versions agree with their source; the guard refuses drift."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading

from podium.errors import InvalidInputError, MissingDependencyError
from podium.registry.conversion import Comparison, check_agreement, compare, to_onnx
from podium.registry.flavors import PodiumModel, get_flavor
from podium.registry.signature import Signature, infer_signature

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxruntime")

Data = tuple[pd.DataFrame, np.ndarray[Any, Any], pd.DataFrame, np.ndarray[Any, Any]]

ESTIMATORS = {
    "pipeline": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
    "forest": lambda: RandomForestClassifier(n_estimators=50, random_state=0),
    "boosting": lambda: GradientBoostingClassifier(n_estimators=50, random_state=0),
}


@pytest.fixture(scope="module")
def data() -> Data:
    X, y = make_classification(
        n_samples=3000, n_features=10, n_informative=6, n_classes=3, random_state=0
    )
    X[:, 0] = np.round(X[:, 0] * 10)  # one integer-valued column, kept as int64
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]).astype({"x0": "int64"})
    return frame.iloc[:2000], y[:2000], frame.iloc[2000:], y[2000:]


def source_model(fitted: Any, signature: Signature) -> PodiumModel:
    data = get_flavor("sklearn").save(fitted)
    return PodiumModel.from_bytes(data, flavor="sklearn", signature=signature)


@pytest.mark.parametrize("quantize", [None, "int8"])
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_onnx_versions_predict_the_same_classes_on_held_out_rows(
    kind: str, quantize: Any, data: Data
) -> None:
    X_train, y_train, X_test, y_test = data
    fitted = ESTIMATORS[kind]().fit(X_train, y_train)
    signature = infer_signature(X_train)
    source = source_model(fitted, signature)
    onnx_bytes = to_onnx(fitted, signature, quantize=quantize)
    candidate = PodiumModel.from_bytes(
        onnx_bytes, flavor="onnx", signature=signature, classes=source.classes
    )

    comparison = compare(source, candidate, X_test, y=y_test)

    print(f"{kind} quantize={quantize}: {comparison.model_dump()}")
    assert comparison.agreement >= 0.99
    check_agreement(comparison)
    assert comparison.rows == len(X_test)
    assert comparison.accuracy_delta is not None
    assert abs(comparison.accuracy_delta) <= 0.01
    assert comparison.size_bytes_candidate == len(onnx_bytes)
    assert comparison.latency_batch_1000_ms_candidate > 0
    probabilities = candidate.predict_proba(X_test)
    assert probabilities.shape == source.predict_proba(X_test).shape
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-3)
    one = candidate.predict(X_test.iloc[0].to_dict())
    assert one.shape == (1,)
    assert one[0] == source.predict(X_test.iloc[:1])[0]


def test_int8_quantization_shrinks_a_network(data: Data) -> None:
    X_train, y_train, X_test, y_test = data
    fitted = make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(256,), max_iter=1000, early_stopping=True, random_state=0
        ),
    ).fit(X_train, y_train)
    signature = infer_signature(X_train)
    plain = to_onnx(fitted, signature)
    quantized = to_onnx(fitted, signature, quantize="int8")
    assert len(quantized) < len(plain) / 2
    candidate = PodiumModel.from_bytes(quantized, flavor="onnx", signature=signature)
    comparison = compare(source_model(fitted, signature), candidate, X_test, y=y_test)
    print(f"mlp quantize=int8: {comparison.model_dump()}")
    assert comparison.agreement >= 0.99


def test_a_regressor_converts_and_compares(data: Data) -> None:
    X_train, y_train, X_test, _ = data
    fitted = Ridge().fit(X_train, y_train.astype(float))
    signature = infer_signature(X_train)
    candidate = PodiumModel.from_bytes(
        to_onnx(fitted, signature), flavor="onnx", signature=signature
    )
    assert not candidate.supports_predict_proba
    with pytest.raises(InvalidInputError, match="has no predict_proba"):
        candidate.predict_proba(X_test)
    comparison = compare(source_model(fitted, signature), candidate, X_test)
    assert comparison.agreement >= 0.99
    assert comparison.accuracy_delta is None


def test_non_numeric_inputs_are_refused_before_conversion() -> None:
    frame = pd.DataFrame({"age": [30, 40], "city": ["Oslo", "Lima"]})
    with pytest.raises(InvalidInputError, match=r"'city' \(string\)") as caught:
        to_onnx(LogisticRegression(), infer_signature(frame))
    assert caught.value.remedy


def test_an_unknown_quantization_is_refused(data: Data) -> None:
    X_train, y_train, _, _ = data
    fitted = ESTIMATORS["pipeline"]().fit(X_train, y_train)
    with pytest.raises(InvalidInputError, match="quantize must be 'int8' or None; got 'fp16'"):
        to_onnx(fitted, infer_signature(X_train), quantize="fp16")  # type: ignore[arg-type]


def test_check_agreement_refuses_a_candidate_under_the_threshold() -> None:
    comparison = Comparison(
        rows=1000,
        agreement=0.97,
        accuracy_delta=-0.02,
        size_bytes_source=100,
        size_bytes_candidate=50,
        latency_single_ms_source=1.0,
        latency_single_ms_candidate=0.5,
        latency_batch_1000_ms_source=5.0,
        latency_batch_1000_ms_candidate=2.0,
    )
    with pytest.raises(InvalidInputError, match=r"97\.00% of 1000 rows") as caught:
        check_agreement(comparison)
    assert caught.value.code == "agreement-too-low"
    check_agreement(comparison, threshold=0.95)


def test_missing_skl2onnx_names_the_extra(data: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    X_train, y_train, _, _ = data
    fitted = ESTIMATORS["pipeline"]().fit(X_train, y_train)
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(MissingDependencyError) as caught:
        to_onnx(fitted, infer_signature(X_train))
    assert caught.value.remedy == "pip install 'podium[onnx]'"


def test_an_estimator_skl2onnx_cannot_convert_is_named(data: Data) -> None:
    X_train, y_train, _, _ = data
    fitted = LabelSpreading().fit(X_train.iloc[:200], y_train[:200])
    with pytest.raises(InvalidInputError, match="cannot convert LabelSpreading to ONNX"):
        to_onnx(fitted, infer_signature(X_train))


def test_a_loaded_onnx_classifier_knows_its_classes_from_the_graph() -> None:
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(x, [3, 3, 7, 7])
    onnx_model = get_flavor("onnx").load(to_onnx(model, infer_signature(x)))
    assert onnx_model.classes_ == [3, 7]
