"""The composition root: one installation (database, storage, access) and its projects.

:class:`Installation` owns what all projects share; :meth:`Installation.platform` hands
out a :class:`Platform` (the SDK's ``p``) whose services are built for one project. The
API server holds one installation and asks it for the caller's project on each request.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import re
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from podium.access.audit import AuditLog, Auditor
from podium.access.keys import KeyService
from podium.access.projects import Project, ProjectService
from podium.access.roles import Role
from podium.config import Settings
from podium.data.catalog import Catalog
from podium.data.catalog.models import LineageEdge
from podium.data.lake import DataLake
from podium.data.protocol import CatalogAPI, Data
from podium.data.service import DataService
from podium.errors import NotFoundError
from podium.features.online import OnlineStore, default_online_store_url, open_online_store
from podium.features.protocol import Features
from podium.features.service import FeatureStore
from podium.monitoring.protocol import MonitoringAPI
from podium.monitoring.service import Monitoring
from podium.registry.protocol import Registry
from podium.registry.service import RegistryService
from podium.serving.deployments import Deployments
from podium.serving.inference_log import INFERENCE_LOG_TABLE
from podium.serving.protocol import DeploymentsAPI
from podium.serving.runtime import ServingRuntime, open_runtime
from podium.serving.spec import Deployment, DeploymentSpec
from podium.serving.spool import InferenceSpool, parked_projects, spool_store
from podium.serving.status import deployment_status
from podium.serving.warmup import deployed_projects
from podium.store.artifacts import ArtifactStore, open_artifact_store
from podium.store.database import Database
from podium.tracking.protocol import Tracking
from podium.tracking.service import TrackingService

__all__ = ["Installation", "Platform"]

_TABLE_REF = re.compile(r"^([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)(@\d+)?$")


@dataclass
class Platform:
    """One project's view of podium: ``p.tracking`` (more areas as they land)."""

    project: str
    tracking: Tracking
    data: Data
    catalog: CatalogAPI
    registry: Registry
    features: Features
    deployments: DeploymentsAPI
    monitoring: MonitoringAPI
    closer: Callable[[], None] | None = field(default=None, repr=False)

    def predict(
        self,
        model_id: str,
        *,
        features: Mapping[str, Any] | None = None,
        instances: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A prediction from deployment ``model_id``: the body ``POST /v1/predictions`` gives."""
        return self.deployments.predict(model_id, features=features, instances=instances)

    def close(self) -> None:
        """Release the connections this platform holds."""
        if self.closer is not None:
            self.closer()

    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Installation:
    """Everything one podium installation shares, built from :class:`Settings`."""

    def __init__(self, settings: Settings, *, migrate: bool = True) -> None:
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.resolved_database_url)
        if migrate:
            self.db.upgrade()
        self.storage: ArtifactStore = open_artifact_store(
            settings.resolved_storage_url, s3_endpoint_url=settings.s3_endpoint_url
        )
        self.projects = ProjectService(self.db)
        self.keys = KeyService(self.db, self.projects)
        self.audit = AuditLog(self.db)
        self._platforms: dict[tuple[str, str, Role], Platform] = {}
        self._online: OnlineStore | None = None
        # One serving runtime per project, built on the first prediction and shared.
        self._runtimes: dict[str, ServingRuntime] = {}
        # One lake and catalog per project, shared by every caller's platform, so open
        # tables, write locks and catalog state are not duplicated per API key.
        self._lakes: dict[str, tuple[DataLake, Catalog]] = {}
        self._lock = threading.Lock()

    def platform(
        self, project: str | None = None, *, user: str | None = None, role: Role = Role.ADMIN
    ) -> Platform:
        """The platform of ``project`` (created on first use when embedded)."""
        name = project or self.settings.project
        actor = user if user is not None else _local_user()
        with self._lock:
            cached = self._platforms.get((name, actor, role))
        if cached is not None:
            return cached
        proj = self.projects.ensure(name)
        built = self._build(proj, actor, role)
        with self._lock:
            return self._platforms.setdefault((name, actor, role), built)

    def platform_for_existing(self, project: str, *, user: str, role: Role) -> Platform:
        """The platform of a project known to exist (the API server's path; never creates)."""
        with self._lock:
            cached = self._platforms.get((project, user, role))
        if cached is not None:
            return cached
        built = self._build(self.projects.get(project), user, role)
        with self._lock:
            return self._platforms.setdefault((project, user, role), built)

    def _build(self, project: Project, user: str, role: Role) -> Platform:
        artifacts = self.storage.child(f"projects/{project.name}")
        lake, catalog = self._lake_of(project)
        # Every service records this caller's changes once, whichever front door called.
        audit = Auditor(self.audit, project_id=project.id, actor=user)
        data = DataService(lake, catalog, actor=user)

        def resolve_input(run_id: str, ref: str) -> str:
            # Lake tables are pinned to a version and linked to the run; anything else
            # (a file path, a URL) is kept as given.
            match = _TABLE_REF.match(ref)
            if match is None or match.group(1) not in data.tables():
                return ref
            return data.record_run_input(run_id, ref)

        tracking = TrackingService(
            self.db, artifacts, project, user=user, resolve_input=resolve_input
        )
        tracking.metric_flush_interval = self.settings.metric_flush_interval
        registry = RegistryService(
            self.db,
            artifacts,
            project,
            tracking=tracking,
            actor=user,
            role=role,
            audit=audit,
            lineage=catalog,
        )
        features = FeatureStore(
            self.db,
            project,
            data=data,
            catalog=catalog,
            online=self.online_store,
            actor=user,
            role=role,
            audit=audit,
        )
        return Platform(
            project=project.name,
            tracking=tracking,
            data=data,
            catalog=catalog,
            registry=registry,
            features=features,
            deployments=Deployments(
                self.db,
                project,
                registry=registry,
                actor=user,
                role=role,
                notify=functools.partial(self._deployment_changed, project.name),
                predictor=functools.partial(self._predict, project.name),
                verify=functools.partial(self._verify_deployable, project.name),
                describer=lambda name: deployment_status(self.runtime(project.name), name),
                audit=audit,
            ),
            monitoring=Monitoring(
                self.db,
                project,
                data=data,
                registry=registry,
                actor=user,
                role=role,
                breaker=functools.partial(self._breaker_open, project.name),
                refresh=functools.partial(self.commit_spool, project),
            ),
        )

    def commit_spool(self, project: Project) -> int:
        """Append what ``podium serve`` replicas of ``project`` parked to its inference log.

        Safe from several processes at once (each parked batch is claimed by one); returns
        the number of rows committed.
        """
        spool = InferenceSpool(self.db, spool_store(self.storage, project.name), project)
        if spool.pending() == 0:
            return 0
        lake, catalog = self._lake_of(project)
        data = DataService(lake, catalog, actor=SPOOL_ACTOR)
        return spool.commit(
            lambda table: data.write(INFERENCE_LOG_TABLE, table, mode="append"),
            holder=f"{socket.gethostname()}:{os.getpid()}",  # a claim outlives a crash
        )

    def commit_spools(self) -> int:
        """:meth:`commit_spool` for every project with parked batches (the server's loop)."""
        return sum(self.commit_spool(self.projects.get(name)) for name in parked_projects(self.db))

    def runtime(self, project: str) -> ServingRuntime:
        """The serving runtime of ``project`` (built on first use, shared by every caller)."""
        with self._lock:
            found = self._runtimes.get(project)
        if found is not None:
            return found
        serving = self.platform_for_existing(project, user="podium:serving", role=Role.WRITER)
        assert isinstance(serving.deployments, Deployments)
        built = open_runtime(
            project,
            deployments=serving.deployments,
            registry=serving.registry,
            data=serving.data,
            features=serving.features,
        )
        with self._lock:
            found = self._runtimes.setdefault(project, built)
        if found is not built:
            built.close()
        return found

    def warm_deployments(self, projects: Sequence[str] | None = None) -> int:
        """Load every deployment of ``projects`` (default: every project) and predict
        once with each of its models, as ``podium up`` does before it reports ready;
        how many deployments were warmed."""
        warmed = 0
        for project in deployed_projects(self.db) if projects is None else projects:
            runtime = self.runtime(project)
            for deployment in runtime.deployments.list():
                with contextlib.suppress(NotFoundError):  # deleted meanwhile
                    runtime.warm(deployment.name)
                    warmed += 1
        return warmed

    def _deployment_changed(self, project: str, name: str) -> None:
        with self._lock:
            runtime = self._runtimes.get(project)
        if runtime is None:
            return
        reloading = runtime.reload(name)
        if threading.current_thread().name.startswith("podium-reload"):
            return  # a change made while reloading: never wait on our own queue
        # Usually the caller's next prediction sees its change (the reload takes a few
        # milliseconds); under heavy load it may land a little later, never blocking the
        # change for long. A failed reload keeps what serves now and is logged.
        with contextlib.suppress(Exception):
            reloading.result(timeout=2)

    def _verify_deployable(self, project: str, spec: DeploymentSpec) -> None:
        # Loaded by the runtime that will serve it, which keeps the model for the first
        # request.
        self.runtime(project).verify(spec)

    def _predict(self, project: str, model_id: str, **body: Any) -> dict[str, Any]:
        return self.runtime(project).predict_sync(model_id, **body)

    def _breaker_open(self, project: str, deployment: str) -> bool | None:
        """Whether the primary model's breaker of ``deployment`` is open in this process
        (``None`` when this process does not serve it: the alert rule stays silent)."""
        with self._lock:
            runtime = self._runtimes.get(project)
        if runtime is None or deployment not in runtime.names():
            return None
        breakers = runtime.describe(deployment)["breakers"]
        primary = [b["state"] for key, b in breakers.items() if key.endswith("/primary")]
        return any(state == "open" for state in primary) if primary else None

    @property
    def online_store(self) -> OnlineStore:
        """The online feature store every project shares (tables are per project)."""
        with self._lock:
            if self._online is None:
                url = self.settings.online_store_url or default_online_store_url(self.settings.home)
                self._online = open_online_store(url)
            return self._online

    def _lake_of(self, project: Project) -> tuple[DataLake, Catalog]:
        with self._lock:
            shared = self._lakes.get(project.name)
            if shared is None:
                lake = DataLake(
                    f"{self.storage.url.rstrip('/')}/lake/projects/{project.name}",
                    storage_options=self._lake_storage_options(),
                )
                served = functools.partial(self._served_edges, project.name)
                catalog = Catalog(self.db, lake, project, live_edges=served)
                shared = self._lakes[project.name] = (lake, catalog)
            return shared

    def _served_edges(self, project: str) -> list[LineageEdge]:
        """The lineage edges from each model version to the deployments serving it now."""
        reader = self.platform_for_existing(project, user=LINEAGE_ACTOR, role=Role.READER)
        return [edge for found in reader.deployments.list() for edge in _served_by(found)]

    def _lake_storage_options(self) -> dict[str, str] | None:
        if not self.storage.url.startswith("s3://"):
            return None
        options = {"AWS_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
        if self.settings.s3_endpoint_url:
            options["AWS_ENDPOINT_URL"] = self.settings.s3_endpoint_url
            options["AWS_ALLOW_HTTP"] = "true"
        return options

    def close(self) -> None:
        """Close the database pool and the online store."""
        with self._lock:
            runtimes, self._runtimes = list(self._runtimes.values()), {}
        for runtime in runtimes:
            runtime.close()
        if self._online is not None:
            self._online.close()
        self.db.dispose()


LINEAGE_ACTOR = "podium:lineage"
"""Who reads the deployments for the lineage graph (it changes nothing)."""

_SERVED_AS = (("stable", "stable_in"), ("shadow", "shadow_in"), ("green", "staged_in"))


def _served_by(deployment: Deployment) -> list[LineageEdge]:
    traffic = deployment.traffic
    roles = [(kind, getattr(traffic, role)) for role, kind in _SERVED_AS]
    if traffic.canary is not None:
        roles.append(("canary_in", traffic.canary.version))
    target = f"deployment:{deployment.name}"
    return [
        LineageEdge(source=f"model:{deployment.model_name}/{version}", target=target, kind=kind)
        for kind, version in roles
        if version is not None
    ]


SPOOL_ACTOR = "podium:spool"
"""Who the inference log's commits of parked batches are recorded under."""


def _local_user() -> str:
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:unknown"
