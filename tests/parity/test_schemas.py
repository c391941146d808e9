"""``p.events.schemas`` both ways (embedded and remote, SQLite and PostgreSQL): every method
of the Schemas protocol, the same assertions, the same errors; and both implementations
define the protocol's methods alike."""

from __future__ import annotations

from typing import Any

import pytest

from podium.access.roles import Role
from podium.client.schemas import HttpSchemas
from podium.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from podium.events.schemas.protocol import Schemas
from podium.events.schemas.service import SchemaRegistry
from podium.platform import Platform
from tests.parity.assertions import fails
from tests.parity.conftest import Side
from tests.parity.test_signatures import Area, mismatches, one_sided

V1: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "features": {
            "type": "object",
            "properties": {"tenure": {"type": "integer", "minimum": 0}},
            "additionalProperties": False,
        },
    },
    "required": ["id", "features"],
}
V2 = {**V1, "properties": {**V1["properties"], "source": {}}}  # an unconstrained field
BREAKING = {
    **V1,
    "properties": {
        **V1["properties"],
        "features": {**V1["properties"]["features"], "required": ["tenure"]},
    },
}
AREA = Area(Schemas, SchemaRegistry, HttpSchemas)


def test_register_versions_and_read_them(platform: Platform) -> None:
    schemas = platform.events.schemas
    first = schemas.register("churn-in", V1, compatibility="backward")
    assert (first.subject, first.version, first.json_schema) == ("churn-in", 1, V1)
    assert schemas.register("churn-in", V1) == first
    second = schemas.register("churn-in", V2)
    assert second.version == 2 and second.fingerprint != first.fingerprint
    assert schemas.get("churn-in") == second
    assert schemas.get("churn-in", 1) == first
    assert schemas.versions("churn-in") == [first, second]
    subject = schemas.subject("churn-in")
    assert (subject.compatibility, subject.latest_version, subject.versions) == ("backward", 2, 2)
    assert schemas.subjects() == [subject]


def test_an_incompatible_change_is_refused_naming_the_field(platform: Platform) -> None:
    schemas = platform.events.schemas
    schemas.register("churn-in", V1)
    with fails(ConflictError):
        schemas.register("churn-in", BREAKING)
    try:
        schemas.register("churn-in", BREAKING)
    except ConflictError as exc:
        assert exc.code == "incompatible-schema"
        assert "field 'features.tenure' became required" in exc.message
        assert exc.details["problems"] == [
            "backward incompatible with version 1: field 'features.tenure' became required"
        ]
    verdict = schemas.check("churn-in", BREAKING)
    assert (verdict.compatible, verdict.against, verdict.compatibility) == (False, [1], "backward")
    assert schemas.check("churn-in", V2).compatible
    assert schemas.set_compatibility("churn-in", "none").compatibility == "none"
    assert schemas.register("churn-in", BREAKING).version == 2


def test_validate_names_the_path(platform: Platform) -> None:
    schemas = platform.events.schemas
    schemas.register("churn-in", V1)
    checked = schemas.validate("churn-in", {"id": "e1", "features": {"tenure": 3}})
    assert (checked.subject, checked.version) == ("churn-in", 1)
    with fails(InvalidInputError):
        schemas.validate("churn-in", {"id": "e1", "features": {"tenure": -1}})
    try:
        schemas.validate("churn-in", {"id": "e1", "features": {"tenure": -1}}, version=1)
    except InvalidInputError as exc:
        assert (exc.code, exc.field) == ("schema-violation", "$.features.tenure")
        assert "-1 is less than the minimum of 0" in exc.message
    with fails(NotFoundError):
        schemas.validate("churn-in", {}, version=5)
    with fails(NotFoundError):
        schemas.validate("nothing-here", {})


def test_bad_input_fails_the_same_way(platform: Platform) -> None:
    schemas = platform.events.schemas
    with fails(InvalidInputError):
        schemas.register("churn-in", {"type": "strin"})
    with fails(InvalidInputError):
        schemas.register("churn-in", V1, compatibility="sideways")
    with fails(InvalidInputError):
        schemas.register("a/b", V1)
    with fails(NotFoundError):
        schemas.get("churn-in")
    with fails(NotFoundError):
        schemas.delete("churn-in")
    schemas.register("churn-in", V1)
    with fails(ConflictError):
        schemas.register("churn-in", V2, compatibility="full")
    with fails(InvalidInputError):
        schemas.set_compatibility("churn-in", "sideways")
    schemas.delete("churn-in")
    assert schemas.subjects() == []


def test_roles(side: Side, project_name: str) -> None:
    side.connect(project_name).events.schemas.register("churn-in", V1)
    reader = side.connect(project_name, user="reader", role=Role.READER).events.schemas
    assert reader.get("churn-in").version == 1
    with fails(PermissionDeniedError):
        reader.register("churn-in", V2)
    writer = side.connect(project_name, user="writer", role=Role.WRITER).events.schemas
    assert writer.register("churn-in", V2).version == 2
    with fails(PermissionDeniedError):
        writer.delete("churn-in")


@pytest.mark.parametrize("side_name", ["embedded", "remote"])
def test_both_sides_define_the_protocol_alike(side_name: str) -> None:
    assert mismatches(AREA, side_name) == {}
    assert one_sided(AREA, side_name, {}) == set()


def test_every_protocol_method_is_documented() -> None:
    for name in ("register", "check", "validate", "get", "versions", "subject", "subjects"):
        doc = getattr(Schemas, name).__doc__ or ""
        assert len(doc.split()) >= 5, name
    for name in ("set_compatibility", "delete"):
        assert "admin role" in (getattr(Schemas, name).__doc__ or ""), name
