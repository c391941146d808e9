"""The embedded schema registry on SQLite and PostgreSQL: versions, idempotence, modes,
the ``schema.registered`` event, roles, tenancy and validation."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from sqlalchemy import select

from podium.access.roles import Role
from podium.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from podium.events.schemas.service import SchemaRegistry
from podium.events.tables import EventRow
from podium.platform import Installation, Platform

V1: dict[str, Any] = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "tenure": {"type": "integer"}},
    "required": ["id"],
    "additionalProperties": False,
}


def _with(**properties: Any) -> dict[str, Any]:
    schema = copy.deepcopy(V1)
    schema["properties"].update(properties)
    return schema


def test_versions_count_up_and_registering_again_returns_the_existing_one(
    platform: Platform,
) -> None:
    schemas = platform.events.schemas
    first = schemas.register("churn-in", V1)
    assert (first.subject, first.version, first.created_by) == ("churn-in", 1, "local:test")
    assert schemas.register("churn-in", copy.deepcopy(V1)) == first
    second = schemas.register("churn-in", _with(spend={"type": "number"}))
    assert second.version == 2
    assert schemas.register("churn-in", V1).version == 1  # any earlier version, not only the latest
    assert [v.version for v in schemas.versions("churn-in")] == [1, 2]
    assert schemas.get("churn-in") == second and schemas.get("churn-in", 1) == first
    (subject,) = schemas.subjects()
    assert (subject.name, subject.compatibility, subject.latest_version, subject.versions) == (
        "churn-in",
        "backward",
        2,
        2,
    )


def test_an_incompatible_version_is_a_conflict_naming_the_field(platform: Platform) -> None:
    schemas = platform.events.schemas
    schemas.register("churn-in", V1)
    with pytest.raises(ConflictError) as caught:
        schemas.register("churn-in", _with(tenure={"type": "string"}))
    error = caught.value
    assert error.status == 409 and error.code == "incompatible-schema"
    assert "type of 'tenure' changed from integer to string" in error.message
    assert error.details["problems"] == [
        "backward incompatible with version 1: type of 'tenure' changed from integer to string"
    ]
    assert [v.version for v in schemas.versions("churn-in")] == [1]
    verdict = schemas.check("churn-in", _with(tenure={"type": "string"}))
    assert not verdict.compatible and verdict.against == [1] and verdict.problems
    assert schemas.check("churn-in", V1).existing_version == 1
    assert schemas.check("new-subject", V1).compatible


def test_the_mode_is_set_once_and_changed_explicitly(platform: Platform) -> None:
    schemas = platform.events.schemas
    schemas.register("clicks", V1, compatibility="forward")
    assert schemas.subject("clicks").compatibility == "forward"
    with pytest.raises(ConflictError, match="has compatibility 'forward', not 'full'"):
        schemas.register("clicks", _with(x={"type": "string"}), compatibility="full")
    widened = _with(tenure={"type": "number"})  # backward-compatible, not forward
    with pytest.raises(ConflictError, match="forward incompatible with version 1"):
        schemas.register("clicks", widened)
    assert schemas.set_compatibility("clicks", "none").compatibility == "none"
    assert schemas.register("clicks", widened).version == 2
    with pytest.raises(InvalidInputError, match="the compatibility must be one of"):
        schemas.set_compatibility("clicks", "sideways")


def test_each_new_version_is_an_event_in_the_outbox(
    platform: Platform, installation: Installation
) -> None:
    schemas = platform.events.schemas
    schemas.register("churn-in", V1)
    schemas.register("churn-in", V1)  # idempotent: no second event
    project = installation.projects.get(platform.project)
    with installation.db.read() as session:
        rows = session.scalars(
            select(EventRow).where(
                EventRow.project_id == project.id, EventRow.type == "schema.registered"
            )
        ).all()
        found = [(r.subject, r.payload, r.actor) for r in rows]
    assert len(found) == 1
    subject, payload, actor = found[0]
    assert (subject, actor) == ("churn-in/1", "local:test")
    assert payload["subject"] == "churn-in" and payload["version"] == 1
    assert payload["compatibility"] == "backward" and len(payload["fingerprint"]) == 64
    actions = [e.action for e in installation.audit.list(project.id, action="schemas.register")]
    assert actions == ["schemas.register"]


def test_validate_uses_the_latest_version_or_a_pinned_one(platform: Platform) -> None:
    schemas = platform.events.schemas
    schemas.register("churn-in", V1)
    assert schemas.validate("churn-in", {"id": "a", "tenure": 3}).version == 1
    schemas.register("churn-in", _with(spend={"type": "number"}))
    # A change through the same service is seen at once, not after the cache expires.
    assert schemas.validate("churn-in", {"id": "a", "spend": 1.5}).version == 2
    with pytest.raises(InvalidInputError) as caught:
        schemas.validate("churn-in", {"id": "a", "spend": 1.5}, version=1)
    assert caught.value.field == "$" and "'spend' was unexpected" in caught.value.message
    with pytest.raises(NotFoundError, match="has no version 7"):
        schemas.validate("churn-in", {}, version=7)
    with pytest.raises(InvalidInputError, match="integer from 1"):
        schemas.validate("churn-in", {}, version=0)


def test_deleting_a_subject_removes_every_version(platform: Platform) -> None:
    schemas = platform.events.schemas
    schemas.register("churn-in", V1)
    schemas.validate("churn-in", {"id": "a"})
    schemas.delete("churn-in")
    assert schemas.subjects() == []
    for call in (
        lambda: schemas.get("churn-in"),
        lambda: schemas.validate("churn-in", {"id": "a"}),
        lambda: schemas.delete("churn-in"),
    ):
        with pytest.raises(NotFoundError, match="subject 'churn-in' does not exist"):
            call()
    assert schemas.register("churn-in", _with(tenure={"type": "string"})).version == 1


def test_readers_read_writers_register_admins_change_modes(
    installation: Installation, project_name: str
) -> None:
    admin = installation.platform(project_name, user="local:admin").events.schemas
    admin.register("churn-in", V1)
    reader = installation.platform(project_name, user="r", role=Role.READER).events.schemas
    writer = installation.platform(project_name, user="w", role=Role.WRITER).events.schemas
    assert reader.get("churn-in").version == 1
    assert reader.validate("churn-in", {"id": "a"}).version == 1
    assert reader.check("churn-in", V1).existing_version == 1
    with pytest.raises(PermissionDeniedError, match="needs the writer role"):
        reader.register("churn-in", _with(x={}))
    assert writer.register("churn-in", _with(x={})).version == 2
    for call in (
        lambda: writer.set_compatibility("churn-in", "none"),
        lambda: writer.delete("churn-in"),
    ):
        with pytest.raises(PermissionDeniedError, match="needs the admin role"):
            call()


def test_projects_do_not_see_each_others_subjects(
    installation: Installation, project_name: str
) -> None:
    installation.platform(project_name).events.schemas.register("churn-in", V1)
    other = installation.platform(f"{project_name}-other").events.schemas
    assert other.subjects() == []
    with pytest.raises(NotFoundError):
        other.get("churn-in")
    assert other.register("churn-in", _with(tenure={"type": "string"})).version == 1


@pytest.mark.parametrize("name", ["", "a/b", "-x", "x" * 129, "a\n", 3])
def test_bad_subject_names_are_refused(platform: Platform, name: Any) -> None:
    with pytest.raises(InvalidInputError, match="a subject name must be"):
        platform.events.schemas.register(name, V1)


def test_concurrent_registrations_of_one_schema_make_one_version(
    installation: Installation, project_name: str
) -> None:
    project = installation.projects.ensure(project_name)
    results: list[int] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            service = SchemaRegistry(installation.db, project, actor="t")
            results.append(service.register("race", V1).version)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [1, 1, 1, 1]
