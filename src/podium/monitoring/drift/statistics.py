"""The statistical drift tests, vectorised over pre-sorted values or aligned counts.

Each function computes exactly what its scipy reference computes (checked by property
tests), but from inputs the caller prepares once per column: sorted values for the
numeric tests, counts over one shared list of categories for the categorical ones.
Callers guarantee non-empty inputs; the empty case is decided before a test runs.

=================  ==========================  ========  ===========
test               computes                    score     drifts when
=================  ==========================  ========  ===========
``ks``             two-sample K-S              p-value   p < 0.05
``chi2``           chi-square goodness of fit  p-value   p < 0.05
``z``              two-proportion Z-test       p-value   p < 0.05
``wasserstein``    Wasserstein-1 / ref. std    distance  d >= 0.1
``jensenshannon``  Jensen-Shannon (base e)     distance  d >= 0.1
``psi``            population stability index  distance  d >= 0.1
=================  ==========================  ========  ===========
"""

from __future__ import annotations

import math
from typing import Any, Literal, TypeAlias

import numpy as np
from scipy import special

__all__ = [
    "DEFAULT_THRESHOLDS",
    "TEST_KINDS",
    "TEST_NAMES",
    "Floats",
    "binned_counts",
    "chi_square_p_value",
    "jensen_shannon_distance",
    "ks_p_value",
    "ks_statistic",
    "population_stability_index",
    "sturges_edges",
    "wasserstein_from_quantiles",
    "wasserstein_normed",
    "z_test_p_value",
]

Floats: TypeAlias = np.ndarray[Any, np.dtype[np.float64]]
TestName: TypeAlias = Literal["ks", "chi2", "z", "wasserstein", "jensenshannon", "psi"]

#: What each test's score is and the threshold it is compared with by default.
TEST_KINDS: dict[str, Literal["p_value", "distance"]] = {
    "ks": "p_value",
    "chi2": "p_value",
    "z": "p_value",
    "wasserstein": "distance",
    "jensenshannon": "distance",
    "psi": "distance",
}
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chi2": 0.05,
    "z": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}
#: The name people read in a report.
TEST_NAMES: dict[str, str] = {
    "ks": "K-S p-value",
    "chi2": "chi-square p-value",
    "z": "Z-test p-value",
    "wasserstein": "Wasserstein distance (normed)",
    "jensenshannon": "Jensen-Shannon distance",
    "psi": "PSI",
}

_KS_EXACT_MAX_N = 10_000  # scipy's ks_2samp(method="auto") is exact up to this size


def _ecdfs(ref_sorted: Floats, cur_sorted: Floats) -> tuple[Floats, Floats, Floats]:
    """Both empirical CDFs evaluated at every value of both samples (sorted)."""
    both = np.concatenate((ref_sorted, cur_sorted))
    both.sort(kind="stable")  # two sorted runs: a linear-time merge
    ref_cdf = np.searchsorted(ref_sorted, both, side="right") / ref_sorted.size
    cur_cdf = np.searchsorted(cur_sorted, both, side="right") / cur_sorted.size
    return both, ref_cdf, cur_cdf


def ks_statistic(ref_sorted: Floats, cur_sorted: Floats) -> float:
    """The two-sided K-S statistic: the largest gap between the two empirical CDFs."""
    _, ref_cdf, cur_cdf = _ecdfs(ref_sorted, cur_sorted)
    return float(np.max(np.abs(ref_cdf - cur_cdf)))


def ks_p_value(statistic: float, n_ref: int, n_cur: int) -> float:
    """The two-sided K-S p-value of ``statistic`` as ``scipy.stats.ks_2samp`` gives it.

    Exact below 10,000 values per side (like scipy's ``method="auto"``), otherwise
    Smirnov's asymptotic distribution; an exact computation that fails numerically falls
    back to the asymptotic one (silently, where scipy would warn).
    """
    stats = _stats()
    if max(n_ref, n_cur) <= _KS_EXACT_MAX_N:
        from scipy.stats import _stats_py

        g = math.gcd(n_ref, n_cur)
        ok, _, prob = _stats_py._attempt_exact_2kssamp(n_ref, n_cur, g, statistic, "two-sided")
        if ok:
            return float(np.clip(prob, 0.0, 1.0))
    big, small = sorted([float(n_ref), float(n_cur)], reverse=True)
    en = big * small / (big + small)
    return float(np.clip(stats.kstwo.sf(statistic, np.round(en)), 0.0, 1.0))


def wasserstein_normed(ref_sorted: Floats, cur_sorted: Floats, ref_std: float) -> float:
    """Wasserstein-1 distance divided by ``max(ref_std, 0.001)`` (Evidently's norm)."""
    if ref_sorted.size == cur_sorted.size:  # quantile functions align value by value
        distance = float(np.mean(np.abs(ref_sorted - cur_sorted)))
    else:
        both, ref_cdf, cur_cdf = _ecdfs(ref_sorted, cur_sorted)
        distance = float(np.sum(np.abs(ref_cdf[:-1] - cur_cdf[:-1]) * np.diff(both)))
    return distance / max(ref_std, 0.001)


def wasserstein_from_quantiles(ref_quantiles: Floats, cur_quantiles: Floats) -> float:
    """Wasserstein-1 distance between two quantile functions on one even grid of probs.

    The integral of ``|Q_ref(p) - Q_cur(p)|`` over ``p`` by the trapezoid rule, which is
    how a stored reference sketch is compared with current data.
    """
    gaps = np.abs(ref_quantiles - cur_quantiles)
    return float((gaps[:-1] + gaps[1:]).sum() / (2 * (gaps.size - 1)))


def chi_square_p_value(ref_counts: Floats, cur_counts: Floats) -> float:
    """Chi-square goodness-of-fit p-value of current counts against reference shares.

    As ``scipy.stats.chisquare(cur, ref * n_cur / n_ref)``; a category that the reference
    never saw but the current data has makes the p-value 0 (certain drift) where scipy
    would divide by zero.
    """
    expected = ref_counts * (cur_counts.sum() / ref_counts.sum())
    if np.any((expected == 0) & (cur_counts > 0)):
        return 0.0
    seen = expected > 0
    if np.count_nonzero(seen) < 2:
        return 1.0
    statistic = float(np.sum((cur_counts[seen] - expected[seen]) ** 2 / expected[seen]))
    return float(_stats().chi2.sf(statistic, np.count_nonzero(seen) - 1))


def z_test_p_value(ref_counts: Floats, cur_counts: Floats) -> float:
    """Two-proportion Z-test p-value: the share of the first category vs all others.

    Categories must be in sorted order (the first is the one Evidently tests).
    """
    n_ref, n_cur = float(ref_counts.sum()), float(cur_counts.sum())
    p_ref = 1.0 - ref_counts[0] / n_ref
    p_cur = 1.0 - cur_counts[0] / n_cur
    pooled = (p_ref * n_ref + p_cur * n_cur) / (n_ref + n_cur)
    variance = pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur)
    if variance <= 0:  # one value on both sides: nothing differs
        return 1.0
    z = (p_ref - p_cur) / math.sqrt(variance)
    return float(2 * _stats().norm.sf(abs(z)))


def jensen_shannon_distance(ref_counts: Floats, cur_counts: Floats) -> float:
    """``scipy.spatial.distance.jensenshannon`` (natural log) of the two count vectors."""
    p = ref_counts / ref_counts.sum()
    q = cur_counts / cur_counts.sum()
    m = (p + q) / 2.0
    divergence = (special.rel_entr(p, m).sum() + special.rel_entr(q, m).sum()) / 2.0
    return float(np.sqrt(max(divergence, 0.0)))


def population_stability_index(ref_counts: Floats, cur_counts: Floats) -> float:
    """PSI over shares, empty bins filled with a small share as Evidently does."""
    p = _fill_zeroes(ref_counts / ref_counts.sum())
    q = _fill_zeroes(cur_counts / cur_counts.sum())
    return float(np.sum((p - q) * np.log(p / q)))


def _fill_zeroes(shares: Floats) -> Floats:
    nonzero = shares[shares != 0]
    smallest = float(nonzero.min()) if nonzero.size else 1.0
    fill = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return np.where(shares == 0, fill, shares)


def sturges_edges(low: float, high: float, n: int) -> Floats:
    """The bin edges ``numpy.histogram_bin_edges(x, "sturges")`` gives ``n`` values in range."""
    if high <= low:
        return np.array([low - 0.5, low + 0.5])
    width = (high - low) / (np.log2(n) + 1.0)
    bins = max(int(np.ceil((high - low) / width)), 1)
    return np.linspace(low, high, bins + 1, endpoint=True)


def binned_counts(sorted_values: Floats, edges: Floats) -> Floats:
    """``numpy.histogram(values, edges)[0]`` for sorted values (last bin closed)."""
    positions = np.searchsorted(sorted_values, edges, side="left")
    positions[-1] = np.searchsorted(sorted_values, edges[-1], side="right")
    return np.diff(positions).astype(np.float64)


def _stats() -> Any:
    # scipy.stats takes ~0.4 s to import: paid by the first drift test, not by every
    # `podium` command and process that imports monitoring.
    from scipy import stats

    return stats
