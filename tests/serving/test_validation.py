"""Features checked against a signature by hand: every failure names the feature."""

from __future__ import annotations

import math

import numpy as np
import pytest

from podium.errors import InvalidInputError
from podium.registry.signature import ColumnSpec, Signature
from podium.serving.requests.validation import RowValidator

SIGNATURE = Signature(
    inputs=[
        ColumnSpec(name="tenure", type="int64"),
        ColumnSpec(name="charges", type="float64"),
        ColumnSpec(name="score", type="float64", nullable=True),
        ColumnSpec(name="active", type="bool"),
        ColumnSpec(name="plan", type="string"),
    ]
)
ROW = {"tenure": 3, "charges": 9.5, "score": 0.1, "active": True, "plan": "pro"}


@pytest.fixture
def validator() -> RowValidator:
    return RowValidator(SIGNATURE, allowed_extra=["customer_id"])


def test_a_good_row_comes_back_in_signature_order(validator: RowValidator) -> None:
    row = {**ROW, "charges": 9, "customer_id": "c1"}
    clean = validator.check(row)
    assert list(clean) == ["tenure", "charges", "score", "active", "plan"]
    assert clean["charges"] == 9.0 and type(clean["charges"]) is float
    assert validator.check({**ROW, "tenure": 3.0})["tenure"] == 3
    assert validator.check({**ROW, "score": None})["score"] is None
    assert validator.check({**ROW, "score": math.nan})["score"] is None  # nullable: NaN is null
    assert not validator.numeric
    numpy_row = {**ROW, "tenure": np.int64(3), "charges": np.float32(9.5), "active": np.True_}
    assert validator.check(numpy_row) == {**ROW, "charges": 9.5}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tenure": None}, "tenure"),
        ({"tenure": "3"}, "tenure"),
        ({"tenure": True}, "tenure"),
        ({"tenure": 3.5}, "tenure"),
        ({"charges": math.nan}, "charges"),
        ({"charges": math.inf}, "charges"),
        ({"score": -math.inf}, "score"),
        ({"charges": "9.5"}, "charges"),
        ({"active": 1}, "active"),
        ({"plan": 7}, "plan"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_values_name_their_feature(
    validator: RowValidator, change: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validator.check({**ROW, **change})
    assert caught.value.field == field


def test_a_missing_feature_is_named(validator: RowValidator) -> None:
    row = dict(ROW)
    del row["plan"]
    with pytest.raises(InvalidInputError) as caught:
        validator.check(row)
    assert caught.value.field == "plan"
    assert "plan (string)" in caught.value.message


def test_not_an_object(validator: RowValidator) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validator.check([1, 2], where="instances[0]")
    assert caught.value.field == "instances[0]"
