"""Each drift test agrees with scipy's reference implementation on random data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from podium.monitoring.drift import statistics as dt
from podium.monitoring.drift.detect import detect_drift

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)

# Samples with ties (small integers) or continuous values; sizes across KS's exact limit.
values = st.one_of(
    st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=60),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=80),
)
counts = st.lists(st.integers(0, 500), min_size=2, max_size=12)


def _sorted(xs: list[float]) -> np.ndarray:
    return np.sort(np.asarray(xs, dtype=np.float64))


@SETTINGS
@given(values, values)
def test_ks_matches_scipy_ks_2samp(ref: list[float], cur: list[float]) -> None:
    with warnings.catch_warnings():  # scipy warns when its exact method falls back
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = stats.ks_2samp(ref, cur)
    statistic = dt.ks_statistic(_sorted(ref), _sorted(cur))
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert dt.ks_p_value(statistic, len(ref), len(cur)) == pytest.approx(
        expected.pvalue, rel=1e-9, abs=1e-12
    )


@pytest.mark.parametrize(("n_ref", "n_cur"), [(20_000, 15_000), (12_000, 12_000)])
def test_ks_matches_scipy_on_large_samples(n_ref: int, n_cur: int) -> None:
    rng = np.random.default_rng(n_ref + n_cur)
    ref, cur = rng.normal(size=n_ref), rng.normal(0.03, 1, size=n_cur)
    expected = stats.ks_2samp(ref, cur)
    statistic = dt.ks_statistic(np.sort(ref), np.sort(cur))
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert dt.ks_p_value(statistic, n_ref, n_cur) == pytest.approx(expected.pvalue, rel=1e-9)


@SETTINGS
@given(values, values)
def test_wasserstein_matches_scipy(ref: list[float], cur: list[float]) -> None:
    expected = stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
    got = dt.wasserstein_normed(_sorted(ref), _sorted(cur), float(np.std(ref)))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


@SETTINGS
@given(values)
def test_wasserstein_of_equal_sizes_matches_scipy(ref: list[float]) -> None:
    cur = [x * 1.5 + 3 for x in reversed(ref)]
    expected = stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
    assert dt.wasserstein_normed(_sorted(ref), _sorted(cur), float(np.std(ref))) == (
        pytest.approx(expected, rel=1e-9, abs=1e-9)
    )


def test_wasserstein_from_quantile_sketch_is_close_to_exact() -> None:
    rng = np.random.default_rng(3)
    ref, cur = np.sort(rng.normal(size=50_000)), np.sort(rng.normal(0.2, 1.3, size=70_000))
    exact = stats.wasserstein_distance(ref, cur)
    probs = np.linspace(0, 1, 1001)
    sketch = dt.wasserstein_from_quantiles(np.quantile(ref, probs), np.quantile(cur, probs))
    assert sketch == pytest.approx(exact, rel=0.02)


@SETTINGS
@given(counts, st.data())
def test_chi_square_matches_scipy_chisquare(ref: list[int], data: st.DataObject) -> None:
    ref_counts = np.asarray(ref, dtype=np.float64) + 1  # every category seen in the reference
    cur = data.draw(st.lists(st.integers(0, 500), min_size=len(ref), max_size=len(ref)))
    cur_counts = np.asarray(cur, dtype=np.float64)
    if cur_counts.sum() == 0:
        cur_counts[0] = 1
    expected = stats.chisquare(cur_counts, ref_counts * cur_counts.sum() / ref_counts.sum())
    assert dt.chi_square_p_value(ref_counts, cur_counts) == pytest.approx(
        expected.pvalue, rel=1e-9, abs=1e-300
    )


def test_chi_square_with_a_category_the_reference_never_saw_is_certain_drift() -> None:
    assert dt.chi_square_p_value(np.array([10.0, 5.0, 0.0]), np.array([10.0, 5.0, 1.0])) == 0.0


@SETTINGS
@given(counts, st.data())
def test_jensen_shannon_matches_scipy(ref: list[int], data: st.DataObject) -> None:
    cur = data.draw(st.lists(st.integers(0, 500), min_size=len(ref), max_size=len(ref)))
    ref_counts, cur_counts = np.asarray(ref, float) + 0, np.asarray(cur, float)
    ref_counts[0] += 1
    cur_counts[-1] += 1
    expected = distance.jensenshannon(ref_counts, cur_counts)
    got = dt.jensen_shannon_distance(ref_counts, cur_counts)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


@SETTINGS
@given(counts, st.data())
def test_psi_matches_its_definition(ref: list[int], data: st.DataObject) -> None:
    cur = data.draw(st.lists(st.integers(0, 500), min_size=len(ref), max_size=len(ref)))
    ref_counts, cur_counts = np.asarray(ref, float), np.asarray(cur, float)
    ref_counts[0] += 1
    cur_counts[-1] += 1

    def shares(c: np.ndarray) -> np.ndarray:
        s = c / c.sum()
        smallest = s[s > 0].min()
        return np.where(s == 0, smallest / 1e6 if smallest <= 1e-4 else 1e-4, s)

    p, q = shares(ref_counts), shares(cur_counts)
    expected = float(np.sum((p - q) * np.log(p / q)))
    assert dt.population_stability_index(ref_counts, cur_counts) == pytest.approx(expected)


@SETTINGS
@given(st.integers(1, 400), st.integers(0, 400), st.integers(1, 400), st.integers(0, 400))
def test_z_test_matches_the_two_proportion_formula(a: int, b: int, c: int, d: int) -> None:
    ref, cur = np.array([a, b], float), np.array([c, d], float)
    n1, n2 = a + b, c + d
    p1, p2 = b / n1, d / n2
    pooled = (b + d) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    expected = 1.0 if se == 0 else 2 * stats.norm.sf(abs((p1 - p2) / se))
    assert dt.z_test_p_value(ref, cur) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@SETTINGS
@given(values)
def test_sturges_bins_match_numpy_histogram(xs: list[float]) -> None:
    data = np.asarray(xs)
    edges = dt.sturges_edges(float(data.min()), float(data.max()), data.size)
    np.testing.assert_allclose(edges, np.histogram_bin_edges(data, bins="sturges"))
    expected, _ = np.histogram(data, bins=edges)
    np.testing.assert_array_equal(dt.binned_counts(np.sort(data), edges), expected)


def _scipy_reference_scores(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, float]:
    """The default tests of Evidently written directly with scipy, column by column."""
    out = {}
    for name in ref.columns:
        r, c = ref[name].dropna(), cur[name].dropna()
        if not pd.api.types.is_numeric_dtype(ref[name]):
            keys = sorted(set(r) | set(c))
            rc = np.array([(r == k).sum() for k in keys], float)
            cc = np.array([(c == k).sum() for k in keys], float)
            if len(r) > 1000:
                out[name] = float(distance.jensenshannon(rc / rc.sum(), cc / cc.sum()))
            else:
                out[name] = float(stats.chisquare(cc, rc * len(c) / len(r)).pvalue)
        elif len(r) > 1000:
            out[name] = stats.wasserstein_distance(r, c) / max(float(np.std(r)), 0.001)
        else:
            out[name] = float(stats.ks_2samp(r, c).pvalue)
    return out


@pytest.mark.parametrize("rows", [300, 3000])
def test_detect_drift_scores_match_scipy_column_by_column(rows: int) -> None:
    rng = np.random.default_rng(rows)
    cats = np.array(["a", "b", "c", "d"], dtype=object)

    def frame(shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "x": rng.normal(shift, 1, rows),
                "y": rng.exponential(1 + shift, rows),
                "plan": cats[rng.integers(0, 4 if shift == 0 else 3, rows)],
            }
        )

    ref, cur = frame(0.0), frame(0.4)
    report = detect_drift(ref, cur)
    expected = _scipy_reference_scores(ref, cur)
    for column in report.columns:
        assert column.score == pytest.approx(expected[column.column], rel=1e-9, abs=1e-12)
