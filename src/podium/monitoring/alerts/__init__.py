"""Alerting: rules over monitoring metrics, their evaluation, and alert state with events."""

from __future__ import annotations

from podium.monitoring.alerts.evaluator import AlertScheduler, evaluate_rules, read_metric
from podium.monitoring.alerts.rules import (
    METRICS,
    MIN_REQUESTS,
    AlertRule,
    accuracy_drop,
    breaker_open,
    contract_violations,
    default_rules,
    error_rate,
    feature_drift,
    p99_latency,
    prediction_drift,
)
from podium.monitoring.alerts.state import Alert, AlertStore, projects_with_rules

__all__ = [
    "METRICS",
    "MIN_REQUESTS",
    "Alert",
    "AlertRule",
    "AlertScheduler",
    "AlertStore",
    "accuracy_drop",
    "breaker_open",
    "contract_violations",
    "default_rules",
    "error_rate",
    "evaluate_rules",
    "feature_drift",
    "p99_latency",
    "prediction_drift",
    "projects_with_rules",
    "read_metric",
]
