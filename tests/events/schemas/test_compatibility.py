"""The compatibility checker: each JSON Schema change it must refuse, naming the field and
why, each one it must accept, and (property-based) that what it accepts is really safe."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from podium.errors import InvalidInputError
from podium.events.schemas.compatibility import check_compatibility, check_mode, reader_problems

V1: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "tenure": {"type": "integer", "minimum": 0},
        "spend": {"type": "number"},
        "plan": {"enum": ["monthly", "yearly"]},
        "address": {
            "type": "object",
            "properties": {"zip": {"type": "string"}},
            "additionalProperties": False,
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["id", "spend"],
    "additionalProperties": False,
}


def changed(edit: Any) -> dict[str, Any]:
    schema = copy.deepcopy(V1)
    edit(schema)
    return schema


def backward(new: dict[str, Any], old: dict[str, Any] = V1) -> list[str]:
    return reader_problems(new, old, reader_is_new=True)


def forward(new: dict[str, Any], old: dict[str, Any] = V1) -> list[str]:
    return reader_problems(old, new, reader_is_new=False)


def props(schema: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = schema["properties"]
    return found


REFUSED_BACKWARD = [
    ("required", lambda s: s["required"].append("tenure"), "field 'tenure' became required"),
    (
        "type change",
        lambda s: props(s).update(spend={"type": "string"}),
        "type of 'spend' changed from number to string",
    ),
    (
        "number narrowed to integer",
        lambda s: props(s).update(spend={"type": "integer"}),
        "type of 'spend' changed from number to integer",
    ),
    (
        "enum narrowed",
        lambda s: props(s).update(plan={"enum": ["monthly"]}),
        "field 'plan' no longer accepts 'yearly'",
    ),
    (
        "field removed from a closed object",
        lambda s: props(s).pop("tenure"),
        "field 'tenure' was removed while the new schema closes additionalProperties",
    ),
    (
        "nested type change",
        lambda s: props(s)["address"]["properties"].update(zip={"type": "integer"}),
        "type of 'address.zip' changed from string to integer",
    ),
    (
        "array items",
        lambda s: props(s)["tags"].update(items={"type": "integer"}),
        "type of 'tags[]' changed from string to integer",
    ),
    (
        "minimum raised",
        lambda s: props(s)["tenure"].update(minimum=12),
        "minimum of 'tenure' changed from 0 to 12",
    ),
    (
        "restricted to an enum",
        lambda s: props(s).update(id={"type": "string", "enum": ["a"]}),
        "field 'id' became restricted to the values ['a']",
    ),
    (
        "pattern added",
        lambda s: props(s)["id"].update(pattern="^c-"),
        "pattern of 'id' changed from none to '^c-'",
    ),
]


@pytest.mark.parametrize(
    ("edit", "message"), [c[1:] for c in REFUSED_BACKWARD], ids=[c[0] for c in REFUSED_BACKWARD]
)
def test_backward_incompatible_changes_name_the_field_and_why(edit: Any, message: str) -> None:
    problems = backward(changed(edit))
    assert any(message in p for p in problems), problems


ACCEPTED_BACKWARD = [
    ("identical", lambda s: None),
    ("optional field added to a closed object", lambda s: props(s).update(age={"type": "integer"})),
    ("integer widened to number", lambda s: props(s).update(tenure={"type": "number"})),
    ("enum widened", lambda s: props(s).update(plan={"enum": ["monthly", "yearly", "weekly"]})),
    ("requirement dropped", lambda s: s.update(required=["id"])),
    ("object opened", lambda s: s.pop("additionalProperties")),
    ("minimum lowered", lambda s: props(s)["tenure"].update(minimum=-5)),
    ("type widened to a union", lambda s: props(s).update(spend={"type": ["number", "null"]})),
    ("annotations only", lambda s: props(s)["id"].update(description="the customer id")),
]


@pytest.mark.parametrize(
    "edit", [c[1] for c in ACCEPTED_BACKWARD], ids=[c[0] for c in ACCEPTED_BACKWARD]
)
def test_backward_compatible_changes_pass(edit: Any) -> None:
    assert backward(changed(edit)) == []


def test_forward_is_the_mirror_of_backward() -> None:
    widened = changed(lambda s: props(s).update(tenure={"type": "number"}))
    assert backward(widened) == []
    assert forward(widened) == ["type of 'tenure' changed from integer to number"]
    more = changed(lambda s: props(s).update(plan={"enum": ["monthly", "yearly", "weekly"]}))
    assert forward(more) == ["field 'plan' now allows 'weekly', which old readers reject"]
    dropped = changed(lambda s: s.update(required=["id"]))
    assert forward(dropped) == ["field 'spend' is no longer required (old readers need it)"]
    added = changed(lambda s: props(s).update(age={"type": "integer"}))
    assert any("field 'age' was added while the old schema closes" in p for p in forward(added))


def test_a_field_added_to_an_open_object_is_not_backward_compatible() -> None:
    # An open object may already carry 'age' with any value: a typed 'age' would reject it.
    old = {"type": "object", "properties": {"id": {"type": "string"}}}
    new = {**old, "properties": {**old["properties"], "age": {"type": "integer"}}}
    (problem,) = backward(new, old)
    assert "field 'age' was added with constraints" in problem
    assert "additionalProperties: false" in problem
    untyped = {**old, "properties": {**old["properties"], "age": {"description": "years"}}}
    assert backward(untyped, old) == []


def test_local_refs_are_followed() -> None:
    def with_defs(kind: str) -> dict[str, Any]:
        return {
            "$defs": {"money": {"type": kind}},
            "type": "object",
            "properties": {"spend": {"$ref": "#/$defs/money"}},
        }

    assert backward(with_defs("number"), with_defs("integer")) == []
    assert backward(with_defs("integer"), with_defs("number")) == [
        "type of 'spend' changed from number to integer"
    ]


def test_combinators_are_compared_for_equality_only() -> None:
    old = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert backward(old, old) == []
    new = {"anyOf": [{"type": "string"}, {"type": "number"}]}
    assert backward(new, old) == [
        "'anyOf' of the document changed; podium compares 'anyOf' only for equality"
    ]


def test_modes_compare_the_latest_or_every_version() -> None:
    v1 = {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}
    v2 = {"type": "object", "properties": {"a": {"type": "number"}}, "additionalProperties": False}
    v3 = {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}
    earlier = [(1, v1), (2, v2)]
    assert check_compatibility("backward", v3, earlier) == (
        [2],
        ["backward incompatible with version 2: type of 'a' changed from number to integer"],
    )
    assert check_compatibility("forward", v3, earlier) == ([2], [])
    against, problems = check_compatibility("full_transitive", v3, earlier)
    assert against == [1, 2] and len(problems) == 1
    assert check_compatibility("none", v3, earlier) == ([], [])
    assert check_compatibility("backward", v3, []) == ([], [])


def test_an_unknown_mode_is_refused_with_the_modes() -> None:
    assert check_mode("FULL-transitive") == "full_transitive"
    with pytest.raises(InvalidInputError, match="backward, backward_transitive"):
        check_mode("sideways")


# Property: whatever the checker accepts really is safe. Schemas and documents come from a
# small grammar (the keywords the checker reasons about), and every document valid under
# the writer must then be valid under the reader.
_NAMES = ["a", "b", "c"]
_LEAF_TYPES = ["integer", "number", "string", "null", "boolean"]
_SCALARS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.5, -1.5, 2.0]),
    st.sampled_from(["x", "y", ""]),
    st.none(),
    st.booleans(),
)


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    typed = st.lists(st.sampled_from(_LEAF_TYPES), min_size=1, max_size=2, unique=True).map(
        lambda kinds: {"type": kinds if len(kinds) > 1 else kinds[0]}
    )
    bounded = st.builds(
        lambda kind, low: {"type": kind, "minimum": low},
        st.sampled_from(["integer", "number"]),
        st.integers(-2, 2),
    )
    enum = st.lists(_SCALARS, min_size=1, max_size=3).map(lambda values: {"enum": values})
    return st.one_of(st.just({}), typed, bounded, enum)


def _object(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda properties, required, extra: {
            "type": "object",
            "properties": properties,
            "required": required,
            **({} if extra is None else {"additionalProperties": extra}),
        },
        st.dictionaries(st.sampled_from(_NAMES), inner, max_size=3),
        st.lists(st.sampled_from(_NAMES), max_size=2, unique=True),
        st.one_of(st.none(), st.just(False), st.just(True), _leaf()),
    )


_SCHEMAS = _object(st.one_of(_leaf(), _object(_leaf())))
_DOCUMENTS = st.dictionaries(
    st.sampled_from(_NAMES),
    st.one_of(_SCALARS, st.dictionaries(st.sampled_from(_NAMES), _SCALARS, max_size=3)),
    max_size=3,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writer=_SCHEMAS, reader=_SCHEMAS, documents=st.lists(_DOCUMENTS, min_size=1, max_size=8))
def test_what_the_checker_accepts_never_rejects_a_writers_document(
    writer: dict[str, Any], reader: dict[str, Any], documents: list[dict[str, Any]]
) -> None:
    if reader_problems(reader, writer, reader_is_new=True):
        return
    write, read = Draft202012Validator(writer), Draft202012Validator(reader)
    for document in documents:
        if write.is_valid(document):
            assert read.is_valid(document), (writer, reader, document)


@settings(max_examples=60, deadline=None)
@given(schema=_SCHEMAS)
def test_every_schema_is_compatible_with_itself(schema: dict[str, Any]) -> None:
    assert reader_problems(schema, schema, reader_is_new=True) == []
    assert reader_problems(schema, schema, reader_is_new=False) == []
