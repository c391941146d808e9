"""Accuracy metrics agree with scikit-learn on random data, and say why when they cannot
be computed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn import metrics

from podium.errors import InvalidInputError
from podium.monitoring.accuracy import classification_metrics, regression_metrics


def values(result: dict) -> dict[str, float | None]:
    return {name: m.value for name, m in result.items()}


@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    y = rng.integers(0, 2, n)
    proba = np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1)
    proba[:3] = [0.0, 1.0, 0.5]  # clipped by log loss, tied ranks for AUC
    pred = (proba > 0.5).astype(int)
    got = values(classification_metrics(y, pred, proba=proba))
    assert got == pytest.approx(
        {
            "accuracy": metrics.accuracy_score(y, pred),
            "precision": metrics.precision_score(y, pred),
            "recall": metrics.recall_score(y, pred),
            "f1": metrics.f1_score(y, pred),
            "auc": metrics.roc_auc_score(y, proba),
            "log_loss": metrics.log_loss(y, proba),
        },
        rel=1e-9,
    )


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(10 + seed)
    n = 300
    y = rng.choice(np.array(["cat", "dog", "eel"], dtype=object), n)
    pred = np.where(rng.random(n) < 0.6, y, rng.choice(["cat", "dog", "eel"], n))
    proba = rng.dirichlet([1, 1, 1], n)
    got = values(classification_metrics(y, pred, proba=proba, classes=["cat", "dog", "eel"]))
    assert got == pytest.approx(
        {
            "accuracy": metrics.accuracy_score(y, pred),
            "precision": metrics.precision_score(y, pred, average="macro"),
            "recall": metrics.recall_score(y, pred, average="macro"),
            "f1": metrics.f1_score(y, pred, average="macro"),
            "auc": metrics.roc_auc_score(y, proba, multi_class="ovr"),
            "log_loss": metrics.log_loss(y, proba, labels=["cat", "dog", "eel"]),
        },
        rel=1e-9,
    )


def test_string_labels_with_a_positive_class() -> None:
    y = np.array(["churn", "stay", "stay", "churn", "stay"], dtype=object)
    pred = np.array(["churn", "churn", "stay", "stay", "stay"], dtype=object)
    got = values(classification_metrics(y, pred, positive="churn"))
    assert got["precision"] == metrics.precision_score(y, pred, pos_label="churn")
    assert got["recall"] == metrics.recall_score(y, pred, pos_label="churn")


@pytest.mark.parametrize("seed", range(5))
def test_regression_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(50, 10, 200)
    pred = y + rng.normal(0, 3, 200)
    got = values(regression_metrics(y, pred))
    assert got == pytest.approx(
        {
            "mae": metrics.mean_absolute_error(y, pred),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y, pred))),
            "r2": metrics.r2_score(y, pred),
        },
        rel=1e-9,
    )


def test_inputs_may_be_lists_series_and_arrow() -> None:
    y, pred = [1, 0, 1, 1], [1, 0, 0, 1]
    expected = values(classification_metrics(y, pred))
    assert values(classification_metrics(pd.Series(y), pa.array(pred))) == expected
    assert values(classification_metrics([True, False, True, True], pred)) == expected


def test_not_enough_data_is_explicit() -> None:
    empty = classification_metrics([], [], proba=[])
    assert all(m.value is None and m.reason for m in empty.values())
    assert empty["accuracy"].reason == "not enough data: no labelled rows"
    one_class = classification_metrics([1, 1, 1], [1, 0, 1], proba=[0.9, 0.2, 0.8])
    assert one_class["auc"].value is None
    assert one_class["auc"].reason is not None and one_class["auc"].reason.startswith("one class")
    assert one_class["log_loss"].value is not None
    no_positive_predictions = classification_metrics([1, 0, 1], [0, 0, 0])
    assert no_positive_predictions["precision"].value is None
    assert no_positive_predictions["recall"].value == 0.0
    assert classification_metrics([1, 0], [1, 0])["auc"].reason == "no probabilities given"
    assert regression_metrics([3.0, 3.0], [2.0, 4.0])["r2"].value is None
    assert regression_metrics([], [])["mae"].reason == "not enough data: no labelled rows"
    json.dumps({k: v.to_dict() for k, v in empty.items()}, allow_nan=False)


def test_missing_labels_are_left_out_and_counted() -> None:
    result = classification_metrics([1, None, 0, 1], [1, 1, 0, None])
    assert (result["accuracy"].value, result["accuracy"].count) == (1.0, 2)
    regression = regression_metrics([1.0, float("nan"), 3.0], [1.0, 2.0, 5.0])
    assert (regression["mae"].value, regression["mae"].count) == (1.0, 2)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: classification_metrics(["1", "0"], [1, 0]), "y_pred"),
        (lambda: classification_metrics([1, "0"], [1, 0]), "y_true"),
        (lambda: classification_metrics([1, 0, 1], [1, 0]), "y_pred"),
        (lambda: classification_metrics([1, 0], [1, 0], proba=[0.5, 1.5]), "proba"),
        (lambda: classification_metrics([1, 0], [1, 0], proba=[0.5]), "proba"),
        (lambda: classification_metrics([1, 0], [1, 0], positive="yes"), "positive"),
        (lambda: classification_metrics([[1], [0]], [1, 0]), "y_true"),
        (lambda: classification_metrics([{"a": 1}], [1]), "y_true"),
        (lambda: regression_metrics(["a", "b"], ["a", "b"]), "y_true"),
    ],
)
def test_wrong_label_types_name_the_field(call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError) as caught:
        call()
    assert caught.value.field == field
