"""``p.features`` both ways: every method of the Features protocol, the same assertions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from podium.errors import InvalidInputError, NotFoundError
from podium.features.definitions import FeatureService
from podium.features.protocol import Pushed
from podium.platform import Platform
from tests.features.conftest import CUSTOMER, NOW, STATS, customer_rows
from tests.parity.assertions import fails

FEATURES = ["customer_stats:tenure_months", "customer_stats:plan"]


@pytest.fixture
def applied(platform: Platform) -> Platform:
    """raw.customers written, the entity and the view applied."""
    platform.data.write("raw.customers", customer_rows())
    changes = platform.features.apply([CUSTOMER, STATS])
    assert [(c.kind, c.name, c.action, c.version) for c in changes] == [
        ("entity", "customer", "create", 1),
        ("feature_view", "customer_stats", "create", 1),
    ]
    return platform


def test_plan_list_get_describe_and_search(applied: Platform) -> None:
    features = applied.features
    assert [c.action for c in features.plan([CUSTOMER, STATS])] == ["unchanged", "unchanged"]
    assert [d.name for d in features.list_definitions("feature_view")] == ["customer_stats"]
    assert {d.kind for d in features.list_definitions()} == {"entity", "feature_view"}
    assert features.get("customer_stats").to_spec() == STATS.to_spec()
    entity = features.get("customer", kind="entity", version=1)
    assert entity == replace(CUSTOMER, value_type="int64")  # apply infers the key type
    described = features.describe("customer_stats")
    assert (described.kind, described.name, described.version) == (
        "feature_view",
        "customer_stats",
        1,
    )
    assert [v.version for v in described.versions] == [1]
    assert described.used_by_services == [] and described.materializations == []
    assert described.fresh_until is None
    assert features.materializations("customer_stats") == []  # applied, never materialized
    with fails(NotFoundError):
        features.materializations("no_such_view")
    hits = features.search("tenure")
    assert [(h.name, h.matching_features) for h in hits] == [("customer_stats", ["tenure_months"])]


def test_historical_features(applied: Platform) -> None:
    entity = pd.DataFrame({"customer_id": [1, 2, 3], "event_timestamp": [NOW] * 3})
    result = applied.features.get_historical_features(entity, FEATURES)
    frame = result.to_pandas()
    assert frame["tenure_months"].tolist()[:2] == [12, 4]
    assert frame["plan"].tolist()[:2] == ["pro", "basic"]
    assert result.inputs == ["raw.customers@0"]
    service = FeatureService("churn_inputs", features=FEATURES)
    again = applied.features.get_historical_features(entity, service).to_pandas()
    assert again.equals(frame)


def test_materialize_read_online_and_push(applied: Platform) -> None:
    features = applied.features
    seen: list[tuple[int, int]] = []
    (done,) = features.materialize(end=NOW, progress=lambda d, t: seen.append((d, t)))
    assert (done.view, done.version, done.rows, done.end) == ("customer_stats", 1, 3, NOW)
    assert seen[-1] == (3, 3)
    (run,) = features.materializations("customer_stats")
    assert (run.version, run.rows, run.start, run.end) == (1, 3, None, NOW)
    assert features.describe("customer_stats").fresh_until == NOW
    online = features.get_online_features([{"customer_id": i} for i in (1, 2, 3, 4)], FEATURES)
    assert online.values["tenure_months"][:2] == [12, 4]
    assert online.statuses["plan"] == ["present", "present", "outside_ttl", "missing"]
    (again,) = features.materialize_incremental(end=NOW + timedelta(minutes=1))
    assert again.start == NOW
    fresh = datetime.now(UTC).replace(microsecond=0)
    row = {"customer_id": [7], "event_ts": [fresh], "tenure_months": [1], "plan": ["basic"]}
    pushed = features.push("customer_stats", pd.DataFrame({**row, "monthly_charges": [9.5]}))
    assert pushed == Pushed(view="customer_stats", rows=1, online_rows=1, table="raw.customers@1")
    assert features.get_online_features([{"customer_id": 7}], FEATURES).values["plan"] == ["basic"]


def test_bad_input_fails_the_same_way(applied: Platform) -> None:
    features = applied.features
    with fails(NotFoundError):
        features.describe("nope")
    with fails(NotFoundError):
        features.get("customer_stats", version=9)
    with fails(NotFoundError):
        features.get_online_features([{"customer_id": 1}], ["nope:x"])
    with fails(InvalidInputError):
        features.get_online_features([{"customer_id": 1}], ["no reference"])
    with fails(InvalidInputError):
        features.materialize(start=NOW, end=NOW - timedelta(days=1))
    with fails(InvalidInputError):
        features.push("customer_stats", pd.DataFrame({"customer_id": [9]}))
    with fails(NotFoundError):
        features.push("nope", pd.DataFrame({"customer_id": [9]}))
