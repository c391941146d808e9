"""Drift of one column: choosing the test (Evidently's defaults) and running it.

The defaults follow Evidently 0.7's data drift preset, so the two flag the same columns:

=============  ======================  ==========================================
column         reference values        test
=============  ======================  ==========================================
numeric        <= 1000                 Z-test if <= 2 distinct values (both sides),
                                       chi-square if <= 5, else K-S
numeric        > 1000                  Jensen-Shannon if <= 5 distinct, else
                                       Wasserstein distance (normed by ref. std)
categorical    <= 1000                 chi-square, Z-test when binary
categorical    > 1000                  Jensen-Shannon
=============  ======================  ==========================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from podium.errors import InvalidInputError
from podium.monitoring.drift import statistics as dt
from podium.monitoring.drift.statistics import Floats
from podium.monitoring.drift.status import DriftStatus, drift_status
from podium.monitoring.summaries import SKETCH_SIZE, CategoricalSummary, NumericSummary

__all__ = [
    "CATEGORICAL_TESTS",
    "NUMERIC_TESTS",
    "ColumnDrift",
    "column_drift",
    "not_enough",
]

NUMERIC_TESTS = ("ks", "wasserstein", "psi", "jensenshannon", "chi2", "z")
CATEGORICAL_TESTS = ("chi2", "z", "jensenshannon", "psi")
_SMALL_REFERENCE = 1000  # Evidently: up to this many reference values, statistical tests
_FEW_VALUES = 5  # numeric columns with at most this many distinct values are discrete

Summary = NumericSummary | CategoricalSummary


@dataclass(frozen=True)
class ColumnDrift:
    """The drift decision for one column and the sentence that explains it.

    ``score`` is the test's p-value or distance, or None when the test could not run
    (then ``reason`` starts with "not enough data"). ``reference_rows`` and
    ``current_rows`` count the values the test used; nulls, NaN and infinities are left
    out and counted in ``reference_missing`` / ``current_missing``. ``approximate`` is
    True when the reference was a stored sketch rather than every value.
    """

    column: str
    kind: Literal["numeric", "categorical"]
    test: str
    score: float | None
    threshold: float
    drifted: bool
    statistic_kind: Literal["p_value", "distance"]
    reason: str
    reference_rows: int
    current_rows: int
    reference_missing: int = 0
    current_missing: int = 0
    approximate: bool = False

    @property
    def status(self) -> DriftStatus:
        """``drift``, ``ok``, or ``n/a`` when the test could not run."""
        return drift_status(self.score, self.drifted)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, with the :attr:`status` every renderer shows."""
        return {**asdict(self), "status": self.status}


def not_enough(
    column: str,
    kind: Literal["numeric", "categorical"],
    test: str,
    threshold: float,
    why: str,
    reference: Summary | None,
    current: Summary | None,
) -> ColumnDrift:
    """The explicit "not enough data" result: no score, not drifted, and why."""
    return ColumnDrift(
        column=column,
        kind=kind,
        test=test,
        score=None,
        threshold=threshold,
        drifted=False,
        statistic_kind=dt.TEST_KINDS[test],
        reason=f"not enough data: {why}",
        reference_rows=reference.count if reference is not None else 0,
        current_rows=current.count if current is not None else 0,
        reference_missing=reference.missing if reference is not None else 0,
        current_missing=current.missing if current is not None else 0,
    )


def default_test(reference: Summary, current: Summary) -> tuple[str, str]:
    """Evidently's default test for the pair, and the phrase saying why it was chosen."""
    small = reference.count <= _SMALL_REFERENCE
    size = f"{'<=' if small else '>'} {_SMALL_REFERENCE} reference values"
    if isinstance(reference, CategoricalSummary):
        if not small:
            return "jensenshannon", f"default for a categorical column with {size}"
        assert isinstance(current, CategoricalSummary)
        binary = _category_total(reference, current) <= 2
        return ("z" if binary else "chi2"), f"default for a categorical column with {size}"
    assert isinstance(current, NumericSummary)
    distinct = _numeric_distinct(reference, current)
    if small:
        test = "z" if distinct <= 2 else "chi2" if distinct <= _FEW_VALUES else "ks"
    else:
        test = "jensenshannon" if distinct <= _FEW_VALUES else "wasserstein"
    many = f"{'<=' if distinct <= _FEW_VALUES else '>'} {_FEW_VALUES} distinct values"
    return test, f"default for a numeric column with {size} and {many}"


def _category_total(reference: CategoricalSummary, current: CategoricalSummary) -> int:
    keys = _union(reference.categories, current.categories)
    return len(keys) + (1 if reference.other or current.other else 0)


def _numeric_distinct(reference: NumericSummary, current: NumericSummary) -> int:
    if reference.value_counts is not None and current.value_counts is not None:
        return len(reference.value_counts.keys() | current.value_counts.keys())
    return _FEW_VALUES + 1  # one side has more than 20 distinct values


def column_drift(
    column: str,
    reference: Summary,
    current: Summary,
    *,
    test: str | None = None,
    threshold: float | None = None,
    test_thresholds: Mapping[str, float] | None = None,
) -> ColumnDrift:
    """Run ``test`` (Evidently's default when None) on one column and decide.

    The threshold is ``threshold``, else ``test_thresholds[test]``, else the test's
    default (0.05 for p-values, 0.1 for distances).
    """
    kind: Literal["numeric", "categorical"] = (
        "numeric" if isinstance(reference, NumericSummary) else "categorical"
    )
    if type(reference) is not type(current):
        raise InvalidInputError(
            f"column '{column}' is {kind} in the reference but not in the current data",
            field="current",
            remedy="give the column the same type on both sides, or list it in categorical=",
        )
    if test is None:
        name, why = default_test(reference, current) if reference.count else ("ks", "")
        why = why or "default"
    else:
        check_test(column, kind, test)
        name, why = test, "chosen for this column"
    if threshold is not None:
        limit = float(threshold)
    else:
        limit = float((test_thresholds or {}).get(name, dt.DEFAULT_THRESHOLDS[name]))
    if reference.count == 0 or current.count == 0:
        side = "the reference" if reference.count == 0 else "the current data"
        missing = (reference if reference.count == 0 else current).missing
        why_empty = f"{side} has no values in column '{column}' ({missing} missing)"
        return not_enough(column, kind, name, limit, why_empty, reference, current)
    if isinstance(reference, NumericSummary):
        assert isinstance(current, NumericSummary)
        score = _numeric_score(name, reference, current)
        approximate = not (reference.exact and current.exact)
    else:
        assert isinstance(current, CategoricalSummary)
        score, approximate = _categorical_score(name, reference, current), False
    p_value = dt.TEST_KINDS[name] == "p_value"
    drifted = score < limit if p_value else score >= limit
    sign = ("<" if drifted else ">=") if p_value else (">=" if drifted else "<")
    verdict = "drift" if drifted else "no drift"
    reason = f"{dt.TEST_NAMES[name]} {score:.3g} {sign} {limit:g}: {verdict} ({why})"
    return ColumnDrift(
        column=column,
        kind=kind,
        test=name,
        score=score,
        threshold=limit,
        drifted=bool(drifted),
        statistic_kind=dt.TEST_KINDS[name],
        reason=reason,
        reference_rows=reference.count,
        current_rows=current.count,
        reference_missing=reference.missing,
        current_missing=current.missing,
        approximate=approximate,
    )


def check_test(column: str, kind: str, test: str) -> None:
    """Raise unless ``test`` is a known test that applies to a column of ``kind``."""
    allowed = NUMERIC_TESTS if kind == "numeric" else CATEGORICAL_TESTS
    if test not in allowed:
        raise InvalidInputError(
            f"the test for column '{column}' must be one of {', '.join(allowed)} for a "
            f"{kind} column; got {test!r} instead",
            field="tests",
            remedy="pick a test that applies to the column's kind",
        )


def _numeric_score(test: str, ref: NumericSummary, cur: NumericSummary) -> float:
    if test == "wasserstein":
        std = ref.std or 0.0
        if ref.values is not None and cur.values is not None:
            return dt.wasserstein_normed(ref.values, cur.values, std)
        probs = np.linspace(0.0, 1.0, SKETCH_SIZE)
        distance = dt.wasserstein_from_quantiles(ref.quantiles(probs), cur.quantiles(probs))
        return distance / max(std, 0.001)
    if test == "ks":
        if ref.values is not None and cur.values is not None:
            statistic = dt.ks_statistic(ref.values, cur.values)
        else:
            points = np.concatenate([_points(ref), _points(cur)])
            statistic = float(np.max(np.abs(ref.cdf(points) - cur.cdf(points))))
        return dt.ks_p_value(statistic, ref.count, cur.count)
    ref_counts, cur_counts = _numeric_counts(test, ref, cur)
    return _count_score(test, ref_counts, cur_counts)


def _points(summary: NumericSummary) -> Floats:
    """Where a summary's CDF steps: every value, or every sketch point."""
    points = summary.values if summary.values is not None else summary.sketch
    assert points is not None
    return points


def _numeric_counts(test: str, ref: NumericSummary, cur: NumericSummary) -> tuple[Floats, Floats]:
    """Counts per distinct value (few values, or chi2/z), else per Sturges bin."""
    discrete = test in ("chi2", "z") or ref.value_counts is not None
    if discrete and _countable(ref) and _countable(cur):
        ref_keys, ref_n = _value_counts(ref)
        cur_keys, cur_n = _value_counts(cur)
        keys = np.union1d(ref_keys, cur_keys)
        ref_counts = np.zeros(keys.size)
        cur_counts = np.zeros(keys.size)
        ref_counts[np.searchsorted(keys, ref_keys)] = ref_n
        cur_counts[np.searchsorted(keys, cur_keys)] = cur_n
        return ref_counts, cur_counts
    low = min(v for v in (ref.min, cur.min) if v is not None)
    high = max(v for v in (ref.max, cur.max) if v is not None)
    edges = dt.sturges_edges(low, high, ref.count + cur.count)
    return _bin(ref, edges), _bin(cur, edges)


def _countable(summary: NumericSummary) -> bool:
    return summary.value_counts is not None or summary.values is not None


def _value_counts(summary: NumericSummary) -> tuple[Floats, Floats]:
    if summary.value_counts is not None:
        keys = np.fromiter(summary.value_counts, dtype=np.float64)
        counts = np.fromiter(summary.value_counts.values(), dtype=np.float64)
        order = np.argsort(keys)
        return keys[order], counts[order]
    assert summary.values is not None
    unique, tally = np.unique(summary.values, return_counts=True)
    return unique, tally.astype(np.float64)


def _bin(summary: NumericSummary, edges: Floats) -> Floats:
    if summary.values is not None:
        return dt.binned_counts(summary.values, edges)
    shares = summary.cdf(edges)
    shares[0] = 0.0 if edges[0] <= (summary.min or 0.0) else shares[0]
    shares[-1] = 1.0
    return np.diff(shares) * summary.count


def _union(left: pa.Array, right: pa.Array) -> pa.Array:
    if left.type != right.type:
        left, right = pc.cast(left, pa.string()), pc.cast(right, pa.string())
    keys = pc.unique(pa.concat_arrays([left, right]))
    return keys.take(pc.sort_indices(keys))


def _categorical_counts(ref: CategoricalSummary, cur: CategoricalSummary) -> tuple[Floats, Floats]:
    """Both sides' counts over one sorted list of categories (+ an ``other`` bucket)."""
    ref_cats, cur_cats = ref.categories, cur.categories
    if ref_cats.type != cur_cats.type:
        ref_cats, cur_cats = pc.cast(ref_cats, pa.string()), pc.cast(cur_cats, pa.string())
    # a reference listing only its top categories: the rest of current goes to "other"
    keys = ref_cats.take(pc.sort_indices(ref_cats)) if ref.other else _union(ref_cats, cur_cats)
    ref_counts = _scatter(keys, ref_cats, ref.counts)
    cur_counts = _scatter(keys, cur_cats, cur.counts)
    other_ref = float(ref.other)
    other_cur = float(cur.count - cur_counts.sum())
    if other_ref or other_cur:
        ref_counts = np.append(ref_counts, other_ref)
        cur_counts = np.append(cur_counts, other_cur)
    return ref_counts, cur_counts


def _scatter(keys: pa.Array, categories: pa.Array, counts: Floats) -> Floats:
    out = np.zeros(len(keys))
    where = np.asarray(pc.index_in(categories, value_set=keys).to_numpy(zero_copy_only=False))
    found = ~np.isnan(where.astype(np.float64))
    out[where[found].astype(np.int64)] = counts[found]
    return out


def _categorical_score(test: str, ref: CategoricalSummary, cur: CategoricalSummary) -> float:
    ref_counts, cur_counts = _categorical_counts(ref, cur)
    return _count_score(test, ref_counts, cur_counts)


def _count_score(test: str, ref_counts: Floats, cur_counts: Floats) -> float:
    if test == "chi2":
        return dt.chi_square_p_value(ref_counts, cur_counts)
    if test == "z":
        return dt.z_test_p_value(ref_counts, cur_counts)
    if test == "jensenshannon":
        return dt.jensen_shannon_distance(ref_counts, cur_counts)
    return dt.population_stability_index(ref_counts, cur_counts)
