"""A serving replica: the services one ``podium serve`` process needs, and nothing more.

:class:`~podium.platform.Installation` composes every area (tracking, data lake and
warehouse, catalog, feature store, monitoring), and importing them costs a serving process
about 100 MB of resident memory it never uses. :func:`open_replica` builds only the
metadata database, the keys, the registry (to load model versions), the deployment and
its runtime. Its inference log is parked in the spool
(:class:`~podium.serving.log.spool.InferenceSpool`), and a platform process commits it to
``monitoring.inference_log``. A replica never writes a Delta table, so it needs neither the
``deltalake`` library nor a commit race with other replicas. Only a deployment that
fetches online features opens the platform's feature store, and with it the data layer.

A replica follows changes through the event bus (``PODIUM_EVENTS_URL``; unset, the
embedded bus in the metadata database): it subscribes to platform events and reloads
when one concerns its deployment or the model ref it follows, with a slow poll (every
30 s) as a safety net. Events it records itself (following a ref moves its deployment)
are announced on the bus as they commit, so the other replicas follow at once too.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from podium.access.keys import KeyService
from podium.access.projects import ProjectService
from podium.access.ratelimit import open_token_buckets
from podium.access.roles import Role
from podium.config import Settings
from podium.events.bus.announcer import EventAnnouncer
from podium.events.bus.opening import PLATFORM_TOPIC, open_bus
from podium.events.bus.protocol import BusSubscription, EventBus
from podium.registry.service import RegistryService
from podium.serving.control.deployments import Deployments
from podium.serving.control.events import GenerationWatcher
from podium.serving.control.reviews import enqueue_review
from podium.serving.log.spool import InferenceSpool, spool_store
from podium.serving.log.writer import InferenceLogWriter
from podium.serving.requests.online import OnlineFeatureMerge
from podium.serving.requests.runtime import ServingRuntime
from podium.store.artifacts import open_artifact_store
from podium.store.database import Database
from podium.store.encryption import keyring_from_settings
from podium.tracking.service import TrackingService

if TYPE_CHECKING:
    from podium.serving.log.journal import InferenceJournal

__all__ = ["REPLICA_USER", "SAFETY_POLL_SECONDS", "Replica", "open_replica"]

_log = logging.getLogger(__name__)

REPLICA_USER = "podium:serve"
"""The actor a replica's changes (canary verdicts it applies) are recorded under."""

SAFETY_POLL_SECONDS = 30.0
"""How often a replica checks its deployment without an event (in case one was missed)."""


@dataclass
class Replica:
    """One deployment served from memory, with what its routes need."""

    project: str
    deployment: str
    keys: KeyService
    runtime: ServingRuntime
    watcher: GenerationWatcher
    max_body_bytes: int
    bus: EventBus | None = None
    _closers: list[Callable[[], object]] = field(default_factory=list, repr=False)
    _closed: threading.Event = field(default_factory=threading.Event, repr=False)
    _subscription: BusSubscription | None = field(default=None, repr=False)

    def start(self) -> None:
        """Follow changes to the deployment: platform events from the bus, and a slow poll."""
        if self.bus is not None and self._subscription is None:
            self._subscription = self.bus.subscribe(PLATFORM_TOPIC, self.watcher.notify)
        self.watcher.start()
        self.watcher.check_soon()  # a change made while the model loaded had no listener

    def close(self) -> None:
        """Stop following changes, park the last inference records and disconnect."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._subscription is not None:
            self._subscription.close()
        self.watcher.stop()
        self.runtime.close()
        for close in reversed(self._closers):
            close()


def open_replica(settings: Settings, project: str, deployment: str) -> Replica:
    """A replica serving ``deployment`` of ``project``, its models loaded and warmed now.

    The database must be migrated already (``podium serve`` checks that before it starts a
    replica); a missing project or deployment raises ``NotFoundError``.
    """
    db = Database(settings.resolved_database_url)
    closers: list[Callable[[], object]] = [db.dispose]
    try:
        storage = open_artifact_store(
            settings.resolved_storage_url,
            s3_endpoint_url=settings.s3_endpoint_url,
            keyring=keyring_from_settings(settings),
            s3_sse=settings.s3_sse,
            s3_sse_kms_key_id=settings.s3_sse_kms_key_id,
        )
        projects = ProjectService(db)
        keys = KeyService(
            db, projects, buckets=open_token_buckets(settings.resolved_rate_limit_url)
        )
        found = projects.get(project)
        artifacts = storage.child(f"projects/{found.name}")
        tracking = TrackingService(db, artifacts, found, user=REPLICA_USER)
        registry = RegistryService(
            db, artifacts, found, tracking=tracking, actor=REPLICA_USER, role=Role.WRITER
        )
        deployments = Deployments(
            db, found, registry=registry, actor=REPLICA_USER, role=Role.WRITER
        )
        online = None
        if deployments.get(deployment).spec.features:
            online = OnlineFeatureMerge(_feature_store(settings, project, closers))
        bus = open_bus(settings.events_url, database=db)
        closers.append(bus.close)
        announcer = EventAnnouncer(db, bus=bus)
        closers.append(announcer.close)
        spool = InferenceSpool(db, spool_store(storage, found.name), found)
        journal = _journal(settings, found.name, deployment, spool)
        runtime = ServingRuntime(
            project,
            deployments=deployments,
            registry=registry,
            inference_log=InferenceLogWriter(
                # Each record becomes one line as it is logged: fewer, smaller objects
                # wait in the queue (about 40 MB less under load than tuples of values).
                spool.park,
                flush_seconds=5.0,
                batch_size=2_000,
                json_lines=True,
                journal=journal,
            ),
            online=online,
            only=deployment,
            # A chain ending in `escalate` queues its requests for human review here too.
            escalate=functools.partial(enqueue_review, db, found.id),
        )
        try:
            runtime.warm(deployment)  # load and try it now, not on the first request
        except BaseException:
            runtime.close()
            raise
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    return Replica(
        project=project,
        deployment=deployment,
        keys=keys,
        runtime=runtime,
        watcher=GenerationWatcher(runtime, deployments, deployment, interval=SAFETY_POLL_SECONDS),
        # A replica only predicts: the prediction limit (never over the default one).
        max_body_bytes=min(settings.max_prediction_body_bytes, settings.max_body_bytes),
        bus=bus,
        _closers=closers,
    )


def _journal(
    settings: Settings, project: str, deployment: str, spool: InferenceSpool
) -> InferenceJournal | None:
    """This replica's inference-log journal (ADR 0046), after parking what the dead
    replicas of the same deployment left journaled under this home."""
    root = settings.inference_journal_root(project)
    if root is None:
        return None
    from podium.serving.log.journal import InferenceJournal, adopt_orphans

    folder = root / "serve" / deployment
    try:
        parked = adopt_orphans(folder, functools.partial(spool.park, replayed=True))
    except Exception:  # they stay for the next replica; serving goes on
        _log.exception("parking the inference-log journals under %s failed", folder)
    else:
        if parked:
            _log.warning("parked %d inference records a killed replica left", parked)
    try:
        return InferenceJournal(folder)
    except OSError:  # a read-only or full home: log from memory, as before
        _log.exception(
            "no inference-log journal under %s; answers are only in memory until parked", folder
        )
        return None


def _feature_store(settings: Settings, project: str, closers: list[Callable[[], object]]) -> object:
    # Online features need the feature store, which needs the data layer: the platform.
    from podium.platform import Installation

    installation = Installation(settings, migrate=False)
    closers.append(installation.close)
    platform = installation.platform_for_existing(project, user=REPLICA_USER, role=Role.READER)
    return platform.features
