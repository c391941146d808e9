"""``p.deployments.reviews`` and ``answer_review`` both ways: the human escalation queue."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.platform import Platform
from podium.registry.signature import infer_signature
from tests.parity.assertions import fails
from tests.parity.conftest import Trained


@pytest.fixture
def escalating(platform: Platform, trained: Trained) -> Platform:
    """Deployment ``triage``: a model fitted on three columns but fed two, so every
    prediction raises, then escalation to a human."""
    wrong = LogisticRegression().fit(np.zeros((4, 3)) + np.arange(4)[:, None], [0, 1, 0, 1])
    signature = infer_signature(trained.frame[:5])
    version = platform.registry.register("wrong", wrong, signature=signature)
    platform.deployments.create(
        "triage",
        model=f"wrong/{version.version}",
        fallback={"default": {"prediction": 0, "probability": 0.5}, "escalate": True},
        cache={"enabled": False},
    )
    return platform


def test_escalate_queue_answer_and_count(escalating: Platform) -> None:
    deployments = escalating.deployments
    answer = deployments.predict("triage", features={"tenure": 3, "spend": 70.0})
    assert (answer["served_by"], answer["prediction"]) == ("escalated", 0)
    [review] = deployments.reviews("triage")
    assert review.request_id == answer["request_id"] and review.status == "open"
    assert review.features == {"tenure": 3, "spend": 70.0} and review.reason
    answered = deployments.answer_review("triage", review.id, label=1)
    assert (answered.status, answered.label) == ("answered", 1)
    assert deployments.reviews("triage") == []
    assert deployments.reviews("triage", status="all") == [answered]
    accuracy = escalating.monitoring.accuracy("triage", window=timedelta(hours=1))
    assert accuracy.labeled == 1
    with fails(ConflictError):
        deployments.answer_review("triage", review.id, label=0)
    with fails(NotFoundError):
        deployments.answer_review("triage", "0" * 32, label=1)
    with fails(NotFoundError):
        deployments.reviews("missing")
    with fails(InvalidInputError):
        deployments.create("bad", model="wrong/1", fallback={"escalate": True})
