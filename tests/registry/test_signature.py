"""Signatures: inference from examples, and validation of what predict receives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from podium.errors import InvalidInputError
from podium.registry.signature import ColumnSpec, Signature, infer_signature


@pytest.fixture
def example() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tenure_months": [3, 12],
            "plan": ["basic", "pro"],
            "spend": [10.5, None],
            "active": [True, False],
            "signed_up": pd.to_datetime(["2024-01-01", "2024-02-01"]),
        }
    )


@pytest.fixture
def signature(example: pd.DataFrame) -> Signature:
    return infer_signature(example, np.array([0, 1]))


def row(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "tenure_months": 5,
        "plan": "pro",
        "spend": 2.0,
        "active": True,
        "signed_up": "2024-03-01",
    }
    base.update(changes)
    return base


def test_infers_types_and_nullability_from_a_frame(signature: Signature) -> None:
    assert signature.inputs == [
        ColumnSpec(name="tenure_months", type="int64"),
        ColumnSpec(name="plan", type="string"),
        ColumnSpec(name="spend", type="float64", nullable=True),
        ColumnSpec(name="active", type="bool"),
        ColumnSpec(name="signed_up", type="datetime"),
    ]
    assert signature.outputs == [ColumnSpec(name="prediction", type="int64")]


def test_an_array_becomes_positional_columns() -> None:
    signature = infer_signature(np.zeros((4, 3)))
    assert [spec.name for spec in signature.inputs] == ["f0", "f1", "f2"]
    assert {spec.type for spec in signature.inputs} == {"float64"}
    frame = signature.validate(np.ones((2, 3)))
    assert list(frame.columns) == ["f0", "f1", "f2"]


def test_infers_from_a_dict_and_from_a_list_of_dicts() -> None:
    one = infer_signature({"age": 30, "city": "Oslo"})
    many = infer_signature([{"age": 30, "city": "Oslo"}, {"age": 41.5, "city": None}])
    assert one.inputs == [
        ColumnSpec(name="age", type="int64"),
        ColumnSpec(name="city", type="string"),
    ]
    assert many.inputs == [
        ColumnSpec(name="age", type="float64"),
        ColumnSpec(name="city", type="string", nullable=True),
    ]


def test_validate_reorders_casts_and_drops_extra_columns(signature: Signature) -> None:
    given = pd.DataFrame([row(tenure_months=7.0, extra="ignored")]).iloc[:, ::-1]
    frame = signature.validate(given)
    assert list(frame.columns) == [spec.name for spec in signature.inputs]
    assert frame["tenure_months"].dtype == np.int64
    assert frame["spend"].dtype == np.float64
    assert frame["signed_up"].dtype.kind == "M"


def test_validate_accepts_one_dict_and_a_list_of_dicts(signature: Signature) -> None:
    assert len(signature.validate(row())) == 1
    assert len(signature.validate([row(), row(spend=None)])) == 2


def test_an_int_is_accepted_for_a_float_column(signature: Signature) -> None:
    frame = signature.validate(row(spend=4))
    assert frame["spend"].tolist() == [4.0]


def test_a_missing_column_is_named(signature: Signature) -> None:
    given = row()
    del given["tenure_months"]
    with pytest.raises(InvalidInputError, match="column 'tenure_months' is missing") as caught:
        signature.validate(given)
    assert caught.value.field == "tenure_months"
    assert caught.value.remedy == "add the column 'tenure_months' to every row"


def test_a_wrong_type_names_the_column_the_type_and_the_value(signature: Signature) -> None:
    with pytest.raises(InvalidInputError) as caught:
        signature.validate([row(), row(tenure_months="abc")])
    assert caught.value.message == (
        "column 'tenure_months' must be int64; got string ('abc') instead"
    )
    assert caught.value.remedy


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("tenure_months", 2.5, "must be int64; got float64 (2.5)"),
        ("spend", "cheap", "must be float64; got string ('cheap')"),
        ("active", 1, "must be bool; got int64 (1)"),
        ("plan", 3, "must be string; got int64 (3)"),
        ("signed_up", "yesterday", "must be datetime; got string ('yesterday')"),
    ],
)
def test_lossy_or_wrong_values_are_refused(
    signature: Signature, column: str, value: object, expected: str
) -> None:
    with pytest.raises(InvalidInputError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        signature.validate(row(**{column: value}))


def test_a_null_in_a_non_nullable_column_is_refused(signature: Signature) -> None:
    with pytest.raises(InvalidInputError, match="'plan' must not be null"):
        signature.validate([row(), row(plan=None)])


def test_input_that_is_not_a_table_is_refused(signature: Signature) -> None:
    with pytest.raises(InvalidInputError, match="got str instead"):
        signature.validate("tenure_months=3")  # type: ignore[arg-type]


def test_a_signature_round_trips_through_json(signature: Signature) -> None:
    assert Signature.model_validate_json(signature.model_dump_json()) == signature


def test_integer_column_names_match_their_string_form() -> None:
    signature = infer_signature(pd.DataFrame(np.zeros((2, 2))))
    assert [spec.name for spec in signature.inputs] == ["0", "1"]
    assert list(signature.validate(pd.DataFrame(np.ones((1, 2)))).columns) == ["0", "1"]


def test_a_nan_in_a_non_nullable_float_column_is_refused() -> None:
    signature = infer_signature(pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, 0.25]}))
    assert signature.validate(pd.DataFrame({"b": [1.0], "a": [2.0]})).columns.tolist() == [
        "a",
        "b",
    ]
    with pytest.raises(InvalidInputError, match="'b' must not be null; got null in row 1"):
        signature.validate(pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, np.nan]}))
