"""Checking schemas and validating documents: the errors name the path and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from podium.errors import InvalidInputError
from podium.events.schemas.validation import (
    SCHEMA_VIOLATION,
    check_schema,
    compiled,
    fingerprint,
    validate_document,
)

EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "features": {
            "type": "object",
            "properties": {
                "tenure": {"type": "integer", "minimum": 0},
                "email": {"format": "email"},
            },
            "required": ["tenure"],
        },
    },
    "required": ["id", "features"],
}


def _validate(document: Any, schema: dict[str, Any] = EVENT) -> None:
    validate_document(document, schema, subject="churn-in", version=3, digest=fingerprint(schema))


def test_a_valid_document_passes() -> None:
    _validate({"id": "e1", "features": {"tenure": 4}})


def test_a_failure_names_the_json_path_the_reason_and_the_fix() -> None:
    with pytest.raises(InvalidInputError) as caught:
        _validate({"id": "e1", "features": {"tenure": -2}})
    error = caught.value
    assert error.code == SCHEMA_VIOLATION and error.field == "$.features.tenure"
    assert (
        "schema 'churn-in' version 3: at $.features.tenure: -2 is less than the minimum of 0"
        in (error.message)
    )
    assert "podium schemas show churn-in" in (error.remedy or "")
    assert error.details["errors"] == [
        {"path": "$.features.tenure", "message": "-2 is less than the minimum of 0"}
    ]


def test_the_shallowest_failure_comes_first_and_all_are_listed() -> None:
    with pytest.raises(InvalidInputError) as caught:
        _validate({"features": {"tenure": "x"}})
    assert caught.value.field == "$"
    assert "'id' is a required property (and 1 more)" in caught.value.message
    assert [e["path"] for e in caught.value.details["errors"]] == ["$", "$.features.tenure"]


def test_formats_are_asserted() -> None:
    with pytest.raises(InvalidInputError, match="is not a 'email'"):
        _validate({"id": "e1", "features": {"tenure": 1, "email": "nobody"}})


@pytest.mark.parametrize(
    ("schema", "message", "field"),
    [
        ([1, 2], "a schema must be a JSON object; got list instead", "schema"),
        ({"type": "strin"}, "not a valid JSON Schema at schema.type", "schema.type"),
        ({"properties": {"a": {"minimum": "3"}}}, "at schema.properties.a.minimum", None),
        ({"$schema": "http://example.com/mine"}, "unknown $schema", "schema.$schema"),
        ({"$ref": "https://example.com/s.json"}, "only local references", "schema"),
        ({"$ref": "#/$defs/missing"}, "points at nothing", "schema"),
        ({"const": float("nan")}, "is not JSON", "schema"),
    ],
)
def test_an_invalid_schema_is_refused_with_where_and_why(
    schema: Any, message: str, field: str | None
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_schema(schema)
    assert message in caught.value.message
    assert caught.value.code == "invalid-schema"
    assert "JSON Schema" in (caught.value.remedy or "")
    if field is not None:
        assert caught.value.field == field


def test_other_drafts_are_accepted_when_named() -> None:
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}
    assert check_schema(draft7) is draft7


def test_validators_are_compiled_once_per_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    same = {"properties": {"n": {"type": "integer"}}, "type": "object"}  # other key order
    assert fingerprint(schema) == fingerprint(same)
    assert compiled(schema) is compiled(same)
