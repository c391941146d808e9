"""Deployments over HTTP: the same interface as the embedded Deployments service.

``predict`` posts to ``/v1/predictions`` and returns the response body unchanged.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter

from podium.client.http import ApiClient, url_path
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

__all__ = ["HttpDeployments"]

_DEPLOYMENTS = TypeAdapter(list[Deployment])
_CHANGES = TypeAdapter(list[DeploymentChange])
_REVIEWS = TypeAdapter(list[Review])


def _path(name: str, suffix: str = "") -> str:
    return url_path("/v1/deployments/{}", name) + suffix


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


class HttpDeployments:
    """The deployments of a podium server's project."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def predict(
        self,
        model_id: str,
        *,
        features: Mapping[str, Any] | None = None,
        instances: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """One prediction (``features``) or a batch (``instances``) from the server."""
        body: dict[str, Any] = {"model_id": model_id}
        if features is not None:
            body["features"] = dict(features)
        if instances is not None:
            body["instances"] = [dict(row) for row in instances]
        answer: dict[str, Any] = self._api.json("POST", "/v1/predictions", json=body)
        return answer

    def get(self, name: str) -> Deployment:
        """The stored deployment, by name or alias (its live status is left out)."""
        body = dict(self._api.json("GET", _path(name)))
        body.pop("status", None)
        return Deployment.model_validate(body)

    def status(self, name: str) -> DeploymentStatus:
        """The deployment as ``GET /v1/deployments/{name}`` returns it: spec, traffic,
        generation and, under ``status``, what the server has loaded."""
        return DeploymentStatus.model_validate(self._api.json("GET", _path(name)))

    def list(self) -> builtins.list[Deployment]:
        """Every deployment of the project."""
        return _DEPLOYMENTS.validate_python(self._api.json("GET", "/v1/deployments"))

    def history(self, name: str) -> builtins.list[DeploymentChange]:
        """The changes of ``name``, oldest first."""
        return _CHANGES.validate_python(self._api.json("GET", _path(name, "/history")))

    def reviews(
        self, name: str, *, status: ReviewStatus = "open", limit: int = 100
    ) -> builtins.list[Review]:
        """The escalated requests of ``name`` waiting for a human answer (or answered)."""
        params = {"status": status, "limit": limit}
        return _REVIEWS.validate_python(
            self._api.json("GET", _path(name, "/reviews"), params=params)
        )

    def answer_review(self, name: str, review_id: str, *, label: Label) -> Review:
        """Answer a review with the true ``label``; it becomes monitoring feedback."""
        path = _path(name, url_path("/reviews/{}", review_id))
        return Review.model_validate(self._api.json("POST", path, json={"label": label}))

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
        """Deploy ``model`` (see the embedded service)."""
        body = {
            "name": name,
            "model": model,
            "fallback": _plain(fallback),
            "timeout_ms": timeout_ms,
            "breaker": _plain(breaker),
            "cache": _plain(cache),
            "batching": _plain(batching),
            "features": list(features),
            "entity_keys": list(entity_keys),
            "log_inferences": log_inferences,
            "aliases": list(aliases),
        }
        return self._send("POST", "/v1/deployments", body)

    def update(self, name: str, **changes: Any) -> Deployment:
        """Change spec fields."""
        body = {key: _plain(value) for key, value in changes.items()}
        return self._send("PATCH", _path(name), body)

    def delete(self, name: str) -> None:
        """Remove the deployment."""
        self._api.request("DELETE", _path(name))

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
        """Route a share of traffic to ``version``."""
        body = {
            "version": version,
            "weight": weight,
            "sticky_key": sticky_key,
            "steps": list(steps) if steps is not None else None,
            "step_seconds": step_seconds,
            "limits": _plain(limits),
            "auto": auto,
        }
        return self._send("POST", _path(name, "/canary"), body)

    def step(self, name: str, *, weight: float | None = None, reason: str = "") -> Deployment:
        """Move the canary to ``weight`` or its next step."""
        return self._send("POST", _path(name, "/step"), {"weight": weight, "reason": reason})

    def promote(self, name: str, *, reason: str = "") -> Deployment:
        """Make the canary or green version stable."""
        return self._send("POST", _path(name, "/promote"), {"reason": reason})

    def rollback(self, name: str, *, reason: str = "") -> Deployment:
        """Drop the canary, or return to the blue version."""
        return self._send("POST", _path(name, "/rollback"), {"reason": reason})

    def shadow(self, name: str, version: int | str | None) -> Deployment:
        """Mirror traffic to ``version``; ``None`` stops."""
        return self._send("POST", _path(name, "/shadow"), {"version": version})

    def stage(self, name: str, version: int | str) -> Deployment:
        """Stage ``version`` as green."""
        return self._send("POST", _path(name, "/stage"), {"version": version})

    def switch(self, name: str) -> Deployment:
        """Make green stable."""
        return self._send("POST", _path(name, "/switch"), {})

    def sync(self, name: str) -> Deployment:
        """Follow the model ref now (see the embedded service)."""
        return self._send("POST", _path(name, "/sync"), {})

    def _send(self, method: str, path: str, body: dict[str, Any]) -> Deployment:
        return Deployment.model_validate(self._api.json(method, path, json=body))
