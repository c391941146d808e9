"""Drift detection: the injected columns are flagged, the defaults are Evidently's, and
missing data gives an explicit "not enough data" result instead of a number."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pa_ds
import pytest

from podium.errors import InvalidInputError
from podium.monitoring.drift.detect import (
    NumericSummary,
    detect_drift,
    drift_from_profiles,
    drift_from_summaries,
    summarize_frame,
)
from podium.monitoring.profile import build_profile

CATEGORIES = np.array(["basic", "plus", "pro", "team", "enterprise"], dtype=object)
SHARES = np.array([0.35, 0.25, 0.2, 0.15, 0.05])
DRIFTED_NUMERIC = ["n3", "n7", "n12"]
DRIFTED_CATEGORICAL = ["c1", "c4"]


def synthetic(rows: int, *, drifted: bool, seed: int) -> pd.DataFrame:
    """20 numeric + 5 categorical columns; with ``drifted`` exactly 5 of them shift."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for i in range(20):
        name = f"n{i}"
        shift = 0.6 if drifted and name in DRIFTED_NUMERIC else 0.0
        data[name] = rng.normal(10 + i + shift * (1 + i % 3), 1 + i % 3, rows)
    for i in range(5):
        name = f"c{i}"
        shares = SHARES[::-1] if drifted and name in DRIFTED_CATEGORICAL else SHARES
        data[name] = CATEGORIES[rng.choice(5, size=rows, p=shares)]
    return pd.DataFrame(data)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return synthetic(4000, drifted=False, seed=1)


@pytest.fixture(scope="module")
def current() -> pd.DataFrame:
    return synthetic(3000, drifted=True, seed=2)


def test_exactly_the_injected_columns_are_flagged(
    reference: pd.DataFrame, current: pd.DataFrame
) -> None:
    report = detect_drift(reference, current)
    assert report.drifted_columns == DRIFTED_NUMERIC + DRIFTED_CATEGORICAL
    assert report.share_drifted == pytest.approx(5 / 25)
    assert report.dataset_drift is False
    by_name = {c.column: c for c in report.columns}
    assert {by_name[f"n{i}"].test for i in range(20)} == {"wasserstein"}
    assert {by_name[f"c{i}"].test for i in range(5)} == {"jensenshannon"}
    assert by_name["n3"].reason.startswith("Wasserstein distance (normed) ")
    assert ">= 0.1: drift" in by_name["n3"].reason
    assert "< 0.1: no drift" in by_name["n0"].reason


def test_an_unshifted_sample_is_not_flagged(reference: pd.DataFrame) -> None:
    same = synthetic(3000, drifted=False, seed=3)
    assert detect_drift(reference, same).drifted_columns == []


def test_small_reference_uses_statistical_tests(reference: pd.DataFrame) -> None:
    ref = reference.iloc[:800]
    cur = synthetic(800, drifted=True, seed=4)
    report = detect_drift(ref, cur)
    tests = {c.column: c.test for c in report.columns}
    assert {tests[f"n{i}"] for i in range(20)} == {"ks"}
    assert {tests[f"c{i}"] for i in range(5)} == {"chi2"}
    assert set(DRIFTED_NUMERIC + DRIFTED_CATEGORICAL) <= set(report.drifted_columns)
    assert report.column("n3").statistic_kind == "p_value"
    assert "K-S p-value" in report.column("n3").reason


def test_dataset_drift_when_the_share_is_reached(
    reference: pd.DataFrame, current: pd.DataFrame
) -> None:
    assert detect_drift(reference, current, share=0.2).dataset_drift is True
    assert detect_drift(reference, current, share=0.21).dataset_drift is False
    cols = [*DRIFTED_NUMERIC, "n0"]
    assert detect_drift(reference, current, columns=cols).dataset_drift is True


def test_defaults_for_discrete_and_binary_columns() -> None:
    rng = np.random.default_rng(5)
    small = pd.DataFrame(
        {
            "flag": rng.integers(0, 2, 500),
            "stars": rng.integers(1, 5, 500),
            "yes": rng.choice(np.array(["y", "n"], dtype=object), 500),
        }
    )
    report = detect_drift(small, small.sample(frac=1.0, random_state=1))
    assert [c.test for c in report.columns] == ["z", "chi2", "z"]
    large = pd.concat([small] * 4, ignore_index=True)
    assert [c.test for c in detect_drift(large, large).columns] == [
        "jensenshannon",
        "jensenshannon",
        "jensenshannon",
    ]


def test_user_chosen_tests_and_thresholds(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    report = detect_drift(
        reference,
        current,
        columns=["n3", "n0", "c1"],
        tests={"n3": "psi", "n0": "ks", "c1": "chi2"},
        thresholds={"n3": 0.5, "ks": 0.01},
    )
    n3, n0, c1 = report.columns
    assert (n3.test, n3.threshold, n3.statistic_kind) == ("psi", 0.5, "distance")
    assert "chosen for this column" in n3.reason
    assert (n0.test, n0.threshold) == ("ks", 0.01)
    assert c1.test == "chi2" and c1.drifted
    psi_all = detect_drift(reference, current, numeric_test="psi", columns=["n7", "n8"])
    assert [c.test for c in psi_all.columns] == ["psi", "psi"]
    assert psi_all.drifted_columns == ["n7"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tests": {"c1": "wasserstein"}}, "tests"),
        ({"tests": {"n0": "nope"}}, "tests"),
        ({"tests": {"missing": "ks"}}, "tests"),
        ({"thresholds": {"n0": -1}}, "thresholds"),
        ({"thresholds": {"typo": 0.1}}, "thresholds"),
        ({"share": 1.5}, "share"),
        ({"columns": ["nope"]}, "columns"),
        ({"columns": "n0"}, "columns"),
        ({"categorical": ["nope"]}, "categorical"),
        ({"numeric_test": "chi-square"}, "numeric_test"),
    ],
)
def test_bad_arguments_name_the_field(
    reference: pd.DataFrame, current: pd.DataFrame, kwargs: dict, field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        detect_drift(reference.iloc[:50], current.iloc[:50], **kwargs)
    assert caught.value.field == field


def test_not_enough_data_is_explicit(reference: pd.DataFrame) -> None:
    ref = reference[["n0", "n1", "c0"]].copy()
    ref["n1"] = np.nan
    cur = reference[["n0", "n1", "c0"]].iloc[:0]
    report = detect_drift(ref, cur)
    for column in report.columns:
        assert column.score is None and column.drifted is False
        assert column.reason.startswith("not enough data: ")
    assert "reference has no values in column 'n1' (4000 missing)" in report.column("n1").reason
    assert report.column("n0").reference_rows == 4000
    assert report.share_drifted == 0.0 and report.dataset_drift is False
    assert report.untested_columns == ["n0", "n1", "c0"]
    json.dumps(report.to_dict(), allow_nan=False)  # no NaN anywhere


def test_a_column_missing_on_one_side(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    report = detect_drift(reference[["n0", "n3"]], current[["n3"]])
    assert report.column("n0").reason == (
        "not enough data: column 'n0' is missing from the current data"
    )
    assert report.drifted_columns == ["n3"]
    assert report.share_drifted == 1.0


def test_nulls_nan_and_infinities_are_left_out_and_counted() -> None:
    rng = np.random.default_rng(6)
    ref = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b", "c"], 2000)})
    cur = ref.copy()
    cur.loc[:99, "x"] = np.nan
    cur.loc[100:109, "x"] = np.inf
    cur.loc[:49, "c"] = None
    report = detect_drift(ref, cur)
    x, c = report.columns
    assert (x.current_missing, x.current_rows, x.reference_missing) == (110, 1890, 0)
    assert (c.current_missing, c.current_rows) == (50, 1950)
    assert math.isfinite(x.score or math.nan) and not x.drifted


def test_arrow_inputs_give_the_same_report(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    expected = detect_drift(reference, current).to_dict()
    ref_table = pa.Table.from_pandas(reference, preserve_index=False)
    cur_table = pa.Table.from_pandas(current, preserve_index=False)
    assert detect_drift(ref_table, cur_table).to_dict() == expected
    reader = pa.RecordBatchReader.from_batches(cur_table.schema, cur_table.to_batches(500))
    assert detect_drift(pa_ds.dataset(ref_table), reader).to_dict() == expected


def test_threads_do_not_change_the_result(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    serial = detect_drift(reference, current, max_workers=1).to_dict()
    assert detect_drift(reference, current, max_workers=8).to_dict() == serial


def test_numeric_codes_treated_as_categories() -> None:
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"code": rng.integers(0, 50, 3000)})
    cur = pd.DataFrame({"code": rng.integers(0, 50, 3000)})
    numeric = detect_drift(ref, cur).column("code")
    categorical = detect_drift(ref, cur, categorical=["code"]).column("code")
    assert (numeric.kind, numeric.test) == ("numeric", "wasserstein")
    assert (categorical.kind, categorical.test) == ("categorical", "jensenshannon")


def test_a_new_category_drifts_under_chi_square() -> None:
    ref = pd.DataFrame({"c": ["a", "b"] * 200 + ["c"] * 10})
    cur = pd.DataFrame({"c": ["a", "b"] * 200 + ["new"] * 10})
    result = detect_drift(ref, cur).column("c")
    assert (result.test, result.score, result.drifted) == ("chi2", 0.0, True)


def test_timestamps_are_compared_only_when_named() -> None:
    start = pd.Timestamp("2026-01-01", tz="UTC")
    ref = pd.DataFrame({"t": start + pd.to_timedelta(np.arange(2000), "min"), "x": 1.0})
    cur = pd.DataFrame({"t": start + pd.to_timedelta(np.arange(2000) + 5000, "min"), "x": 1.0})
    assert [c.column for c in detect_drift(ref, cur).columns] == ["x"]
    assert detect_drift(ref, cur, columns=["t"]).column("t").drifted is True


def test_drift_from_a_stored_profile_matches_raw_data(
    reference: pd.DataFrame, current: pd.DataFrame
) -> None:
    exact = detect_drift(reference, current)
    profile = build_profile(reference)
    stored = type(profile).from_dict(json.loads(json.dumps(profile.to_dict())))
    sketched = drift_from_profiles(stored, current)
    assert sketched.drifted_columns == exact.drifted_columns
    for a, b in zip(exact.columns, sketched.columns, strict=True):
        assert a.test == b.test
        assert b.score == pytest.approx(a.score, rel=0.02, abs=0.002)
        assert b.approximate is (a.kind == "numeric")


def test_drift_from_a_small_profile_is_exact(reference: pd.DataFrame) -> None:
    ref = reference.iloc[:600]
    cur = synthetic(700, drifted=True, seed=8)
    exact = detect_drift(ref, cur).to_dict()
    assert drift_from_profiles(build_profile(ref), cur).to_dict() == exact


def test_profile_with_more_than_100_categories_folds_the_rest() -> None:
    rng = np.random.default_rng(9)
    names = np.array([f"city{i}" for i in range(300)], dtype=object)
    ref = pd.DataFrame({"city": names[rng.integers(0, 300, 20_000)]})
    same = pd.DataFrame({"city": names[rng.integers(0, 300, 20_000)]})
    moved = pd.DataFrame({"city": names[rng.integers(0, 30, 20_000)]})
    profile = build_profile(ref)
    assert profile.columns["city"].other_count > 0
    assert drift_from_profiles(profile, same).drifted_columns == []
    assert drift_from_profiles(profile, moved).drifted_columns == ["city"]


def test_profile_drift_with_missing_column_or_empty_window(reference: pd.DataFrame) -> None:
    profile = build_profile(reference[["n0", "c0"]])
    report = drift_from_profiles(profile, reference[["n0"]].iloc[:0])
    assert [c.score for c in report.columns] == [None, None]
    assert report.column("c0").reason.endswith("missing from the current data")
    with pytest.raises(InvalidInputError) as caught:
        drift_from_profiles(profile, reference, columns=["n5"])
    assert caught.value.field == "columns"


def test_summaries_from_an_aggregate(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    """A service can push the work into a database and pass quantiles and counts."""
    probs = np.linspace(0, 1, 1001)
    ref_values = reference["n3"].to_numpy()
    ref_summary = NumericSummary.from_sketch(
        np.quantile(ref_values, probs), count=ref_values.size, std=float(np.std(ref_values))
    )
    cur_summary = summarize_frame(current, columns=["n3"])["n3"]
    report = drift_from_summaries({"n3": ref_summary}, {"n3": cur_summary})
    exact = detect_drift(reference, current, columns=["n3"]).column("n3").score
    assert report.column("n3").score == pytest.approx(exact, rel=0.02)
    with pytest.raises(InvalidInputError):
        NumericSummary.from_sketch([1.0], count=1, std=0.0)


def test_pandas_extension_and_mixed_columns() -> None:
    rng = np.random.default_rng(10)
    n = 2000
    plans = pd.Categorical(rng.choice(["a", "b"], n), categories=["a", "b", "never"])
    ints = pd.array([*rng.integers(0, 100, n - 5), *[None] * 5], dtype="Int64")
    mixed = np.array([1, "a"] * (n // 2), dtype=object)
    ref = pd.DataFrame({"plan": plans, "ints": ints, "mixed": mixed})
    report = detect_drift(ref, ref)
    assert [c.score for c in report.columns] == [0.0, 0.0, 0.0]
    assert report.column("ints").reference_missing == 5
    assert report.column("plan").kind == "categorical"


def test_a_profile_column_that_changed_type_is_not_comparable() -> None:
    rng = np.random.default_rng(11)
    ref = pd.DataFrame({"v": rng.normal(size=2000), "w": rng.normal(size=2000)})
    cur = pd.DataFrame({"v": rng.choice(["x", "y"], 2000), "w": rng.normal(size=2000)})
    report = drift_from_profiles(build_profile(ref), cur)
    v = report.column("v")
    assert v.score is None and v.reason.startswith("not comparable: column 'v' is numeric")
    assert report.column("w").score is not None
    start = pd.Timestamp("2026-01-01", tz="UTC")
    with_time = build_profile(pd.DataFrame({"t": [start] * 3}))
    with pytest.raises(InvalidInputError) as caught:
        drift_from_profiles(with_time, pd.DataFrame({"t": [start]}), columns=["t"])
    assert caught.value.field == "columns"
