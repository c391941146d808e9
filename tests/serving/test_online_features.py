"""Deployments that fetch online features: on the platform's runtime and on a replica."""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression

from podium.errors import InvalidInputError
from podium.platform import Installation, Platform
from podium.replica import open_replica
from tests.features.conftest import NOW, seed
from tests.serving.conftest import churn_frame

ONLINE = ["customer_stats:tenure_months", "customer_stats:monthly_charges"]


@pytest.fixture
def with_features(platform: Platform) -> Platform:
    """``customer_stats`` materialized, and deployment ``churn`` fetching two of its
    features by ``customer_id`` (the request sends ``support_calls`` itself)."""
    seed(platform)
    platform.features.materialize(end=NOW)
    frame, labels = churn_frame()
    model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
    platform.registry.register("churn", model, input_example=frame[:5])
    platform.deployments.create(
        "churn",
        model="churn/1",
        features=ONLINE,
        entity_keys=["customer_id"],
        cache={"enabled": False},
    )
    return platform


def test_online_values_fill_the_row_and_the_request_wins(with_features: Platform) -> None:
    p = with_features
    fetched = p.predict("churn", features={"customer_id": 2, "support_calls": 1})
    # Customer 2's latest values are 4 months and 21.0 a month: sending them is the same.
    sent = p.predict(
        "churn",
        features={
            "customer_id": 2,
            "support_calls": 1,
            "tenure_months": 4,
            "monthly_charges": 21.0,
        },
    )
    assert fetched["probability"] == sent["probability"]
    overridden = p.predict(
        "churn", features={"customer_id": 2, "support_calls": 1, "tenure_months": 70}
    )
    assert overridden["probability"] != fetched["probability"]
    with pytest.raises(InvalidInputError) as missing:
        p.predict("churn", features={"support_calls": 1})
    assert missing.value.field == "customer_id"


def test_a_replica_fetches_the_same_online_features(
    with_features: Platform, installation: Installation
) -> None:
    expected = with_features.predict("churn", features={"customer_id": 1, "support_calls": 3})
    replica = open_replica(installation.settings, with_features.project, "churn")
    try:
        answer = replica.runtime.predict_sync(
            "churn", features={"customer_id": 1, "support_calls": 3}
        )
    finally:
        replica.close()
    assert answer["probability"] == expected["probability"]


def test_a_row_carrying_every_online_feature_needs_no_entity_key(
    with_features: Platform,
) -> None:
    full = {"support_calls": 1, "tenure_months": 4, "monthly_charges": 21.0}
    alone = with_features.predict("churn", features=full)
    assert (
        alone["probability"]
        == with_features.predict("churn", features={**full, "customer_id": 2})["probability"]
    )
    batch = with_features.predict("churn", instances=[full, {"customer_id": 2, "support_calls": 1}])
    assert [a["probability"] for a in batch["predictions"]] == [alone["probability"]] * 2
