"""Scopes narrow what a key may do below its role: predict with one deployment, or read one area.

A key without scopes may do everything its role allows. A key with scopes may do only
what one of them allows, and never more than its role does:

- ``predict:DEPLOYMENT``: ``POST /v1/predictions`` whose ``model_id`` is DEPLOYMENT, the
  Open Inference Protocol routes of the model DEPLOYMENT (``/v2/models/DEPLOYMENT/...``)
  and ``GET /v1/deployments/DEPLOYMENT``;
- ``read:AREA``: the reads (GET, and the few searches sent as POST) of one area:
  tracking, registry, data, features, serving or monitoring.

Every scoped key may also ask ``GET /v1/whoami``. The check is by method and path, so it
runs before any route (:class:`podium.api.middleware.ScopeMiddleware`); only the
deployment of ``/v1/predictions`` is read from the body (:func:`deployment_of`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from podium.errors import InvalidInputError, PermissionDeniedError

__all__ = [
    "AREAS",
    "Scope",
    "check_prediction",
    "check_request",
    "deployment_of",
    "format_scopes",
    "parse_scope",
    "parse_scopes",
    "predicts_by_body",
]

# The path prefixes of each area's routes.
AREAS: dict[str, tuple[str, ...]] = {
    "tracking": ("/v1/experiments", "/v1/runs", "/api/2.0/mlflow/experiments",
                 "/api/2.0/mlflow/runs", "/api/2.0/mlflow/metrics",
                 "/api/2.0/mlflow/artifacts"),
    "registry": ("/v1/models", "/v1/transition-requests",
                 "/api/2.0/mlflow/registered-models", "/api/2.0/mlflow/model-versions"),
    "data": ("/v1/tables", "/v1/sql", "/v1/catalog", "/v1/lineage"),
    "features": ("/v1/features",),
    "serving": ("/v1/deployments", "/v2", "/metrics"),
    "monitoring": ("/v1/monitoring",),
}  # fmt: skip
# Reads sent as POST because their question does not fit in a query string.
_POST_READS = frozenset(
    {
        "/v1/runs/search",
        "/v1/runs/compare",
        "/v1/sql",
        "/v1/features/online",
        "/v1/features/plan",
        "/api/2.0/mlflow/runs/search",
        "/api/2.0/mlflow/experiments/search",
    }
)
_READS = frozenset({"GET", "HEAD"})
_ALWAYS = "/v1/whoami"
_DEPLOYMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_PREDICT_PATH = "/v1/predictions"
_REMEDY = "use a key without scopes for this, or create one with the scope it needs " \
    "(`podium keys create --scope predict:DEPLOYMENT` or `--scope read:AREA`)"  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """One thing a scoped key may do: ``predict`` with a deployment, or ``read`` an area."""

    kind: Literal["predict", "read"]
    target: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"


def parse_scope(text: str) -> Scope:
    """The scope ``text`` names (``predict:churn``, ``read:tracking``), or an InvalidInputError."""
    kind, _, target = text.strip().partition(":")
    if kind == "predict" and _DEPLOYMENT.match(target):
        return Scope("predict", target)
    if kind == "read" and target in AREAS:
        return Scope("read", target)
    raise InvalidInputError(
        f"a scope is predict:DEPLOYMENT or read:AREA (AREA one of {', '.join(AREAS)}); "
        f"got {text!r} instead",
        field="scopes",
        remedy="pass --scope predict:churn or --scope read:tracking (repeat for more)",
    )


def parse_scopes(texts: Iterable[str]) -> tuple[Scope, ...]:
    """Each scope of ``texts`` (also space-separated, as stored), duplicates dropped, in order."""
    found: dict[Scope, None] = {}
    for text in texts:
        for part in text.split():
            found[parse_scope(part)] = None
    return tuple(found)


def format_scopes(scopes: Iterable[Scope]) -> str:
    """``scopes`` as stored: space-separated, e.g. ``"predict:churn read:tracking"``."""
    return " ".join(str(scope) for scope in scopes)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _allows(scope: Scope, method: str, path: str) -> bool:
    if scope.kind == "read":
        read = method in _READS or (method == "POST" and path in _POST_READS)
        return read and any(_under(path, prefix) for prefix in AREAS[scope.target])
    if path == _PREDICT_PATH:
        return method == "POST"  # which deployment: check_prediction, from the body
    model = f"/v2/models/{scope.target}"
    if _under(path, model):
        rest = path[len(model) :]
        infers = rest == "/infer" or (rest.startswith("/versions/") and rest.endswith("/infer"))
        return (method == "POST" and infers) or method in _READS
    return method in _READS and path == f"/v1/deployments/{scope.target}"


def check_request(scopes: tuple[Scope, ...], method: str, path: str) -> None:
    """Raise :class:`PermissionDeniedError` unless one of ``scopes`` allows ``method path``.

    No scopes: everything is allowed (the role decides).
    """
    if not scopes or path == _ALWAYS or any(_allows(s, method, path) for s in scopes):
        return
    raise PermissionDeniedError(
        f"this key is limited to {format_scopes(scopes)}; {method} {path} is outside it",
        remedy=_REMEDY,
    )


def predicts_by_body(scopes: tuple[Scope, ...], method: str, path: str) -> bool:
    """Whether the deployment of this request must be read from its body to check it."""
    return bool(scopes) and method == "POST" and path == _PREDICT_PATH


def check_prediction(scopes: tuple[Scope, ...], deployment: str | None) -> None:
    """Raise :class:`PermissionDeniedError` unless ``scopes`` may predict with ``deployment``."""
    if not scopes:
        return
    allowed = [s.target for s in scopes if s.kind == "predict"]
    if deployment is not None and deployment in allowed:
        return
    only = ", ".join(allowed) if allowed else "no deployment"
    raise PermissionDeniedError(
        f"this key may predict with {only}; the request names {deployment!r}",
        field="model_id",
        remedy=_REMEDY,
    )


def deployment_of(body: bytes) -> str | None:
    """The ``model_id`` of a ``/v1/predictions`` body, or ``None`` when it names none."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    model_id = parsed.get("model_id") if isinstance(parsed, dict) else None
    return model_id if isinstance(model_id, str) else None
