"""Profiles: what a dataset looks like, per column, in a small JSON-ready record.

A profile of the training set is the reference that live data is compared with: its
null rates and ranges become a :class:`~podium.monitoring.contract.DataContract`, and
its quantile sketches and category counts feed
:func:`~podium.monitoring.drift.detect.drift_from_profiles`::

    profile = build_profile(train_df)
    profile.columns["tenure_months"].quantiles[0.5]   # the median
    Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from podium.errors import InvalidInputError
from podium.monitoring.frames import (
    ColumnKind,
    Frame,
    column_kind,
    column_names,
    get_column,
    materialize,
    parallel_map,
    row_count,
)
from podium.monitoring.summaries import (
    SKETCH_SIZE,
    CategoricalSummary,
    NumericSummary,
    summarize_categorical,
    summarize_numeric,
)

__all__ = ["QUANTILES", "ColumnProfile", "Histogram", "Profile", "build_profile"]

#: The quantiles every numeric column profile reports.
QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
HISTOGRAM_BINS = 20
TOP_CATEGORIES = 100
EXACT_VALUES_MAX = 1000  # up to this many values, a profile keeps them all (exact tests)


@dataclass(frozen=True)
class Histogram:
    """Counts of values in equal-width bins; ``edges`` has one more entry than ``counts``."""

    edges: list[float]
    counts: list[int]


@dataclass(frozen=True)
class ColumnProfile:
    """One column of a profile.

    ``count`` is the number of usable values, ``null_count`` the nulls (plus NaN and
    infinities for numbers), ``null_rate`` their share of rows (None for no rows).
    Numeric columns have ``min``/``max``/``mean``/``std`` (population), ``quantiles``
    (p -> value), a 20-bin ``histogram`` and a quantile ``sketch`` (1001 points) or,
    up to 1000 values, every value in ``values``. ``categories`` maps the 100 most
    frequent values to their counts (categorical and boolean columns, and numeric
    columns with at most 20 distinct values); ``other_count`` counts the rest.
    Timestamp columns report ``min``/``max`` as ISO strings.
    """

    name: str
    kind: ColumnKind
    dtype: str
    count: int
    null_count: int
    null_rate: float | None
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[float, float] = field(default_factory=dict)
    histogram: Histogram | None = None
    categories: dict[Any, int] = field(default_factory=dict)
    other_count: int = 0
    distinct: int | None = None
    sketch: list[float] | None = None
    values: list[float] | None = None

    def to_summary(self) -> NumericSummary | CategoricalSummary:
        """The column as the drift tests take it (exact when ``values`` were kept)."""
        if self.kind in ("categorical", "boolean"):
            return CategoricalSummary.from_counts(
                self.categories, missing=self.null_count, other=self.other_count
            )
        if self.kind != "numeric":
            raise InvalidInputError(
                f"column '{self.name}' is a {self.kind} column; drift compares numeric "
                "and categorical columns only",
                field="columns",
            )
        counts = {float(k): int(v) for k, v in self.categories.items()} or None
        if self.values is not None:
            return summarize_numeric(np.asarray(self.values), missing=self.null_count)
        if self.count == 0 or self.sketch is None:
            return summarize_numeric(np.empty(0), missing=self.null_count)
        return NumericSummary.from_sketch(
            self.sketch,
            count=self.count,
            missing=self.null_count,
            mean=self.mean,
            std=self.std or 0.0,
            value_counts=counts if self.other_count == 0 else None,
            distinct=self.distinct,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (categories as [value, count] pairs, keeping types)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "count": self.count,
            "null_count": self.null_count,
            "null_rate": self.null_rate,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "std": self.std,
            "quantiles": [[p, v] for p, v in self.quantiles.items()],
            "histogram": (
                None
                if self.histogram is None
                else {"edges": self.histogram.edges, "counts": self.histogram.counts}
            ),
            "categories": [[value, n] for value, n in self.categories.items()],
            "other_count": self.other_count,
            "distinct": self.distinct,
            "sketch": self.sketch,
            "values": self.values,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        """The inverse of :meth:`to_dict`."""
        try:
            hist = data.get("histogram")
            return cls(
                name=str(data["name"]),
                kind=data["kind"],
                dtype=str(data["dtype"]),
                count=int(data["count"]),
                null_count=int(data["null_count"]),
                null_rate=data.get("null_rate"),
                min=data.get("min"),
                max=data.get("max"),
                mean=data.get("mean"),
                std=data.get("std"),
                quantiles={float(p): float(v) for p, v in data.get("quantiles") or []},
                histogram=None if hist is None else Histogram(hist["edges"], hist["counts"]),
                categories={_key(v): int(n) for v, n in data.get("categories") or []},
                other_count=int(data.get("other_count") or 0),
                distinct=data.get("distinct"),
                sketch=data.get("sketch"),
                values=data.get("values"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"not a column profile: {exc!r}",
                field="profile",
                remedy="pass what ColumnProfile.to_dict() returned",
            ) from exc


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class Profile:
    """A profile of a dataset: ``rows`` and one :class:`ColumnProfile` per column."""

    columns: dict[str, ColumnProfile]
    rows: int
    created_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "rows": self.rows,
            "created_at": self.created_at.isoformat(),
            "columns": [col.to_dict() for col in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """The inverse of :meth:`to_dict`."""
        try:
            columns = [ColumnProfile.from_dict(c) for c in data["columns"]]
            return cls(
                columns={c.name: c for c in columns},
                rows=int(data["rows"]),
                created_at=dt.datetime.fromisoformat(data["created_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InvalidInputError):
                raise
            raise InvalidInputError(
                f"not a profile: {exc!r}",
                field="profile",
                remedy="pass what Profile.to_dict() returned",
            ) from exc


def build_profile(
    frame: Frame,
    *,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    max_workers: int | None = None,
) -> Profile:
    """Profile ``frame``: every column by default, columns in parallel threads.

    ``categorical`` names numeric columns to profile as categories (codes, ids).
    """
    table = materialize(frame, field="frame", columns=columns)
    names = column_names(table) if columns is None else list(dict.fromkeys(columns))
    missing = [n for n in names if n not in column_names(table)]
    if missing:
        raise InvalidInputError(
            f"columns {missing} are not in the data",
            field="columns",
            remedy=f"choose among {column_names(table)}",
        )
    forced = set(categorical or [])
    unknown = forced - set(names)
    if unknown:
        raise InvalidInputError(
            f"categorical columns {sorted(unknown)} are not profiled",
            field="categorical",
            remedy=f"choose among {names}",
        )

    def one(name: str) -> ColumnProfile:
        return profile_column(name, get_column(table, name), categorical=name in forced)

    profiles = parallel_map(one, names, max_workers=max_workers)
    return Profile(
        columns={p.name: p for p in profiles},
        rows=row_count(table),
        created_at=dt.datetime.now(dt.UTC),
    )


def profile_column(name: str, array: pa.Array, *, categorical: bool = False) -> ColumnProfile:
    """The profile of one column."""
    kind: ColumnKind = "categorical" if categorical else column_kind(array.type)
    dtype = str(array.type)
    rows = len(array)
    if kind == "numeric":
        return _numeric(name, dtype, rows, summarize_numeric(array))
    if kind in ("categorical", "boolean"):
        return _categorical(name, kind, dtype, rows, summarize_categorical(array))
    nulls = array.null_count
    low = high = None
    if kind == "timestamp" and rows > nulls:
        bounds = pc.min_max(array)
        low, high = (_iso(bounds["min"].as_py()), _iso(bounds["max"].as_py()))
    return ColumnProfile(
        name, kind, dtype, rows - nulls, nulls, _rate(nulls, rows), min=low, max=high
    )


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _rate(part: int, rows: int) -> float | None:
    return part / rows if rows else None


def _numeric(name: str, dtype: str, rows: int, summary: NumericSummary) -> ColumnProfile:
    values = summary.values
    assert values is not None
    if summary.count == 0:
        return ColumnProfile(
            name, "numeric", dtype, 0, summary.missing, _rate(summary.missing, rows)
        )
    probs = np.asarray(QUANTILES)
    quantiles = dict(zip(QUANTILES, summary.quantiles(probs).tolist(), strict=True))
    low, high = float(values[0]), float(values[-1])
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1) if high > low else np.array([low, high])
    positions = np.searchsorted(values, edges, side="left")
    positions[-1] = values.size
    counts = np.diff(positions).astype(np.int64).tolist()
    exact = summary.count <= EXACT_VALUES_MAX
    sketch = None if exact else summary.quantiles(np.linspace(0, 1, SKETCH_SIZE)).tolist()
    return ColumnProfile(
        name=name,
        kind="numeric",
        dtype=dtype,
        count=summary.count,
        null_count=summary.missing,
        null_rate=_rate(summary.missing, rows),
        min=low,
        max=high,
        mean=_finite(summary.mean),
        std=_finite(summary.std),
        quantiles=quantiles,
        histogram=Histogram(edges.tolist(), counts),
        categories=dict(summary.value_counts or {}),
        distinct=summary.distinct,
        sketch=sketch,
        values=values.tolist() if exact else None,
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _categorical(
    name: str,
    kind: Literal["categorical", "boolean"],
    dtype: str,
    rows: int,
    summary: CategoricalSummary,
) -> ColumnProfile:
    order = np.argsort(-summary.counts, kind="stable")
    top = order[:TOP_CATEGORIES]
    values = summary.categories.take(pa.array(top)).to_pylist()
    counts = summary.counts[top].astype(np.int64).tolist()
    other = int(summary.counts[order[TOP_CATEGORIES:]].sum())
    return ColumnProfile(
        name=name,
        kind=kind,
        dtype=dtype,
        count=summary.count,
        null_count=summary.missing,
        null_rate=_rate(summary.missing, rows),
        categories=dict(zip(values, counts, strict=True)),
        other_count=other,
        distinct=len(summary.categories),
    )
