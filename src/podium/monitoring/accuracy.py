"""Model accuracy from delayed labels: classification and regression metrics.

Each metric is a :class:`MetricValue`; one that cannot be computed (no labelled rows,
one class only, no positive predictions) has ``value=None`` and a ``reason``, never a
NaN. Rows whose label or prediction is missing are left out and counted::

    classification_metrics(labels, predictions, proba=p1)["auc"].value   # 0.91
    regression_metrics(y, y_hat)["rmse"]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from podium.errors import InvalidInputError

__all__ = [
    "ArrayLike",
    "MetricValue",
    "classification_metrics",
    "label_kind",
    "missing_mask",
    "paired_labels",
    "regression_metrics",
    "to_labels",
]

ArrayLike: TypeAlias = Any  # a list, numpy array, pandas Series or pyarrow array
LabelKind: TypeAlias = Literal["number", "string", "empty"]


@dataclass(frozen=True)
class MetricValue:
    """A metric over ``count`` rows: its value, or None and the reason it has none."""

    name: str
    value: float | None
    reason: str | None = None
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)


def to_labels(values: ArrayLike, *, field: str) -> np.ndarray[Any, Any]:
    """``values`` as a 1-D numpy array (object dtype for strings, None for missing)."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    elif hasattr(values, "to_numpy"):  # pandas
        values = values.to_numpy()
    try:
        # plain sequences stay objects: numpy would silently turn [1, "0"] into strings
        array = np.asarray(values, dtype=object if isinstance(values, list | tuple) else None)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"the '{field}' parameter must be a 1-D sequence of labels: {exc}", field=field
        ) from exc
    if array.ndim != 1:
        raise InvalidInputError(
            f"the '{field}' parameter must be 1-D; got shape {array.shape} instead",
            field=field,
        )
    return array


def missing_mask(array: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """True where a label is missing (None or NaN)."""
    if array.dtype.kind == "f":
        nan: np.ndarray[Any, np.dtype[np.bool_]] = np.isnan(array)
        return nan
    if array.dtype.kind == "O":
        return np.fromiter(
            (v is None or (isinstance(v, float) and math.isnan(v)) for v in array),
            dtype=bool,
            count=array.size,
        )
    return np.zeros(array.size, dtype=bool)


def label_kind(array: np.ndarray[Any, Any], *, field: str) -> LabelKind:
    """Whether labels are numbers (bools count) or strings; mixed raises."""
    if array.size == 0:
        return "empty"
    if array.dtype.kind in "biuf":
        return "number"
    if array.dtype.kind in "US":
        return "string"
    kinds = {
        "string" if isinstance(v, str) else "number"
        for v in array
        if v is not None and not (isinstance(v, float) and math.isnan(v))
        if isinstance(v, str | int | float | bool | np.number | np.bool_) or _bad_label(v, field)
    }
    if len(kinds) > 1:
        raise InvalidInputError(
            f"the '{field}' labels mix numbers and strings",
            field=field,
            remedy="give every label one type",
        )
    return "empty" if not kinds else ("string" if "string" in kinds else "number")


def _bad_label(value: Any, field: str) -> bool:
    raise InvalidInputError(
        f"the '{field}' labels must be numbers or strings; got {type(value).__name__}",
        field=field,
    )


def paired_labels(
    y_true: ArrayLike, y_pred: ArrayLike, extra: np.ndarray[Any, Any] | None = None
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any] | None, LabelKind]:
    """Labels and predictions of equal length and one kind, missing pairs dropped.

    ``extra`` (e.g. probabilities) is filtered alongside. Numeric labels come back as
    float64; the last item is the labels' kind ("empty" when no pair is left).
    """
    truth, pred = to_labels(y_true, field="y_true"), to_labels(y_pred, field="y_pred")
    if truth.size != pred.size:
        raise InvalidInputError(
            f"y_true has {truth.size} labels but y_pred has {pred.size} predictions",
            field="y_pred",
            remedy="pass one prediction per label",
        )
    if extra is not None and len(extra) != truth.size:
        raise InvalidInputError(
            f"proba has {len(extra)} rows but y_true has {truth.size} labels",
            field="proba",
        )
    kind_true, kind_pred = label_kind(truth, field="y_true"), label_kind(pred, field="y_pred")
    if "empty" not in (kind_true, kind_pred) and kind_true != kind_pred:
        raise InvalidInputError(
            f"labels are {kind_true}s but predictions are {kind_pred}s",
            field="y_pred",
            remedy="compare labels and predictions of the same type (e.g. 1 and 1, not '1')",
        )
    keep = ~(missing_mask(truth) | missing_mask(pred))
    if not keep.all():
        truth, pred = truth[keep], pred[keep]
        extra = None if extra is None else extra[keep]
    kind = kind_true if kind_true != "empty" else kind_pred
    if kind == "number":
        truth, pred = truth.astype(np.float64), pred.astype(np.float64)
    return truth, pred, extra, kind if truth.size else "empty"


def _none(names: Sequence[str], reason: str, count: int) -> dict[str, MetricValue]:
    return {n: MetricValue(n, None, reason, count) for n in names}


_CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "auc", "log_loss")


def classification_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    proba: ArrayLike | None = None,
    positive: Any = None,
    classes: Sequence[Any] | None = None,
) -> dict[str, MetricValue]:
    """Accuracy, precision, recall, F1, ROC AUC and log loss, as scikit-learn computes them.

    With two classes (or a ``positive`` class given) precision, recall and F1 are those
    of the ``positive`` class (default: 1, True, or the larger of the two labels);
    otherwise they are macro averages over the classes seen (a class never predicted
    counts as precision 0, like scikit-learn's ``zero_division=0``). ``proba`` is the
    probability of the positive class (1-D) or of every class (2-D, columns in
    ``classes`` order, default sorted labels); AUC and log loss need it.
    """
    probs = None if proba is None else _probabilities(proba)
    truth, pred, probs, kind = paired_labels(y_true, y_pred, probs)
    n = int(truth.size)
    if kind == "empty":
        return _none(_CLASSIFICATION, "not enough data: no labelled rows", 0)
    labels = np.unique(np.concatenate([truth, pred]))
    out = {"accuracy": MetricValue("accuracy", float(np.mean(truth == pred)), None, n)}
    if positive is not None and kind == "number":
        positive = _number(positive)
    binary = positive is not None or labels.size <= 2
    if binary:
        positive = _default_positive(labels) if positive is None else positive
        out.update(_binary_scores(truth == positive, pred == positive, n))
    else:
        out.update(_macro_scores(truth, pred, labels, n))
    out.update(_probability_scores(truth, probs, positive if binary else None, classes, kind))
    return out


def _number(value: Any) -> float:
    if isinstance(value, str):
        raise InvalidInputError(
            f"the positive class {value!r} is a string but the labels are numbers",
            field="positive",
        )
    return float(value)


def _default_positive(labels: np.ndarray[Any, Any]) -> Any:
    if labels.dtype.kind == "f" and 1.0 in labels:
        return 1.0
    return labels[-1]


def _ratio(name: str, top: int, bottom: int, why: str, n: int) -> MetricValue:
    if bottom == 0:
        return MetricValue(name, None, why, n)
    return MetricValue(name, top / bottom, None, n)


def _binary_scores(
    truth: np.ndarray[Any, Any], pred: np.ndarray[Any, Any], n: int
) -> dict[str, MetricValue]:
    tp = int(np.count_nonzero(truth & pred))
    fp = int(np.count_nonzero(~truth & pred))
    fn = int(np.count_nonzero(truth & ~pred))
    return {
        "precision": _ratio("precision", tp, tp + fp, "no positive predictions", n),
        "recall": _ratio("recall", tp, tp + fn, "no positive labels", n),
        "f1": _ratio("f1", 2 * tp, 2 * tp + fp + fn, "no positive labels or predictions", n),
    }


def _macro_scores(
    truth: np.ndarray[Any, Any], pred: np.ndarray[Any, Any], labels: np.ndarray[Any, Any], n: int
) -> dict[str, MetricValue]:
    t = truth[:, None] == labels[None, :]
    p = pred[:, None] == labels[None, :]
    tp = np.count_nonzero(t & p, axis=0).astype(np.float64)
    predicted, actual = p.sum(axis=0), t.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denominator = predicted + actual
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return {
        name: MetricValue(name, float(np.mean(values)), None, n)
        for name, values in (("precision", precision), ("recall", recall), ("f1", f1))
    }


def _probabilities(proba: ArrayLike) -> np.ndarray[Any, Any]:
    try:
        array = np.asarray(proba, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"the 'proba' parameter must hold numbers: {exc}", field="proba"
        ) from exc
    if array.ndim not in (1, 2):
        raise InvalidInputError(
            f"the 'proba' parameter must be 1-D or 2-D; got shape {array.shape}", field="proba"
        )
    finite = array[~np.isnan(array)]
    if np.any((finite < 0) | (finite > 1)):
        raise InvalidInputError(
            "probabilities must be between 0 and 1", field="proba", remedy="pass probabilities"
        )
    return array


def _probability_scores(
    truth: np.ndarray[Any, Any],
    probs: np.ndarray[Any, Any] | None,
    positive: Any,
    classes: Sequence[Any] | None,
    kind: LabelKind,
) -> dict[str, MetricValue]:
    if probs is None:
        return _none(("auc", "log_loss"), "no probabilities given", int(truth.size))
    keep = ~np.isnan(probs) if probs.ndim == 1 else ~np.isnan(probs).any(axis=1)
    truth, probs = truth[keep], probs[keep]
    n = int(truth.size)
    if n == 0:
        return _none(("auc", "log_loss"), "not enough data: no rows with probabilities", 0)
    if probs.ndim == 1:
        if positive is None:
            raise InvalidInputError(
                "a 1-D proba is the probability of the positive class, so it needs two "
                "classes or positive=",
                field="proba",
                remedy="pass positive=, or a 2-D proba with one column per class",
            )
        hit = truth == positive
        return {"auc": _auc(hit, probs, n), "log_loss": _log_loss_binary(hit, probs, n)}
    order = np.unique(truth) if classes is None else to_labels(classes, field="classes")
    if kind == "number":
        order = order.astype(np.float64)
    if len(order) != probs.shape[1]:
        raise InvalidInputError(
            f"proba has {probs.shape[1]} columns but there are {len(order)} classes",
            field="proba",
            remedy="pass classes= naming the class of each proba column",
        )
    return _multiclass_probability_scores(truth, probs, order, n)


def _auc(hit: np.ndarray[Any, Any], scores: np.ndarray[Any, Any], n: int) -> MetricValue:
    positives = int(np.count_nonzero(hit))
    negatives = int(hit.size - positives)
    if positives == 0 or negatives == 0:
        return MetricValue("auc", None, "one class only: AUC needs both classes", n)
    from scipy.stats import rankdata  # ~0.4 s to import: only when an AUC is computed

    ranks = rankdata(scores)
    value = (ranks[hit].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    return MetricValue("auc", float(value), None, n)


def _log_loss_binary(hit: np.ndarray[Any, Any], p: np.ndarray[Any, Any], n: int) -> MetricValue:
    eps = np.finfo(np.float64).eps
    clipped = np.clip(p, eps, 1 - eps)
    value = -np.mean(np.where(hit, np.log(clipped), np.log1p(-clipped)))
    return MetricValue("log_loss", float(value), None, n)


def _multiclass_probability_scores(
    truth: np.ndarray[Any, Any], probs: np.ndarray[Any, Any], order: np.ndarray[Any, Any], n: int
) -> dict[str, MetricValue]:
    column = {label: i for i, label in enumerate(order.tolist())}
    unknown = sorted({str(v) for v in truth.tolist() if v not in column})
    if unknown:
        raise InvalidInputError(f"labels {unknown[:5]} have no proba column", field="classes")
    index = np.array([column[v] for v in truth.tolist()])
    eps = np.finfo(np.float64).eps
    clipped = np.clip(probs, eps, 1 - eps)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    loss = MetricValue("log_loss", float(-np.mean(np.log(clipped[np.arange(n), index]))), None, n)
    aucs = [_auc(index == i, probs[:, i], n).value for i in range(len(order))]
    if any(a is None for a in aucs):
        auc = MetricValue("auc", None, "a class has no labelled rows: one-vs-rest AUC undefined", n)
    else:
        auc = MetricValue("auc", float(np.mean([a for a in aucs if a is not None])), None, n)
    return {"auc": auc, "log_loss": loss}


_REGRESSION = ("mae", "rmse", "r2")


def regression_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, MetricValue]:
    """Mean absolute error, root mean squared error and R², as scikit-learn computes them.

    R² is None when the labels are constant (it is undefined), instead of a made-up 0 or 1.
    """
    truth, pred, _, kind = paired_labels(y_true, y_pred)
    if kind == "empty":
        return _none(_REGRESSION, "not enough data: no labelled rows", 0)
    if kind != "number":
        raise InvalidInputError(
            "regression metrics need numeric labels; got strings",
            field="y_true",
            remedy="use classification_metrics for class labels",
        )
    n = int(truth.size)
    errors = pred - truth
    out = {
        "mae": MetricValue("mae", float(np.mean(np.abs(errors))), None, n),
        "rmse": MetricValue("rmse", float(np.sqrt(np.mean(errors**2))), None, n),
    }
    total = float(np.sum((truth - truth.mean()) ** 2))
    if n < 2 or total == 0:
        out["r2"] = MetricValue("r2", None, "constant labels: R² is undefined", n)
    else:
        out["r2"] = MetricValue("r2", 1 - float(np.sum(errors**2)) / total, None, n)
    return out
