"""``p.features`` over a real socket: the embedded flow, with results equal to the embedded ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import podium
from podium.access.roles import Role
from podium.client.features import HttpFeatures
from podium.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from podium.features.definitions import Feature, FeatureService, OnDemandFeatureView
from podium.features.protocol import Features, Pushed
from podium.features.service import FeatureStore
from podium.platform import Installation, Platform
from tests.conftest import LiveServer
from tests.features import odfv_functions
from tests.features.conftest import CUSTOMER, NOW, STATS, customer_rows

FEATURES = [
    "customer_stats:tenure_months",
    "customer_stats:monthly_charges",
    "customer_stats:plan",
]


@pytest.fixture
def remote(live_server: LiveServer, project_name: str, tmp_path: Path) -> Iterator[Platform]:
    key = live_server.key(project_name, Role.WRITER)
    with podium.connect(live_server.url, api_key=key, home=tmp_path / "client") as platform:
        yield platform


@pytest.fixture
def embedded(installation: Installation, project_name: str) -> Platform:
    return installation.platform(project_name, user="local:test")


@pytest.fixture
def seeded(remote: Platform) -> Platform:
    """raw.customers written and the entity and view applied, all through the server."""
    remote.data.write("raw.customers", customer_rows(), mode="overwrite")
    changes = remote.features.apply([CUSTOMER, STATS])
    assert [(c.kind, c.name, c.action, c.version) for c in changes] == [
        ("entity", "customer", "create", 1),
        ("feature_view", "customer_stats", "create", 1),
    ]
    return remote


def entity_frame(ids: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ids, "event_timestamp": [NOW] * len(ids)})


def test_the_remote_store_implements_the_protocol(remote: Platform) -> None:
    # mypy checks this list: both classes have the protocol's signatures.
    classes: list[type[Features]] = [FeatureStore, HttpFeatures]
    assert isinstance(remote.features, HttpFeatures) and HttpFeatures in classes


def test_plan_apply_list_describe_and_search_equal_embedded(
    seeded: Platform, embedded: Platform
) -> None:
    again = seeded.features.plan([CUSTOMER, STATS])
    assert [c.action for c in again] == ["unchanged", "unchanged"]
    assert again == embedded.features.plan([CUSTOMER, STATS])
    assert seeded.features.list_definitions() == embedded.features.list_definitions()
    views = seeded.features.list_definitions("feature_view")
    assert [(d.name, d.version, d.owner) for d in views] == [("customer_stats", 1, "growth-team")]
    assert views[0].definition().to_spec() == STATS.to_spec()
    assert seeded.features.describe("customer_stats") == embedded.features.describe(
        "customer_stats"
    )
    assert seeded.features.search("growth") == embedded.features.search("growth")
    assert [hit["name"] for hit in seeded.features.search("tenure")] == ["customer_stats"]


def test_historical_features_equal_embedded_and_save_with_lineage(
    seeded: Platform, embedded: Platform
) -> None:
    ids = [1, 2, 3, 4]
    remote_set = seeded.features.get_historical_features(entity_frame(ids), FEATURES)
    local_set = embedded.features.get_historical_features(entity_frame(ids), FEATURES)
    assert remote_set.to_arrow().equals(local_set.to_arrow())
    assert remote_set.inputs == local_set.inputs == ["raw.customers@0"]
    assert remote_set.features == local_set.features
    assert remote_set.to_pandas()["tenure_months"].tolist()[:2] == [12, 4]
    saved = remote_set.save("curated.churn_train")
    assert (saved.name, saved.version, saved.rows_written) == ("curated.churn_train", 0, 4)
    assert embedded.data.read("curated.churn_train").equals(local_set.to_arrow())


def test_materialize_online_and_push_equal_embedded(seeded: Platform, embedded: Platform) -> None:
    seen: list[tuple[int, int]] = []
    (done,) = seeded.features.materialize(end=NOW, progress=lambda d, t: seen.append((d, t)))
    assert (done["view"], done["version"], done["rows"], done["end"]) == (
        "customer_stats",
        1,
        3,
        NOW,
    )
    assert seen == [(3, 3)]
    assert seeded.features.materializations("customer_stats") == (
        embedded.features.materializations("customer_stats")
    )
    rows = [{"customer_id": i} for i in (1, 2, 3, 4)]
    remote_online = seeded.features.get_online_features(rows, FEATURES)
    local_online = embedded.features.get_online_features(rows, FEATURES)
    assert remote_online == local_online
    assert remote_online.statuses["plan"] == ["present", "present", "outside_ttl", "missing"]

    (again,) = seeded.features.materialize_incremental(end=NOW)
    assert again["start"] == NOW

    fresh = datetime.now(UTC)
    pushed = seeded.features.push(
        "customer_stats",
        pd.DataFrame(
            {
                "customer_id": [7],
                "event_ts": [fresh],
                "tenure_months": [1],
                "monthly_charges": [9.5],
                "plan": ["basic"],
            }
        ),
    )
    assert pushed == Pushed(view="customer_stats", rows=1, online_rows=1, table="raw.customers@1")
    after = seeded.features.get_online_features([{"customer_id": 7}], FEATURES)
    assert after.values["monthly_charges"] == [9.5]
    assert after.to_dict()["customer_id"] == [7]


def test_feature_services_and_on_demand_views_over_http(
    seeded: Platform, embedded: Platform
) -> None:
    ratio = OnDemandFeatureView(
        "customer_ratio",
        function=odfv_functions.charge_per_tenure,
        inputs=["customer_stats:monthly_charges", "customer_stats:tenure_months"],
        features=[Feature("charge_per_tenure", "float64")],
    )
    service = FeatureService("churn_model", features=[STATS, "customer_ratio:charge_per_tenure"])
    seeded.features.apply([ratio, service])
    seeded.features.materialize(end=NOW)
    by_name = seeded.features.get_online_features([{"customer_id": 1}], "churn_model")
    assert by_name == embedded.features.get_online_features([{"customer_id": 1}], "churn_model")
    assert by_name.values["charge_per_tenure"] == [pytest.approx(60.125 / 13)]
    by_object = seeded.features.get_historical_features(entity_frame([1]), service)
    assert by_object.to_arrow().equals(
        embedded.features.get_historical_features(entity_frame([1]), service).to_arrow()
    )


def test_errors_arrive_as_the_embedded_error_classes(
    seeded: Platform, live_server: LiveServer, project_name: str, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match="no_such_view") as missing:
        seeded.features.get_online_features([{"customer_id": 1}], ["no_such_view:x"])
    assert missing.value.field == "features"
    with pytest.raises(InvalidInputError, match="must be an integer") as typed:
        seeded.features.get_online_features([{"customer_id": "1"}], FEATURES)
    assert typed.value.field == "customer_id"
    with pytest.raises(InvalidInputError, match="event_timestamp"):
        seeded.features.get_historical_features(pd.DataFrame({"customer_id": [1]}), FEATURES)
    broken = OnDemandFeatureView(
        "broken",
        function=odfv_functions.explode,
        inputs=["customer_stats:tenure_months"],
        features=[Feature("boom", "float64")],
    )
    seeded.features.apply([broken])
    with pytest.raises(InvalidInputError, match="ZeroDivisionError") as raised:
        seeded.features.get_historical_features(entity_frame([1]), ["broken:boom"])
    assert raised.value.field == "broken"

    reader_key = live_server.key(project_name, Role.READER)
    with podium.connect(live_server.url, api_key=reader_key, home=tmp_path / "r") as reader:
        assert reader.features.list_definitions("entity")[0].name == "customer"
        with pytest.raises(PermissionDeniedError):
            reader.features.materialize(end=NOW)
        result = reader.features.get_historical_features(entity_frame([1]), FEATURES)
        with pytest.raises(PermissionDeniedError):
            result.save("curated.nope")
