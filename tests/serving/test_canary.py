"""Canary analysis: each decision, the metric that drives it, and the window's bookkeeping."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest

from podium.errors import InvalidInputError
from podium.serving.control.canary import (
    CanaryLimits,
    CanarySchedule,
    CanaryWindow,
    Decision,
    Verdict,
    judge,
    population_stability_index,
)

LIMITS = CanaryLimits(min_requests=50)
SCHEDULE = CanarySchedule(steps=(0.05, 0.25, 0.5, 1.0), step_seconds=60)


def fill(
    window: CanaryWindow,
    role: str,
    n: int,
    *,
    error_rate: float = 0.0,
    latency_ms: float = 10.0,
    mean: float = 0.3,
    seed: int = 0,
) -> None:
    rng = random.Random(seed)
    errors = round(n * error_rate)
    for i in range(n):
        window.record(
            role,
            ok=i >= errors,
            latency_ms=latency_ms * rng.uniform(0.9, 1.1),
            prediction=min(max(rng.gauss(mean, 0.1), 0.0), 1.0),
        )


def healthy(n: int = 200) -> CanaryWindow:
    window = CanaryWindow()
    fill(window, "stable", n, error_rate=0.01, seed=1)
    fill(window, "canary", n, error_rate=0.01, seed=2)
    return window


def decide(window: CanaryWindow, *, elapsed: float = 60, weight: float = 0.05) -> Verdict:
    return judge(window, LIMITS, step_elapsed_s=elapsed, schedule=SCHEDULE, current_weight=weight)


def test_hold_until_each_arm_has_min_requests() -> None:
    window = CanaryWindow()
    fill(window, "stable", 500, seed=1)
    fill(window, "canary", 49, error_rate=1.0, seed=2)  # terrible, but too few to judge
    verdict = decide(window, elapsed=600)
    assert verdict.decision is Decision.HOLD
    assert verdict.reason == "waiting for 50 requests per arm (stable 500, canary 49)"
    assert verdict.next_weight == 0.05


def test_rollback_on_error_rate() -> None:
    window = CanaryWindow()
    fill(window, "stable", 100, error_rate=0.01, seed=1)
    fill(window, "canary", 100, error_rate=0.12, seed=2)
    verdict = decide(window, elapsed=1)
    assert verdict.decision is Decision.ROLLBACK
    assert verdict.reason == "canary error rate 0.12 exceeds stable 0.01 + 0.02"
    assert verdict.next_weight == 0.0
    assert verdict.stats["canary"] == {
        "requests": 100,
        "error_rate": 0.12,
        "p95_latency_ms": pytest.approx(10.9, abs=0.2),
    }


def test_error_rate_within_the_allowed_increase_is_fine() -> None:
    window = CanaryWindow()
    fill(window, "stable", 100, error_rate=0.01, seed=1)
    fill(window, "canary", 100, error_rate=0.03, seed=2)
    assert decide(window).decision is Decision.STEP_UP


def test_rollback_on_p95_latency() -> None:
    window = CanaryWindow()
    fill(window, "stable", 100, latency_ms=10, seed=1)
    fill(window, "canary", 100, latency_ms=20, seed=2)
    verdict = decide(window, elapsed=1)
    assert verdict.decision is Decision.ROLLBACK
    assert verdict.reason.startswith("canary p95 latency")
    assert "exceeds 1.5 x stable" in verdict.reason


def test_sub_millisecond_latency_jitter_is_not_a_regression() -> None:
    window = CanaryWindow()
    fill(window, "stable", 100, latency_ms=0.2, seed=1)
    fill(window, "canary", 100, latency_ms=0.6, seed=2)  # 3x, but under 1 ms more
    assert decide(window).decision is Decision.STEP_UP


def test_rollback_on_prediction_shift() -> None:
    window = CanaryWindow()
    fill(window, "stable", 500, mean=0.3, seed=1)
    fill(window, "canary", 500, mean=0.6, seed=2)
    verdict = decide(window, elapsed=1)
    assert verdict.decision is Decision.ROLLBACK
    assert verdict.reason.startswith("canary prediction PSI")
    psi = verdict.stats["prediction_psi"]
    assert isinstance(psi, float) and psi > 0.2


def test_prediction_shift_is_not_judged_on_too_few_predictions() -> None:
    window = CanaryWindow()
    fill(window, "stable", 100, mean=0.3, seed=1)
    fill(window, "canary", 100, mean=0.6, seed=2)
    verdict = decide(window)
    assert verdict.decision is Decision.STEP_UP
    assert verdict.stats["prediction_psi"] is None


def test_sampling_noise_alone_never_rolls_back_a_healthy_canary() -> None:
    for seed in range(30):
        window = CanaryWindow()
        fill(window, "stable", 200, seed=seed)
        fill(window, "canary", 200, seed=1000 + seed)
        assert decide(window).decision is Decision.STEP_UP, seed


def test_hold_while_healthy_within_the_step() -> None:
    verdict = decide(healthy(), elapsed=30)
    assert verdict.decision is Decision.HOLD
    assert verdict.reason == "canary healthy at 5%; step has run 30 s of 60 s"
    psi = verdict.stats["prediction_psi"]
    assert isinstance(psi, float) and psi < 0.2


def test_step_up_to_the_next_weight_after_a_healthy_step() -> None:
    verdict = decide(healthy(), elapsed=60, weight=0.05)
    assert verdict.decision is Decision.STEP_UP
    assert verdict.next_weight == 0.25
    assert verdict.reason.endswith("step up to 25%")
    assert decide(healthy(), weight=0.25).next_weight == 0.5
    assert decide(healthy(), weight=0.1).next_weight == 0.25  # between steps: the next above


def test_promote_instead_of_stepping_to_full_traffic() -> None:
    verdict = decide(healthy(), elapsed=60, weight=0.5)
    assert verdict.decision is Decision.PROMOTE
    assert verdict.next_weight == 1.0
    assert "promote" in verdict.reason


def test_promote_after_the_last_step_of_a_partial_schedule() -> None:
    schedule = CanarySchedule(steps=(0.1, 0.3), step_seconds=10)
    verdict = judge(healthy(), LIMITS, step_elapsed_s=10, schedule=schedule, current_weight=0.3)
    assert verdict.decision is Decision.PROMOTE


def test_at_full_weight_only_the_canary_needs_traffic() -> None:
    window = CanaryWindow()
    fill(window, "canary", 60, seed=2)
    assert decide(window, weight=1.0).decision is Decision.PROMOTE
    assert decide(window, weight=0.5).decision is Decision.HOLD


def test_window_reset_starts_a_new_step() -> None:
    window = healthy()
    window.reset()
    assert window.arm("stable") == (0, 0, [], [])
    assert decide(window).decision is Decision.HOLD


def test_window_records_failures_without_predictions_and_ignores_non_finite() -> None:
    window = CanaryWindow()
    window.record("canary", ok=False, latency_ms=5.0, prediction=None)
    window.record("canary", ok=True, latency_ms=float("nan"), prediction=float("inf"))
    assert window.arm("canary") == (2, 1, [5.0], [])
    with pytest.raises(InvalidInputError) as info:
        window.record("blue", ok=True, latency_ms=1.0, prediction=None)
    assert info.value.field == "role"


def test_window_keeps_a_bounded_sample_but_exact_counts() -> None:
    window = CanaryWindow(max_samples=100)
    for i in range(10_000):
        window.record("stable", ok=i % 10 != 0, latency_ms=float(i), prediction=float(i))
    requests, errors, latencies, predictions = window.arm("stable")
    assert (requests, errors) == (10_000, 1000)
    assert len(latencies) == len(predictions) == 100
    assert 3000 < float(np.mean(latencies)) < 7000  # a uniform sample of 0..9999


def test_window_is_thread_safe() -> None:
    window = CanaryWindow()

    def worker() -> None:
        for _ in range(2000):
            window.record("canary", ok=True, latency_ms=1.0, prediction=0.5)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert window.arm("canary")[0] == 8000


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    stable = rng.normal(0.3, 0.1, 5000)
    assert population_stability_index(stable, stable) == pytest.approx(0.0, abs=1e-12)
    assert population_stability_index(stable, rng.normal(0.3, 0.1, 5000)) < 0.02
    assert population_stability_index(stable, rng.normal(0.5, 0.1, 5000)) > 0.5


def test_psi_handles_discrete_predictions() -> None:
    stable = np.array([0.0] * 70 + [1.0] * 30)
    same = np.array([0.0] * 69 + [1.0] * 31)
    flipped = np.array([0.0] * 30 + [1.0] * 70)
    assert population_stability_index(stable, same) < 0.01
    assert population_stability_index(stable, flipped) > 0.5


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (lambda: CanaryLimits(max_error_rate_increase=-0.1), "max_error_rate_increase"),
        (lambda: CanaryLimits(max_p95_latency_ratio=0.5), "max_p95_latency_ratio"),
        (lambda: CanaryLimits(min_requests=0), "min_requests"),
        (lambda: CanaryLimits(min_psi_predictions=10), "min_psi_predictions"),
        (lambda: CanarySchedule(steps=()), "steps"),
        (lambda: CanarySchedule(steps=(0.5, 0.25)), "steps"),
        (lambda: CanarySchedule(steps=(0.5, 1.5)), "steps"),
        (lambda: CanarySchedule(step_seconds=0), "step_seconds"),
        (lambda: CanaryWindow(max_samples=0), "max_samples"),
    ],
)
def test_bad_settings_name_the_field(factory: object, name: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        factory()  # type: ignore[operator]
    assert info.value.field == name
