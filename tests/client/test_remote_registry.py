"""``p.registry`` over a real socket: register, approve with another key, load, errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import podium
from podium.access.roles import Role
from podium.client.http import ApiClient
from podium.client.registry import HttpRegistry
from podium.errors import (
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from podium.platform import Platform
from podium.registry.protocol import Registry
from podium.registry.service import RegistryService
from podium.registry.types import ModelLineage
from tests.conftest import LiveServer


def _connect(server: LiveServer, project: str, role: Role, home: Path) -> Platform:
    return podium.connect(server.url, api_key=server.key(project, role), home=home)


@pytest.fixture
def writer(live_server: LiveServer, project_name: str, tmp_path: Path) -> Iterator[Platform]:
    with _connect(live_server, project_name, Role.WRITER, tmp_path / "w") as platform:
        yield platform


@pytest.fixture
def admin(live_server: LiveServer, project_name: str, tmp_path: Path) -> Iterator[Platform]:
    with _connect(live_server, project_name, Role.ADMIN, tmp_path / "a") as platform:
        yield platform


@pytest.fixture
def training() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"tenure": rng.integers(0, 60, 200), "spend": rng.normal(50, 10, 200)})
    labels = (frame["tenure"] < 20).astype(int).to_numpy()
    return frame, labels


def _as_registries(api: ApiClient, service: RegistryService) -> list[Registry]:
    return [HttpRegistry(api), service]  # mypy checks both are a Registry


def test_both_registries_satisfy_the_protocol() -> None:
    names = {name for name in dir(Registry) if not name.startswith("_")}
    assert names <= set(dir(HttpRegistry))
    assert names <= set(dir(RegistryService))


def test_register_approve_load_predicts_the_same(
    writer: Platform,
    admin: Platform,
    training: tuple[pd.DataFrame, np.ndarray],
    live_server: LiveServer,
    project_name: str,
) -> None:
    frame, labels = training
    model = LogisticRegression().fit(frame, labels)
    version = writer.registry.register(
        "customer-churn", model, input_example=frame[:5], tags={"team": "growth"}
    )
    assert version.version == 1 and version.flavor == "sklearn"
    assert version.signature is not None
    assert [c["name"] for c in version.signature["inputs"]] == ["tenure", "spend"]
    request = writer.registry.request_transition("customer-churn", 1, "production")
    assert request.status == "pending"
    with pytest.raises(PermissionDeniedError):
        writer.registry.approve(request.id)
    decided = admin.registry.approve(request.id, comment="looks good")
    assert decided.status == "applied"
    loaded = writer.registry.load("customer-churn@production")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))
    assert writer.registry.get_version("customer-churn@production").stage == "production"
    assert [m.name for m in writer.registry.list_models()] == ["customer-churn"]
    assert [r.id for r in writer.registry.list_requests("customer-churn")] == [request.id]
    assert writer.registry.get_request(request.id).status == "applied"
    graph = writer.registry.lineage("customer-churn/1")
    embedded = live_server.installation.platform(project_name, user="local:test")
    assert isinstance(graph, ModelLineage)
    assert graph == embedded.registry.lineage("customer-churn/1")


def test_aliases_and_versions(writer: Platform, training: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, labels = training
    model = LogisticRegression().fit(frame, labels)
    for _ in range(2):
        writer.registry.register("churn", model, input_example=frame[:5])
    assert writer.registry.set_alias("churn", "champion", 1).aliases == ["champion"]
    assert writer.registry.get_version("churn@champion").version == 1
    assert [v.version for v in writer.registry.list_versions("churn")] == [1, 2]
    assert writer.registry.get_model("churn").aliases == {"champion": 1}
    writer.registry.delete_alias("churn", "champion")
    with pytest.raises(NotFoundError):
        writer.registry.get_version("churn@champion")


def test_errors_map_to_podium_errors(
    writer: Platform,
    live_server: LiveServer,
    tmp_path: Path,
    training: tuple[pd.DataFrame, np.ndarray],
) -> None:
    frame, labels = training
    model = LogisticRegression().fit(frame, labels)
    with pytest.raises(InvalidInputError, match=r"\[a-z0-9\]"):
        writer.registry.register("Bad Name", model, input_example=frame[:5])
    with pytest.raises(InvalidInputError):
        writer.registry.register("churn", model)  # no input example
    with pytest.raises(NotFoundError):
        writer.registry.load("missing/1")
    writer.registry.register("churn", model, input_example=frame[:5])
    with pytest.raises(PermissionDeniedError):
        writer.registry.set_policy("churn", {"production": {"required_approvals": 2}})
    other = _connect(live_server, f"o-{uuid.uuid4().hex[:10]}", Role.ADMIN, tmp_path / "o")
    with other as stranger, pytest.raises(NotFoundError):
        stranger.registry.get_model("churn")


def test_a_second_request_names_the_pending_one_as_embedded(
    writer: Platform, training: tuple[pd.DataFrame, np.ndarray]
) -> None:
    # The HTTP request's own id used to overwrite the pending request's id in the details.
    frame, labels = training
    model = LogisticRegression().fit(frame, labels)
    writer.registry.register("churn", model, input_example=frame[:5])
    pending = writer.registry.request_transition("churn", 1, "production")
    with pytest.raises(ConflictError) as again:
        writer.registry.request_transition("churn", 1, "production")
    assert again.value.details["request_id"] == pending.id
    assert again.value.field == "stage"


def test_altered_artifact_is_refused(
    writer: Platform, live_server: LiveServer, training: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, labels = training
    version = writer.registry.register(
        "churn", LogisticRegression().fit(frame, labels), input_example=frame[:5]
    )
    store = live_server.installation.storage.child(f"projects/{writer.project}")
    path = getattr(store, "path_for", None)
    if path is None:
        pytest.skip("only the local store exposes the file")
    path(version.artifact_digest).write_bytes(b"tampered")
    with pytest.raises(IntegrityError):
        writer.registry.load("churn/1")
