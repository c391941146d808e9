"""Table names and references: ``zone.name`` and ``zone.name@N``, parsed in one place."""

from __future__ import annotations

import pytest

from podium.data.names import TableRef, parse_table_name
from podium.errors import InvalidInputError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("raw.customers", TableRef("raw", "customers", None)),
        ("raw.customers@3", TableRef("raw", "customers", 3)),
        ("curated.churn_features@0", TableRef("curated", "churn_features", 0)),
    ],
)
def test_a_table_ref_parses_and_round_trips(text: str, expected: TableRef) -> None:
    parsed = TableRef.parse(text)
    assert parsed == expected
    assert str(parsed) == text
    assert parsed.table == str(parse_table_name(text.partition("@")[0]))


@pytest.mark.parametrize(
    "text",
    ["raw", "Raw.customers", "raw.customers@", "raw.customers@-1", "raw.a.b", "s3://b/x@1", ""],
)
def test_anything_else_is_no_table_ref(text: str) -> None:
    assert TableRef.find(text) is None
    with pytest.raises(InvalidInputError) as caught:
        TableRef.parse(text, field="source")
    assert caught.value.field == "source"
    assert "zone.name@VERSION" in str(caught.value)


def test_a_leading_zero_version_is_normalised() -> None:
    assert str(TableRef.parse("raw.customers@007")) == "raw.customers@7"


def test_find_takes_any_input_a_run_recorded() -> None:
    assert TableRef.find(None) is None
    assert TableRef.find("data/train.csv") is None
