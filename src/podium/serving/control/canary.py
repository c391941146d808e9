"""Canary analysis: is the canary as good as the stable version, and what to do next.

A :class:`CanaryWindow` accumulates, per arm (``"stable"``, ``"canary"``), requests,
errors, latencies and predictions over the current step of a :class:`CanarySchedule`.
:func:`judge` compares the arms against :class:`CanaryLimits` and returns a
:class:`Verdict`: roll back when the canary's error rate, p95 latency or prediction
distribution (PSI, quantile bins fixed from the stable arm) is worse beyond the limits; hold until
each arm has ``min_requests`` and the step has run its time; then step the weight up, or
promote after the last step below 100%.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import numpy as np

from podium.errors import InvalidInputError

__all__ = [
    "CanaryLimits",
    "CanarySchedule",
    "CanaryWindow",
    "Decision",
    "Verdict",
    "judge",
    "population_stability_index",
]

ARMS = ("stable", "canary")
_PSI_BINS = 10
_PSI_SAMPLES_PER_BIN = 25
_PSI_FLOOR = 1e-4  # share given to an empty bin, so the log stays finite


@dataclass(frozen=True)
class CanaryLimits:
    """How much worse than stable a canary may be before it is rolled back.

    ``max_error_rate_increase`` is absolute (0.02: two points). The canary's p95 latency
    may reach ``max_p95_latency_ratio`` times stable's, and always ``latency_slack_ms``
    more (sub-millisecond p95s jitter by more than any ratio). ``max_prediction_psi``
    bounds the shift of the prediction distribution; it is checked once each arm has
    ``min_psi_predictions`` predictions, allowing for the PSI that sampling noise alone
    produces (so a healthy canary is not rolled back by chance). No decision is taken
    before each arm has ``min_requests`` requests in the window.
    """

    max_error_rate_increase: float = 0.02
    max_p95_latency_ratio: float = 1.5
    max_prediction_psi: float = 0.2
    min_requests: int = 50
    latency_slack_ms: float = 1.0
    min_psi_predictions: int = 200

    def __post_init__(self) -> None:
        for name in ("max_error_rate_increase", "max_prediction_psi", "latency_slack_ms"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                _invalid("CanaryLimits", name, "a finite number >= 0", value)
        if not (self.max_p95_latency_ratio >= 1 and math.isfinite(self.max_p95_latency_ratio)):
            _invalid("CanaryLimits", "max_p95_latency_ratio", "a number >= 1",
                     self.max_p95_latency_ratio)  # fmt: skip
        if self.min_requests < 1:
            _invalid("CanaryLimits", "min_requests", "at least 1", self.min_requests)
        if self.min_psi_predictions < 2 * _PSI_SAMPLES_PER_BIN:
            _invalid("CanaryLimits", "min_psi_predictions", f"at least {2 * _PSI_SAMPLES_PER_BIN}",
                     self.min_psi_predictions)  # fmt: skip


@dataclass(frozen=True)
class CanarySchedule:
    """The canary weights, in order, and how long each step runs before the next."""

    steps: tuple[float, ...] = (0.05, 0.25, 0.5, 1.0)
    step_seconds: float = 60.0

    def __post_init__(self) -> None:
        steps = self.steps
        if not steps or any(not (0 < s <= 1) for s in steps):
            _invalid("CanarySchedule", "steps", "weights in (0, 1]", steps)
        if any(b <= a for a, b in itertools.pairwise(steps)):
            _invalid("CanarySchedule", "steps", "strictly increasing", steps)
        if not (self.step_seconds > 0 and math.isfinite(self.step_seconds)):
            _invalid("CanarySchedule", "step_seconds", "a positive number", self.step_seconds)

    def next_weight(self, current_weight: float) -> float | None:
        """The first step above ``current_weight`` (``None`` after the last step)."""
        return next((s for s in self.steps if s > current_weight + 1e-9), None)


def _invalid(owner: str, name: str, expected: str, got: object) -> None:
    raise InvalidInputError(
        f"the '{name}' parameter of {owner} must be {expected}; got {got!r} instead",
        field=name,
        remedy=f"pass a valid '{name}'",
    )


@dataclass
class _Arm:
    requests: int = 0
    errors: int = 0
    seen_latencies: int = 0
    seen_predictions: int = 0
    latencies: list[float] = field(default_factory=list)
    predictions: list[float] = field(default_factory=list)


class CanaryWindow:
    """Per-arm accumulators over the current canary step; thread-safe.

    Counts are exact; latencies and predictions are kept as a uniform reservoir sample of
    at most ``max_samples`` per arm (seeded by ``seed``), so memory stays bounded.
    """

    def __init__(self, *, max_samples: int = 10_000, seed: int = 0) -> None:
        if max_samples < 1:
            _invalid("CanaryWindow", "max_samples", "at least 1", max_samples)
        self._max = max_samples
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._arms = {arm: _Arm() for arm in ARMS}

    def record(self, role: str, *, ok: bool, latency_ms: float, prediction: float | None) -> None:
        """Record one request answered by ``role`` (``"stable"`` or ``"canary"``)."""
        arm = self._arms.get(role)
        if arm is None:
            raise InvalidInputError(
                f"a canary window records 'stable' or 'canary'; got {role!r} instead",
                field="role",
                remedy="pass the role of the route that answered",
            )
        with self._lock:
            arm.requests += 1
            if not ok:
                arm.errors += 1
            if math.isfinite(latency_ms):
                arm.seen_latencies += 1
                self._sample(arm.latencies, arm.seen_latencies, float(latency_ms))
            if prediction is not None and math.isfinite(prediction):
                arm.seen_predictions += 1
                self._sample(arm.predictions, arm.seen_predictions, float(prediction))

    def _sample(self, kept: list[float], seen: int, value: float) -> None:
        if len(kept) < self._max:
            kept.append(value)
            return
        slot = self._rng.randrange(seen)  # reservoir sampling (Algorithm R)
        if slot < self._max:
            kept[slot] = value

    def reset(self) -> None:
        """Start a new step: forget everything recorded so far."""
        with self._lock:
            self._arms = {arm: _Arm() for arm in ARMS}

    def arm(self, role: Literal["stable", "canary"]) -> tuple[int, int, list[float], list[float]]:
        """A copy of one arm: requests, errors, latencies (ms), predictions."""
        with self._lock:
            a = self._arms[role]
            return a.requests, a.errors, list(a.latencies), list(a.predictions)


class Decision(StrEnum):
    """What to do with a canary now."""

    HOLD = "hold"
    STEP_UP = "step_up"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class Verdict:
    """A decision, the sentence that explains it, and the numbers it was made from.

    ``next_weight`` is the canary weight to set for ``STEP_UP`` (1.0 for ``PROMOTE``, 0.0
    for ``ROLLBACK``, the current weight for ``HOLD``).
    """

    decision: Decision
    reason: str
    stats: dict[str, object]
    next_weight: float | None = None


def population_stability_index(
    expected: np.ndarray, actual: np.ndarray, *, bins: int = _PSI_BINS
) -> float:
    """PSI of ``actual`` against ``expected``, with quantile bins fixed from ``expected``.

    Bins that coincide (discrete predictions such as class labels) are merged; an empty
    bin counts as a share of 1e-4 so the logarithm stays finite.
    """
    quantiles = np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1])
    edges = np.unique(quantiles)
    slots = len(edges) + 1
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=slots)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=slots)
    e_share = np.maximum(e / e.sum(), _PSI_FLOOR)
    a_share = np.maximum(a / a.sum(), _PSI_FLOOR)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def _psi_bins(samples: int) -> int:
    # Sampling noise alone gives a PSI near (bins - 1) * (1/n_stable + 1/n_canary); with at
    # least _PSI_SAMPLES_PER_BIN predictions per bin it stays well under any sane limit.
    return max(2, min(_PSI_BINS, samples // _PSI_SAMPLES_PER_BIN))


def _p95(values: list[float]) -> float | None:
    return float(np.percentile(values, 95)) if values else None


def judge(
    window: CanaryWindow,
    limits: CanaryLimits,
    *,
    step_elapsed_s: float,
    schedule: CanarySchedule,
    current_weight: float,
) -> Verdict:
    """Decide the canary's next move from ``window`` (the current step's traffic).

    In order: HOLD until each arm has ``limits.min_requests`` (at weight 1 only the canary
    needs them); ROLLBACK when the error rate, p95 latency or prediction PSI is beyond the
    limits; HOLD until the step has run ``schedule.step_seconds``; then STEP_UP to the
    next weight, or PROMOTE when the next step would be 100% or there is none.
    """
    s_requests, s_errors, s_latency, s_pred = window.arm("stable")
    c_requests, c_errors, c_latency, c_pred = window.arm("canary")
    s_rate = s_errors / s_requests if s_requests else None
    c_rate = c_errors / c_requests if c_requests else None
    s_p95, c_p95 = _p95(s_latency), _p95(c_latency)
    compare = s_requests >= limits.min_requests
    psi = psi_noise = None
    psi_samples = min(len(s_pred), len(c_pred))
    if compare and psi_samples >= limits.min_psi_predictions:
        bins = _psi_bins(psi_samples)
        psi = population_stability_index(np.asarray(s_pred), np.asarray(c_pred), bins=bins)
        # Two samples of one distribution give a PSI near this on average (its chi-square
        # bias), so only a shift beyond it counts against the canary.
        psi_noise = (bins - 1) * (1 / len(s_pred) + 1 / len(c_pred))
    stats: dict[str, object] = {
        "weight": current_weight,
        "step_elapsed_s": step_elapsed_s,
        "stable": {"requests": s_requests, "error_rate": s_rate, "p95_latency_ms": s_p95},
        "canary": {"requests": c_requests, "error_rate": c_rate, "p95_latency_ms": c_p95},
        "prediction_psi": psi,
    }

    def verdict(decision: Decision, reason: str, weight: float) -> Verdict:
        return Verdict(decision, reason, stats, next_weight=weight)

    need = limits.min_requests
    stable_needed = current_weight < 1
    if c_requests < need or (stable_needed and s_requests < need):
        return verdict(
            Decision.HOLD,
            f"waiting for {need} requests per arm (stable {s_requests}, canary {c_requests})",
            current_weight,
        )
    assert c_rate is not None
    if compare and s_rate is not None:
        if c_rate > s_rate + limits.max_error_rate_increase:
            return verdict(
                Decision.ROLLBACK,
                f"canary error rate {c_rate:.3g} exceeds stable {s_rate:.3g} + "
                f"{limits.max_error_rate_increase:g}",
                0.0,
            )
        if s_p95 is not None and c_p95 is not None:
            allowed = max(s_p95 * limits.max_p95_latency_ratio, s_p95 + limits.latency_slack_ms)
            if c_p95 > allowed:
                return verdict(
                    Decision.ROLLBACK,
                    f"canary p95 latency {c_p95:.3g} ms exceeds "
                    f"{limits.max_p95_latency_ratio:g} x stable {s_p95:.3g} ms",
                    0.0,
                )
        if (
            psi is not None
            and psi_noise is not None
            and psi > limits.max_prediction_psi + psi_noise
        ):
            return verdict(
                Decision.ROLLBACK,
                f"canary prediction PSI {psi:.3g} exceeds {limits.max_prediction_psi:g} "
                f"(+{psi_noise:.2g} allowed for sampling noise): its predictions are "
                "distributed unlike stable's",
                0.0,
            )
    if step_elapsed_s < schedule.step_seconds:
        return verdict(
            Decision.HOLD,
            f"canary healthy at {current_weight:.0%}; step has run {step_elapsed_s:.0f} s "
            f"of {schedule.step_seconds:g} s",
            current_weight,
        )
    following = schedule.next_weight(current_weight)
    if following is None or following >= 1:
        return verdict(
            Decision.PROMOTE,
            f"canary healthy at {current_weight:.0%} for {step_elapsed_s:.0f} s "
            f"(error rate {c_rate:.3g}, p95 {c_p95 or 0:.3g} ms); promote it",
            1.0,
        )
    return verdict(
        Decision.STEP_UP,
        f"canary healthy at {current_weight:.0%} for {step_elapsed_s:.0f} s "
        f"(error rate {c_rate:.3g}, p95 {c_p95 or 0:.3g} ms); step up to {following:.0%}",
        following,
    )
