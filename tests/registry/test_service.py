"""RegistryService: versions, provenance, refs, loading, integrity, aliases, lineage, events."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sqlalchemy import select

import podium
from podium.access.roles import Role
from podium.errors import (
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from podium.events.tables import EventRow
from podium.platform import Installation, Platform
from podium.registry.refs import MODEL_NAME_PATTERN, parse_ref
from podium.registry.service import RegistryService
from podium.store.artifacts import ArtifactStore
from tests.conftest import LiveServer
from tests.registry.conftest import RegistryFactory


def _events(installation: Installation, project_id: int) -> list[tuple[str, str]]:
    with installation.db.read() as session:
        rows = session.execute(
            select(EventRow.type, EventRow.subject)
            .where(EventRow.project_id == project_id)
            .order_by(EventRow.id)
        ).all()
    return [(t, s) for t, s in rows]


def test_register_twice_gives_versions_1_and_2(
    registry: RegistryService, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    first = registry.register("churn", model, input_example=training_frame[:5])
    second = registry.register("churn", model, input_example=training_frame[:5], tags={"a": "b"})
    assert (first.version, second.version) == (1, 2)
    assert first.flavor == "sklearn" and first.stage == "none" and first.created_by == "alice"
    assert second.tags == {"a": "b"}
    assert [v.version for v in registry.list_versions("churn")] == [1, 2]
    [summary] = registry.list_models()
    assert summary.name == "churn" and summary.latest_version == 2
    assert first.signature is not None
    assert [c["name"] for c in first.signature["inputs"]] == ["tenure_months", "monthly_charges"]


def test_concurrent_registrations_get_distinct_versions(
    registry_as: RegistryFactory, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    services = [registry_as(f"writer-{i}", Role.WRITER) for i in range(6)]
    versions: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(services))

    def register(service: RegistryService) -> None:
        barrier.wait()
        try:
            versions.append(
                service.register("race", model, input_example=training_frame[:3]).version
            )
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(s,)) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(versions) == list(range(1, len(services) + 1))


def test_metrics_inputs_and_code_version_come_from_the_run(
    registry: RegistryService,
    platform: Platform,
    model: LogisticRegression,
    training_frame: pd.DataFrame,
) -> None:
    with platform.tracking.start_run("churn") as run:
        run.log_metrics({"auc": 0.91, "f1": 0.8})
        run.log_input("raw.customers@0")
    stored = platform.tracking.get_run(run.id)
    mv = registry.register("churn", model, run_id=run.id, input_example=training_frame[:5])
    assert mv.run_id == run.id
    assert mv.metrics == {"auc": 0.91, "f1": 0.8}
    assert mv.inputs == ["raw.customers@0"]
    assert mv.code_version == stored.environment.get("git_commit")


def test_an_unknown_run_is_not_found(
    registry: RegistryService, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    with pytest.raises(NotFoundError):
        registry.register("churn", model, run_id="nope", input_example=training_frame[:5])


@pytest.mark.parametrize("name", ["Churn", "-churn", "a" * 64, "churn model", "", "x/1"])
def test_a_bad_name_is_refused_with_the_pattern(
    registry: RegistryService, model: LogisticRegression, training_frame: pd.DataFrame, name: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        registry.register(name, model, input_example=training_frame[:5])
    assert MODEL_NAME_PATTERN in str(caught.value)
    assert caught.value.status == 400 and caught.value.field == "name"


def test_load_by_version_stage_alias_and_latest(
    registry: RegistryService, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    registry.register("churn", model, input_example=training_frame[:5])
    registry.register("churn", model, input_example=training_frame[:5])
    request = registry.request_transition("churn", 1, "staging")
    assert request.status == "applied"  # staging needs no approval by default
    registry.set_alias("churn", "champion", 1)
    row = {"tenure_months": 2, "monthly_charges": 95.0}
    expected = model.predict(training_frame[:1])
    for ref in ("churn/1", "churn@staging", "churn@champion", "churn", "churn@latest"):
        loaded = registry.load(ref)
        assert loaded.predict(training_frame[:1]).tolist() == expected.tolist(), ref
        assert loaded.predict(row).shape == (1,)
    assert registry.get_version("churn").version == 2
    assert registry.get_version("churn@champion").aliases == ["champion"]


@pytest.mark.parametrize("ref", ["churn/0", "churn/x", "Churn", "churn@", "churn@Bad!", "/1"])
def test_a_bad_ref_is_invalid_input(registry: RegistryService, ref: str) -> None:
    with pytest.raises(InvalidInputError):
        registry.get_version(ref)


def test_unknown_refs_are_not_found(
    registry: RegistryService, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    registry.register("churn", model, input_example=training_frame[:5])
    for ref in ("other", "churn/9", "churn@production", "churn@champion"):
        with pytest.raises(NotFoundError):
            registry.get_version(ref)


def test_parse_ref_forms() -> None:
    assert parse_ref("churn/3").version == 3
    assert parse_ref("churn@production").stage == "production"
    assert parse_ref("churn@champion").alias == "champion"
    assert str(parse_ref("churn")) == "churn"


def test_an_artifact_altered_on_disk_is_refused_on_load(
    registry: RegistryService,
    artifacts: ArtifactStore,
    model: LogisticRegression,
    training_frame: pd.DataFrame,
) -> None:
    mv = registry.register("churn", model, input_example=training_frame[:5])
    blob = Path(artifacts.url.removeprefix("file://")) / "blobs" / mv.artifact_digest[:2]
    blob = blob / mv.artifact_digest[2:]
    assert blob.is_file()
    data = blob.read_bytes()
    blob.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])  # same size, one byte flipped
    with pytest.raises(IntegrityError) as caught:
        registry.load("churn/1")
    assert mv.artifact_digest in str(caught.value)


def test_aliases_move_for_writers_only(
    registry_as: RegistryFactory, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    writer = registry_as("wendy", Role.WRITER)
    reader = registry_as("rita", Role.READER)
    writer.register("churn", model, input_example=training_frame[:5])
    writer.register("churn", model, input_example=training_frame[:5])
    writer.set_alias("churn", "champion", 1)
    writer.set_alias("churn", "champion", 2)
    assert reader.get_version("churn@champion").version == 2
    assert reader.get_model("churn").aliases == {"champion": 2}
    with pytest.raises(PermissionDeniedError):
        reader.set_alias("churn", "champion", 1)
    with pytest.raises(PermissionDeniedError):
        reader.register("churn", model, input_example=training_frame[:5])
    with pytest.raises(InvalidInputError):
        writer.set_alias("churn", "production", 1)
    with pytest.raises(NotFoundError):
        writer.set_alias("churn", "champion", 7)
    writer.delete_alias("churn", "champion")
    with pytest.raises(NotFoundError):
        reader.get_version("churn@champion")
    with pytest.raises(NotFoundError):
        writer.delete_alias("churn", "champion")
    with pytest.raises(InvalidInputError):
        writer.delete_alias("churn", "production")


def test_another_project_sees_nothing(
    installation: Installation,
    registry: RegistryService,
    platform: Platform,
    model: LogisticRegression,
    training_frame: pd.DataFrame,
) -> None:
    registry.register("churn", model, input_example=training_frame[:5])
    other_project = installation.projects.ensure("other-" + platform.project[2:12])
    other = RegistryService(
        installation.db,
        installation.storage.child(f"projects/{other_project.name}"),
        other_project,
        tracking=platform.tracking,
        actor="alice",
        role=Role.ADMIN,
    )
    assert other.list_models() == []
    with pytest.raises(NotFoundError):
        other.get_version("churn/1")
    assert other.register("churn", model, input_example=training_frame[:5]).version == 1


def test_lineage_links_version_run_tables_and_source(
    registry: RegistryService,
    platform: Platform,
    model: LogisticRegression,
    training_frame: pd.DataFrame,
) -> None:
    with platform.tracking.start_run("churn") as run:
        run.log_metric("auc", 0.9)
        run.log_input("raw.customers@0")
    registry.register("churn", model, run_id=run.id, input_example=training_frame[:5])
    registry.register("churn", model, input_example=training_frame[:5], derived_from="churn/1")
    graph = registry.lineage("churn/2")
    assert graph["root"] == "model:churn/2"
    ids = {node["id"] for node in graph["nodes"]}
    assert ids == {"model:churn/2", "model:churn/1", f"run:{run.id}", "table:raw.customers@0"}
    edges = {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}
    assert ("model:churn/1", "model:churn/2", "derived_from") in edges
    assert (f"run:{run.id}", "model:churn/1", "produced") in edges
    assert ("table:raw.customers@0", f"run:{run.id}", "read_by") in edges


def test_events_are_in_the_outbox(
    registry: RegistryService,
    installation: Installation,
    project_name: str,
    model: LogisticRegression,
    training_frame: pd.DataFrame,
) -> None:
    registry.register("churn", model, input_example=training_frame[:5])
    registry.set_alias("churn", "champion", 1)
    registry.request_transition("churn", 1, "staging")
    project_id = installation.projects.get(project_name).id
    assert _events(installation, project_id) == [
        ("model.version_registered", "churn/1"),
        ("model.alias_changed", "churn/1"),
        ("model.transition_requested", "churn/1"),
        ("model.stage_changed", "churn/1"),
    ]


def test_a_failed_registration_records_no_event(
    registry: RegistryService,
    installation: Installation,
    project_name: str,
    model: LogisticRegression,
    training_frame: pd.DataFrame,
) -> None:
    with pytest.raises(NotFoundError):
        registry.register("churn", model, input_example=training_frame[:5], derived_from="x/1")
    project_id = installation.projects.get(project_name).id
    assert _events(installation, project_id) == []


def test_registering_needs_an_input_example_and_stores_the_output_schema(
    registry: RegistryService, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    with pytest.raises(InvalidInputError, match="input example"):
        registry.register("churn", model)
    mv = registry.register("churn", model, input_example=training_frame[:5])
    assert mv.signature is not None
    assert [c["name"] for c in mv.signature["outputs"]] == ["prediction"]


def test_a_signature_taken_from_a_version_registers_another(
    registry: RegistryService, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    first = registry.register("churn", model, input_example=training_frame[:5])
    again = registry.register("churn", model, signature=first.signature)  # its dict form
    assert again.signature == first.signature
    loaded = registry.load("churn/1")
    third = registry.register("churn", model, signature=loaded.signature)  # a Signature
    assert third.signature == first.signature


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (42, "must be a Signature or its dict form; got int"),
        ("tenure_months", "must be a Signature or its dict form; got str"),
        ({"inputs": [{"name": "x", "type": "decimal"}]}, "is not a signature: inputs.0.type"),
        ({"outputs": []}, "is not a signature: inputs"),
    ],
)
def test_a_bad_signature_is_invalid_input(
    registry: RegistryService, model: LogisticRegression, signature: object, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as raised:
        registry.register("churn", model, signature=signature)  # type: ignore[arg-type]
    assert raised.value.field == "signature"
    assert "get_version(ref).signature" in (raised.value.remedy or "")


def test_a_version_signature_registers_through_a_server(
    live_server: LiveServer,
    project_name: str,
    model: LogisticRegression,
    training_frame: pd.DataFrame,
) -> None:
    key = live_server.key(project_name, Role.WRITER)
    embedded = live_server.installation.platform(project_name, user="local:test")
    first = embedded.registry.register("churn", model, input_example=training_frame[:5])
    with podium.connect(live_server.url, api_key=key, project=project_name) as remote:
        again = remote.registry.register("churn", model, signature=first.signature)
        with pytest.raises(InvalidInputError, match="got int"):
            remote.registry.register("churn", model, signature=7)  # type: ignore[arg-type]
    assert again.version == 2 and again.signature == first.signature
