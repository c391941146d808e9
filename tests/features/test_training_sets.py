"""get_historical_features through the service: semantics, lineage, on-demand views, bad input."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from podium.errors import InvalidInputError, NotFoundError
from podium.features.definitions import Feature, FeatureService, OnDemandFeatureView
from podium.platform import Platform
from tests.features import odfv_functions
from tests.features.conftest import NOW, STATS, seed

FEATURES = ["customer_stats:tenure_months", "customer_stats:monthly_charges"]


def entities(*rows: tuple[object, object]) -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": [r[0] for r in rows], "event_timestamp": [r[1] for r in rows]}
    )


def test_each_row_gets_the_latest_value_at_its_time_within_ttl(platform: Platform) -> None:
    seed(platform)
    frame = entities(
        (1, NOW - timedelta(days=6)),  # sees the row of day -9
        (1, NOW),  # sees day -1
        (2, NOW - timedelta(days=4)),  # before customer 2's first row: null
        (3, NOW),  # only row is 60 days old, ttl 30 days: null
        (42, NOW),  # unknown customer: null, never dropped
        (1, NOW - timedelta(days=5)),  # exactly at a row's time: inclusive
    )
    result = platform.features.get_historical_features(frame, FEATURES).to_pandas()
    assert result["customer_id"].tolist() == [1, 1, 2, 3, 42, 1]
    assert result["tenure_months"].tolist()[:2] == [10, 12]
    assert result["tenure_months"].isna().tolist() == [False, False, True, True, True, False]
    assert result["monthly_charges"].tolist()[5] == 55.25


def test_saved_training_sets_carry_lineage_to_views_and_table_versions(
    platform: Platform,
) -> None:
    seed(platform)
    result = platform.features.get_historical_features(entities((1, NOW)), FEATURES)
    source_ref = platform.data.ref("raw.customers")
    assert result.inputs == [source_ref]
    saved = result.save("curated.churn_train")
    assert platform.data.read("curated.churn_train").num_rows == 1
    graph = platform.catalog.lineage(f"curated.churn_train@{saved.version}")
    sources = {edge.source for edge in graph.edges}
    assert f"table:{source_ref}" in sources
    assert "feature_view:customer_stats@1" in sources


def test_a_feature_service_name_selects_its_pinned_features(platform: Platform) -> None:
    seed(platform)
    platform.features.apply([FeatureService("churn_model", features=[STATS])])
    result = platform.features.get_historical_features(entities((1, NOW)), "churn_model")
    assert result.features == [
        "customer_stats@1:tenure_months",
        "customer_stats@1:monthly_charges",
        "customer_stats@1:plan",
    ]


def test_on_demand_features_run_the_same_function_offline(platform: Platform) -> None:
    seed(platform)
    ratio = OnDemandFeatureView(
        "ratios",
        function=odfv_functions.charge_per_tenure,
        inputs=["customer_stats:monthly_charges", "customer_stats:tenure_months"],
        features=[Feature("charge_per_tenure", "float64")],
    )
    platform.features.apply([ratio])
    result = platform.features.get_historical_features(
        entities((1, NOW)), ["ratios:charge_per_tenure"]
    ).to_pandas()
    assert list(result.columns) == ["customer_id", "event_timestamp", "charge_per_tenure"]
    assert result["charge_per_tenure"].tolist() == [pytest.approx(60.125 / 13)]


def test_an_on_demand_function_that_raises_is_named(platform: Platform) -> None:
    seed(platform)
    broken = OnDemandFeatureView(
        "broken",
        function=odfv_functions.explode,
        inputs=["customer_stats:tenure_months"],
        features=[Feature("x")],
    )
    platform.features.apply([broken])
    with pytest.raises(InvalidInputError, match="'broken' raised ZeroDivisionError") as info:
        platform.features.get_historical_features(entities((1, NOW)), ["broken:x"])
    assert info.value.field == "broken"


@pytest.mark.parametrize(
    ("frame", "features", "error", "message"),
    [
        (pd.DataFrame({"customer_id": [1]}), FEATURES, InvalidInputError, "event_timestamp"),
        (pd.DataFrame({"event_timestamp": [NOW]}), FEATURES, InvalidInputError, "customer_id"),
        (
            pd.DataFrame({"customer_id": ["1"], "event_timestamp": [NOW]}),
            FEATURES,
            InvalidInputError,
            "customer_id",
        ),
        (entities((1, NOW)), ["nope:x"], NotFoundError, "'nope'"),
        (entities((1, NOW)), ["customer_stats:nope"], NotFoundError, "no feature 'nope'"),
        (entities((1, NOW)), ["not a ref"], InvalidInputError, "view:feature"),
        ("customers", FEATURES, InvalidInputError, "DataFrame"),
    ],
)
def test_bad_requests_name_the_culprit(
    platform: Platform, frame: object, features: list[str], error: type, message: str
) -> None:
    seed(platform)
    with pytest.raises(error, match=message):
        platform.features.get_historical_features(frame, features)
