"""Data contracts: what incoming data must look like, derived from a profile, editable.

A contract is plain data, one :class:`ColumnRule` per expected column: its Arrow type,
the largest null rate allowed, a value range (numeric columns) and the allowed
categories (categorical columns). :func:`derive_contract` writes one from the training
set's profile; people then loosen or tighten it by editing the fields or the dict::

    contract = derive_contract(profile, range_margin=0.1)
    contract.columns["age"].max = 120
    contract.columns["plan"].allowed.append("enterprise")
    DataContract.from_dict(contract.to_dict())
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from podium.errors import InvalidInputError
from podium.monitoring.profile import Profile

__all__ = ["ColumnRule", "DataContract", "derive_contract"]

#: Categorical columns with more distinct values than this get no allowed-list.
MAX_ALLOWED_CATEGORIES = 100
_KINDS = ("numeric", "categorical", "boolean", "timestamp", "other")


@dataclass
class ColumnRule:
    """The rule for one column; a None bound or list means "not checked".

    ``dtype`` is the Arrow type name; numbers of another numeric type still pass (an
    int64 column where float64 is expected is fine), values of another kind do not.
    ``max_null_rate`` is the largest share of nulls (and NaN) allowed; ``nullable=False``
    is the same as ``max_null_rate=0``.
    """

    name: str
    dtype: str
    kind: str = "numeric"
    max_null_rate: float = 0.0
    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None

    @property
    def nullable(self) -> bool:
        """Whether any nulls are allowed at all."""
        return self.max_null_rate > 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "name": self.name,
            "dtype": self.dtype,
            "kind": self.kind,
            "max_null_rate": self.max_null_rate,
            "min": self.min,
            "max": self.max,
            "allowed": None if self.allowed is None else list(self.allowed),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnRule:
        """A rule from plain data (see :meth:`to_dict`); checks every field."""
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidInputError(
                "a column rule needs a 'name' (a non-empty string)", field="columns.name"
            )
        rule = cls(
            name=name,
            dtype=str(data.get("dtype", "")),
            kind=str(data.get("kind", "numeric")),
            max_null_rate=_null_rate(name, data),
            min=_bound(name, "min", data.get("min")),
            max=_bound(name, "max", data.get("max")),
            allowed=_allowed(name, data.get("allowed")),
        )
        rule.validate()
        return rule

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` naming the field that makes no sense."""
        where = f"columns.{self.name}"
        if self.kind not in _KINDS:
            raise InvalidInputError(
                f"the kind of column '{self.name}' must be one of {', '.join(_KINDS)}; "
                f"got {self.kind!r} instead",
                field=f"{where}.kind",
            )
        if not 0.0 <= self.max_null_rate <= 1.0:
            raise InvalidInputError(
                f"max_null_rate of column '{self.name}' must be from 0 to 1; "
                f"got {self.max_null_rate!r} instead",
                field=f"{where}.max_null_rate",
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise InvalidInputError(
                f"column '{self.name}' has min {self.min} above max {self.max}",
                field=f"{where}.min",
                remedy="swap them, or set one to None",
            )


def _null_rate(name: str, data: dict[str, Any]) -> float:
    if data.get("nullable") is False:
        return 0.0
    value = data.get("max_null_rate", 0.0)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidInputError(
            f"max_null_rate of column '{name}' must be a number; got {value!r} instead",
            field=f"columns.{name}.max_null_rate",
        )
    return float(value)


def _bound(name: str, which: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidInputError(
            f"{which} of column '{name}' must be a number or null; got {value!r} instead",
            field=f"columns.{name}.{which}",
        )
    return float(value)


def _allowed(name: str, value: Any) -> list[Any] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise InvalidInputError(
            f"allowed of column '{name}' must be a list of values; got {value!r} instead",
            field=f"columns.{name}.allowed",
        )
    return list(value)


@dataclass
class DataContract:
    """The expected columns and their rules; ``allow_extra_columns`` tolerates others."""

    columns: dict[str, ColumnRule] = field(default_factory=dict)
    allow_extra_columns: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "columns": [rule.to_dict() for rule in self.columns.values()],
            "allow_extra_columns": self.allow_extra_columns,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataContract:
        """A contract from plain data (see :meth:`to_dict`); checks every rule.

        ``columns`` may be a list of rules or a mapping name -> rule.
        """
        if not isinstance(data, dict):
            raise InvalidInputError(
                f"a data contract must be a mapping; got {type(data).__name__} instead",
                field="contract",
            )
        raw = data.get("columns", [])
        if isinstance(raw, dict):
            raw = [{"name": name, **rule} for name, rule in raw.items()]
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise InvalidInputError(
                "the 'columns' of a data contract must be a list of rules", field="columns"
            )
        rules = [ColumnRule.from_dict(r) for r in raw]
        return cls(
            columns={rule.name: rule for rule in rules},
            allow_extra_columns=bool(data.get("allow_extra_columns", False)),
        )

    def validate(self) -> None:
        """Check every rule (after editing fields by hand)."""
        for name, rule in self.columns.items():
            if name != rule.name:
                raise InvalidInputError(
                    f"the rule stored under '{name}' is named '{rule.name}'",
                    field=f"columns.{name}.name",
                )
            rule.validate()


def derive_contract(
    profile: Profile,
    *,
    range_margin: float = 0.0,
    max_null_rate_slack: float = 0.01,
    max_categories: int = MAX_ALLOWED_CATEGORIES,
) -> DataContract:
    """The contract a dataset with this profile satisfies, with some slack.

    Numeric ranges are the observed min..max widened by ``range_margin`` times the range
    on each side; the allowed null rate is the observed one plus ``max_null_rate_slack``
    (so a column without nulls in training allows 1% by default; pass 0 to forbid them);
    categorical columns list their categories when there are at most ``max_categories``
    and the profile kept them all.
    """
    if not isinstance(range_margin, int | float) or range_margin < 0:
        raise InvalidInputError(
            f"the 'range_margin' parameter must be a number >= 0; got {range_margin!r}",
            field="range_margin",
        )
    if not isinstance(max_null_rate_slack, int | float) or not 0 <= max_null_rate_slack <= 1:
        raise InvalidInputError(
            f"the 'max_null_rate_slack' parameter must be from 0 to 1; got {max_null_rate_slack!r}",
            field="max_null_rate_slack",
        )
    rules: dict[str, ColumnRule] = {}
    for name, col in profile.columns.items():
        rule = ColumnRule(
            name=name,
            dtype=col.dtype,
            kind=col.kind,
            max_null_rate=min(1.0, (col.null_rate or 0.0) + max_null_rate_slack),
        )
        low, high = col.min, col.max
        if col.kind == "numeric" and isinstance(low, int | float) and isinstance(high, int | float):
            pad = (high - low) * range_margin
            rule.min, rule.max = float(low - pad), float(high + pad)
        if (
            col.kind in ("categorical", "boolean")
            and col.other_count == 0
            and len(col.categories) <= max_categories
        ):
            rule.allowed = sorted(col.categories, key=lambda v: (str(type(v)), v))
        rules[name] = rule
    return DataContract(columns=rules)
