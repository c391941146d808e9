"""Fixtures for the registry service: a small fitted model and services per identity.

``registry_as(actor, role)`` builds a :class:`RegistryService` for the test's project as
another identity, the way the server builds one per API key.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from podium.access.projects import Project
from podium.access.roles import Role
from podium.platform import Installation, Platform
from podium.registry.service import RegistryService
from podium.store.artifacts import ArtifactStore

RegistryFactory = Callable[..., RegistryService]


@pytest.fixture
def training_frame() -> pd.DataFrame:
    """Twenty rows of two numeric features; churn when tenure is short and charges high."""
    tenure = [1, 2, 3, 4, 5, 30, 31, 32, 33, 34, 2, 3, 40, 41, 1, 50, 4, 45, 3, 60]
    charges = [90.0, 85.5, 99.0, 80.0, 95.0, 20.0, 25.0, 30.0, 22.0, 28.0, 88.0, 91.0]
    charges.extend([21.0, 24.0, 97.0, 19.0, 86.0, 23.0, 92.0, 18.0])
    return pd.DataFrame({"tenure_months": tenure, "monthly_charges": charges})


@pytest.fixture
def model(training_frame: pd.DataFrame) -> LogisticRegression:
    labels = (training_frame["tenure_months"] < 10).astype(int)
    return LogisticRegression().fit(training_frame, labels)


@pytest.fixture
def project(installation: Installation, project_name: str) -> Project:
    return installation.projects.ensure(project_name)


@pytest.fixture
def artifacts(installation: Installation, project: Project) -> ArtifactStore:
    """The project's artifact store, the same one the platform hands its services."""
    return installation.storage.child(f"projects/{project.name}")


@pytest.fixture
def registry_as(
    installation: Installation, project: Project, artifacts: ArtifactStore, platform: Platform
) -> RegistryFactory:
    """Build a registry service for this project as ``actor`` holding ``role``."""

    def build(actor: str, role: Role = Role.ADMIN, **kwargs: object) -> RegistryService:
        return RegistryService(
            installation.db,
            artifacts,
            project,
            tracking=platform.tracking,
            actor=actor,
            role=role,
            **kwargs,  # type: ignore[arg-type]
        )

    return build


@pytest.fixture
def registry(registry_as: RegistryFactory) -> RegistryService:
    """The registry as ``alice``, an admin."""
    return registry_as("alice", Role.ADMIN)


def lineage_chain(platform: Platform) -> str:
    """raw.customers@0 -> curated.train@0 -> run -> churn/1 -> churn/2, churn/1 deployed
    as ``churn``; returns the run's node."""
    raw = pd.DataFrame({"tenure": [1, 2, 30, 40, 3, 50], "charges": [90.0, 80, 20, 25, 95, 18]})
    platform.data.write("raw.customers", raw)
    platform.data.create_view("curated.train", "SELECT tenure, charges FROM raw.customers")
    frame = platform.data.read("curated.train").to_pandas()
    model = LogisticRegression().fit(frame, (frame["tenure"] < 10).astype(int))
    with platform.tracking.start_run("churn") as run:
        run.log_input("curated.train@0")
    platform.registry.register("churn", model, run_id=run.id, input_example=frame[:3])
    platform.registry.register("churn", model, input_example=frame[:3], derived_from="churn/1")
    platform.deployments.create("churn", model="churn/1")
    return f"run:{run.id}"
