"""The deployments interface: the embedded service and the HTTP client both implement it."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from podium.serving.control.review_types import Label, Review, ReviewStatus
from podium.serving.control.spec import (
    BatchingSpec,
    BreakerSpec,
    CacheSpec,
    CanaryLimitsSpec,
    Deployment,
    DeploymentChange,
    FallbackSpec,
)
from podium.serving.control.status import DeploymentStatus

__all__ = ["DeploymentsAPI"]


class DeploymentsAPI(Protocol):
    """Create and roll out deployments; predict against them (``p.deployments``).

    Reading needs the reader role; every change needs the writer role, bumps the
    deployment's ``generation`` and adds a :meth:`history` entry. A deployment is named
    by its name or one of its aliases; an unknown one is a :class:`NotFoundError`.
    """

    def predict(
        self,
        model_id: str,
        *,
        features: Mapping[str, Any] | None = None,
        instances: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """One prediction (``features``: one row as a mapping) or a batch (``instances``:
        many rows) from deployment ``model_id``; the body ``POST /v1/predictions`` returns
        (``prediction`` or ``predictions``, ``model_version``, ``request_id``, ...)."""
        ...

    def get(self, name: str) -> Deployment:
        """The stored deployment ``name``: its spec, traffic and generation."""
        ...

    def status(self, name: str) -> DeploymentStatus:
        """The stored deployment and, under ``status``, what the serving process has
        loaded: versions, load errors, circuit breakers, shadow agreement, cache and the
        canary's last verdict. Also readable as a dict (``status["status"]``)."""
        ...

    def list(self) -> builtins.list[Deployment]:
        """Every deployment of the project, by name."""
        ...

    def history(self, name: str) -> builtins.list[DeploymentChange]:
        """The changes of ``name``, oldest first: action, traffic after it, reason, actor."""
        ...

    def reviews(
        self, name: str, *, status: ReviewStatus = "open", limit: int = 100
    ) -> builtins.list[Review]:
        """The escalated requests of ``name`` (its chain ends in ``escalate``) waiting for
        a human answer, oldest first; ``status="answered"`` or ``"all"`` for the others.
        Each holds the request id, features, the default answer given and the reason."""
        ...

    def answer_review(self, name: str, review_id: str, *, label: Label) -> Review:
        """Answer a review with the true ``label`` (writer role): recorded as monitoring
        feedback for its request, so ``p.monitoring.accuracy`` counts it; 409 when it
        was answered already."""
        ...

    def create(
        self,
        name: str | None = None,
        *,
        model: str,
        fallback: FallbackSpec | Mapping[str, Any] | None = None,
        timeout_ms: float = 1000.0,
        breaker: BreakerSpec | Mapping[str, Any] | None = None,
        cache: CacheSpec | Mapping[str, Any] | None = None,
        batching: BatchingSpec | Mapping[str, Any] | None = None,
        features: Sequence[str] = (),
        entity_keys: Sequence[str] = (),
        log_inferences: bool = True,
        aliases: Sequence[str] = (),
    ) -> Deployment:
        """Deploy ``model``, a registry ref (``churn/3``, ``churn@production``).

        ``name`` defaults to the model's name; ``aliases`` are other names to predict
        against. A ref naming a stage or alias is followed when it moves (see
        :meth:`sync`). The model must load, or nothing is created; a taken name is a
        :class:`ConflictError`, a setting out of range an :class:`InvalidInputError`.
        """
        ...

    def update(self, name: str, **changes: Any) -> Deployment:
        """Change spec fields (``timeout_ms=200``, ``cache={"ttl_seconds": 5}``, ...).

        A new ``model`` is resolved and its version made stable; a deployment cannot be
        renamed.
        """
        ...

    def delete(self, name: str) -> None:
        """Remove the deployment; serving processes stop answering for it."""
        ...

    def canary(
        self,
        name: str,
        version: int | str,
        *,
        weight: float | None = None,
        sticky_key: str | None = None,
        steps: Sequence[float] | None = None,
        step_seconds: float = 60.0,
        limits: CanaryLimitsSpec | Mapping[str, Any] | None = None,
        auto: bool = True,
    ) -> Deployment:
        """Route a share of traffic to ``version`` (a number or a ref of the same model).

        The share starts at ``weight`` (default: the first of ``steps``); ``sticky_key``
        names a feature that pins a caller to one route. With ``auto`` the canary steps up
        every ``step_seconds`` while it stays within ``limits``, is promoted after the
        last step and rolled back when it is worse.
        """
        ...

    def step(self, name: str, *, weight: float | None = None, reason: str = "") -> Deployment:
        """Move the running canary to ``weight``, or to the next step of its schedule;
        without a canary, a :class:`ConflictError`."""
        ...

    def promote(self, name: str, *, reason: str = "") -> Deployment:
        """Make the canary (or the staged green) version stable; the old one stays loaded
        as blue. On a deployment following a stage, a version not allowed there is not
        promoted: its transition is requested and a :class:`ConflictError` names it."""
        ...

    def rollback(self, name: str, *, reason: str = "") -> Deployment:
        """Drop the canary; without one, return to the blue (previous) version at once."""
        ...

    def shadow(self, name: str, version: int | str | None) -> Deployment:
        """Mirror live traffic to ``version`` (answers compared and recorded, never
        returned); ``None`` stops."""
        ...

    def stage(self, name: str, version: int | str) -> Deployment:
        """Blue-green: load ``version`` as green and mirror live traffic to it."""
        ...

    def switch(self, name: str) -> Deployment:
        """Blue-green: make green stable in one step; the old stable stays loaded as blue."""
        ...

    def sync(self, name: str) -> Deployment:
        """Follow the model ref now: when its stage or alias names another version than
        when the deployment last followed it, make that version stable (the old one stays
        as blue). Serving does this by itself on registry events; call it to catch up at
        once, e.g. after an approval. A pinned deployment (``churn/3``), or one whose ref
        has not moved, is returned unchanged; a sync never undoes a rollback."""
        ...
