"""The registry interface: the embedded service and the HTTP client both implement it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from podium.data.catalog.models import MAX_DEPTH
from podium.registry.flavors import PodiumModel
from podium.registry.signature import Rows, Signature
from podium.registry.types import ModelPolicy, ModelVersion, RegisteredModel, TransitionRequest

__all__ = ["Registry"]


class Registry(Protocol):
    """Register, find and load model versions; aliases, stage transitions and lineage."""

    def register(
        self,
        name: str,
        model: Any,
        *,
        run_id: str | None = None,
        input_example: Rows | None = None,
        signature: Signature | Mapping[str, Any] | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        derived_from: str | None = None,
    ) -> ModelVersion: ...

    def get_model(self, name: str) -> RegisteredModel: ...

    def get_version(self, ref: str) -> ModelVersion: ...

    def list_models(self) -> list[RegisteredModel]: ...

    def list_versions(self, name: str) -> list[ModelVersion]: ...

    def load(self, ref: str) -> PodiumModel: ...

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion: ...

    def delete_alias(self, name: str, alias: str) -> None: ...

    def request_transition(
        self, name: str, version: int, stage: str, *, comment: str = ""
    ) -> TransitionRequest: ...

    def approve(self, request_id: str, *, comment: str = "") -> TransitionRequest: ...

    def reject(self, request_id: str, *, comment: str = "") -> TransitionRequest: ...

    def get_request(self, request_id: str) -> TransitionRequest: ...

    def list_requests(
        self, name: str | None = None, *, status: str | None = None
    ) -> list[TransitionRequest]: ...

    def set_policy(self, name: str, policy: ModelPolicy | Mapping[str, Any]) -> RegisteredModel: ...

    def lineage(self, ref: str, *, depth: int = MAX_DEPTH) -> dict[str, Any]: ...
