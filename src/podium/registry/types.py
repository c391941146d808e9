"""What the registry hands back: models, versions, transition requests and policies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from podium.data.catalog.models import LineageGraph, LineageNode

__all__ = [
    "STAGES",
    "Approval",
    "Decision",
    "ModelLineage",
    "ModelPolicy",
    "ModelVersion",
    "ModelVersionNode",
    "RegisteredModel",
    "RequestStatus",
    "Stage",
    "StagePolicy",
    "TransitionRequest",
    "default_policy",
]

Stage = Literal["none", "staging", "production", "archived"]
"""Where a version is in its life: registered, under test, serving, retired."""

STAGES: tuple[Stage, ...] = ("none", "staging", "production", "archived")

RequestStatus = Literal["pending", "approved", "rejected", "applied"]
Decision = Literal["approve", "reject"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class StagePolicy(_Frozen):
    """When a transition to one stage is applied.

    ``required_approvals`` approvals from identities other than the requester, each
    holding one of ``approver_roles`` or named in ``approvers``; and every gate (like
    ``metrics.auc >= 0.85``) must hold for the version's metrics.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    required_approvals: int = Field(default=1, ge=0, le=10)
    approver_roles: list[str] = Field(default_factory=lambda: ["admin"])
    approvers: list[str] = Field(default_factory=list)
    gates: list[str] = Field(default_factory=list)


class ModelPolicy(_Frozen):
    """The approval policy of a model, one :class:`StagePolicy` per requestable stage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    staging: StagePolicy = Field(default_factory=lambda: StagePolicy(required_approvals=0))
    production: StagePolicy = Field(default_factory=StagePolicy)

    def for_stage(self, stage: str) -> StagePolicy:
        """The policy of ``staging`` or ``production``."""
        return self.production if stage == "production" else self.staging


def default_policy() -> ModelPolicy:
    """Staging applies at once; production needs one admin's approval (not the requester)."""
    return ModelPolicy()


class RegisteredModel(_Frozen):
    """A named model and a summary of its versions."""

    name: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    policy: ModelPolicy = Field(default_factory=ModelPolicy)
    created_at: datetime
    latest_version: int | None = None
    aliases: dict[str, int] = Field(default_factory=dict)

    def __repr__(self) -> str:
        return f"RegisteredModel({self.name!r}, latest_version={self.latest_version!r})"

    def _repr_html_(self) -> str:
        from podium.notebook.registry import model_html

        return model_html(self)


class ModelVersion(_Frozen):
    """One registered version: its artifact, signature, provenance and stage."""

    name: str
    version: int
    flavor: str
    artifact_digest: str
    artifact_size: int
    signature: dict[str, Any] | None = None
    run_id: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list)
    code_version: str | None = None
    derived_from: str | None = None
    stage: Stage = "none"
    aliases: list[str] = Field(default_factory=list)
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    created_by: str = ""
    created_at: datetime

    @property
    def ref(self) -> str:
        """The exact reference of this version, ``name/version``."""
        return f"{self.name}/{self.version}"

    def __repr__(self) -> str:
        return f"ModelVersion({self.ref!r}, stage={self.stage!r}, flavor={self.flavor!r})"

    def _repr_html_(self) -> str:
        from podium.notebook.registry import version_html

        return version_html(self)


class Approval(_Frozen):
    """One identity's decision on a transition request."""

    actor: str
    decision: Decision
    comment: str = ""
    created_at: datetime


class TransitionRequest(_Frozen):
    """A request to move a version to a stage, with the decisions taken on it so far.

    ``message`` explains a pending request (what it still waits for) or a rejected one.
    """

    id: str
    name: str
    version: int
    from_stage: Stage
    to_stage: Stage
    requested_by: str
    comment: str = ""
    status: RequestStatus
    message: str = ""
    approvals: list[Approval] = Field(default_factory=list)
    created_at: datetime
    decided_at: datetime | None = None


class ModelVersionNode(LineageNode):
    """A model version in a lineage graph, described: its stage, flavor and metrics."""

    stage: Stage
    flavor: str
    code_version: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)


class ModelLineage(LineageGraph):
    """The lineage graph around a model version (``root``, ``model:churn/3``), as the
    catalog walks it, with every model version met described (:class:`ModelVersionNode`).

    Reads as the dict it was before, too: ``graph["nodes"]``, ``node["kind"]``.
    """

    nodes: list[Annotated[ModelVersionNode | LineageNode, Field(union_mode="left_to_right")]]
