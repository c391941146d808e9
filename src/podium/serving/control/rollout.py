"""Automatic canary rollouts: judge each running canary and step, promote or roll back.

:class:`CanaryJudge` runs a background thread that, every ``interval`` seconds, asks
:func:`~podium.serving.control.canary.judge` about each in-memory deployment with an automatic
canary, comparing the canary's error rate, p95 latency and prediction distribution with
the stable version's over the current step. A decision other than *hold* is applied
through the :class:`~podium.serving.control.deployments.Deployments` service (so it is stored,
audited as a deployment change with the verdict's reason, and every replica follows).
Each replica judges the traffic it saw; the first decision stored wins, and a replica
whose view is stale finds the canary already changed. On a deployment that follows a
stage, promoting a version not in it requests the stage transition: the canary then
holds at its weight, its verdict saying which request waits for approval, until an
approver applies it (the deployment follows the stage) or someone rolls it back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from podium.errors import PodiumError
from podium.serving.control.canary import CanaryLimits, CanarySchedule, Decision, Verdict, judge
from podium.serving.control.deployments import Deployments
from podium.serving.requests.state import DeploymentState
from podium.store.base import utcnow
from podium.store.periodic import Periodic

__all__ = ["CanaryJudge"]

_log = logging.getLogger(__name__)


class CanaryJudge:
    """Judges the automatic canaries of one runtime in the background."""

    def __init__(
        self,
        states: Callable[[], list[DeploymentState]],
        deployments: Deployments,
        *,
        interval: float = 1.0,
    ) -> None:
        self._states = states
        self._deployments = deployments
        self._loop = Periodic("podium-canary", interval, self.tick)
        self.verdicts: dict[str, Verdict] = {}
        """The last verdict per deployment (shown by ``GET /v1/deployments/{name}``)."""

    def start(self) -> None:
        """Judge every ``interval`` seconds in a background thread (idempotent)."""
        self._loop.start()

    def stop(self) -> None:
        """Stop judging, waiting up to 5 s for the current round."""
        self._loop.stop(timeout=5)

    def tick(self) -> dict[str, Verdict]:
        """Judge every automatic canary once and apply the decisions; the verdicts."""
        decided: dict[str, Verdict] = {}
        for state in self._states():
            name = state.name
            canary = state.deployment.traffic.canary
            if canary is None or not canary.auto or state.window is None:
                continue
            limits = canary.limits
            verdict = judge(
                state.window,
                CanaryLimits(
                    max_error_rate_increase=limits.max_error_rate_increase,
                    max_p95_latency_ratio=limits.max_p95_latency_ratio,
                    max_prediction_psi=limits.max_prediction_psi,
                    min_requests=limits.min_requests,
                    latency_slack_ms=limits.latency_slack_ms,
                ),
                step_elapsed_s=(utcnow() - canary.step_started_at).total_seconds(),
                schedule=CanarySchedule(steps=canary.steps, step_seconds=canary.step_seconds),
                current_weight=canary.weight,
            )
            try:
                self._apply(name, verdict)
            except PodiumError as exc:  # another replica decided first, or it was deleted
                if verdict.decision is Decision.PROMOTE and "transition_request_id" in exc.details:
                    verdict = Verdict(
                        Decision.HOLD,
                        f"{verdict.reason}, but {exc.message}",
                        verdict.stats,
                        next_weight=canary.weight,
                    )
                _log.info("canary decision on %r not applied: %s", name, exc)
            self.verdicts[name] = verdict
            decided[name] = verdict
        return decided

    def _apply(self, name: str, verdict: Verdict) -> None:
        if verdict.decision is Decision.STEP_UP:
            self._deployments.step(name, weight=verdict.next_weight, reason=verdict.reason)
        elif verdict.decision is Decision.PROMOTE:
            self._deployments.promote(name, reason=verdict.reason)
        elif verdict.decision is Decision.ROLLBACK:
            self._deployments.rollback(name, reason=verdict.reason)
