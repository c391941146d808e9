"""Which model version a batch job scores with: a registry reference or a deployment.

``customer-churn@production``, ``customer-churn@champion`` and ``customer-churn/3`` name
a version through the registry. A bare name is a deployment when the project has one of
that name (its stable version, and the online features it names), else the model's
latest version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from podium.errors import InvalidInputError, NotFoundError
from podium.registry.protocol import Registry
from podium.registry.types import ModelVersion
from podium.serving.protocol import DeploymentsAPI

__all__ = ["ModelChoice", "choose_model"]


@dataclass(frozen=True)
class ModelChoice:
    """The version to score with and, for a deployment, the online features it joins."""

    asked: str
    version: ModelVersion
    deployment: str | None = None
    features: list[str] = field(default_factory=list)
    entity_keys: list[str] = field(default_factory=list)

    @property
    def feature_names(self) -> list[str]:
        """The joined features' column names (``view:feature`` -> ``feature``)."""
        return [ref.split(":", 1)[1] for ref in self.features]


def choose_model(asked: str, *, registry: Registry, deployments: DeploymentsAPI) -> ModelChoice:
    """The version ``asked`` names; :class:`NotFoundError` naming both places otherwise."""
    if "@" in asked or "/" in asked:
        return ModelChoice(asked, _version(registry, asked))
    try:
        deployment = deployments.get(asked)
    except NotFoundError:
        deployment = None
    if deployment is not None:
        version = _version(registry, f"{deployment.model_name}/{deployment.traffic.stable}")
        spec = deployment.spec
        return ModelChoice(
            asked,
            version,
            deployment=deployment.name,
            features=list(spec.features),
            entity_keys=list(spec.entity_keys),
        )
    try:
        return ModelChoice(asked, registry.get_version(asked))
    except NotFoundError:
        raise NotFoundError(
            f"no deployment and no registered model named {asked!r} in this project",
            field="model",
            remedy="name a model version ('churn@production', 'churn/3') or a deployment; "
            "see `podium models ls` and `podium deploy ls`",
        ) from None


def _version(registry: Registry, ref: str) -> ModelVersion:
    """The version ``ref`` names; the registry's error, about the ``model`` argument."""
    try:
        return registry.get_version(ref)
    except (NotFoundError, InvalidInputError) as exc:
        raise type(exc)(
            exc.message, code=exc.code, remedy=exc.remedy, field="model", details=exc.details
        ) from None
