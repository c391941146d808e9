"""Request features checked against a model signature, by hand, on the hot path.

:class:`RowValidator` is built once per loaded model version and checks one row of
features (a JSON object already parsed) in a few microseconds: every signature column
present, no column the model does not read (entity keys and the sticky key excepted),
each value of the column's type, and no NaN or infinity (NaN is allowed in a nullable
float column, as a null). Every failure is an :class:`~podium.errors.InvalidInputError`
(HTTP 400) whose ``field`` is the feature's name, so a client knows which one to fix.

Type rules, matching :class:`~podium.registry.signature.Signature`: ``int64`` takes
integers (and floats without a fraction; never booleans), ``float64`` takes integers and
floats, ``bool`` takes booleans, ``string`` takes strings, ``datetime`` takes ISO 8601
strings.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from podium.errors import InvalidInputError
from podium.registry.signature import ColumnSpec, Signature

__all__ = ["RowValidator"]

_JSON_TYPE = {"int64": "an integer", "float64": "a number", "bool": "true or false"}
_NUMERIC = frozenset({"int64", "float64", "bool"})


class RowValidator:
    """Checks rows of features against ``signature``; ``allowed_extra`` names may appear too."""

    def __init__(self, signature: Signature, *, allowed_extra: Collection[str] = ()) -> None:
        self.signature = signature
        self.columns: tuple[ColumnSpec, ...] = tuple(signature.inputs)
        self.names: tuple[str, ...] = tuple(spec.name for spec in self.columns)
        self._known = frozenset(self.names) | frozenset(allowed_extra)
        self.numeric = all(spec.type in _NUMERIC for spec in self.columns)
        """Whether every column is a number or boolean, so a row fits a float array."""

    def check(self, row: object, *, where: str = "features") -> dict[str, Any]:
        """``row`` as a dict of the signature's columns; raises naming the first bad one."""
        if not isinstance(row, Mapping):
            raise InvalidInputError(
                f"'{where}' must be a JSON object of feature names to values; "
                f"got {type(row).__name__} instead",
                field=where,
                remedy='send e.g. {"tenure_months": 24, "monthly_charges": 89.99}',
            )
        if len(row) != len(self.names) or not self._known.issuperset(row):
            self._check_names(row)
        clean: dict[str, Any] = {}
        for spec in self.columns:
            name = spec.name
            if name not in row:
                raise self._missing(name)
            clean[name] = self._value(spec, row[name])
        return clean

    def _check_names(self, row: Mapping[Any, Any]) -> None:
        for name in row:
            if name not in self._known:
                raise InvalidInputError(
                    f"feature {name!r} is not an input of this model; it expects "
                    f"{self.signature.describe_inputs()}",
                    field=str(name),
                    remedy=f"remove {name!r} from the request",
                )
        for name in self.names:
            if name not in row:
                raise self._missing(name)

    def _missing(self, name: str) -> InvalidInputError:
        return InvalidInputError(
            f"feature {name!r} is missing; the model expects {self.signature.describe_inputs()}",
            field=name,
            remedy=f"add {name!r} to the request's features",
        )

    def _value(self, spec: ColumnSpec, value: Any) -> Any:
        kind = spec.type
        if value is None:
            if spec.nullable:
                return None
            raise self._wrong(spec, value, "null is not allowed")
        value_type = type(value)
        if kind == "float64":
            if value_type is float:
                if math.isfinite(value):
                    return value
                if math.isnan(value) and spec.nullable:
                    return None
                raise self._wrong(spec, value, "NaN and infinity are not allowed")
            if value_type is int:
                return float(value)
        elif kind == "int64":
            if value_type is int:
                return value
            if value_type is float and value.is_integer():
                return int(value)  # lossless, as the signature's cast allows
        elif kind == "bool":
            if value_type is bool:
                return value
        elif kind == "string":
            if value_type is str:
                return value
        elif kind == "datetime" and value_type is str:
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                raise self._wrong(spec, value, "not an ISO 8601 date-time") from None
        if isinstance(value, np.generic):  # numpy scalars from SDK callers, checked alike
            return self._value(spec, value.item())
        raise self._wrong(spec, value, f"expected {_JSON_TYPE.get(kind, 'a ' + kind)}")

    def _wrong(self, spec: ColumnSpec, value: Any, why: str) -> InvalidInputError:
        shown = repr(value) if not isinstance(value, str) else repr(value[:40])
        return InvalidInputError(
            f"feature {spec.name!r} must be {spec.type}; got {shown} ({why})",
            field=spec.name,
            remedy=f"send {spec.name!r} as {_JSON_TYPE.get(spec.type, 'a ' + spec.type)}",
        )
