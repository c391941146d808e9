"""Online store through the service, on SQLite and Redis: consistency, TTL, push, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from podium.errors import InvalidInputError, NotFoundError
from podium.features.definitions import Feature, OnDemandFeatureView
from podium.platform import Platform
from tests.features import odfv_functions
from tests.features.conftest import NOW, seed

FEATURES = [
    "customer_stats:tenure_months",
    "customer_stats:monthly_charges",
    "customer_stats:plan",
]


def test_online_values_equal_offline_values_at_materialization_time(
    store_platform: Platform,
) -> None:
    p = store_platform
    seed(p)
    p.features.materialize(end=NOW)
    ids = [1, 2, 3, 4]
    offline = p.features.get_historical_features(
        pd.DataFrame({"customer_id": ids, "event_timestamp": [NOW] * len(ids)}), FEATURES
    ).to_arrow()
    online = p.features.get_online_features([{"customer_id": i} for i in ids], FEATURES)
    for name in ("tenure_months", "monthly_charges", "plan"):
        assert online.values[name] == offline.column(name).to_pylist(), name
    assert online.statuses["plan"] == ["present", "present", "outside_ttl", "missing"]
    assert online.to_dict()["customer_id"] == ids


def test_materialize_respects_its_time_range_and_incremental_continues(
    store_platform: Platform,
) -> None:
    p = store_platform
    seed(p)
    (first,) = p.features.materialize(end=NOW - timedelta(days=4))
    assert first["rows"] == 2  # customers 1 (day -5) and 3 (day -60); 2 starts at day -3
    before = p.features.get_online_features([{"customer_id": 1}], FEATURES)
    assert before.values["tenure_months"] == [11]
    (second,) = p.features.materialize_incremental(end=NOW)
    assert second["start"] == NOW - timedelta(days=4)
    after = p.features.get_online_features([{"customer_id": 1}, {"customer_id": 2}], FEATURES)
    assert after.values["tenure_months"] == [12, 4]
    assert p.features.describe("customer_stats").fresh_until == NOW


def test_push_reaches_the_online_store_and_the_training_data(store_platform: Platform) -> None:
    p = store_platform
    seed(p)
    p.features.materialize(end=NOW)
    fresh = datetime.now(UTC)
    pushed = p.features.push(
        "customer_stats",
        pd.DataFrame(
            {
                "customer_id": [2, 7],
                "event_ts": [fresh, fresh],
                "tenure_months": [5, 1],
                "monthly_charges": [22.5, 9.0],
                "plan": ["pro", "basic"],
            }
        ),
    )
    assert pushed["rows"] == 2
    online = p.features.get_online_features([{"customer_id": 2}, {"customer_id": 7}], FEATURES)
    assert online.values["plan"] == ["pro", "basic"]
    offline = p.features.get_historical_features(
        pd.DataFrame({"customer_id": [7], "event_timestamp": [fresh]}), FEATURES
    ).to_pandas()
    assert offline["monthly_charges"].tolist() == [9.0]

    # A late row (older than what serving has) lands in the lake but never overwrites.
    p.features.push(
        "customer_stats",
        pd.DataFrame(
            {
                "customer_id": [7],
                "event_ts": [fresh - timedelta(hours=1)],
                "tenure_months": [0],
                "monthly_charges": [0.0],
                "plan": ["old"],
            }
        ),
    )
    assert p.features.get_online_features([{"customer_id": 7}], FEATURES).values["plan"] == [
        "basic"
    ]


def test_bad_pushes_write_nothing(store_platform: Platform) -> None:
    p = store_platform
    seed(p)
    version = p.data.version("raw.customers")
    good = {
        "customer_id": [9],
        "event_ts": [NOW],
        "tenure_months": [1],
        "monthly_charges": [1.0],
        "plan": ["basic"],
    }
    for change, message in [
        ({"customer_id": ["9"]}, "join key 'customer_id' must be int64"),
        ({"tenure_months": ["x"]}, "tenure_months"),
        ({"unknown": [1]}, "not in the source table"),
        ({"event_ts": ["yesterday"]}, "must be a timestamp"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            p.features.push("customer_stats", pd.DataFrame({**good, **change}))
    mixed = pd.DataFrame({**{k: v * 2 for k, v in good.items()}, "plan": ["basic", 1]})
    with pytest.raises(InvalidInputError, match="cannot be converted to Arrow"):
        p.features.push("customer_stats", mixed)
    with pytest.raises(InvalidInputError, match="lack column"):
        p.features.push("customer_stats", pd.DataFrame({"customer_id": [9]}))
    with pytest.raises(NotFoundError):
        p.features.push("nope", pd.DataFrame(good))
    assert p.data.version("raw.customers") == version
    assert p.features.get_online_features([{"customer_id": 9}], FEATURES).statuses["plan"] == [
        "missing"
    ]


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([{"customer_id": "1"}], "customer_id"),
        ([{"customer_id": True}], "customer_id"),
        ([{"customer": 1}], "customer_id"),
        ([{"customer_id": 1.5}], "customer_id"),
    ],
)
def test_online_reads_check_key_types(
    store_platform: Platform, rows: list[dict[str, object]], field: str
) -> None:
    seed(store_platform)
    with pytest.raises(InvalidInputError) as info:
        store_platform.features.get_online_features(rows, FEATURES)
    assert info.value.field == field


def test_on_demand_features_online_use_request_data(store_platform: Platform) -> None:
    p = store_platform
    seed(p)
    p.features.apply(
        [
            OnDemandFeatureView(
                "pricing",
                function=odfv_functions.discounted,
                inputs=["customer_stats:monthly_charges"],
                request_fields={"discount": "float64"},
                features=[Feature("discounted_charges", "float64")],
            )
        ]
    )
    p.features.materialize(end=NOW)
    online = p.features.get_online_features(
        [{"customer_id": 1, "discount": 0.5}], ["pricing:discounted_charges"]
    )
    assert online.values["discounted_charges"] == [pytest.approx(60.125 / 2)]
    offline = p.features.get_historical_features(
        pd.DataFrame({"customer_id": [1], "event_timestamp": [NOW], "discount": [0.5]}),
        ["pricing:discounted_charges"],
    ).to_pandas()
    assert offline["discounted_charges"].tolist() == online.values["discounted_charges"]
    with pytest.raises(InvalidInputError, match="request field 'discount'"):
        p.features.get_online_features([{"customer_id": 1}], ["pricing:discounted_charges"])


def test_materialize_refuses_a_start_after_its_end(store_platform: Platform) -> None:
    seed(store_platform)
    with pytest.raises(InvalidInputError, match="after end") as info:
        store_platform.features.materialize(start=NOW, end=NOW - timedelta(days=1))
    assert info.value.field == "start"


def test_keys_outside_int64_are_refused(store_platform: Platform) -> None:
    seed(store_platform)
    with pytest.raises(InvalidInputError, match="int64 range"):
        store_platform.features.get_online_features([{"customer_id": 2**70}], FEATURES)
