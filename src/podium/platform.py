"""The composition root: one installation (database, storage, access) and its projects.

:class:`Installation` owns what all projects share; :meth:`Installation.platform` hands
out a :class:`Platform` (the SDK's ``p``) whose services are built for one project. The
API server holds one installation and asks it for the caller's project on each request.
"""

from __future__ import annotations

import getpass
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from podium.access.audit import AuditLog
from podium.access.keys import KeyService
from podium.access.projects import Project, ProjectService
from podium.access.roles import Role
from podium.config import Settings
from podium.data.catalog import Catalog
from podium.data.lake import DataLake
from podium.data.protocol import CatalogAPI, Data
from podium.data.service import DataService
from podium.registry.protocol import Registry
from podium.registry.service import RegistryService
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
    closer: Callable[[], None] | None = field(default=None, repr=False)

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
            self.db, artifacts, project, tracking=tracking, actor=user, role=role
        )
        return Platform(
            project=project.name,
            tracking=tracking,
            data=data,
            catalog=catalog,
            registry=registry,
        )

    def _lake_of(self, project: Project) -> tuple[DataLake, Catalog]:
        with self._lock:
            shared = self._lakes.get(project.name)
            if shared is None:
                lake = DataLake(
                    f"{self.storage.url.rstrip('/')}/lake/projects/{project.name}",
                    storage_options=self._lake_storage_options(),
                )
                shared = self._lakes[project.name] = (lake, Catalog(self.db, lake, project))
            return shared

    def _lake_storage_options(self) -> dict[str, str] | None:
        if not self.storage.url.startswith("s3://"):
            return None
        options = {"AWS_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
        if self.settings.s3_endpoint_url:
            options["AWS_ENDPOINT_URL"] = self.settings.s3_endpoint_url
            options["AWS_ALLOW_HTTP"] = "true"
        return options

    def close(self) -> None:
        """Close the database pool."""
        self.db.dispose()


def _local_user() -> str:
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:unknown"
