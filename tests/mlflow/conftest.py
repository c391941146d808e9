"""The real MLflow client pointed at a real podium server on a loopback port."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from podium.access.roles import Role
from podium.platform import Platform
from tests.conftest import LiveServer

try:
    import mlflow
except ImportError:  # pragma: no cover - the dev extra installs it
    if os.environ.get("CI") == "true":
        raise  # CI installs podium[dev]: a missing client is a broken install, not a skip
    mlflow = pytest.importorskip("mlflow", reason="the MLflow client is in podium's dev extra")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # MLflow warns about its own internals (type hints, deprecations): not ours to fix.
    for item in items:
        if "tests/mlflow/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.filterwarnings("ignore::Warning:mlflow"))


@dataclass
class MlflowTarget:
    """A podium server the MLflow client is pointed at, with the project its key names."""

    server: LiveServer
    project: str
    monkeypatch: pytest.MonkeyPatch

    def use_key(self, key: str) -> None:
        """Send ``key`` as MLFLOW_TRACKING_TOKEN from now on."""
        self.monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", key)

    def key(self, role: Role | str = Role.WRITER, project: str | None = None) -> str:
        """A new key for this test's project (or ``project``) with ``role``."""
        return self.server.key(project or self.project, role)

    def platform(self) -> Platform:
        """The project as podium's own SDK sees it (embedded, same installation)."""
        return self.server.installation.platform(self.project, user="local:test")


@pytest.fixture
def target(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowTarget]:
    """MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN (a writer key) set for this test only;
    the client's cached URI, active run and experiment are reset before and after."""
    project = f"ml-{uuid.uuid4().hex[:8]}"
    found = MlflowTarget(live_server, project, monkeypatch)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", live_server.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # an error shows at once
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    found.use_key(found.key())
    _reset_client(live_server.url)
    yield found
    while mlflow.active_run() is not None:
        mlflow.end_run()
    _reset_client(None)


def _reset_client(url: str | None) -> None:
    from mlflow.tracking import fluent

    mlflow.set_tracking_uri(url) if url else mlflow.set_tracking_uri("")
    mlflow.set_registry_uri(url) if url else mlflow.set_registry_uri("")
    fluent._active_experiment_id = None
