"""The composition root: one installation (database, storage, access) and its projects.

:class:`Installation` owns what all projects share; :meth:`Installation.platform` hands
out a :class:`Platform` (the SDK's ``p``) whose services are built for one project. The
API server holds one installation and asks it for the caller's project on each request.

An embedded platform builds each area's service on first use, and the area modules are
imported there, not at the top of this module: ``podium runs ls`` then loads tracking
only, not the lake, the feature store, scipy or the serving runtime (ADR 0015, issue 12).
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from podium.access.audit import AuditLog, Auditor
from podium.access.keys import KeyService
from podium.access.projects import Project, ProjectService
from podium.access.ratelimit import open_token_buckets
from podium.access.roles import Role
from podium.config import Settings
from podium.data.names import TableRef
from podium.errors import NotFoundError
from podium.events.bus.announcer import EventAnnouncer
from podium.store.artifacts import ArtifactStore, open_artifact_store
from podium.store.artifacts.s3 import lake_sse_options
from podium.store.database import Database
from podium.store.encryption import keyring_from_settings

if TYPE_CHECKING:
    from podium.batch.protocol import Batch
    from podium.data.catalog import Catalog
    from podium.data.catalog.models import LineageEdge
    from podium.data.lake import DataLake
    from podium.data.pii import PiiVault
    from podium.data.protocol import CatalogAPI, Data
    from podium.data.service import DataService
    from podium.data.tokens import Tokenizer
    from podium.events.schemas.area import EventsArea
    from podium.events.webhooks import Webhooks
    from podium.features.online import OnlineStore
    from podium.features.protocol import Features
    from podium.monitoring.protocol import MonitoringAPI
    from podium.pipelines.protocol import Pipelines
    from podium.pipelines.space import Dimension
    from podium.pipelines.tuning import OnTrial, Tuning
    from podium.pipelines.tuning_results import Study
    from podium.registry.protocol import Registry
    from podium.serving.control.deployments import Deployments
    from podium.serving.control.spec import Deployment, DeploymentSpec
    from podium.serving.protocol import DeploymentsAPI
    from podium.serving.requests.runtime import ServingRuntime
    from podium.tracking.protocol import Tracking

__all__ = ["Installation", "Platform"]


_AREAS = (
    "tracking",
    "data",
    "catalog",
    "registry",
    "features",
    "deployments",
    "monitoring",
    "webhooks",
    "tuning",
    "pipelines",
    "events",
    "batch",
)


class Platform:
    """One project's view of podium: ``p.data``, ``p.catalog``, ``p.features``,
    ``p.tracking``, ``p.registry``, ``p.deployments``, ``p.monitoring``, ``p.webhooks``.

    Embedded (``podium.connect()``) or remote (``podium.connect(url)``), the areas keep
    the same protocols. Use it as a context manager, or call :meth:`close`, to release its
    connections (buffered metrics and inference logs are flushed; also at exit).

    Each area is given either as a built service or as a zero-argument builder, which
    runs on first use (the embedded platform builds only the areas a caller touches).
    """

    def __init__(
        self,
        project: str,
        *,
        closer: Callable[[], None] | None = None,
        **areas: object,
    ) -> None:
        unknown = sorted(set(areas) - set(_AREAS))
        if unknown:
            raise TypeError(f"Platform() got unknown areas {unknown}; the areas are {_AREAS}")
        self.project = project
        self.closer = closer
        self._areas: dict[str, object] = dict(areas)
        self._builders: dict[str, Callable[[], object]] = {}
        self._building = threading.RLock()

    @classmethod
    def lazy(
        cls,
        project: str,
        builders: Mapping[str, Callable[[], object]],
        *,
        closer: Callable[[], None] | None = None,
    ) -> Platform:
        """A platform whose areas are built by ``builders`` on first use."""
        built = cls(project, closer=closer)
        built._builders = dict(builders)
        return built

    def _area(self, name: str) -> object:
        found = self._areas.get(name)
        if found is None:
            with self._building:  # re-entrant: building one area may build another
                found = self._areas.get(name)
                if found is None:
                    builder = self._builders.get(name)
                    if builder is None:
                        raise AttributeError(f"this platform has no {name!r} area")
                    found = self._areas[name] = builder()
        return found

    @property
    def tracking(self) -> Tracking:
        """Experiments, runs, params, metrics and artifacts."""
        return cast("Tracking", self._area("tracking"))

    @property
    def data(self) -> Data:
        """The lake (Delta tables) and the warehouse (SQL over it)."""
        return cast("Data", self._area("data"))

    @property
    def catalog(self) -> CatalogAPI:
        """Table descriptions, search and the lineage graph."""
        return cast("CatalogAPI", self._area("catalog"))

    @property
    def registry(self) -> Registry:
        """Registered models, versions, stages, aliases and approvals."""
        return cast("Registry", self._area("registry"))

    @property
    def features(self) -> Features:
        """Entities, feature views, training sets and the online store."""
        return cast("Features", self._area("features"))

    @property
    def deployments(self) -> DeploymentsAPI:
        """Deployments and their rollouts (canary, blue-green, shadow)."""
        return cast("DeploymentsAPI", self._area("deployments"))

    @property
    def monitoring(self) -> MonitoringAPI:
        """Drift, data quality, performance, accuracy, fairness and alerts."""
        return cast("MonitoringAPI", self._area("monitoring"))

    @property
    def pipelines(self) -> Pipelines:
        """Steps and pipelines: run, resume and inspect pipeline runs."""
        return cast("Pipelines", self._area("pipelines"))

    @property
    def batch(self) -> Batch:
        """Batch inference: score lake table versions into Delta tables (docs/batch.md)."""
        return cast("Batch", self._area("batch"))

    @property
    def events(self) -> EventsArea:
        """Event features: ``p.events.schemas`` is the schema registry (docs/schemas.md)."""
        return cast("EventsArea", self._area("events"))

    @property
    def webhooks(self) -> Webhooks:
        """Receiver URLs for the platform's events, and their deliveries."""
        if "webhooks" not in self._areas and "webhooks" not in self._builders:
            from podium.events.webhooks import WebhooksUnavailable

            self._areas["webhooks"] = WebhooksUnavailable()
        return cast("Webhooks", self._area("webhooks"))

    def tune(
        self,
        objective: Callable[..., Any],
        space: Mapping[str, Dimension],
        *,
        trials: int = 20,
        parallel: int = 1,
        experiment: str = "default",
        metric: str = "value",
        direction: str = "minimize",
        study: str | None = None,
        seed: int | None = None,
        sampler: Any = None,
        pruner: Any = None,
        runner: str = "local",
        storage: str | None = None,
        on_trial: OnTrial | None = None,
    ) -> Study:
        """Search ``space`` for the params that optimise ``metric`` (Optuna underneath)::

            study = p.tune(objective, space={"C": podium.loguniform(1e-3, 10.0)},
                           trials=20, parallel=2, experiment="churn", metric="auc",
                           direction="maximize")

        ``objective(params)`` or ``objective(params, trial)`` returns the metric (or a dict
        of metrics holding it); ``trial.report(value, step)`` logs an intermediate value
        and lets the pruner (``pruner=``, default Optuna's median pruner) stop the trial.
        The study is a tracked run in ``experiment`` and every trial a child run of it,
        with its params and metrics. ``parallel`` trials run at once (worker processes
        embedded: a module-level objective; threads against a server). ``study="name"``
        resumes a stored study until it has ``trials`` in total. ``seed`` seeds the
        default sampler (``sampler=`` replaces it). Needs ``podium[tune]``; see
        docs/tuning.md.
        """
        if "tuning" not in self._areas and "tuning" not in self._builders:
            from podium.pipelines.tuning import Tuning

            # Remote: trials are logged to the server; Optuna's storage is this client's.
            self._areas["tuning"] = Tuning(self.tracking, project=self.project)
        tuning = cast("Tuning", self._area("tuning"))
        return tuning.tune(
            objective,
            space,
            trials=trials,
            parallel=parallel,
            experiment=experiment,
            metric=metric,
            direction=direction,
            study=study,
            seed=seed,
            sampler=sampler,
            pruner=pruner,
            runner=runner,
            storage=storage,
            on_trial=on_trial,
        )

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

    def __repr__(self) -> str:
        return f"Platform(project={self.project!r})"


class Installation:
    """Everything one podium installation shares, built from :class:`Settings`."""

    def __init__(self, settings: Settings, *, migrate: bool = True) -> None:
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.resolved_database_url)
        if migrate:
            self.db.upgrade()
        # Artifacts and stored secrets are encrypted at rest under this keyring (ADR 0035).
        self.keyring = keyring_from_settings(settings)
        self.storage: ArtifactStore = open_artifact_store(
            settings.resolved_storage_url,
            s3_endpoint_url=settings.s3_endpoint_url,
            keyring=self.keyring,
            s3_sse=settings.s3_sse,
            s3_sse_kms_key_id=settings.s3_sse_kms_key_id,
        )
        self.projects = ProjectService(self.db)
        # Rate limits and quotas are counted in Redis when one is configured (ADR 0036).
        self.keys = KeyService(
            self.db, self.projects, buckets=open_token_buckets(settings.resolved_rate_limit_url)
        )
        self.audit = AuditLog(self.db)
        self._platforms: dict[tuple[str, str, Role], Platform] = {}
        self._online: OnlineStore | None = None
        self._tokenizer: Tokenizer | None = None  # pii tokens (ADR 0045), made on first use
        # One serving runtime per project, built on the first prediction and shared.
        self._runtimes: dict[str, ServingRuntime] = {}
        # One lake and catalog per project, shared by every caller's platform, so open
        # tables, write locks and catalog state are not duplicated per API key.
        self._lakes: dict[str, tuple[DataLake, Catalog]] = {}
        self._lock = threading.Lock()
        # Platform events go out on the event bus as they commit (ADR 0023); the server's
        # dispatcher publishes what this missed (`dispatcher.subscribe(announcer.catch_up)`).
        self.announcer = EventAnnouncer(self.db, url=settings.events_url)

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
        services = _ProjectServices(self, project, user, role)
        platform = Platform.lazy(project.name, {area: getattr(services, area) for area in _AREAS})
        services.platform = platform
        return platform

    def commit_spool(self, project: Project) -> int:
        """Append what ``podium serve`` replicas of ``project`` parked to its inference log.

        Safe from several processes at once (each parked batch is claimed by one); returns
        the number of rows committed.
        """
        from podium.data.service import DataService
        from podium.serving.log.spool import InferenceSpool, spool_store
        from podium.serving.log.writer import INFERENCE_LOG_TABLE, logged_keys

        spool = InferenceSpool(self.db, spool_store(self.storage, project.name), project)
        if spool.pending() == 0:
            return 0
        lake, catalog = self._lake_of(project)
        data = DataService(
            lake,
            catalog,
            actor=SPOOL_ACTOR,
            pii=self.pii_vault(project, actor=SPOOL_ACTOR, role=Role.WRITER),
        )
        return spool.commit(
            lambda table: data.write(INFERENCE_LOG_TABLE, table, mode="append"),
            holder=f"{socket.gethostname()}:{os.getpid()}",  # a claim outlives a crash
            committed=lambda table: logged_keys(data, table),  # for replayed journals
        )

    def commit_spools(self) -> int:
        """:meth:`commit_spool` for every project with parked batches (the server's loop)."""
        from podium.serving.log.spool import parked_projects

        return sum(self.commit_spool(self.projects.get(name)) for name in parked_projects(self.db))

    def loaded_runtime(self, project: str) -> ServingRuntime | None:
        """The serving runtime of ``project`` if this process has built one (never builds)."""
        with self._lock:
            return self._runtimes.get(project)

    def serving_deployments(self, project: str) -> Deployments:
        """The deployments of ``project`` as the serving identity sees them (what the
        runtime uses, without building one: registry events need no runtime)."""
        from podium.serving.control.deployments import Deployments

        serving = self.platform_for_existing(project, user=SERVING_ACTOR, role=Role.WRITER)
        assert isinstance(serving.deployments, Deployments)
        return serving.deployments

    def runtime(self, project: str) -> ServingRuntime:
        """The serving runtime of ``project`` (built on first use, shared by every caller)."""
        found = self.loaded_runtime(project)
        if found is not None:
            return found
        from podium.serving.requests.runtime import open_runtime

        serving = self.platform_for_existing(project, user=SERVING_ACTOR, role=Role.WRITER)
        built = open_runtime(
            project,
            deployments=self.serving_deployments(project),
            registry=serving.registry,
            data=serving.data,
            features=serving.features,
            escalate=self._review_queue(project),
            journal=self._journal(project),
        )
        with self._lock:
            found = self._runtimes.setdefault(project, built)
        if found is not built:
            built.close()
        return found

    def _journal(self, project: str) -> Path | None:
        root = self.settings.inference_journal_root(project)
        return None if root is None else root / "platform"

    def _review_queue(self, project: str) -> Callable[..., str]:
        """Queues ``project``'s escalated requests for human review (serving's side)."""
        from podium.serving.control.reviews import enqueue_review

        return functools.partial(enqueue_review, self.db, self.projects.get(project).id)

    def _label_review(self, platform: Platform, request_id: str, label: Any) -> object:
        """Record a reviewer's label as feedback, with this process's pending inference
        log written first (a review may be answered seconds after its request)."""
        runtime = self.loaded_runtime(platform.project)
        if runtime is not None and runtime.inference_log is not None:
            runtime.inference_log.flush()
        return platform.monitoring.feedback(request_id, label)

    def warm_deployments(self, projects: Sequence[str] | None = None) -> int:
        """Load every deployment of ``projects`` (default: every project) and predict
        once with each of its models, as ``podium up`` does before it reports ready;
        how many deployments were warmed."""
        from podium.serving.requests.warmup import deployed_projects

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
        from podium.features.online import default_online_store_url, open_online_store

        with self._lock:
            if self._online is None:
                url = self.settings.online_store_url or default_online_store_url(self.settings.home)
                self._online = open_online_store(url)
            return self._online

    def tokenizer(self) -> Tokenizer:
        """The pii tokenizer (ADR 0045), its key read (or made) on first use."""
        from podium.data.tokens import Tokenizer, load_tokenization_key

        with self._lock:
            if self._tokenizer is None:
                given = self.settings.tokenization_key
                key = load_tokenization_key(
                    self.settings.home / "keys", given.get_secret_value() if given else None
                )
                self._tokenizer = Tokenizer(key)
            return self._tokenizer

    def pii_vault(
        self, project: Project, *, actor: str, role: Role, audit: Auditor | None = None
    ) -> PiiVault:
        """The pii vault of ``project`` for one caller."""
        from podium.data.pii import PiiVault

        return PiiVault(self.db, project.id, self.tokenizer, actor=actor, role=role, audit=audit)

    def _lake_of(self, project: Project) -> tuple[DataLake, Catalog]:
        from podium.data.catalog import Catalog
        from podium.data.lake import DataLake

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
        # S3 server-side encryption for lake files too (PODIUM_S3_SSE, ADR 0035).
        options.update(lake_sse_options(self.settings.s3_sse, self.settings.s3_sse_kms_key_id))
        return options

    def close(self) -> None:
        """Close the database pool and the online store."""
        with self._lock:
            runtimes, self._runtimes = list(self._runtimes.values()), {}
        for runtime in runtimes:
            runtime.close()
        if self._online is not None:
            self._online.close()
        self.announcer.close()
        self.db.dispose()


class _ProjectServices:
    """The builders of one caller's services of one project, run on first use.

    Services that need another area get it from :attr:`platform`, so each is built once
    per platform. Each builder imports its area when it runs (module docstring).
    """

    def __init__(self, installation: Installation, project: Project, user: str, role: Role):
        self._inst = installation
        self._project = project
        self._user = user
        self._role = role
        # Every service records this caller's changes once, whichever front door called.
        self._audit = Auditor(installation.audit, project_id=project.id, actor=user)
        self.platform: Platform | None = None

    @property
    def _p(self) -> Platform:
        assert self.platform is not None, "set by Installation._build"
        return self.platform

    def _artifacts(self) -> ArtifactStore:
        return self._inst.storage.child(f"projects/{self._project.name}")

    def data(self) -> Data:
        from podium.data.service import DataService

        lake, catalog = self._inst._lake_of(self._project)
        pii = self._inst.pii_vault(
            self._project, actor=self._user, role=self._role, audit=self._audit
        )
        return DataService(lake, catalog, actor=self._user, pii=pii)

    def catalog(self) -> CatalogAPI:
        return self._inst._lake_of(self._project)[1].with_audit(self._audit)

    def tracking(self) -> Tracking:
        from podium.tracking.service import TrackingService

        def resolve_input(run_id: str, ref: str) -> str:
            # Lake tables are pinned to a version and linked to the run; anything else
            # (a file path, a URL) is kept as given.
            found = TableRef.find(ref)
            data = self._p.data
            if found is None or found.table not in data.tables():
                return ref
            return cast("DataService", data).record_run_input(run_id, ref)

        tracking = TrackingService(
            self._inst.db,
            self._artifacts(),
            self._project,
            user=self._user,
            resolve_input=resolve_input,
            audit=self._audit,
        )
        tracking.metric_flush_interval = self._inst.settings.metric_flush_interval
        return tracking

    def registry(self) -> Registry:
        from podium.registry.service import RegistryService

        return RegistryService(
            self._inst.db,
            self._artifacts(),
            self._project,
            tracking=self._p.tracking,
            actor=self._user,
            role=self._role,
            audit=self._audit,
            lineage=self._inst._lake_of(self._project)[1],
        )

    def features(self) -> Features:
        from podium.features.service import FeatureStore

        return FeatureStore(
            self._inst.db,
            self._project,
            data=cast("DataService", self._p.data),
            catalog=self._inst._lake_of(self._project)[1],
            online=self._inst.online_store,
            actor=self._user,
            role=self._role,
            audit=self._audit,
        )

    def deployments(self) -> DeploymentsAPI:
        from podium.serving.control.deployments import Deployments
        from podium.serving.control.status import deployment_status

        inst, name = self._inst, self._project.name
        return Deployments(
            inst.db,
            self._project,
            registry=self._p.registry,
            actor=self._user,
            role=self._role,
            notify=functools.partial(inst._deployment_changed, name),
            predictor=functools.partial(inst._predict, name),
            verify=functools.partial(inst._verify_deployable, name),
            describer=lambda deployment: deployment_status(inst.runtime(name), deployment),
            audit=self._audit,
            feedback=functools.partial(inst._label_review, self._p),
        )

    def monitoring(self) -> MonitoringAPI:
        from podium.monitoring.service import Monitoring

        inst = self._inst
        return Monitoring(
            inst.db,
            self._project,
            data=self._p.data,
            registry=self._p.registry,
            actor=self._user,
            role=self._role,
            breaker=functools.partial(inst._breaker_open, self._project.name),
            refresh=functools.partial(inst.commit_spool, self._project),
            audit=self._audit,
        )

    def tuning(self) -> Tuning:
        from podium.pipelines.tuning import Tuning, TuningStorage

        inst, project = self._inst, self._project.name
        worker = functools.partial(
            _open_worker_tracking, inst.settings, project, self._user, self._role
        )
        return Tuning(
            self._p.tracking,
            project=project,
            storage=TuningStorage.beside(inst.db.url),
            worker_tracking=worker,
            ray_address=inst.settings.ray_address,
        )

    def pipelines(self) -> Pipelines:
        from podium.pipelines.service import PipelineService

        def table_version(name: str) -> int | None:
            data = self._p.data
            return data.version(name) if name in data.tables() else None

        return PipelineService(
            self._inst.db,
            self._artifacts(),
            self._project,
            tracking=self._p.tracking,
            table_versions=table_version,
            actor=self._user,
            audit=self._audit,
            ray_address=self._inst.settings.ray_address,
            platform=lambda: self._p,  # what a running step's current_platform() answers
        )

    def batch(self) -> Batch:
        from podium.batch.service import BatchService

        return BatchService(
            self._inst.db,
            self._artifacts(),
            self._project,
            data=cast("DataService", self._p.data),
            catalog=self._inst._lake_of(self._project)[1],
            registry=self._p.registry,
            tracking=self._p.tracking,
            deployments=lambda: self._p.deployments,
            features=lambda: self._p.features,
            actor=self._user,
            audit=self._audit,
            ray_address=self._inst.settings.ray_address,
        )

    def webhooks(self) -> Webhooks:
        from podium.events.webhooks import WebhookService

        return WebhookService(
            self._inst.db,
            self._project,
            role=self._role,
            actor=self._user,
            audit=self._audit,
            allow_http=self._inst.settings.webhooks_allow_http,
            keyring=self._inst.keyring,
        )

    def events(self) -> EventsArea:
        from podium.events.schemas.area import EventsArea
        from podium.events.schemas.service import SchemaRegistry

        schemas = SchemaRegistry(
            self._inst.db, self._project, actor=self._user, role=self._role, audit=self._audit
        )
        return EventsArea(schemas=schemas)


LINEAGE_ACTOR = "podium:lineage"
"""Who reads the deployments for the lineage graph (it changes nothing)."""

_SERVED_AS = (("stable", "stable_in"), ("shadow", "shadow_in"), ("green", "staged_in"))


def _served_by(deployment: Deployment) -> list[LineageEdge]:
    from podium.data.catalog.models import LineageEdge

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


SERVING_ACTOR = "podium:serving"
"""Who serving runtimes (and the registry events they follow) act as."""

SPOOL_ACTOR = "podium:spool"
"""Who the inference log's commits of parked batches are recorded under."""


def _open_worker_tracking(
    settings: Settings, project: str, user: str, role: Role
) -> tuple[Tracking, Callable[[], None]]:
    """A tuning worker process's own tracking of ``project``, and what closes it."""
    installation = Installation(settings, migrate=False)
    platform = installation.platform_for_existing(project, user=user, role=role)
    return platform.tracking, installation.close


def _local_user() -> str:
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:unknown"
