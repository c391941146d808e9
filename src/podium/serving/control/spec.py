"""What a deployment is: its configuration (:class:`DeploymentSpec`) and live traffic.

A :class:`DeploymentSpec` is what its owner chose when creating it: the model ref it
serves (``customer-churn@production``), other names clients may use (``aliases``), the
fallback chain (a fallback model, a
rule-based function, a default response), the per-call timeout, the circuit breaker,
the response cache, dynamic batching, and the online features fetched for which entity
keys. :class:`Traffic` is what changes while it runs: the stable version, a canary with
its weight and schedule, a shadow (mirrored, never returned), a staged green version and
the previous (blue) version kept for an instant rollback.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "DEPLOYMENT_NAME_PATTERN",
    "BatchingSpec",
    "BreakerSpec",
    "CacheSpec",
    "CanaryLimitsSpec",
    "CanaryState",
    "Deployment",
    "DeploymentChange",
    "DeploymentSpec",
    "FallbackSpec",
    "Traffic",
]

DEPLOYMENT_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
_RULES = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_FEATURE_REF = re.compile(r"^[a-z][a-z0-9_]*:[a-z_][a-z0-9_]*$")
_NAME = re.compile(DEPLOYMENT_NAME_PATTERN)


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FallbackSpec(_Spec):
    """The links after the primary model, tried in order when it fails or times out.

    ``model`` is a registry ref (``customer-churn/2``); ``rules`` a ``module:function``
    called with one row of features returning a prediction (or a dict with
    ``prediction`` and ``probability``); ``default`` the response of last resort.
    ``escalate=True`` (it needs a ``default``) ends the chain in human escalation: the
    default answer is marked ``served_by: "escalated"`` and the request is queued for
    review (``p.deployments.reviews(name)``), whose answer becomes monitoring feedback.
    """

    model: str | None = None
    rules: str | None = None
    default: dict[str, Any] | None = None
    escalate: bool = False

    @field_validator("rules")
    @classmethod
    def _check_rules(cls, value: str | None) -> str | None:
        if value is not None and not _RULES.match(value):
            raise ValueError(f"rules must be 'module:function'; got {value!r} instead")
        return value

    @field_validator("default")
    @classmethod
    def _check_default(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and "prediction" not in value:
            raise ValueError("the default response needs a 'prediction'")
        return value

    @field_validator("escalate")
    @classmethod
    def _check_escalate(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("default") is None:
            raise ValueError(
                "escalate needs a default response to answer with while a human reviews: "
                "set fallback.default, e.g. {'prediction': 0}"
            )
        return value


class BreakerSpec(_Spec):
    """The circuit breaker of each model link (see :mod:`podium.serving.requests.breaker`)."""

    failure_rate: float = Field(default=0.5, gt=0, le=1)
    window_seconds: float = Field(default=30.0, gt=0)
    min_calls: int = Field(default=10, ge=1)
    cooldown_seconds: float = Field(default=10.0, ge=0)
    half_open_probes: int = Field(default=5, ge=1)
    restore_seconds: float = Field(default=10.0, ge=0)


class CacheSpec(_Spec):
    """The response cache: exact match on features and version, optionally by similarity."""

    enabled: bool = True
    ttl_seconds: float = Field(default=60.0, gt=0)
    max_entries: int = Field(default=10_000, ge=1)
    similarity_threshold: float | None = Field(default=None, gt=0)


class BatchingSpec(_Spec):
    """Server-side dynamic batching: gather concurrent requests into one model call."""

    enabled: bool = False
    max_batch_size: int = Field(default=32, ge=1, le=4096)
    max_wait_ms: float = Field(default=2.0, ge=0, le=1000)


class CanaryLimitsSpec(_Spec):
    """How much worse than stable a canary may be before it is rolled back."""

    max_error_rate_increase: float = Field(default=0.02, ge=0)
    max_p95_latency_ratio: float = Field(default=1.5, ge=1)
    max_prediction_psi: float = Field(default=0.2, gt=0)
    min_requests: int = Field(default=50, ge=1)
    latency_slack_ms: float = Field(default=1.0, ge=0)


class DeploymentSpec(_Spec):
    """The configuration of a deployment, as its owner created (or updated) it.

    ``aliases`` are other names clients may predict against (``model_id``), e.g. the
    name an older client already sends; like names, they are unique in a project.
    """

    name: str = Field(pattern=DEPLOYMENT_NAME_PATTERN)
    model: str
    aliases: list[str] = Field(default_factory=list)
    fallback: FallbackSpec = Field(default_factory=FallbackSpec)
    timeout_ms: float = Field(default=1000.0, gt=0, le=600_000)
    breaker: BreakerSpec = Field(default_factory=BreakerSpec)
    cache: CacheSpec = Field(default_factory=CacheSpec)
    batching: BatchingSpec = Field(default_factory=BatchingSpec)
    features: list[str] = Field(default_factory=list)
    entity_keys: list[str] = Field(default_factory=list)
    log_inferences: bool = True

    @field_validator("features")
    @classmethod
    def _check_features(cls, value: list[str]) -> list[str]:
        for ref in value:
            if not _FEATURE_REF.match(ref):
                raise ValueError(f"a feature is named 'view:feature'; got {ref!r} instead")
        return value

    @field_validator("aliases")
    @classmethod
    def _check_aliases(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("name") in value:
            raise ValueError(f"an alias must differ from the name {info.data['name']!r}")
        for alias in value:
            if not isinstance(alias, str) or not _NAME.match(alias):
                raise ValueError(
                    f"an alias must match {DEPLOYMENT_NAME_PATTERN}; got {alias!r} instead"
                )
        if len(set(value)) != len(value):
            raise ValueError(f"aliases must differ from each other; got {value!r}")
        return value


class CanaryState(_Spec):
    """A canary in progress: its version, current weight, schedule and limits."""

    version: int
    weight: float = Field(ge=0, le=1)
    sticky_key: str | None = None
    steps: tuple[float, ...] = (0.05, 0.25, 0.5, 1.0)
    step_seconds: float = Field(default=60.0, gt=0)
    limits: CanaryLimitsSpec = Field(default_factory=CanaryLimitsSpec)
    auto: bool = True
    step_started_at: datetime


class Traffic(_Spec):
    """Which versions get live traffic: stable, canary, shadow, green (staged), blue.

    ``ref_version`` is, for a deployment that follows a stage or alias, the version the
    ref named when the deployment last followed it: the deployment moves again only when
    the ref names another version, so a rollback is never undone by a resync.
    """

    stable: int
    canary: CanaryState | None = None
    shadow: int | None = None
    green: int | None = None
    blue: int | None = None
    ref_version: int | None = None

    def versions(self) -> list[int]:
        """Every version a serving process must have loaded, stable first."""
        found = [self.stable]
        extra = [self.canary.version if self.canary else None, self.shadow, self.green]
        found.extend(v for v in extra if v is not None and v not in found)
        return found


class Deployment(_Spec):
    """A deployment as stored: its spec, its traffic and its generation (change count)."""

    spec: DeploymentSpec
    traffic: Traffic
    generation: int
    created_by: str = ""
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        """The name clients predict against (``model_id``)."""
        return self.spec.name

    @property
    def model_name(self) -> str:
        """The registered model the deployment serves versions of."""
        return self.spec.model.split("@")[0].split("/")[0]


class DeploymentChange(_Spec):
    """One entry of a deployment's history: what changed, why, by whom."""

    generation: int
    action: str
    traffic: Traffic
    reason: str = ""
    actor: str = ""
    created_at: datetime
