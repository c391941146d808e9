"""podium: the whole ML platform in one Python package.

import podium
p = podium.connect()                       # embedded, under ./.podium
with p.tracking.start_run(experiment="churn", params={"C": 0.5}) as run:
    run.log_metrics({"auc": 0.91})
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podium.connection import connect
    from podium.errors import (
        AuthenticationError,
        ConflictError,
        InvalidInputError,
        NotFoundError,
        PermissionDeniedError,
        PodiumError,
    )
    from podium.features.definitions import (
        Entity,
        Feature,
        FeatureService,
        FeatureView,
        OnDemandFeatureView,
    )
    from podium.platform import Platform

# Imported on first use, so that ``import podium.serving...`` in a serving-only process
# (``podium serve``) does not load the whole platform: each area costs memory.
_EXPORTS = {
    "connect": "podium.connection",
    "Platform": "podium.platform",
    "AuthenticationError": "podium.errors",
    "ConflictError": "podium.errors",
    "InvalidInputError": "podium.errors",
    "NotFoundError": "podium.errors",
    "PermissionDeniedError": "podium.errors",
    "PodiumError": "podium.errors",
    "Entity": "podium.features.definitions",
    "Feature": "podium.features.definitions",
    "FeatureService": "podium.features.definitions",
    "FeatureView": "podium.features.definitions",
    "OnDemandFeatureView": "podium.features.definitions",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'podium' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AuthenticationError",
    "ConflictError",
    "Entity",
    "Feature",
    "FeatureService",
    "FeatureView",
    "InvalidInputError",
    "NotFoundError",
    "OnDemandFeatureView",
    "PermissionDeniedError",
    "Platform",
    "PodiumError",
    "__version__",
    "connect",
]
