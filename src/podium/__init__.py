"""podium: the whole ML platform in one Python package.

import podium
p = podium.connect()                       # embedded, under ./.podium
with p.tracking.start_run(experiment="churn", params={"C": 0.5}) as run:
    run.log_metrics({"auc": 0.91})

``connect()`` returns a :class:`Platform` (``p``) with one service per area:
``p.data``, ``p.catalog``, ``p.features``, ``p.tracking``, ``p.registry``,
``p.deployments`` and ``p.monitoring``; ``podium.connect(url, api_key=...)`` gives the same
interfaces over HTTP. This package exports what a user writes (``Entity``,
``FeatureView``, ...), every error class (:class:`PodiumError` and its subclasses), and the
types the areas' methods return (``Run``, ``ModelVersion``, ``Deployment``,
``DriftResult``, ...), so that ``from podium import DriftResult`` works for annotations and
``isinstance`` checks. Every name is imported on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from podium.lazy import lazy_exports

if TYPE_CHECKING:
    from podium.batch.types import BatchJob
    from podium.connection import connect
    from podium.data.catalog.models import CatalogHit, LineageGraph, TableDescription
    from podium.data.types import HistoryEntry, OptimizeResult, TableInfo, TableVersion
    from podium.errors import (
        AuthenticationError,
        BackendUnavailableError,
        ConflictError,
        IntegrityError,
        InvalidInputError,
        MissingDependencyError,
        NotFoundError,
        PayloadTooLargeError,
        PermissionDeniedError,
        PodiumError,
        RateLimitedError,
        RequestTimeoutError,
        StorageFullError,
    )
    from podium.events.bus.protocol import BusMessage, BusSubscription
    from podium.events.schemas.models import (
        CompatibilityCheck,
        SchemaSubject,
        SchemaValidation,
        SchemaVersion,
    )
    from podium.features.definitions import (
        Entity,
        Feature,
        FeatureService,
        FeatureView,
        OnDemandFeatureView,
    )
    from podium.features.historical import HistoricalFeatures
    from podium.features.online.read import OnlineFeatures
    from podium.features.protocol import (
        DefinitionDescription,
        FeatureSearchHit,
        MaterializationRun,
        Materialized,
        Pushed,
    )
    from podium.features.stored import Change, StoredDefinition
    from podium.monitoring.alerts.rules import AlertRule
    from podium.monitoring.alerts.state import Alert
    from podium.monitoring.feedback import FeedbackReceipt
    from podium.monitoring.protocol import (
        AccuracyResult,
        DriftResult,
        FairnessResult,
        PerformanceResult,
        QualityResult,
        ReferenceInfo,
    )
    from podium.pipelines.definitions import map, pipeline, step
    from podium.pipelines.schedules import Schedule, Trigger
    from podium.pipelines.space import choice, intuniform, loguniform, uniform
    from podium.pipelines.tuning_results import Study, StudyTrial
    from podium.pipelines.types import PipelineInfo, PipelineRun, StepRun
    from podium.platform import Platform
    from podium.registry.flavors import PodiumModel
    from podium.registry.types import (
        ModelLineage,
        ModelVersion,
        RegisteredModel,
        TransitionRequest,
    )
    from podium.serving.control.review_types import Review
    from podium.serving.control.spec import Deployment, DeploymentChange
    from podium.serving.control.status import DeploymentStatus
    from podium.tracking.autolog import autolog
    from podium.tracking.run import ActiveRun
    from podium.tracking.types import (
        ArtifactInfo,
        Experiment,
        MetricPoint,
        Run,
        RunComparison,
        RunPage,
    )


# Imported on first use, so that ``import podium.serving...`` in a serving-only process
# (``podium serve``) does not load the whole platform: each area costs memory and time.
# Keep this map and the imports above naming the same modules (tests/test_public_api.py).
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "connect": "podium.connection",
        "Platform": "podium.platform",
        "PodiumError": "podium.errors",
        "InvalidInputError": "podium.errors",
        "PayloadTooLargeError": "podium.errors",
        "AuthenticationError": "podium.errors",
        "PermissionDeniedError": "podium.errors",
        "RateLimitedError": "podium.errors",
        "RequestTimeoutError": "podium.errors",
        "StorageFullError": "podium.errors",
        "NotFoundError": "podium.errors",
        "ConflictError": "podium.errors",
        "IntegrityError": "podium.errors",
        "MissingDependencyError": "podium.errors",
        "BackendUnavailableError": "podium.errors",
        # what a user writes: feature definitions
        "Entity": "podium.features.definitions",
        "Feature": "podium.features.definitions",
        "FeatureService": "podium.features.definitions",
        "FeatureView": "podium.features.definitions",
        "OnDemandFeatureView": "podium.features.definitions",
        # what the areas' methods return, area by area
        "HistoryEntry": "podium.data.types",
        "OptimizeResult": "podium.data.types",
        "TableInfo": "podium.data.types",
        "TableVersion": "podium.data.types",
        "CatalogHit": "podium.data.catalog.models",
        "LineageGraph": "podium.data.catalog.models",
        "TableDescription": "podium.data.catalog.models",
        "Change": "podium.features.stored",
        "StoredDefinition": "podium.features.stored",
        "HistoricalFeatures": "podium.features.historical",
        "OnlineFeatures": "podium.features.online.read",
        "DefinitionDescription": "podium.features.protocol",
        "FeatureSearchHit": "podium.features.protocol",
        "MaterializationRun": "podium.features.protocol",
        "Materialized": "podium.features.protocol",
        "Pushed": "podium.features.protocol",
        "ActiveRun": "podium.tracking.run",
        "autolog": "podium.tracking.autolog",
        "ArtifactInfo": "podium.tracking.types",
        "Experiment": "podium.tracking.types",
        "MetricPoint": "podium.tracking.types",
        "Run": "podium.tracking.types",
        "RunComparison": "podium.tracking.types",
        "RunPage": "podium.tracking.types",
        "PodiumModel": "podium.registry.flavors",
        "ModelLineage": "podium.registry.types",
        "ModelVersion": "podium.registry.types",
        "RegisteredModel": "podium.registry.types",
        "TransitionRequest": "podium.registry.types",
        "Deployment": "podium.serving.control.spec",
        "DeploymentChange": "podium.serving.control.spec",
        "DeploymentStatus": "podium.serving.control.status",
        "Review": "podium.serving.control.review_types",
        # the event bus (podium.events.bus)
        "BusMessage": "podium.events.bus.protocol",
        "BusSubscription": "podium.events.bus.protocol",
        "AccuracyResult": "podium.monitoring.protocol",
        "DriftResult": "podium.monitoring.protocol",
        "FairnessResult": "podium.monitoring.protocol",
        "PerformanceResult": "podium.monitoring.protocol",
        "QualityResult": "podium.monitoring.protocol",
        "ReferenceInfo": "podium.monitoring.protocol",
        "FeedbackReceipt": "podium.monitoring.feedback",
        "AlertRule": "podium.monitoring.alerts.rules",
        "Alert": "podium.monitoring.alerts.state",
        # pipelines: what a user writes, and what p.pipelines returns
        "step": "podium.pipelines.definitions",
        "pipeline": "podium.pipelines.definitions",
        "map": "podium.pipelines.definitions",
        "PipelineInfo": "podium.pipelines.types",
        "PipelineRun": "podium.pipelines.types",
        "StepRun": "podium.pipelines.types",
        "Schedule": "podium.pipelines.schedules",
        "Trigger": "podium.pipelines.schedules",
        "BatchJob": "podium.batch.types",
        # the schema registry (p.events.schemas)
        "CompatibilityCheck": "podium.events.schemas.models",
        "SchemaSubject": "podium.events.schemas.models",
        "SchemaValidation": "podium.events.schemas.models",
        "SchemaVersion": "podium.events.schemas.models",
        # tuning: search-space helpers and what p.tune returns
        "loguniform": "podium.pipelines.space",
        "uniform": "podium.pipelines.space",
        "intuniform": "podium.pipelines.space",
        "choice": "podium.pipelines.space",
        "Study": "podium.pipelines.tuning_results",
        "StudyTrial": "podium.pipelines.tuning_results",
    },
)

__all__ = [
    "AccuracyResult",
    "ActiveRun",
    "Alert",
    "AlertRule",
    "ArtifactInfo",
    "AuthenticationError",
    "BackendUnavailableError",
    "BatchJob",
    "BusMessage",
    "BusSubscription",
    "CatalogHit",
    "Change",
    "CompatibilityCheck",
    "ConflictError",
    "DefinitionDescription",
    "Deployment",
    "DeploymentChange",
    "DeploymentStatus",
    "DriftResult",
    "Entity",
    "Experiment",
    "FairnessResult",
    "Feature",
    "FeatureSearchHit",
    "FeatureService",
    "FeatureView",
    "FeedbackReceipt",
    "HistoricalFeatures",
    "HistoryEntry",
    "IntegrityError",
    "InvalidInputError",
    "LineageGraph",
    "MaterializationRun",
    "Materialized",
    "MetricPoint",
    "MissingDependencyError",
    "ModelLineage",
    "ModelVersion",
    "NotFoundError",
    "OnDemandFeatureView",
    "OnlineFeatures",
    "OptimizeResult",
    "PayloadTooLargeError",
    "PerformanceResult",
    "PermissionDeniedError",
    "PipelineInfo",
    "PipelineRun",
    "Platform",
    "PodiumError",
    "PodiumModel",
    "Pushed",
    "QualityResult",
    "RateLimitedError",
    "ReferenceInfo",
    "RegisteredModel",
    "RequestTimeoutError",
    "Review",
    "Run",
    "RunComparison",
    "RunPage",
    "Schedule",
    "SchemaSubject",
    "SchemaValidation",
    "SchemaVersion",
    "StepRun",
    "StorageFullError",
    "StoredDefinition",
    "Study",
    "StudyTrial",
    "TableDescription",
    "TableInfo",
    "TableVersion",
    "TransitionRequest",
    "Trigger",
    "__version__",
    "autolog",
    "choice",
    "connect",
    "intuniform",
    "loguniform",
    "map",
    "pipeline",
    "step",
    "uniform",
]
