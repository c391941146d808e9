"""Alert rules: ``metric condition threshold`` over a window of one deployment.

A rule such as ``error_rate > 0.05 over 5 minutes for 60 s`` breaches when the metric,
computed over the last ``window`` of the deployment's inference log, meets the condition;
it fires once the breach has lasted ``for_seconds`` (0: at the first evaluation that sees
it). A window in which the deployment logged fewer than ``min_requests`` predictions is
*insufficient data*: like a window without traffic it neither fires nor resolves (a firing
alert stays firing, a pending one starts over), so one slow first request cannot fire a
latency alert. The ready-made rules below cover what the platform watches out of the box;
the latency and error-rate ones ignore windows of fewer than :data:`MIN_REQUESTS`.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from podium.errors import InvalidInputError

__all__ = [
    "CONDITIONS",
    "METRICS",
    "MIN_REQUESTS",
    "AlertRule",
    "Condition",
    "Severity",
    "accuracy_drop",
    "breaker_open",
    "contract_violations",
    "default_rules",
    "error_rate",
    "feature_drift",
    "holds",
    "p99_latency",
    "parse_rule",
    "prediction_drift",
]

Condition = Literal[">", ">=", "<", "<=", "==", "!="]
Severity = Literal["info", "warning", "critical"]

CONDITIONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}

METRICS: dict[str, str] = {
    "feature_drift_share": "share of features whose drift test says drift (0 to 1)",
    "drifted_features": "number of features whose drift test says drift",
    "prediction_drift": "1 when the predictions drifted from the reference's predictions",
    "latency_p99_ms": "99th percentile latency in milliseconds",
    "error_rate": "share of requests answered with an error",
    "degraded_rate": "share of requests answered by a fallback, not the primary model",
    "breaker_open": "1 while the circuit breaker of the deployment's model is open",
    "contract_violations": "number of data contract violations (schema, type, range, ...)",
    "accuracy": "accuracy of the predictions that got feedback labels",
    "requests": "number of predictions in the window",
}
"""Every metric a rule can watch, with what it means."""

MIN_REQUESTS = 20
"""The fewest requests in a window for the ready-made latency and error-rate rules to judge
it: a p99 or an error rate of a handful of requests is noise, not a signal."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}$")


class AlertRule(BaseModel):
    """When to alert: ``metric`` of ``deployment`` over ``window`` meets the condition.

    ``options`` tunes a metric (e.g. ``{"column": "age"}`` limits feature drift to one
    column). ``min_requests`` is the fewest predictions the deployment must have logged in
    the window (shadow traffic aside) for the rule to judge it; a window with fewer is
    insufficient data and leaves the rule's alert as it is (0: every window counts).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    deployment: str
    metric: str
    condition: Condition
    threshold: float
    window: timedelta = timedelta(hours=1)
    for_seconds: int = Field(default=0, ge=0, le=7 * 24 * 3600)
    severity: Severity = "warning"
    options: dict[str, Any] = Field(default_factory=dict)
    min_requests: int = Field(default=0, ge=0, le=1_000_000_000)

    @field_validator("name", "deployment")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"must match {_NAME.pattern}; got {value!r} instead")
        return value

    @field_validator("metric")
    @classmethod
    def _check_metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"must be one of {', '.join(sorted(METRICS))}; got {value!r} instead")
        return value

    @field_validator("threshold")
    @classmethod
    def _check_threshold(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number; got {value!r} instead")
        return value

    @field_validator("window")
    @classmethod
    def _check_window(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(days=31):
            raise ValueError(f"must be from 1 second to 31 days; got {value} instead")
        return value

    def describe(self) -> str:
        """The rule as a sentence: ``error_rate > 0.05 over 0:05:00 (at least 20 requests)``."""
        held = f" for {self.for_seconds} s" if self.for_seconds else ""
        least = f" (at least {self.min_requests} requests)" if self.min_requests else ""
        return f"{self.metric} {self.condition} {self.threshold:g} over {self.window}{held}{least}"


def parse_rule(rule: AlertRule | Mapping[str, Any]) -> AlertRule:
    """``rule`` as an :class:`AlertRule`; a bad field is an InvalidInputError naming it."""
    if isinstance(rule, AlertRule):
        return rule
    try:
        return AlertRule.model_validate(dict(rule))
    except (ValidationError, TypeError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else None
        field = ".".join(str(p) for p in first["loc"]) if first else "rule"
        message = first["msg"] if first else str(exc)
        raise InvalidInputError(
            f"the rule's {field or 'body'!r} is invalid: {message}",
            field=field or "rule",
            remedy="see `podium monitor rules metrics` for the metrics a rule can watch",
        ) from None


def holds(rule: AlertRule, value: float) -> bool:
    """Whether ``value`` meets the rule's condition."""
    return CONDITIONS[rule.condition](value, rule.threshold)


def feature_drift(
    deployment: str, *, share: float = 0.5, window: timedelta = timedelta(hours=1)
) -> AlertRule:
    """Alert when at least ``share`` of the features drifted (Evidently's dataset drift)."""
    return AlertRule(
        name=f"{deployment}-feature-drift",
        deployment=deployment,
        metric="feature_drift_share",
        condition=">=",
        threshold=share,
        window=window,
        severity="warning",
    )


def prediction_drift(deployment: str, *, window: timedelta = timedelta(hours=1)) -> AlertRule:
    """Alert when the predictions drifted from the model's predictions on its reference
    rows (from the window before when the reference has none)."""
    return AlertRule(
        name=f"{deployment}-prediction-drift",
        deployment=deployment,
        metric="prediction_drift",
        condition=">=",
        threshold=1,
        window=window,
        severity="warning",
    )


def p99_latency(
    deployment: str,
    *,
    ms: float = 250.0,
    window: timedelta = timedelta(minutes=5),
    min_requests: int = MIN_REQUESTS,
) -> AlertRule:
    """Alert when the 99th percentile latency is above ``ms`` for a minute, judged only
    over windows of at least ``min_requests`` requests."""
    return AlertRule(
        name=f"{deployment}-p99-latency",
        deployment=deployment,
        metric="latency_p99_ms",
        condition=">",
        threshold=ms,
        window=window,
        for_seconds=60,
        severity="critical",
        min_requests=min_requests,
    )


def error_rate(
    deployment: str,
    *,
    rate: float = 0.05,
    window: timedelta = timedelta(minutes=5),
    min_requests: int = MIN_REQUESTS,
) -> AlertRule:
    """Alert when more than ``rate`` of the requests fail, judged only over windows of at
    least ``min_requests`` requests."""
    return AlertRule(
        name=f"{deployment}-error-rate",
        deployment=deployment,
        metric="error_rate",
        condition=">",
        threshold=rate,
        window=window,
        severity="critical",
        min_requests=min_requests,
    )


def breaker_open(deployment: str) -> AlertRule:
    """Alert while the circuit breaker of the deployment's model is open."""
    return AlertRule(
        name=f"{deployment}-breaker-open",
        deployment=deployment,
        metric="breaker_open",
        condition=">=",
        threshold=1,
        window=timedelta(minutes=1),
        severity="critical",
    )


def contract_violations(deployment: str, *, window: timedelta = timedelta(hours=1)) -> AlertRule:
    """Alert when the inputs break the data contract of the model version."""
    return AlertRule(
        name=f"{deployment}-contract-violations",
        deployment=deployment,
        metric="contract_violations",
        condition=">",
        threshold=0,
        window=window,
        severity="warning",
    )


def accuracy_drop(
    deployment: str, *, below: float = 0.8, window: timedelta = timedelta(days=1)
) -> AlertRule:
    """Alert when the accuracy on feedback labels falls below ``below``."""
    return AlertRule(
        name=f"{deployment}-accuracy-drop",
        deployment=deployment,
        metric="accuracy",
        condition="<",
        threshold=below,
        window=window,
        severity="critical",
    )


def default_rules(deployment: str) -> list[AlertRule]:
    """Every ready-made rule for ``deployment`` with its default thresholds."""
    return [
        feature_drift(deployment),
        prediction_drift(deployment),
        p99_latency(deployment),
        error_rate(deployment),
        breaker_open(deployment),
        contract_violations(deployment),
        accuracy_drop(deployment),
    ]
