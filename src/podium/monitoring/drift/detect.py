"""Data drift: does the current data still look like the reference, column by column?

:func:`detect_drift` compares two frames; :func:`drift_from_profiles` compares current
data with a stored reference :class:`~podium.monitoring.profile.Profile`;
:func:`drift_from_summaries` compares pre-aggregated columns (e.g. quantiles computed in
DuckDB). Every column gets a :class:`ColumnDrift` saying which test decided and why; the
dataset drifts when the share of drifted columns reaches ``share`` (0.5), as in
Evidently 0.7, whose default tests and thresholds are used unless ``tests`` says
otherwise (see :mod:`podium.monitoring.drift.columns`)::

    report = detect_drift(train_df, live_df, categorical=["plan"])
    report.drifted_columns          # ["monthly_charges"]
    report.columns[0].reason        # "Wasserstein distance (normed) 0.31 >= 0.1: drift (...)"

Columns are processed in parallel threads (numpy, scipy and Arrow release the GIL).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from podium.errors import InvalidInputError
from podium.monitoring.drift.columns import (
    CATEGORICAL_TESTS,
    NUMERIC_TESTS,
    ColumnDrift,
    column_drift,
    not_enough,
)
from podium.monitoring.drift.statistics import DEFAULT_THRESHOLDS
from podium.monitoring.frames import (
    Frame,
    column_kind,
    column_names,
    get_column,
    materialize,
    parallel_map,
)
from podium.monitoring.summaries import (
    CategoricalSummary,
    NumericSummary,
    summarize_categorical,
    summarize_numeric,
)

if TYPE_CHECKING:
    from podium.monitoring.profile import Profile

__all__ = [
    "CategoricalSummary",
    "ColumnDrift",
    "DriftReport",
    "Frame",
    "NumericSummary",
    "Summary",
    "detect_drift",
    "drift_from_profiles",
    "drift_from_summaries",
    "summarize_frame",
]

Summary = NumericSummary | CategoricalSummary


@dataclass(frozen=True)
class DriftReport:
    """Per-column drift decisions and the dataset-level verdict.

    ``share_drifted`` is drifted columns / columns that could be tested (columns with
    "not enough data" are listed but not counted); ``dataset_drift`` is True when that
    share is at least ``threshold_share``.
    """

    columns: list[ColumnDrift]
    drifted_columns: list[str]
    share_drifted: float
    dataset_drift: bool
    threshold_share: float

    @property
    def untested_columns(self) -> list[str]:
        """Columns without a score (not enough data)."""
        return [c.column for c in self.columns if c.score is None]

    def column(self, name: str) -> ColumnDrift:
        """The decision for one column."""
        for item in self.columns:
            if item.column == name:
                return item
        raise InvalidInputError(
            f"the drift report has no column '{name}'",
            field="column",
            remedy=f"choose among {[c.column for c in self.columns]}",
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (no NaN anywhere: missing scores are null)."""
        return {
            "columns": [c.to_dict() for c in self.columns],
            "drifted_columns": list(self.drifted_columns),
            "share_drifted": self.share_drifted,
            "dataset_drift": self.dataset_drift,
            "threshold_share": self.threshold_share,
            "untested_columns": self.untested_columns,
        }


def detect_drift(
    reference: Frame,
    current: Frame,
    *,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    tests: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    share: float = 0.5,
    numeric_test: str | None = None,
    categorical_test: str | None = None,
    max_workers: int | None = None,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column.

    ``columns`` defaults to every numeric, string, boolean and dictionary column of the
    reference (timestamps only when named). ``categorical`` names numeric columns to
    treat as categories. ``tests`` maps a column to a test ("ks", "wasserstein", "psi",
    "jensenshannon", "chi2", "z"); ``numeric_test``/``categorical_test`` set one for all
    columns of a kind. ``thresholds`` maps a column or a test name to its threshold
    (p-value tests drift below it, distances at or above it). A column missing or empty
    on one side yields a "not enough data" result instead of an error.
    """
    ref = materialize(reference, field="reference", columns=columns)
    cur = materialize(current, field="current", columns=columns)
    names = _select_columns(ref, cur, columns)
    forced = _check_categorical(categorical, ref, cur)
    _check_options(names, tests, thresholds, share, numeric_test, categorical_test)

    def one(name: str) -> ColumnDrift:
        ref_kind, cur_kind = _kind(ref, name, forced), _kind(cur, name, forced)
        kind = _common_kind([ref_kind, cur_kind])
        test, limit = _choice(name, kind, tests, thresholds, numeric_test, categorical_test)
        if ref_kind is None or cur_kind is None:
            where = "reference" if ref_kind is None else "current data"
            return _missing(name, kind, test, limit, thresholds, where)
        ref_summary = _column_summary(ref, name, kind, "reference")
        cur_summary = _column_summary(cur, name, kind, "current")
        return column_drift(
            name, ref_summary, cur_summary, test=test, threshold=limit, test_thresholds=thresholds
        )

    results = parallel_map(one, names, max_workers=max_workers)
    return _report(results, share)


def drift_from_summaries(
    reference: Mapping[str, Summary],
    current: Mapping[str, Summary],
    *,
    columns: Sequence[str] | None = None,
    tests: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    share: float = 0.5,
    numeric_test: str | None = None,
    categorical_test: str | None = None,
    max_workers: int | None = None,
) -> DriftReport:
    """Drift between pre-aggregated columns (see :class:`NumericSummary`).

    Tests on two exact summaries are exact; with a sketch on either side the numeric
    tests are computed from quantile functions and the results say ``approximate``.
    """
    names = list(columns) if columns is not None else list(reference)
    _check_options(names, tests, thresholds, share, numeric_test, categorical_test)

    def one(name: str) -> ColumnDrift:
        ref, cur = reference.get(name), current.get(name)
        kind: Literal["numeric", "categorical"] = (
            "numeric" if isinstance(ref or cur, NumericSummary) else "categorical"
        )
        test, limit = _choice(name, kind, tests, thresholds, numeric_test, categorical_test)
        if ref is None or cur is None:
            where = "reference" if ref is None else "current data"
            return _missing(name, kind, test, limit, thresholds, where, ref, cur)
        return column_drift(name, ref, cur, test=test, threshold=limit, test_thresholds=thresholds)

    return _report(parallel_map(one, names, max_workers=max_workers), share)


def drift_from_profiles(
    reference: Profile,
    current: Frame,
    *,
    columns: Sequence[str] | None = None,
    tests: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    share: float = 0.5,
    numeric_test: str | None = None,
    categorical_test: str | None = None,
    max_workers: int | None = None,
) -> DriftReport:
    """Drift of ``current`` against a stored reference profile.

    Categorical tests are exact (the profile keeps category counts, the top 100 plus
    an "other" bucket). Numeric tests are exact when the reference had at most 1000
    values (the profile keeps them all), otherwise computed from its 1001-point
    quantile sketch (marked ``approximate``; Wasserstein is then within about 1% of
    the exact value).
    """
    cur = materialize(current, field="current", columns=columns)
    summaries = {
        name: col.to_summary()
        for name, col in reference.columns.items()
        if col.kind in ("numeric", "categorical", "boolean")
    }
    names = list(columns) if columns is not None else list(summaries)
    unknown = [n for n in names if n not in reference.columns]
    if unknown:
        raise InvalidInputError(
            f"columns {unknown} are not in the reference profile",
            field="columns",
            remedy=f"choose among {list(reference.columns)}",
        )
    present = set(column_names(cur))
    skipped = [n for n in names if n not in summaries]
    if skipped:
        raise InvalidInputError(
            f"columns {skipped} are {reference.columns[skipped[0]].kind} columns; drift "
            "compares numeric and categorical columns",
            field="columns",
            remedy="leave them out of columns=",
        )

    def current_summary(name: str) -> Summary | str | None:
        ref = summaries[name]
        if name not in present:
            return None
        kind = _summary_kind(ref)
        try:
            return _column_summary(cur, name, kind, "current")
        except InvalidInputError as exc:
            return f"column '{name}' is {kind} in the reference profile but not now ({exc})"

    current_summaries = parallel_map(current_summary, names, max_workers=max_workers)
    cur_map = {n: s for n, s in zip(names, current_summaries, strict=True) if s is not None}
    comparable = {n: s for n, s in cur_map.items() if not isinstance(s, str)}
    report = drift_from_summaries(
        summaries,
        comparable,
        columns=names,
        tests=tests,
        thresholds=thresholds,
        share=share,
        numeric_test=numeric_test,
        categorical_test=categorical_test,
        max_workers=max_workers,
    )
    incomparable = {n: why for n, why in cur_map.items() if isinstance(why, str)}
    if not incomparable:
        return report
    results = [
        replace(c, reason=f"not comparable: {incomparable[c.column]}")
        if c.column in incomparable
        else c
        for c in report.columns
    ]
    return _report(results, share)


def summarize_frame(
    frame: Frame,
    *,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    max_workers: int | None = None,
) -> dict[str, Summary]:
    """Exact summaries of a frame's columns, ready for :func:`drift_from_summaries`."""
    table = materialize(frame, field="frame", columns=columns)
    names = _select_columns(table, table, columns)
    forced = _check_categorical(categorical, table, table)

    def one(name: str) -> Summary:
        kind = _common_kind([_kind(table, name, forced)])
        return _column_summary(table, name, kind, "frame")

    return dict(zip(names, parallel_map(one, names, max_workers=max_workers), strict=True))


def _summary_kind(summary: Summary) -> Literal["numeric", "categorical"]:
    return "numeric" if isinstance(summary, NumericSummary) else "categorical"


def _column_summary(
    frame: Any, name: str, kind: Literal["numeric", "categorical"], field: str
) -> Summary:
    """One column's summary; pandas columns are read without going through Arrow."""
    if isinstance(frame, pd.DataFrame):
        series = frame[name]
        if kind == "categorical":
            return summarize_categorical(series)
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
            series.dtype
        ):
            return summarize_numeric(series.to_numpy(dtype=np.float64, na_value=np.nan))
    return _summarize(get_column(frame, name, field=field), kind)


def _summarize(array: Any, kind: Literal["numeric", "categorical"]) -> Summary:
    if kind == "numeric":
        if column_kind(array.type) not in ("numeric", "timestamp"):
            raise InvalidInputError(
                f"a numeric column holds {array.type} values",
                field="current",
                remedy="give the column the same type as in the reference",
            )
        return summarize_numeric(array)
    return summarize_categorical(array)


def _kind(
    frame: Any, name: str, forced: set[str]
) -> Literal["numeric", "categorical", "timestamp"] | None:
    """The column's kind in this frame, or None when the frame lacks it."""
    if name not in column_names(frame):
        return None
    if name in forced:
        return "categorical"
    if isinstance(frame, pd.DataFrame):
        dtype = frame[name].dtype
        if pd.api.types.is_bool_dtype(dtype):
            return "categorical"
        if pd.api.types.is_numeric_dtype(dtype):
            return "numeric"
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "timestamp"
        return "categorical"
    kind = column_kind(frame.schema.field(name).type)
    if kind == "other":
        raise InvalidInputError(
            f"column '{name}' has type {frame.schema.field(name).type}, which drift "
            "detection cannot compare",
            field="columns",
            remedy="leave it out of columns=, or cast it to a number or a string",
        )
    return "categorical" if kind == "boolean" else kind


def _common_kind(kinds: list[Any]) -> Literal["numeric", "categorical"]:
    present = [k for k in kinds if k is not None]
    return "categorical" if "categorical" in present else "numeric"


def _select_columns(ref: Any, cur: Any, columns: Sequence[str] | None) -> list[str]:
    ref_names, cur_names = column_names(ref), column_names(cur)
    if columns is None:
        if isinstance(ref, pd.DataFrame):
            return [n for n in ref_names if not pd.api.types.is_datetime64_any_dtype(ref[n])]
        usable = ("numeric", "categorical", "boolean")
        return [n for n in ref_names if column_kind(ref.schema.field(n).type) in usable]
    if isinstance(columns, str):
        raise InvalidInputError(
            "the 'columns' parameter must be a list of column names; got a string instead",
            field="columns",
            remedy=f"pass columns=[{columns!r}]",
        )
    unknown = [n for n in columns if n not in ref_names and n not in cur_names]
    if unknown:
        raise InvalidInputError(
            f"columns {unknown} are in neither the reference nor the current data",
            field="columns",
            remedy=f"choose among {ref_names}",
        )
    return list(dict.fromkeys(columns))


def _check_categorical(categorical: Sequence[str] | None, ref: Any, cur: Any) -> set[str]:
    if categorical is None:
        return set()
    if isinstance(categorical, str):
        raise InvalidInputError(
            "the 'categorical' parameter must be a list of column names; got a string",
            field="categorical",
            remedy=f"pass categorical=[{categorical!r}]",
        )
    known = set(column_names(ref)) | set(column_names(cur))
    unknown = [n for n in categorical if n not in known]
    if unknown:
        raise InvalidInputError(
            f"categorical columns {unknown} are not in the data",
            field="categorical",
            remedy=f"choose among {sorted(known)}",
        )
    return set(categorical)


def _check_options(
    names: list[str],
    tests: Mapping[str, str] | None,
    thresholds: Mapping[str, float] | None,
    share: float,
    numeric_test: str | None,
    categorical_test: str | None,
) -> None:
    if not (isinstance(share, int | float) and 0.0 <= share <= 1.0):
        raise InvalidInputError(
            f"the 'share' parameter must be a number from 0 to 1; got {share!r} instead",
            field="share",
        )
    for label, test, allowed in (
        ("numeric_test", numeric_test, NUMERIC_TESTS),
        ("categorical_test", categorical_test, CATEGORICAL_TESTS),
    ):
        if test is not None and test not in allowed:
            raise InvalidInputError(
                f"the '{label}' parameter must be one of {', '.join(allowed)}; "
                f"got {test!r} instead",
                field=label,
            )
    unknown = [c for c in (tests or {}) if c not in names]
    if unknown:
        raise InvalidInputError(
            f"tests name columns {unknown} that are not compared",
            field="tests",
            remedy=f"key tests by column name, among {names}",
        )
    for key, value in (thresholds or {}).items():
        if key not in names and key not in DEFAULT_THRESHOLDS:
            raise InvalidInputError(
                f"thresholds has key {key!r}, which is neither a compared column nor a test",
                field="thresholds",
                remedy=f"key by column ({names}) or test ({', '.join(DEFAULT_THRESHOLDS)})",
            )
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise InvalidInputError(
                f"the threshold for {key!r} must be a finite number >= 0; got {value!r}",
                field="thresholds",
            )


def _choice(
    name: str,
    kind: Literal["numeric", "categorical"],
    tests: Mapping[str, str] | None,
    thresholds: Mapping[str, float] | None,
    numeric_test: str | None,
    categorical_test: str | None,
) -> tuple[str | None, float | None]:
    test = (tests or {}).get(name) or (numeric_test if kind == "numeric" else categorical_test)
    limits = thresholds or {}
    return test, (float(limits[name]) if name in limits else None)


def _missing(
    name: str,
    kind: Literal["numeric", "categorical"],
    test: str | None,
    limit: float | None,
    thresholds: Mapping[str, float] | None,
    where: str,
    reference: Summary | None = None,
    current: Summary | None = None,
) -> ColumnDrift:
    """The "not enough data" result for a column one side does not have."""
    test = test or ("wasserstein" if kind == "numeric" else "jensenshannon")
    if limit is None:
        limit = float((thresholds or {}).get(test, DEFAULT_THRESHOLDS[test]))
    why = f"column '{name}' is missing from the {where}"
    return not_enough(name, kind, test, limit, why, reference, current)


def _report(results: list[ColumnDrift], share: float) -> DriftReport:
    tested = [r for r in results if r.score is not None]
    drifted = [r.column for r in results if r.drifted]
    fraction = len(drifted) / len(tested) if tested else 0.0
    return DriftReport(
        columns=results,
        drifted_columns=drifted,
        share_drifted=fraction,
        dataset_drift=bool(tested) and fraction >= share,
        threshold_share=float(share),
    )
