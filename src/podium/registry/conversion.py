"""Conversion: a scikit-learn model to ONNX (optionally int8), and the two compared.

``podium models optimize`` is :func:`to_onnx`, then :func:`compare` on a held-out
sample, then :func:`check_agreement` before the result is registered as a new version
derived from the source. Needs the ``onnx`` extra (skl2onnx, onnx, onnxruntime), imported
here only, when a conversion is asked for.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from podium.errors import InvalidInputError, MissingDependencyError
from podium.registry.flavors import PodiumModel, get_flavor
from podium.registry.signature import Signature

__all__ = ["Comparison", "check_agreement", "compare", "to_onnx"]

_NUMERIC = {"int64", "float64", "bool"}
_SINGLE_ROW_RUNS = 20
_BATCH_RUNS = 3
_BATCH_ROWS = 1000


def to_onnx(model: Any, signature: Signature, *, quantize: Literal["int8"] | None = None) -> bytes:
    """The scikit-learn ``model`` as ONNX bytes, optionally with int8 dynamic quantization.

    The graph has one float input named ``input`` holding every signature column in
    order; classifiers output ``label`` and ``probabilities`` (zipmap disabled).
    """
    if quantize not in (None, "int8"):
        raise InvalidInputError(
            f"quantize must be 'int8' or None; got {quantize!r} instead",
            field="quantize",
            remedy="pass quantize='int8', or leave it out for a float32 graph",
        )
    other = [spec for spec in signature.inputs if spec.type not in _NUMERIC]
    if other:
        columns = ", ".join(f"'{spec.name}' ({spec.type})" for spec in other)
        raise InvalidInputError(
            f"ONNX conversion needs numeric inputs; the columns {columns} are not",
            field="signature",
            remedy="encode those columns as numbers before training, or serve the "
            "scikit-learn version",
        )
    try:
        from skl2onnx import convert_sklearn  # type: ignore[import-untyped, unused-ignore]
        from skl2onnx.common.data_types import (  # type: ignore[import-untyped, unused-ignore]
            FloatTensorType,
        )
    except ImportError as exc:
        raise MissingDependencyError("skl2onnx", extra="onnx") from exc
    from sklearn.base import is_classifier  # the model is one: scikit-learn is loaded

    options = {id(model): {"zipmap": False}} if is_classifier(model) else None
    initial_types = [("input", FloatTensorType([None, len(signature.inputs)]))]
    try:
        graph = convert_sklearn(model, initial_types=initial_types, options=options)
    except (RuntimeError, NameError, TypeError, ValueError) as exc:
        # skl2onnx signals an unsupported estimator with these; say which one and why.
        raise InvalidInputError(
            f"skl2onnx cannot convert {type(model).__name__} to ONNX: {_first_line(exc)}",
            field="model",
            remedy="serve the scikit-learn version, or use an estimator skl2onnx supports",
        ) from exc
    data: bytes = graph.SerializeToString()
    return _quantize_int8(data) if quantize == "int8" else data


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _quantize_int8(data: bytes) -> bytes:
    """``data`` with weights dynamically quantized to int8 by onnxruntime."""
    try:
        from onnxruntime.quantization import (  # type: ignore[import-untyped, unused-ignore]
            QuantType,
            quantize_dynamic,
        )
    except ImportError as exc:
        raise MissingDependencyError("onnxruntime", extra="onnx") from exc
    with tempfile.TemporaryDirectory(prefix="podium-quantize-") as folder:
        source, target = Path(folder, "model.onnx"), Path(folder, "model.int8.onnx")
        source.write_bytes(_with_default_opset(data))
        quantize_dynamic(source, target, weight_type=QuantType.QInt8)
        return target.read_bytes()


def _with_default_opset(data: bytes) -> bytes:
    """``data`` declaring the default ``ai.onnx`` opset exactly once, as the quantizer needs.

    skl2onnx may declare it twice, and graphs made only of ``ai.onnx.ml`` operators may
    omit it (such graphs pass through quantization unchanged: only default-domain
    operators such as MatMul and Gemm are quantized).
    """
    import onnx
    from skl2onnx import get_latest_tested_opset_version  # type: ignore[import-untyped, unused-ignore]

    graph = onnx.load_from_string(data)
    versions: dict[str, int] = {}
    for opset in graph.opset_import:
        domain = "" if opset.domain == "ai.onnx" else opset.domain
        versions[domain] = max(versions.get(domain, 0), opset.version)
    versions.setdefault("", get_latest_tested_opset_version())
    del graph.opset_import[:]
    graph.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in versions.items())
    serialized: bytes = graph.SerializeToString()
    return serialized


class Comparison(BaseModel):
    """How a candidate (say, an int8 ONNX graph) compares to its source on one sample.

    ``agreement`` is the share of rows where both predict the same (for float outputs:
    equal within a relative 1e-3); ``accuracy_delta`` is candidate minus source accuracy,
    known only when labels were given. Latencies are medians of end-to-end ``predict``
    calls, signature validation included.
    """

    model_config = ConfigDict(frozen=True)

    rows: int
    agreement: float
    accuracy_delta: float | None
    size_bytes_source: int
    size_bytes_candidate: int
    latency_single_ms_source: float
    latency_single_ms_candidate: float
    latency_batch_1000_ms_source: float
    latency_batch_1000_ms_candidate: float


def compare(
    source: PodiumModel,
    candidate: PodiumModel,
    X: pd.DataFrame,
    *,
    y: Sequence[Any] | np.ndarray[Any, Any] | pd.Series[Any] | None = None,
) -> Comparison:
    """Compare ``candidate`` with ``source`` on the held-out rows ``X`` (labels ``y``)."""
    if len(X) == 0:
        raise InvalidInputError(
            "the comparison sample has no rows",
            field="X",
            remedy="pass a held-out sample of at least a few hundred rows",
        )
    expected, got = source.predict(X), candidate.predict(X)
    delta = None
    if y is not None:
        labels = np.asarray(y)
        delta = float(np.mean(got == labels)) - float(np.mean(expected == labels))
    batch = X.sample(n=_BATCH_ROWS, replace=len(X) < _BATCH_ROWS, random_state=0)
    single = X.iloc[:1]
    return Comparison(
        rows=len(X),
        agreement=_agreement(expected, got),
        accuracy_delta=delta,
        size_bytes_source=_size(source),
        size_bytes_candidate=_size(candidate),
        latency_single_ms_source=_median_ms(lambda: source.predict(single), _SINGLE_ROW_RUNS),
        latency_single_ms_candidate=_median_ms(lambda: candidate.predict(single), _SINGLE_ROW_RUNS),
        latency_batch_1000_ms_source=_median_ms(lambda: source.predict(batch), _BATCH_RUNS),
        latency_batch_1000_ms_candidate=_median_ms(lambda: candidate.predict(batch), _BATCH_RUNS),
    )


def check_agreement(comparison: Comparison, threshold: float = 0.99) -> None:
    """Refuse a candidate that agrees with its source on fewer than ``threshold`` rows."""
    if comparison.agreement < threshold:
        raise InvalidInputError(
            f"the candidate agrees with the source on {comparison.agreement:.2%} of "
            f"{comparison.rows} rows; at least {threshold:.2%} is required",
            code="agreement-too-low",
            field="agreement",
            remedy="keep the source version, try without quantization, or lower the "
            "threshold if the difference is acceptable",
        )


def _agreement(expected: np.ndarray[Any, Any], got: np.ndarray[Any, Any]) -> float:
    if expected.shape != got.shape:
        raise InvalidInputError(
            f"source and candidate predictions differ in shape: {expected.shape} and {got.shape}",
            remedy="compare a model only with a conversion of itself",
        )
    if expected.dtype.kind == "f" and got.dtype.kind == "f":
        same = np.isclose(expected, got, rtol=1e-3, atol=1e-6)
    else:
        same = expected == got
    return float(np.mean(same))


def _size(model: PodiumModel) -> int:
    if model.size_bytes is not None:
        return model.size_bytes
    return len(get_flavor(model.flavor).save(model.model))


def _median_ms(call: Callable[[], object], runs: int) -> float:
    call()  # warm up: first calls pay for lazy initialisation
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)
