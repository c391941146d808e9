"""A deployment and its live status, as ``GET /v1/deployments/{name}`` shows it.

:func:`deployment_status` builds the body, so the server's route and the embedded
``p.deployments.status(name)`` return the same one: the stored deployment (spec, traffic,
generation) and, under ``status``, what the serving runtime has loaded (versions, circuit
breakers, shadow agreement, cache) and the canary's last verdict.
:class:`DeploymentStatus` is that body as a model, which both sides of
:class:`~podium.serving.protocol.DeploymentsAPI` hand back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from podium.serving.control.spec import Deployment

if TYPE_CHECKING:  # the runtime is the server's; a client reads the models only
    from podium.serving.requests.runtime import ServingRuntime

__all__ = [
    "BreakerStatus",
    "CacheStatus",
    "CanaryVerdict",
    "DeploymentStatus",
    "LiveStatus",
    "ShadowStatus",
    "deployment_status",
]


class _Readable(BaseModel):
    """Also read as the dict it used to be: ``status["traffic"]`` is ``status.traffic``."""

    model_config = ConfigDict(frozen=True)

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default`` when it is None or not a field."""
        value = getattr(self, key) if key in type(self).model_fields else None
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        # As a dict had the key: the field exists and applies (None means it does not).
        return isinstance(key, str) and self.get(key) is not None


class BreakerStatus(_Readable):
    """One circuit breaker (of a version's link: primary or a fallback) and its counters.

    ``opened_at`` and ``closed_at`` are the serving process's monotonic clock, in seconds.
    """

    state: str
    calls: int
    failures: int
    failure_rate: float
    opened_at: float | None
    closed_at: float | None
    probe_in_flight: bool
    probe_successes: int
    admitted_share: float
    times_opened: int
    rejected: int


class ShadowStatus(_Readable):
    """How often the shadow (or green) version agreed with the answer returned."""

    compared: int
    agreed: int
    failed: int


class CacheStatus(_Readable):
    """The prediction cache of the deployment: hits, misses and entries held."""

    hits: int
    misses: int
    size: int


class CanaryVerdict(_Readable):
    """The canary judge's last decision (``hold``, ``step_up``, ``promote``, ``rollback``)."""

    decision: str
    reason: str


class LiveStatus(_Readable):
    """What the serving process has loaded for a deployment, and how it is doing.

    ``breakers`` is keyed ``"{version}/{link}"``; ``load_errors`` by model ref; ``cache``
    is None without a cache; ``canary_verdict`` None until a canary was judged.
    """

    name: str
    versions: list[str]
    load_errors: dict[str, str]
    breakers: dict[str, BreakerStatus]
    shadow: ShadowStatus
    cache: CacheStatus | None
    canary_verdict: CanaryVerdict | None = None


class DeploymentStatus(Deployment, _Readable):
    """The stored deployment and, under ``status``, its live status in the serving process."""

    status: LiveStatus


def deployment_status(runtime: ServingRuntime, name: str) -> dict[str, Any]:
    """The body of ``GET /v1/deployments/{name}`` (``name`` may be an alias): the JSON
    of a :class:`DeploymentStatus`, without ``canary_verdict`` until there is one."""
    status = runtime.describe(name)
    body = dict(status.pop("deployment"))
    verdict = runtime.judge.verdicts.get(status["name"])
    if verdict is not None:
        status["canary_verdict"] = {"decision": str(verdict.decision), "reason": verdict.reason}
    body["status"] = status
    return body
