"""A model's input and output schema: inferred from an example, checked on every predict.

A :class:`Signature` lists columns with a type (``int64``, ``float64``, ``bool``,
``string``, ``datetime``) and whether nulls are allowed. :meth:`Signature.validate` turns
what a caller sends (a DataFrame, one dict row, a list of dict rows, or a 2-D array) into
a DataFrame with exactly the signature's columns, in its order, cast without loss; extra
columns are dropped. Anything else fails with an :class:`InvalidInputError` that names the
column, the expected type and the value that did not fit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from podium.errors import InvalidInputError

__all__ = [
    "ColumnSpec",
    "ColumnType",
    "Rows",
    "Signature",
    "check_signature",
    "infer_signature",
    "to_frame",
]

ColumnType: TypeAlias = Literal["int64", "float64", "bool", "string", "datetime"]
Rows: TypeAlias = pd.DataFrame | np.ndarray | Mapping[str, Any] | Sequence[Mapping[str, Any]]

_ACCEPTS: dict[str, set[str]] = {
    "int64": {"int64"},
    "float64": {"int64", "float64"},
    "bool": {"bool"},
    "string": {"string"},
    "datetime": {"datetime"},
}


class ColumnSpec(BaseModel):
    """One column of a signature: its name, type and whether it may hold nulls."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: ColumnType
    nullable: bool = False


class Signature(BaseModel):
    """The columns a model reads (``inputs``) and the columns it returns (``outputs``)."""

    model_config = ConfigDict(frozen=True)

    inputs: list[ColumnSpec]
    outputs: list[ColumnSpec] = []

    # Shadows pydantic's deprecated ``BaseModel.validate`` classmethod on purpose: this is
    # the one verb callers use ("validate this input"), and pydantic v2 never calls it.
    def validate(self, rows: Rows) -> pd.DataFrame:  # type: ignore[override]
        """Return ``rows`` as a DataFrame of the input columns, in order, cast losslessly.

        Raises :class:`InvalidInputError` naming the first missing column, the first
        column holding a value of the wrong type, or a null in a non-nullable column.
        """
        frame = to_frame(rows, names=[spec.name for spec in self.inputs])
        missing = [spec.name for spec in self.inputs if spec.name not in frame.columns]
        if missing:
            raise InvalidInputError(
                f"column '{missing[0]}' is missing from the input; the model expects "
                f"{self.describe_inputs()}",
                field=missing[0],
                remedy=f"add the column '{missing[0]}' to every row",
            )
        selected = frame[[spec.name for spec in self.inputs]]
        if _fits_as_is(selected, self.inputs):
            return selected
        columns = {spec.name: _cast(frame[spec.name], spec) for spec in self.inputs}
        return pd.DataFrame(columns, index=frame.index)

    def describe_inputs(self) -> str:
        """The input columns as ``name (type)`` pairs, for messages and the CLI."""
        return ", ".join(f"{spec.name} ({spec.type})" for spec in self.inputs)


def check_signature(value: object) -> Signature:
    """``value`` as a :class:`Signature`: one already, or its dict form.

    The dict form is what a :class:`~podium.registry.types.ModelVersion` holds
    (``mv.signature``), so another version's signature can be passed on as it is.
    """
    if isinstance(value, Signature):
        return value
    remedy = (
        "pass a Signature, a version's signature (registry.get_version(ref).signature), "
        "or input_example=X[:5] to infer one"
    )
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"the 'signature' parameter must be a Signature or its dict form; "
            f"got {type(value).__name__} instead",
            field="signature",
            remedy=remedy,
        )
    try:
        return Signature.model_validate(dict(value))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "signature"
        raise InvalidInputError(
            f"the 'signature' parameter is not a signature: {where}: {first['msg']}",
            field="signature",
            remedy=remedy,
        ) from None


def infer_signature(input_example: Rows, output_example: Any = None) -> Signature:
    """Infer a signature from an example input and, optionally, an example output.

    A 2-D array becomes columns ``f0`` .. ``f{n-1}``; a dict is one row. A column is
    nullable when the example holds a null in it. A 1-D output is one column named
    ``prediction``.
    """
    inputs = _specs(to_frame(input_example))
    if not inputs:
        raise InvalidInputError(
            "the input example has no columns",
            field="input_example",
            remedy="pass a few rows of the data the model is trained on",
        )
    outputs: list[ColumnSpec] = []
    if output_example is not None:
        if isinstance(output_example, pd.Series):
            output_example = output_example.to_frame(str(output_example.name or "prediction"))
        elif not isinstance(output_example, pd.DataFrame | Mapping):
            array = np.asarray(output_example)
            if array.ndim <= 1:
                output_example = pd.DataFrame({"prediction": array.reshape(-1)})
            else:
                output_example = array
        outputs = _specs(to_frame(output_example))
    return Signature(inputs=inputs, outputs=outputs)


def to_frame(rows: Rows, *, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Turn a DataFrame, one dict row, a list of dict rows or an array into a DataFrame.

    Array columns take ``names`` when given (and the width matches), else ``f0`` ...
    """
    if isinstance(rows, pd.DataFrame):
        # Signatures name columns with strings; a frame built from an array has int names.
        return rows if all(isinstance(c, str) for c in rows.columns) else rows.rename(columns=str)
    if isinstance(rows, Mapping):
        return pd.DataFrame([dict(rows)])
    if isinstance(rows, np.ndarray):
        array = rows.reshape(1, -1) if rows.ndim == 1 else rows
        if array.ndim != 2:
            raise InvalidInputError(
                f"an input array must be 1-D or 2-D; got {rows.ndim}-D instead",
                remedy="pass a table: a DataFrame, a 2-D array or a list of dict rows",
            )
        width = array.shape[1]
        columns = list(names) if names and len(names) == width else _positional(width)
        return pd.DataFrame(array, columns=columns)
    if (
        isinstance(rows, Sequence)
        and not isinstance(rows, str | bytes)
        and all(isinstance(row, Mapping) for row in rows)
    ):
        return pd.DataFrame([dict(row) for row in rows])
    raise InvalidInputError(
        f"the input must be a DataFrame, a dict or a list of dicts; got "
        f"{type(rows).__name__} instead",
        remedy="pass a DataFrame, one row as a dict, or rows as a list of dicts",
    )


def _positional(width: int) -> list[str]:
    return [f"f{i}" for i in range(width)]


def _specs(frame: pd.DataFrame) -> list[ColumnSpec]:
    return [
        ColumnSpec(
            name=str(name),
            type=_column_type(frame[name]),
            nullable=bool(frame[name].isna().any()),
        )
        for name in frame.columns
    ]


def _column_type(series: pd.Series[Any]) -> ColumnType:
    kind = series.dtype.kind
    if kind == "b":
        return "bool"
    if kind in "iu":
        return "int64"
    if kind == "f":
        return "float64"
    if kind == "M":
        return "datetime"
    kinds = {_value_kind(value) for value in series.dropna()}
    if kinds == {"int64"}:
        return "int64"
    if kinds <= {"int64", "float64"} and kinds:
        return "float64"
    for single in ("bool", "datetime"):
        if kinds == {single}:
            return single
    return "string"


def _value_kind(value: object) -> str:
    """The signature type a single Python or numpy value belongs to."""
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int64"
    if isinstance(value, float | np.floating):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.date | np.datetime64):
        return "datetime"
    return type(value).__name__


_EXACT = {"int64": np.dtype("int64"), "float64": np.dtype("float64"), "bool": np.dtype(bool)}


def _fits_as_is(frame: pd.DataFrame, specs: list[ColumnSpec]) -> bool:
    """The fast path: every column has its exact numeric dtype and no forbidden null.

    Checked over the whole frame at once: per-column access costs ~0.1 ms in pandas.
    """
    if not all(
        dtype == _EXACT.get(spec.type) for dtype, spec in zip(frame.dtypes, specs, strict=True)
    ):
        return False
    has_nulls = [bool(column.any()) for column in frame.isna().to_numpy().T]
    return not any(null and not spec.nullable for null, spec in zip(has_nulls, specs, strict=True))


def _cast(series: pd.Series[Any], spec: ColumnSpec) -> pd.Series[Any]:
    nulls = series.isna()
    if not spec.nullable and bool(nulls.any()):
        row = series.index[nulls.to_numpy()][0]
        raise InvalidInputError(
            f"column '{spec.name}' must not be null; got null in row {row} instead",
            field=spec.name,
            remedy=f"fill the missing values of '{spec.name}' before calling predict",
        )
    values = series[~nulls]
    bad = _first_misfit(values, spec.type)
    if bad is not None:
        raise InvalidInputError(
            f"column '{spec.name}' must be {spec.type}; got {_value_kind(bad)} ({bad!r}) instead",
            field=spec.name,
            remedy=f"send {spec.type} values in '{spec.name}', as in the input example",
        )
    if spec.type in ("int64", "float64"):
        has_nulls = bool(nulls.any())
        if spec.type == "float64" or has_nulls:
            return series.astype("float64")
        return series.astype("int64")
    if spec.type == "datetime":
        return pd.to_datetime(series, format="ISO8601")
    if spec.type == "bool" and not nulls.any():
        return series.astype(bool)
    return series


def _first_misfit(values: pd.Series[Any], expected: ColumnType) -> object | None:
    """The first value that cannot be cast to ``expected`` without loss, or None."""
    kind = values.dtype.kind
    fast = {"b": "bool", "i": "int64", "u": "int64", "f": "float64", "M": "datetime"}
    if kind in fast and fast[kind] in _ACCEPTS[expected]:
        return None
    for value in values.tolist():
        found = _value_kind(value)
        if found in _ACCEPTS[expected]:
            continue
        if expected == "int64" and found == "float64" and float(value).is_integer():
            continue
        if expected == "datetime" and found == "string" and _is_iso_datetime(value):
            continue
        misfit: object = value
        return misfit
    return None


def _is_iso_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
