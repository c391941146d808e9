"""podium: the whole ML platform in one Python package.

import podium
p = podium.connect()                       # embedded, under ./.podium
with p.tracking.start_run(experiment="churn", params={"C": 0.5}) as run:
    run.log_metrics({"auc": 0.91})
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from podium.lazy import lazy_exports

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
# (``podium serve``) does not load the whole platform: each area costs memory and time.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
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
    },
)

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
