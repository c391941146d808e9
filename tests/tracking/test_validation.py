"""The checks on what users log, one case at a time (no database needed)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from podium.errors import InvalidInputError
from podium.tracking.validation import (
    check_input_refs,
    check_key,
    check_metric_value,
    check_name,
    check_step,
    check_timestamp,
    param_value,
)

BAD_KEYS: list[Any] = ["", " ", " lead", "trail ", "a!b", "a\nb", "é", "x" * 251, None, 3]
GOOD_KEYS = ["val_auc", "loss/train", "a.b:c-d", "with space", "A" * 250, "a", "."]
BAD_VALUES: list[Any] = [math.nan, math.inf, -math.inf, "abc", "1.5", True, False, None]
BAD_VALUES += [[1.0], b"1", 10**400]
BAD_STEPS: list[Any] = [1.5, "3", True, 2**63, -(2**63) - 1, None]
BAD_TIMESTAMPS: list[Any] = [-1, 1.5, "1", True, 2**63, None]
BAD_NAMES: list[Any] = ["", "a/b", "a\\b", "nul\x00", "tab\t", "x" * 251, None]
BAD_REFS: list[Any] = ["", "x" * 513, None, 3]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys(key: Any) -> None:
    with pytest.raises(InvalidInputError, match="metric key") as info:
        check_key(key, kind="metric")
    assert info.value.field == "metrics"
    assert info.value.remedy


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_good_keys(key: str) -> None:
    assert check_key(key, kind="param") == key


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_metric_values_name_the_metric(value: Any) -> None:
    with pytest.raises(InvalidInputError, match="'val_auc'") as info:
        check_metric_value("val_auc", value)
    assert info.value.field == "val_auc"


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1.0), (-0.5, -0.5), (Decimal("0.25"), 0.25), (1e308, 1e308)]
)
def test_good_metric_values(value: Any, expected: float) -> None:
    assert check_metric_value("m", value) == expected


def test_numpy_scalars_are_numbers() -> None:
    np = pytest.importorskip("numpy")
    assert check_metric_value("m", np.float32(0.5)) == 0.5
    assert check_metric_value("m", np.int64(3)) == 3.0
    with pytest.raises(InvalidInputError):
        check_metric_value("m", np.float64("nan"))
    with pytest.raises(InvalidInputError):
        check_metric_value("m", np.bool_(True))


@pytest.mark.parametrize("step", BAD_STEPS)
def test_bad_steps(step: Any) -> None:
    with pytest.raises(InvalidInputError, match="step of metric 'm'") as info:
        check_step("m", step)
    assert info.value.field == "step"


@pytest.mark.parametrize("step", [0, -5, 2**63 - 1, -(2**63)])
def test_good_steps(step: int) -> None:
    assert check_step("m", step) == step


@pytest.mark.parametrize("timestamp", BAD_TIMESTAMPS)
def test_bad_timestamps(timestamp: Any) -> None:
    with pytest.raises(InvalidInputError, match="timestamp of metric 'm'") as info:
        check_timestamp("m", timestamp)
    assert info.value.field == "timestamp"


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names(name: Any) -> None:
    with pytest.raises(InvalidInputError, match="experiment name") as info:
        check_name(name, kind="experiment")
    assert info.value.field == "experiment"


@pytest.mark.parametrize("name", ["churn", "churn v2 (final)", "é", "x" * 250])
def test_good_names(name: str) -> None:
    assert check_name(name, kind="run") == name


def test_param_values_become_strings_up_to_a_limit() -> None:
    assert param_value("k", 0.5) == "0.5"
    assert param_value("k", None) == "None"
    assert param_value("k", "x" * 6000) == "x" * 6000
    with pytest.raises(InvalidInputError, match="'k' is 6001 characters") as info:
        param_value("k", "x" * 6001)
    assert info.value.remedy


@pytest.mark.parametrize("ref", BAD_REFS)
def test_bad_input_refs(ref: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_input_refs(["ok@1", ref])
    assert info.value.field == "inputs"


@pytest.mark.parametrize("refs", ["raw.a@1", None, {"raw.a@1": 1}])
def test_input_refs_must_be_a_list(refs: Any) -> None:
    with pytest.raises(InvalidInputError, match="list"):
        check_input_refs(refs)


def test_input_refs_are_deduplicated_in_order() -> None:
    assert check_input_refs(["b@1", "a@1", "b@1"]) == ["b@1", "a@1"]
    assert check_input_refs(("a@1",)) == ["a@1"]
