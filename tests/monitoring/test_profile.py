"""Profiles: statistics match numpy's, round-trip through JSON, and handle empty data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from podium.errors import InvalidInputError
from podium.monitoring.profile import QUANTILES, Profile, build_profile


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = 5000
    x = rng.gamma(2.0, 3.0, rows)
    x[:50] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "n": rng.integers(0, 4, rows),
            "plan": rng.choice(np.array(["a", "b", "c"], dtype=object), rows, p=[0.5, 0.3, 0.2]),
            "ok": rng.random(rows) > 0.3,
            "ts": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.arange(rows), "s"),
        }
    )


def test_numeric_statistics_match_numpy(frame: pd.DataFrame) -> None:
    col = build_profile(frame).columns["x"]
    values = frame["x"].dropna().to_numpy()
    assert (col.kind, col.dtype, col.count, col.null_count) == ("numeric", "double", 4950, 50)
    assert col.null_rate == pytest.approx(0.01)
    assert col.mean == pytest.approx(values.mean())
    assert col.std == pytest.approx(values.std())
    assert (col.min, col.max) == (values.min(), values.max())
    expected = np.quantile(values, QUANTILES)
    assert list(col.quantiles.values()) == pytest.approx(expected.tolist())
    assert col.histogram is not None
    counts, edges = np.histogram(values, bins=20)
    assert col.histogram.counts == counts.tolist()
    assert col.histogram.edges == pytest.approx(edges.tolist())
    assert col.sketch is not None and len(col.sketch) == 1001 and col.values is None
    assert col.categories == {}


def test_discrete_numbers_keep_their_value_counts(frame: pd.DataFrame) -> None:
    col = build_profile(frame).columns["n"]
    expected = frame["n"].value_counts().to_dict()
    assert col.categories == {float(k): v for k, v in expected.items()}
    assert col.distinct == 4


def test_categorical_boolean_and_timestamp_columns(frame: pd.DataFrame) -> None:
    profile = build_profile(frame)
    plan, ok, ts = profile.columns["plan"], profile.columns["ok"], profile.columns["ts"]
    assert plan.kind == "categorical"
    assert plan.categories == frame["plan"].value_counts().to_dict()
    assert list(plan.categories) == ["a", "b", "c"]  # most frequent first
    assert ok.kind == "boolean" and ok.categories == frame["ok"].value_counts().to_dict()
    assert ts.kind == "timestamp"
    assert (ts.min, ts.max) == ("2026-01-01T00:00:00+00:00", "2026-01-01T01:23:19+00:00")
    assert profile.rows == 5000


def test_top_100_categories_and_the_rest(frame: pd.DataFrame) -> None:
    values = pa.array([f"v{i:03d}" for i in range(150) for _ in range(i + 1)])
    col = build_profile(pa.table({"v": values})).columns["v"]
    assert len(col.categories) == 100
    assert next(iter(col.categories.items())) == ("v149", 150)
    assert col.other_count == sum(range(1, 51))
    assert col.distinct == 150


def test_json_round_trip(frame: pd.DataFrame) -> None:
    profile = build_profile(frame)
    again = Profile.from_dict(json.loads(json.dumps(profile.to_dict(), allow_nan=False)))
    assert again == profile


def test_small_columns_keep_every_value() -> None:
    col = build_profile(pd.DataFrame({"x": [3.0, 1.0, 2.0]})).columns["x"]
    assert col.values == [1.0, 2.0, 3.0] and col.sketch is None


def test_empty_and_all_null_columns_have_no_numbers() -> None:
    empty = build_profile(pd.DataFrame({"x": pd.Series([], dtype=float)}))
    col = empty.columns["x"]
    assert (col.count, col.null_rate, col.mean, col.histogram) == (0, None, None, None)
    nulls = build_profile(pa.table({"x": pa.array([None, None], pa.float64())})).columns["x"]
    assert (nulls.count, nulls.null_count, nulls.null_rate, nulls.min) == (0, 2, 1.0, None)
    json.dumps(empty.to_dict(), allow_nan=False)


def test_columns_and_categorical_arguments(frame: pd.DataFrame) -> None:
    profile = build_profile(frame, columns=["n", "x"], categorical=["n"])
    assert list(profile.columns) == ["n", "x"]
    assert profile.columns["n"].kind == "categorical"
    with pytest.raises(InvalidInputError) as caught:
        build_profile(frame, columns=["nope"])
    assert caught.value.field == "columns"
    with pytest.raises(InvalidInputError) as caught:
        build_profile(frame, columns=["x"], categorical=["n"])
    assert caught.value.field == "categorical"


def test_from_dict_rejects_garbage() -> None:
    with pytest.raises(InvalidInputError) as caught:
        Profile.from_dict({"rows": 1})
    assert caught.value.field == "profile"
