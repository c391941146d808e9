"""The deployments interface: the embedded service and the HTTP client both implement it."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from podium.serving.spec import (
    BatchingSpec,
    BreakerSpec,
    CacheSpec,
    CanaryLimitsSpec,
    Deployment,
    DeploymentChange,
    FallbackSpec,
)

__all__ = ["DeploymentsAPI"]


class DeploymentsAPI(Protocol):
    """Create and roll out deployments; predict against them (``p.deployments``)."""

    def predict(
        self,
        model_id: str,
        *,
        features: Mapping[str, Any] | None = None,
        instances: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]: ...

    def get(self, name: str) -> Deployment: ...

    def status(self, name: str) -> dict[str, Any]: ...

    def list(self) -> builtins.list[Deployment]: ...

    def history(self, name: str) -> builtins.list[DeploymentChange]: ...

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
    ) -> Deployment: ...

    def update(self, name: str, **changes: Any) -> Deployment: ...

    def delete(self, name: str) -> None: ...

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
    ) -> Deployment: ...

    def step(self, name: str, *, weight: float | None = None, reason: str = "") -> Deployment: ...

    def promote(self, name: str, *, reason: str = "") -> Deployment: ...

    def rollback(self, name: str, *, reason: str = "") -> Deployment: ...

    def shadow(self, name: str, version: int | str | None) -> Deployment: ...

    def stage(self, name: str, version: int | str) -> Deployment: ...

    def switch(self, name: str) -> Deployment: ...
