"""Data contracts derived from profiles, edited as plain data, and violations counted
exactly on a crafted frame."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from podium.errors import InvalidInputError
from podium.monitoring.contract import ColumnRule, DataContract, derive_contract
from podium.monitoring.profile import build_profile
from podium.monitoring.quality import check_contract


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    rows = 1000
    income = rng.uniform(1000, 9000, rows)
    income[:20] = np.nan  # a 2% null rate in training
    return pd.DataFrame(
        {
            "age": rng.integers(18, 91, rows),
            "income": income,
            "plan": rng.choice(np.array(["basic", "plus", "pro"], dtype=object), rows),
            "active": rng.random(rows) > 0.5,
        }
    )


@pytest.fixture(scope="module")
def contract(training: pd.DataFrame) -> DataContract:
    return derive_contract(build_profile(training), range_margin=0.1)


def test_derived_rules(training: pd.DataFrame, contract: DataContract) -> None:
    age, income, plan, active = (contract.columns[c] for c in ("age", "income", "plan", "active"))
    assert (age.dtype, age.kind, age.min, age.max) == ("int64", "numeric", 18 - 7.2, 90 + 7.2)
    assert age.max_null_rate == pytest.approx(0.01) and age.nullable
    assert income.max_null_rate == pytest.approx(0.03)
    assert plan.allowed == ["basic", "plus", "pro"] and plan.min is None
    assert active.allowed == [False, True]
    strict = derive_contract(build_profile(training), max_null_rate_slack=0)
    assert strict.columns["age"].nullable is False
    assert strict.columns["age"].min == 18


def test_contract_round_trips_and_is_editable(contract: DataContract) -> None:
    data = json.loads(json.dumps(contract.to_dict()))
    again = DataContract.from_dict(data)
    assert again == contract
    again.columns["plan"].allowed = [*(again.columns["plan"].allowed or []), "team"]
    again.columns["age"].max = 120
    again.validate()
    as_mapping = {"columns": {"age": {"dtype": "int64", "min": 0, "max": 1, "nullable": False}}}
    rule = DataContract.from_dict(as_mapping).columns["age"]
    assert (rule.min, rule.max, rule.max_null_rate) == (0.0, 1.0, 0.0)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"name": "", "dtype": "int64"}, "columns.name"),
        ({"name": "a", "dtype": "int64", "min": "low"}, "columns.a.min"),
        ({"name": "a", "dtype": "int64", "min": 5, "max": 1}, "columns.a.min"),
        ({"name": "a", "dtype": "int64", "max_null_rate": 2}, "columns.a.max_null_rate"),
        ({"name": "a", "dtype": "int64", "allowed": "x"}, "columns.a.allowed"),
        ({"name": "a", "dtype": "int64", "kind": "text"}, "columns.a.kind"),
    ],
)
def test_bad_rules_name_the_field(rule: dict, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        DataContract.from_dict({"columns": [rule]})
    assert caught.value.field == field


def test_bad_derive_arguments(training: pd.DataFrame) -> None:
    profile = build_profile(training)
    with pytest.raises(InvalidInputError) as caught:
        derive_contract(profile, range_margin=-1)
    assert caught.value.field == "range_margin"
    with pytest.raises(InvalidInputError) as caught:
        derive_contract(profile, max_null_rate_slack=2)
    assert caught.value.field == "max_null_rate_slack"


def test_violations_are_counted_exactly() -> None:
    contract = DataContract(
        columns={
            "age": ColumnRule("age", "int64", "numeric", max_null_rate=0.0, min=18, max=90),
            "income": ColumnRule("income", "double", "numeric", max_null_rate=0.1, min=0),
            "plan": ColumnRule("plan", "string", "categorical", 0.5, allowed=["basic", "pro"]),
            "score": ColumnRule("score", "double", "numeric", 0.0),
            "gone": ColumnRule("gone", "string", "categorical"),
        }
    )
    frame = pa.table(
        {
            # 2 below range, 1 above, 1 null (null rate 0.1 > 0)
            "age": pa.array([10, 17, 18, 50, 90, 91, None, 30, 40, 60], pa.int64()),
            # 3 nulls (2 NaN + 1 null) -> 0.3 > 0.1; one negative
            "income": pa.array([1.0, float("nan"), None, float("nan"), -5.0, 2, 3, 4, 5, 6]),
            # 3 unseen values of 2 categories; null rate 0.1 is allowed
            "plan": ["basic", "pro", "team", "team", "free", None, "basic", "pro", "pro", "basic"],
            # strings where numbers are expected: 10 type violations
            "score": [str(i) for i in range(10)],
            "extra": list(range(10)),
        }
    )
    report = check_contract(contract, frame)
    found = {(v.column, v.kind): (v.count, v.rate) for v in report.violations}
    assert found == {
        ("age", "null_rate"): (1, 0.1),
        ("age", "range"): (3, 0.3),
        ("income", "null_rate"): (3, 0.3),
        ("income", "range"): (1, 0.1),
        ("plan", "unseen_category"): (3, 0.3),
        ("score", "type"): (10, 1.0),
        ("gone", "missing_column"): (10, 1.0),
        ("extra", "unexpected_column"): (10, 1.0),
    }
    assert report.rows == 10 and not report.ok
    assert report.completeness == {
        "age": 0.9,
        "income": 0.7,
        "plan": 0.9,
        "score": 1.0,
        "gone": 0.0,
    }
    assert report.count("range") == 4
    assert "team" in next(v.detail for v in report.violations if v.kind == "unseen_category")
    json.dumps(report.to_dict(), allow_nan=False)


def test_clean_data_passes(training: pd.DataFrame, contract: DataContract) -> None:
    report = check_contract(contract, training)
    assert report.ok and report.violations == []
    ints_as_floats = training.assign(age=training["age"].astype(float))
    assert check_contract(contract, ints_as_floats).ok


def test_extra_columns_allowed_and_empty_frames(
    training: pd.DataFrame, contract: DataContract
) -> None:
    loose = DataContract(columns=contract.columns, allow_extra_columns=True)
    assert check_contract(loose, training.assign(new=1)).ok
    empty = check_contract(contract, training.iloc[:0])
    assert empty.ok and empty.rows == 0
    assert set(empty.completeness.values()) == {None}


def test_check_contract_rejects_a_dict() -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_contract({"columns": []}, pd.DataFrame())  # type: ignore[arg-type]
    assert caught.value.field == "contract"


def test_mixed_values_in_a_numeric_column_are_type_violations() -> None:
    contract = DataContract(columns={"x": ColumnRule("x", "double", "numeric", 0.0)})
    report = check_contract(contract, pd.DataFrame({"x": np.array([1.5, "oops", None], object)}))
    assert [(v.kind, v.count) for v in report.violations] == [("null_rate", 1), ("type", 2)]
