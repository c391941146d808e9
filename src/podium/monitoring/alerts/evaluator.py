"""Evaluating alert rules: on demand, and on a schedule inside the server.

:func:`evaluate_rules` computes each rule's metric over its window (ending now) and
records the outcome in the alert state, which fires or resolves alerts and writes their
events. :class:`AlertScheduler` does that for every project with rules, every
``interval`` seconds, in a background thread of ``podium up``. A rule whose metric cannot
be computed (no traffic in its window, fewer requests than its ``min_requests``, no
labels) neither fires nor resolves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from podium.errors import PodiumError
from podium.monitoring.alerts.rules import AlertRule, holds
from podium.monitoring.alerts.state import Alert, AlertStore
from podium.store.base import utcnow
from podium.store.periodic import Periodic

__all__ = ["AlertScheduler", "Evaluates", "Reading", "as_of", "evaluate_rules", "read_metric"]

_log = logging.getLogger(__name__)
_TRAFFIC = ("latency_p99_ms", "error_rate", "degraded_rate", "requests")


@dataclass(frozen=True)
class Reading:
    """A metric's value over a rule's window, or ``None`` with the reason why not."""

    value: float | None
    reason: str = ""


class _Monitors(Protocol):
    """The parts of the monitoring service a rule's metric is read from."""

    breaker: Callable[[str], bool | None] | None

    def drift(self, deployment: str, *, window: tuple[datetime, datetime]) -> object: ...

    def quality(self, deployment: str, *, window: tuple[datetime, datetime]) -> object: ...

    def performance(
        self, deployment: str, *, window: tuple[datetime, datetime], by_version: bool = ...
    ) -> object: ...

    def accuracy(self, deployment: str, *, window: tuple[datetime, datetime]) -> object: ...


class Evaluates(Protocol):
    """Anything that evaluates its project's rules (the monitoring service does)."""

    def evaluate_alerts(self) -> list[Alert]: ...


def as_of(now: datetime | None) -> datetime:
    """The evaluation time: ``now`` in UTC (a naive one is taken as UTC, as windows are),
    or the current time."""
    if now is None:
        return utcnow()
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def read_metric(monitoring: _Monitors, rule: AlertRule, now: datetime) -> Reading:
    """The value of ``rule.metric`` for ``rule.deployment`` over the window ending ``now``.

    A window with fewer requests than ``rule.min_requests`` has no value: its reason
    starts with "insufficient data". The breaker state is the present one, whatever
    ``now`` says (it has no history).
    """
    now = as_of(now)
    window = (now - rule.window, now)
    performance = None
    if rule.min_requests or rule.metric in _TRAFFIC:
        performance = monitoring.performance(rule.deployment, window=window, by_version=False)
    if rule.min_requests:
        overall = getattr(performance, "overall", None)
        requests = int(overall.requests) if overall is not None else 0
        if requests < rule.min_requests:
            return Reading(
                None,
                f"insufficient data: the window holds {requests} of the "
                f"{rule.min_requests} requests the rule needs",
            )
    if rule.metric in _TRAFFIC:
        return _traffic(performance, rule.metric)
    if rule.metric in ("feature_drift_share", "drifted_features", "prediction_drift"):
        return _drift(monitoring.drift(rule.deployment, window=window), rule)
    if rule.metric == "contract_violations":
        return _violations(monitoring.quality(rule.deployment, window=window))
    if rule.metric == "accuracy":
        return _accuracy(monitoring.accuracy(rule.deployment, window=window))
    if rule.metric == "breaker_open":
        return _breaker(monitoring, rule.deployment)
    raise AssertionError(f"metric {rule.metric!r} has no reader")  # METRICS lists only these


def _drift(drift: object, rule: AlertRule) -> Reading:
    if not getattr(drift, "enough_data", False):
        return Reading(None, str(getattr(drift, "reason", "not enough data")))
    if rule.metric == "prediction_drift":
        prediction = getattr(drift, "prediction", None)
        if prediction is None or prediction.score is None:
            reason = prediction.reason if prediction is not None else ""
            return Reading(None, reason or "not enough data: no predictions to compare")
        return Reading(1.0 if prediction.drifted else 0.0, prediction.reason)
    column = rule.options.get("column")
    columns = getattr(drift, "columns", [])
    if column is not None:
        columns = [c for c in columns if c.column == column]
    decided = [c for c in columns if c.score is not None]
    if not decided:
        return Reading(None, "not enough data: no column could be tested")
    drifted = sum(1 for c in decided if c.drifted)
    names = ", ".join(c.column for c in decided if c.drifted) or "none"
    value = float(drifted) if rule.metric == "drifted_features" else drifted / len(decided)
    return Reading(value, f"{drifted} of {len(decided)} features drifted ({names})")


def _violations(quality: object) -> Reading:
    if not getattr(quality, "rows", 0):
        return Reading(None, str(getattr(quality, "reason", "not enough data")))
    violations = getattr(quality, "violations", [])
    kinds = ", ".join(sorted({f"{v.get('column')}:{v.get('kind')}" for v in violations}))
    return Reading(float(len(violations)), f"violations: {kinds or 'none'}")


def _accuracy(accuracy: object) -> Reading:
    found = getattr(accuracy, "overall", {}).get("accuracy")
    if found is None or found.value is None:
        reason = found.reason if found is not None else getattr(accuracy, "reason", "")
        return Reading(None, reason or "not enough data")
    labeled = getattr(accuracy, "labeled", 0)
    return Reading(found.value, f"accuracy {found.value:.3f} on {labeled} labels")


def _breaker(monitoring: _Monitors, deployment: str) -> Reading:
    state = monitoring.breaker(deployment) if monitoring.breaker is not None else None
    if state is None:
        return Reading(None, "the breaker state of this deployment is not known here")
    return Reading(1.0 if state else 0.0, "breaker open" if state else "breaker closed")


def _traffic(performance: object, metric: str) -> Reading:
    overall = getattr(performance, "overall", None)
    if overall is None:
        return Reading(None, str(getattr(performance, "reason", "not enough data")))
    value = {
        "latency_p99_ms": overall.p99_ms,
        "error_rate": overall.error_rate,
        "degraded_rate": overall.degraded_rate,
        "requests": float(overall.requests),
    }[metric]
    if value is None:
        return Reading(None, "not enough data")
    return Reading(float(value), f"{metric} {value:.4g} over {overall.requests} requests")


def evaluate_rules(
    monitoring: _Monitors, store: AlertStore, *, now: datetime | None = None
) -> list[Alert]:
    """Evaluate every rule of ``store``'s project as of ``now`` (default: the current
    time; a naive ``now`` is UTC); the alerts that fired or resolved."""
    now = as_of(now)
    changed = []
    for rule in store.rules():
        try:
            reading = read_metric(monitoring, rule, now)
        except PodiumError as exc:  # e.g. a version without a reference: say so, go on
            reading = Reading(None, f"cannot evaluate: {exc}")
        breached = reading.value is not None and holds(rule, reading.value)
        message = f"{rule.describe()}: {reading.reason}" if reading.reason else rule.describe()
        alert = store.observe(
            rule.name, value=reading.value, breached=breached, message=message[:2000], now=now
        )
        if alert is not None:
            changed.append(alert)
    return changed


class AlertScheduler:
    """Evaluates the rules of every project that has any, every ``interval`` seconds.

    ``projects`` lists the projects to evaluate; ``monitoring_of`` gives a project's
    monitoring service. Both are given by the server, which knows the installation.
    """

    def __init__(
        self,
        projects: Callable[[], list[str]],
        monitoring_of: Callable[[str], Evaluates],
        *,
        interval: float = 60.0,
    ) -> None:
        self._projects = projects
        self._monitoring_of = monitoring_of
        self._loop = Periodic("podium-alerts", interval, self.run_once)

    def run_once(self) -> list[Alert]:
        """Evaluate every project's rules once; the alerts that changed state."""
        changed: list[Alert] = []
        for project in self._projects():
            try:
                changed.extend(self._monitoring_of(project).evaluate_alerts())
            except Exception:  # one project's failure must not stop the others' alerts
                _log.exception("evaluating the alert rules of project %r failed", project)
        return changed

    def start(self) -> None:
        """Start evaluating in a background thread, every ``interval`` seconds."""
        self._loop.start()

    def stop(self, *, timeout: float | None = None) -> None:
        """Stop the background thread, waiting for its current round."""
        self._loop.stop(timeout=timeout)
