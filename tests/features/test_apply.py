"""plan/apply: what changes, versions, and checks against the sources (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest

from podium.access.roles import Role
from podium.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from podium.features.definitions import Entity, Feature, FeatureService, FeatureView
from podium.platform import Installation, Platform
from tests.features.conftest import CUSTOMER, NOW, STATS, customer_rows, seed


def test_plan_stores_nothing_and_apply_stores_version_one(platform: Platform) -> None:
    platform.data.write("raw.customers", customer_rows())
    planned = platform.features.plan([CUSTOMER, STATS])
    assert [(c.kind, c.name, c.action, c.version) for c in planned] == [
        ("entity", "customer", "create", 1),
        ("feature_view", "customer_stats", "create", 1),
    ]
    assert platform.features.list_definitions() == []
    platform.features.apply([CUSTOMER, STATS])
    stored = {d.name: d for d in platform.features.list_definitions()}
    assert stored["customer"].spec["value_type"] == "int64"  # taken from the source
    assert stored["customer_stats"].owner == "growth-team"
    assert [c.action for c in platform.features.apply([CUSTOMER, STATS])] == [
        "unchanged",
        "unchanged",
    ]


def test_docs_and_ttl_update_in_place_types_make_a_new_version(platform: Platform) -> None:
    seed(platform)
    edited = replace(STATS, description="new words", ttl=timedelta(days=7))
    (change,) = platform.features.plan([edited])
    assert (change.action, change.version) == ("update", 1)
    assert "description: 'how long and how much customers pay' -> 'new words'" in change.details
    platform.features.apply([edited])

    retyped = replace(
        STATS,
        features=[Feature("tenure_months", "float64"), Feature("monthly_charges", "float64")],
    )
    (change,) = platform.features.apply([retyped])
    assert (change.action, change.version, change.previous_version) == ("new_version", 2, 1)
    assert "feature tenure_months: int64 -> float64" in change.details
    assert "- feature plan" in change.details
    # The old version stays readable, pinned: a model trained on it keeps working.
    entity = pd.DataFrame({"customer_id": [1], "event_timestamp": [NOW]})
    old = platform.features.get_historical_features(entity, ["customer_stats@1:plan"])
    assert old.to_pandas()["plan"].tolist() == ["pro"]
    assert old.features == ["customer_stats@1:plan"]
    with pytest.raises(NotFoundError, match="no feature 'plan'"):
        platform.features.get_historical_features(entity, ["customer_stats:plan"])


def test_a_source_without_a_feature_column_is_refused_and_nothing_stored(
    platform: Platform,
) -> None:
    platform.data.write("raw.customers", customer_rows())
    broken = replace(STATS, features=[Feature("churned", "bool")])
    with pytest.raises(InvalidInputError, match="no column 'churned'"):
        platform.features.apply([CUSTOMER, broken])
    assert platform.features.list_definitions() == []


@pytest.mark.parametrize(
    ("definitions", "message"),
    [
        ([replace(STATS, entities=["nobody"])], "entity 'nobody', which is not defined"),
        (
            [Entity("customer", join_keys=["customer_id"], value_type="string"), STATS],
            "declares value_type 'string'",
        ),
        (
            [CUSTOMER, replace(STATS, features=[Feature("tenure_months", "string")])],
            "declared string, but the source column is int64",
        ),
        ([CUSTOMER, replace(STATS, timestamp_field="plan")], "must be a timestamp"),
        ([CUSTOMER, replace(STATS, source="raw.nope")], "raw.nope"),
        ([FeatureService("svc", features=["customer_stats:nope"])], "is not defined"),
    ],
)
def test_bad_definitions_name_the_culprit(
    platform: Platform, definitions: list[object], message: str
) -> None:
    platform.data.write("raw.customers", customer_rows())
    with pytest.raises((InvalidInputError, NotFoundError), match=message):
        platform.features.apply(definitions)  # type: ignore[arg-type]
    assert platform.features.list_definitions() == []


def test_sql_source_views_are_checked_against_the_query(platform: Platform) -> None:
    platform.data.write("raw.customers", customer_rows())
    query_view = FeatureView(
        "customer_spend",
        entities=[CUSTOMER],
        source="SELECT customer_id, event_ts, monthly_charges * 12 AS yearly FROM raw.customers",
        timestamp_field="event_ts",
        features=[Feature("yearly", "float64")],
    )
    (_, change) = platform.features.apply([CUSTOMER, query_view])
    assert change.action == "create"


def test_services_pin_view_versions_and_are_searchable(platform: Platform) -> None:
    seed(platform)
    service = FeatureService("churn_model", features=[STATS], description="churn inputs")
    (change,) = platform.features.apply([service])
    assert change.spec["views"] == {"customer_stats": 1}
    described = platform.features.describe("customer_stats")
    assert described["used_by_services"] == ["churn_model"]
    assert [hit["name"] for hit in platform.features.search("growth")] == ["customer_stats"]
    assert platform.features.search("tenure")[0]["matching_features"] == ["tenure_months"]


def test_readers_may_not_apply(installation: Installation, project_name: str) -> None:
    reader = installation.platform(project_name, user="key:r", role=Role.READER)
    with pytest.raises(PermissionDeniedError, match="writer"):
        reader.features.apply([CUSTOMER])


def test_reapplying_a_changed_service_lists_its_reference_changes(platform: Platform) -> None:
    seed(platform)
    platform.features.apply([FeatureService("churn_model", features=["customer_stats:plan"])])
    (change,) = platform.features.apply(
        [
            FeatureService(
                "churn_model", features=["customer_stats:plan", "customer_stats:tenure_months"]
            )
        ]
    )
    assert (change.action, change.version) == ("new_version", 2)
