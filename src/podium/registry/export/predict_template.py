"""Predictions of an exported podium model version; needs only onnxruntime and numpy.

This folder is a podium edge bundle: ``model.onnx`` (the graph), ``signature.json`` (its
input columns, in order, and its class labels) and ``SHA256SUMS`` (checked before the
graph is loaded). Use it from Python::

    from predict import predict
    predict([{"tenure_months": 24, "monthly_charges": 89.99}])   # -> [0]

or from a shell: ``python predict.py rows.json`` prints the predictions as a JSON list
(``rows.json`` holds a list of rows; ``-`` reads standard input). A row is an object of
column values, or a list of them in the signature's order. A classifier's predictions
are its class labels, as podium serving answers them (the most probable class);
:func:`predict_proba` gives each row's class probabilities.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime  # type: ignore[import-untyped, unused-ignore]

__all__ = ["BundleError", "predict", "predict_proba"]

HERE = Path(__file__).resolve().parent
_loaded: dict[str, Any] = {}


class BundleError(ValueError):
    """Bad input rows, or a damaged bundle; the message says which and what to do."""


def _signature() -> dict[str, Any]:
    if "signature" not in _loaded:
        _loaded["signature"] = json.loads((HERE / "signature.json").read_text())
    found: dict[str, Any] = _loaded["signature"]
    return found


def _session() -> Any:
    if "session" not in _loaded:
        data = (HERE / "model.onnx").read_bytes()
        expected = _checksums().get("model.onnx")
        if expected != hashlib.sha256(data).hexdigest():
            raise BundleError(
                "model.onnx does not match its SHA256SUMS entry; the bundle is damaged: "
                "export it again"
            )
        _loaded["session"] = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    return _loaded["session"]


def _checksums() -> dict[str, str]:
    sums: dict[str, str] = {}
    for line in (HERE / "SHA256SUMS").read_text().splitlines():
        digest, _, name = line.partition("  ")
        sums[name.strip()] = digest.strip()
    return sums


def _matrix(rows: Any) -> np.ndarray[Any, Any]:
    names = [column["name"] for column in _signature()["inputs"]]
    if not isinstance(rows, list):
        raise BundleError(f"rows must be a list of rows; got {type(rows).__name__} instead")
    values: list[list[float]] = []
    for index, row in enumerate(rows):
        if isinstance(row, dict):
            missing = [name for name in names if name not in row]
            if missing:
                raise BundleError(f"row {index} lacks the columns {missing}; expected {names}")
            cells = [row[name] for name in names]
        elif isinstance(row, list) and len(row) == len(names):
            cells = row
        else:
            raise BundleError(
                f"row {index} must be an object of the columns {names} or a list of "
                f"{len(names)} values; got {row!r} instead"
            )
        values.append([_number(cell, index) for cell in cells])
    return np.array(values, dtype=np.float64).reshape(len(values), len(names))


def _number(cell: Any, index: int) -> float:
    if isinstance(cell, bool):
        return 1.0 if cell else 0.0
    if isinstance(cell, int | float) and math.isfinite(cell):
        return float(cell)
    raise BundleError(f"row {index} has {cell!r} where a finite number is expected")


def _run(rows: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    session = _session()
    matrix = _matrix(rows)
    if len(matrix) == 0:
        return np.zeros(0), None
    (feed,) = session.get_inputs()
    dtype = np.float64 if feed.type == "tensor(double)" else np.float32
    outputs = [output.name for output in session.get_outputs()]
    label_name = "label" if "label" in outputs else outputs[0]
    wanted = [label_name] + (["probabilities"] if "probabilities" in outputs else [])
    result = session.run(wanted, {feed.name: matrix.astype(dtype)})
    labels = np.asarray(result[0]).reshape(len(matrix), -1)[:, 0]
    probabilities = np.asarray(result[1]) if len(result) > 1 else None
    return labels, probabilities


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def predict(rows: list[Any]) -> list[Any]:
    """One prediction per row: a class label for a classifier, a number for a regressor."""
    labels, probabilities = _run(rows)
    classes = _signature().get("classes")
    if probabilities is not None and classes:
        return [classes[i] for i in probabilities.argmax(axis=1).tolist()]
    return [_plain(value) for value in labels.tolist()]


def predict_proba(rows: list[Any]) -> list[dict[str, float]]:
    """Each row's class probabilities (class label, as a string, to probability)."""
    _, probabilities = _run(rows)
    classes = _signature().get("classes")
    if probabilities is None or not classes:
        raise BundleError("this model gives no class probabilities; call predict instead")
    keys = [str(label) for label in classes]
    return [dict(zip(keys, row, strict=True)) for row in probabilities.tolist()]


def main(argv: list[str]) -> int:
    """``python predict.py rows.json``: print the predictions as a JSON list."""
    if len(argv) != 1:
        print("usage: python predict.py ROWS.json  (a JSON list of rows; - for stdin)",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        text = sys.stdin.read() if argv[0] == "-" else Path(argv[0]).read_text()
        rows = json.loads(text)
        print(json.dumps(predict(rows)))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read rows from {argv[0]}: {exc}", file=sys.stderr)
        return 2
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
