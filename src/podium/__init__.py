"""podium: the whole ML platform in one Python package.

import podium
p = podium.connect()                       # embedded, under ./.podium
with p.tracking.start_run(experiment="churn", params={"C": 0.5}) as run:
    run.log_metrics({"auc": 0.91})
"""

from __future__ import annotations

__version__ = "0.1.0"

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
