"""A deployment and its live status, as ``GET /v1/deployments/{name}`` shows it.

One function, so the server's route and the embedded ``p.deployments.status(name)``
return the same body: the stored deployment (spec, traffic, generation) and, under
``status``, what the serving runtime has loaded (versions, circuit breakers, shadow
agreement, cache) and the canary's last verdict.
"""

from __future__ import annotations

from typing import Any

from podium.serving.runtime import ServingRuntime

__all__ = ["deployment_status"]


def deployment_status(runtime: ServingRuntime, name: str) -> dict[str, Any]:
    """The body of ``GET /v1/deployments/{name}`` (``name`` may be an alias)."""
    status = runtime.describe(name)
    body = dict(status.pop("deployment"))
    verdict = runtime.judge.verdicts.get(status["name"])
    if verdict is not None:
        status["canary_verdict"] = {"decision": str(verdict.decision), "reason": verdict.reason}
    body["status"] = status
    return body
