"""The quickstart's monitoring step: drifted live traffic, feedback, an alert, a report.

After serving, :func:`show_monitoring` adds the ready-made feature drift rule, sends a
batch of predictions whose ``shift_column`` is moved by two standard deviations, waits
until the inference log holds them, posts their true labels as feedback, evaluates the
rules, and prints the drift table, the accuracy per version, the alert that fired and
where the HTML report went.

With ``retrain_candidate``, the drift rule's ``alert.fired`` events also trigger the
retraining pipeline (:mod:`podium.quickstart.retraining`): after the alert fires, one
round of ``podium up``'s trigger scan runs here and the step shows the retraining run
and the promotion request it left pending. The trigger stays: under ``podium up`` the
next firing starts the pipeline by itself.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from podium.errors import BackendUnavailableError, InvalidInputError, NotFoundError
from podium.monitoring.alerts.rules import feature_drift
from podium.monitoring.alerts.state import Alert
from podium.monitoring.report import write_report
from podium.pipelines.schedules import Trigger
from podium.platform import Installation, Platform
from podium.quickstart.retraining import Retraining, ensure_trigger, scan_triggers_once
from podium.quickstart.show import Show

__all__ = ["MonitoringShown", "show_monitoring"]

WINDOW = timedelta(minutes=15)
_BATCH = 50


@dataclass(frozen=True)
class MonitoringShown:
    """What the step did: predictions sent, labels posted, alerts fired, report paths."""

    sent: int
    labeled: int
    fired: list[Alert]
    report: Path
    report_json: Path


def _shifted(inputs: pd.DataFrame, column: str | None) -> tuple[pd.DataFrame, str]:
    numeric = [c for c in inputs.columns if pd.api.types.is_float_dtype(inputs[c])]
    chosen = column or (numeric[0] if numeric else None)
    if chosen is None or chosen not in inputs.columns:
        raise InvalidInputError(
            f"the shift column must be a numeric input column; got {chosen!r} instead",
            field="shift_column",
            remedy=f"pick one of {', '.join(numeric) or 'the numeric inputs'}",
        )
    shifted = inputs.copy()
    spread = float(shifted[chosen].std()) or 1.0
    shifted[chosen] = shifted[chosen] + 2 * spread
    return shifted, chosen


def _send(platform: Platform, deployment: str, rows: Sequence[Mapping[Any, Any]]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(rows), _BATCH):
        answer = platform.predict(deployment, instances=rows[start : start + _BATCH])
        batch = str(answer["request_id"])
        ids.extend(f"{batch}/{i}" for i in range(len(answer["predictions"])))
    return ids


def _wait_for_log(platform: Platform, deployment: str, at_least: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        overall = platform.monitoring.performance(deployment, window=WINDOW).overall
        if overall is not None and overall.requests >= at_least:
            return
        if time.monotonic() > deadline:
            raise BackendUnavailableError(
                f"the inference log of {deployment!r} did not receive the predictions within "
                f"{timeout:g} s",
                remedy="check the serving runtime's log for write errors",
            )
        time.sleep(0.2)


def show_monitoring(
    show: Show,
    platform: Platform,
    *,
    deployment: str,
    inputs: pd.DataFrame,
    labels: Sequence[Any],
    report_dir: Path,
    shift_column: str | None = None,
    model: str | None = None,
    timeout: float = 60.0,
    installation: Installation | None = None,
    retrain_candidate: str | None = None,
) -> MonitoringShown:
    """Send ``inputs`` shifted in ``shift_column`` (default: the first float column) to
    ``deployment``, post ``labels`` as their feedback, and show drift, accuracy, alerts
    and the report (written into ``report_dir``).

    ``model`` (e.g. ``customer-churn@production``) is the version the deployment serves:
    when the registry recorded no training table for it, the unshifted ``inputs`` become
    its reference profile. Either way the reference holds the version's predictions on
    its rows, so the drift table's ``(prediction)`` row has a value although all of the
    step's traffic falls into one window.

    With ``installation`` and ``retrain_candidate`` (a model of the grid), the drift
    alert triggers the retraining pipeline, started here by one scan round; see the module.
    """
    out = show.console
    out.print("[bold]6.[/] monitoring: drifted traffic, delayed labels, drift, accuracy, alerts")
    monitoring = platform.monitoring
    if model is not None:
        version = platform.registry.get_version(model)
        try:
            monitoring.reference(version.name, version.version)
        except NotFoundError:
            monitoring.set_reference(version.name, version.version, inputs)
    rule = feature_drift(deployment, share=0.1, window=WINDOW)
    if rule.name not in {r.name for r in monitoring.rules()}:
        monitoring.create_rule(rule)
    trigger: Trigger | None = None
    if installation is not None and retrain_candidate is not None:
        trigger = ensure_trigger(platform, rule=rule.name, candidate=retrain_candidate)
        out.print(
            f"the drift rule {rule.name!r} triggers the pipeline {trigger.pipeline!r} "
            f"(trigger {trigger.id[:8]}, on alert.fired)",
            markup=False,
        )
    already = monitoring.performance(deployment, window=WINDOW).overall
    shifted, column = _shifted(inputs, shift_column)
    request_ids = _send(platform, deployment, shifted.to_dict("records"))
    out.print(f"sent {len(request_ids)} predictions with {column!r} shifted by 2 std")
    _wait_for_log(
        platform, deployment, (already.requests if already else 0) + len(request_ids), timeout
    )
    receipt = monitoring.feedback_many(list(zip(request_ids, labels, strict=True)))
    out.print(f"posted {receipt.recorded} feedback labels")

    show.drift(monitoring.drift(deployment, window=WINDOW))
    show.accuracy(monitoring.accuracy(deployment, window=WINDOW))
    fired = [a for a in monitoring.evaluate_alerts() if a.state == "firing"]
    show.alerts(fired or monitoring.alerts(state="firing"))
    if installation is not None and trigger is not None:
        _show_retraining(show, scan_triggers_once(installation, platform, trigger))
    html, twin = write_report(
        monitoring.report(deployment, window=WINDOW), report_dir / f"{deployment}-report.html"
    )
    out.print(f"monitoring report: {html}  (JSON: {twin})")
    return MonitoringShown(
        sent=len(request_ids),
        labeled=receipt.recorded,
        fired=fired,
        report=html,
        report_json=twin,
    )


def _show_retraining(show: Show, retraining: Retraining) -> None:
    out = show.console
    run, activation = retraining.run, retraining.activation
    if run is None:
        why = (
            "the rule fired no new alert (an alert that keeps firing fires once)"
            if activation is None
            else activation.error or f"its run is {activation.status}"
        )
        out.print(f"no retraining run started: {why}", markup=False)
        return
    out.print(
        f"the alert started the retraining pipeline {run.pipeline!r}: run {run.id[:8]} "
        f"{run.status}",
        markup=False,
    )
    steps = show.table(None, "step", "status")
    for step in run.steps:
        steps.add_row(step.name, step.status)
    out.print(steps)
    result = retraining.gate
    if result is None:
        return
    production = (
        "no production version"
        if result.production is None
        else f"production {result.production:.4f}"
    )
    scored = f"{result.metric} {result.candidate:.4f} vs {production}"
    if not result.proposed or result.request_id is None:
        out.print(f"validation gate: {scored}; not proposed", markup=False)
        return
    out.print(
        f"validation gate: {scored}; registered version {result.version} and requested its "
        f"move to production (request {result.request_id}, pending); approve it with:",
        markup=False,
    )
    out.print(f"  podium models approve {result.request_id}", soft_wrap=True, markup=False)
