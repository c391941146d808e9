"""Definitions check their arguments when built, before anything is stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from podium.errors import InvalidInputError
from podium.features.definitions import (
    Entity,
    Feature,
    FeatureService,
    FeatureView,
    OnDemandFeatureView,
)
from tests.features.odfv_functions import charge_per_tenure


def view(**changes: object) -> FeatureView:
    args: dict[str, object] = {
        "entities": [Entity("customer", join_keys=["customer_id"])],
        "source": "raw.customers",
        "timestamp_field": "event_ts",
        "features": [Feature("tenure_months", "int64")],
    }
    args.update(changes)
    return FeatureView("customer_stats", **args)  # type: ignore[arg-type]


def test_entity_defaults_its_join_key_to_name_id() -> None:
    assert Entity("driver").join_keys == ("driver_id",)


@pytest.mark.parametrize("name", ["Customer", "1st", "a-b", "", "x" * 64])
def test_bad_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(InvalidInputError, match="lowercase letters"):
        Entity(name)


def test_feature_type_must_be_known() -> None:
    with pytest.raises(InvalidInputError, match="one of int64, float64, string, bool, timestamp"):
        Feature("x", "decimal")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"entities": []}, "names no entity"),
        ({"source": " "}, "has no source"),
        ({"features": []}, "declares no features"),
        ({"ttl": timedelta(0)}, "positive timedelta"),
        ({"features": [Feature("a"), Feature("a")]}, "declares a feature twice"),
    ],
)
def test_feature_view_refuses_incomplete_definitions(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        view(**changes)


def test_sql_sources_are_recognised() -> None:
    assert view(source="SELECT * FROM raw.customers").is_query
    assert not view().is_query


def test_fingerprint_changes_with_types_and_source_not_with_ttl_or_docs() -> None:
    base = view()
    assert base.fingerprint() == view(ttl=timedelta(days=3), description="x").fingerprint()
    assert base.fingerprint() != view(features=[Feature("tenure_months", "float64")]).fingerprint()
    assert base.fingerprint() != view(source="raw.other").fingerprint()


def test_on_demand_function_must_be_importable() -> None:
    odfv = OnDemandFeatureView(
        "ratios",
        function=lambda df: df,
        inputs=["customer_stats:tenure_months"],
        features=[Feature("r")],
    )
    with pytest.raises(InvalidInputError, match="module level"):
        odfv.to_spec()
    good = OnDemandFeatureView(
        "ratios", function=charge_per_tenure, features=[Feature("charge_per_tenure")]
    )
    assert good.to_spec()["function"] == "tests.features.odfv_functions:charge_per_tenure"


def test_feature_service_expands_views_into_refs() -> None:
    service = FeatureService("churn", features=[view(), "other:x"])
    assert service.refs == ["customer_stats:tenure_months", "other:x"]
