"""A column reduced to what the drift tests need: exact values, or a stored sketch.

:class:`NumericSummary` holds either every finite value, sorted (exact tests), or a
quantile sketch on an even grid of probabilities (a stored reference profile, or an
aggregate a database computed). :class:`CategoricalSummary` holds category counts,
optionally with an ``other`` bucket for categories folded away. Both count the values
they left out (nulls, NaN, infinities) as ``missing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from podium.errors import InvalidInputError
from podium.monitoring.drift.statistics import Floats
from podium.monitoring.frames import finite_values

__all__ = [
    "DISCRETE_MAX_DISTINCT",
    "SKETCH_SIZE",
    "CategoricalSummary",
    "NumericSummary",
    "summarize_categorical",
    "summarize_numeric",
]

#: Numeric columns with at most this many distinct values also keep their value counts.
DISCRETE_MAX_DISTINCT = 20
#: Points of a quantile sketch (probabilities 0, 0.001, ..., 1).
SKETCH_SIZE = 1001


@dataclass(frozen=True, eq=False)
class NumericSummary:
    """A numeric column: its finite values sorted, or a quantile sketch of them.

    Build one with :func:`summarize_numeric` (exact) or :meth:`from_sketch` (a sketch,
    e.g. ``quantile_cont(x, [0, 0.001, ..., 1])`` computed in DuckDB). ``value_counts``
    is set when the column has at most 20 distinct values; the drift tests then treat
    it like Evidently does (chi-square / Z / Jensen-Shannon over the values).
    """

    count: int
    missing: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    values: Floats | None = None
    sketch: Floats | None = None
    value_counts: dict[float, int] | None = None
    distinct: int | None = None

    @classmethod
    def from_sketch(
        cls,
        sketch: Any,
        *,
        count: int,
        missing: int = 0,
        mean: float | None = None,
        std: float,
        value_counts: dict[float, int] | None = None,
        distinct: int | None = None,
    ) -> NumericSummary:
        """A summary from quantiles at evenly spaced probabilities from 0 to 1."""
        grid = np.asarray(sketch, dtype=np.float64)
        if grid.ndim != 1 or grid.size < 2 or not np.all(np.isfinite(grid)):
            raise InvalidInputError(
                "the 'sketch' parameter must hold at least 2 finite quantiles",
                field="sketch",
                remedy="pass quantiles at evenly spaced probabilities 0..1",
            )
        if count < 0 or missing < 0:
            raise InvalidInputError("counts must not be negative", field="count")
        return cls(
            count=count,
            missing=missing,
            mean=mean,
            std=std,
            min=float(grid[0]),
            max=float(grid[-1]),
            sketch=np.sort(grid),
            value_counts=value_counts,
            distinct=distinct if distinct is not None else _distinct_of(value_counts),
        )

    @property
    def exact(self) -> bool:
        """Whether every value is held (the tests are then exact)."""
        return self.values is not None

    def quantiles(self, probs: Floats) -> Floats:
        """Quantiles at ``probs`` (linear interpolation, numpy's default method)."""
        if self.values is not None:
            return _sorted_quantiles(self.values, probs)
        assert self.sketch is not None
        grid = np.linspace(0.0, 1.0, self.sketch.size)
        return np.interp(probs, grid, self.sketch)

    def cdf(self, points: Floats) -> Floats:
        """Share of values at or below each point."""
        if self.values is not None:
            return np.searchsorted(self.values, points, side="right") / max(self.count, 1)
        assert self.sketch is not None
        grid = np.linspace(0.0, 1.0, self.sketch.size)
        # right-continuous inverse of the sketch: the largest prob whose quantile <= x
        flipped = np.interp(-points, -self.sketch[::-1], grid[::-1])
        out: Floats = np.where(points >= self.sketch[-1], 1.0, flipped)
        return np.where(points < self.sketch[0], 0.0, out)


def _distinct_of(value_counts: dict[float, int] | None) -> int | None:
    return None if value_counts is None else len(value_counts)


def _sorted_quantiles(sorted_values: Floats, probs: Floats) -> Floats:
    position = probs * (sorted_values.size - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, sorted_values.size - 1)
    weight = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * weight


def summarize_numeric(values: pa.Array | Floats, *, missing: int = 0) -> NumericSummary:
    """The exact summary of a numeric column (nulls, NaN and infinities counted as missing).

    ``values`` is an Arrow array (numeric or timestamp) or a numpy array of floats.
    """
    if isinstance(values, pa.Array | pa.ChunkedArray):
        array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        finite, dropped = finite_values(array)
    else:
        raw = np.asarray(values, dtype=np.float64)
        keep = np.isfinite(raw)
        finite = raw if keep.all() else raw[keep]
        dropped = raw.size - finite.size
    ordered = np.sort(finite)
    count = int(ordered.size)
    if count == 0:
        return NumericSummary(0, missing + dropped, None, None, None, None, values=ordered)
    changed = ordered[1:] != ordered[:-1]
    distinct = int(np.count_nonzero(changed)) + 1
    value_counts = None
    if distinct <= DISCRETE_MAX_DISTINCT:
        starts = np.concatenate(([0], np.flatnonzero(changed) + 1))
        counts = np.diff(np.concatenate((starts, [count])))
        value_counts = {float(ordered[s]): int(n) for s, n in zip(starts, counts, strict=True)}
    del changed
    mean = float(ordered.mean())
    std = float(ordered.std())  # ufuncs, not BLAS: no thread pool spinning up per column
    return NumericSummary(
        count=count,
        missing=missing + dropped,
        mean=mean,
        std=std,
        min=float(ordered[0]),
        max=float(ordered[-1]),
        values=ordered,
        value_counts=value_counts,
        distinct=distinct,
    )


@dataclass(frozen=True, eq=False)
class CategoricalSummary:
    """Counts per category; ``other`` counts values of categories not listed."""

    categories: pa.Array
    counts: Floats
    missing: int = 0
    other: int = 0

    @property
    def count(self) -> int:
        """Non-missing values, including those in ``other``."""
        return int(self.counts.sum()) + self.other

    @classmethod
    def from_counts(
        cls, counts: dict[Any, int], *, missing: int = 0, other: int = 0
    ) -> CategoricalSummary:
        """A summary from a mapping category -> count (e.g. stored in a profile)."""
        if any(n < 0 for n in counts.values()) or missing < 0 or other < 0:
            raise InvalidInputError("category counts must not be negative", field="counts")
        try:
            categories = pa.array(list(counts))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInputError(
                f"categories must share one type: {exc}", field="counts"
            ) from exc
        values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return cls(categories, values, missing=missing, other=other)

    def as_dict(self) -> dict[Any, int]:
        """Category -> count (the ``other`` bucket left out)."""
        return dict(
            zip(self.categories.to_pylist(), self.counts.astype(np.int64).tolist(), strict=True)
        )


def summarize_categorical(values: pa.Array | pd.Series) -> CategoricalSummary:
    """The exact category counts of a column (nulls and NaN counted as missing)."""
    if isinstance(values, pd.Series):  # counted by pandas: no conversion of every value
        tally = values.value_counts(dropna=True, sort=False)
        tally = tally[tally > 0]  # a pandas Categorical also lists categories never seen
        try:
            categories = pa.array(tally.index.to_numpy(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: compare as text
            categories = pa.array([str(v) for v in tally.index], pa.string())
        found: Floats = np.asarray(tally.to_numpy(), dtype=np.float64)
        return CategoricalSummary(categories, found, missing=len(values) - int(found.sum()))
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    total = len(array)
    if pa.types.is_floating(array.type):
        array = pc.drop_null(pc.if_else(pc.is_nan(array), None, array))
    elif array.null_count:
        array = pc.drop_null(array)
    counted = pc.value_counts(array)
    categories = counted.field("values")
    counts: Floats = np.asarray(counted.field("counts").to_numpy(), dtype=np.float64)
    return CategoricalSummary(categories, counts, missing=total - len(array))
