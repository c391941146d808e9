"""Scoring with a deployment: its stable version, with the online features it names
joined by its entity keys, as ``/v1/predictions`` would answer each row."""

from __future__ import annotations

import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression

from podium.errors import InvalidInputError
from podium.platform import Platform
from tests.features.conftest import NOW, seed
from tests.serving.conftest import churn_frame

ONLINE = ["customer_stats:tenure_months", "customer_stats:monthly_charges"]


@pytest.fixture
def deployed(platform: Platform) -> Platform:
    seed(platform)
    platform.features.materialize(end=NOW)
    frame, labels = churn_frame()
    model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
    platform.registry.register("churn", model, input_example=frame[:5])
    platform.registry.register("churn", model, input_example=frame[:5])
    platform.deployments.create(
        "churn", model="churn/1", features=ONLINE, entity_keys=["customer_id"]
    )
    return platform


def test_a_deployment_scores_with_its_online_features(deployed: Platform) -> None:
    p = deployed
    source = pa.table({"customer_id": [1, 2, 2, 1], "support_calls": [0, 1, 7, 3]})
    p.data.write("curated.calls", source)
    job = p.batch.predict("churn", source="curated.calls", output="scores.calls")
    assert job.status == "succeeded", job.error
    assert (job.deployment, job.model_version) == ("churn", "churn/1")
    out = p.data.read("scores.calls").sort_by("row_number").to_pylist()
    for row, (customer, calls) in zip(
        out, zip(*source.to_pydict().values(), strict=True), strict=True
    ):
        served = p.predict("churn", features={"customer_id": customer, "support_calls": calls})
        assert row["prediction"] == served["prediction"]
        assert row["probability"] == pytest.approx(served["probability"], abs=1e-12)


def test_a_source_without_the_entity_key_is_refused(deployed: Platform) -> None:
    deployed.data.write("curated.calls", pa.table({"support_calls": [0, 1]}))
    with pytest.raises(InvalidInputError, match="customer_id") as refused:
        deployed.batch.predict("churn", source="curated.calls", output="scores.calls")
    assert refused.value.field == "source"
    assert deployed.batch.jobs() == []
