"""Human escalation: a chain ending in ``escalate`` answers with its default, marked
``served_by: "escalated"``, queues the request for review, and a reviewer's answer becomes
monitoring feedback that accuracy counts."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from podium.access.roles import Role
from podium.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from podium.platform import Installation, Platform
from tests.conftest import LiveServer
from tests.serving import faulty
from tests.serving.conftest import FEATURES, RegisterPyfunc

ESCALATE = {"default": {"prediction": 0, "probability": 0.5}, "escalate": True}
NO_CACHE = {"enabled": False}


@pytest.fixture
def escalating(platform: Platform, register_pyfunc: RegisterPyfunc) -> Platform:
    """Deployment ``triage``: a primary that always raises, then escalation."""
    version = register_pyfunc("broken", faulty.RaisingModel())
    platform.deployments.create(
        "triage", model=f"broken/{version}", fallback=ESCALATE, cache=NO_CACHE
    )
    return platform


def test_escalated_answer_is_queued_and_its_review_becomes_a_label(escalating: Platform) -> None:
    body = escalating.predict("triage", features=FEATURES)
    assert (body["served_by"], body["prediction"], body["probability"]) == ("escalated", 0, 0.5)
    assert "escalation_reason" not in body

    [review] = escalating.deployments.reviews("triage")
    assert review.request_id == body["request_id"]
    assert review.features == FEATURES
    assert review.answer["prediction"] == 0
    assert "primary: RuntimeError: the model crashed" in review.reason
    assert review.status == "open"

    # answered at once: the inference log's pending records are written first
    answered = escalating.deployments.answer_review("triage", review.id, label=1)
    assert (answered.status, answered.label, answered.answered_by) == ("answered", 1, "local:test")
    assert escalating.deployments.reviews("triage") == []
    assert [r.id for r in escalating.deployments.reviews("triage", status="all")] == [review.id]

    accuracy = escalating.monitoring.accuracy("triage", window=timedelta(hours=1))
    assert accuracy.labeled == 1
    assert accuracy.overall["accuracy"].value == 0.0  # the default said 0, the reviewer 1

    with pytest.raises(ConflictError):
        escalating.deployments.answer_review("triage", review.id, label=0)


def test_without_escalate_the_default_is_not_queued(
    platform: Platform, register_pyfunc: RegisterPyfunc
) -> None:
    version = register_pyfunc("broken", faulty.RaisingModel())
    platform.deployments.create(
        "plain", model=f"broken/{version}", fallback={"default": {"prediction": 0}}
    )
    assert platform.predict("plain", features=FEATURES)["served_by"] == "default"
    assert platform.deployments.reviews("plain") == []


def test_escalate_needs_a_default(platform: Platform, register_pyfunc: RegisterPyfunc) -> None:
    version = register_pyfunc("broken", faulty.RaisingModel())
    with pytest.raises(InvalidInputError, match="escalate needs a default"):
        platform.deployments.create(
            "nodefault", model=f"broken/{version}", fallback={"escalate": True}
        )


def test_a_reader_cannot_answer_and_other_projects_reviews_are_not_found(
    escalating: Platform, installation: Installation
) -> None:
    escalating.predict("triage", features=FEATURES)
    [review] = escalating.deployments.reviews("triage")
    reader = installation.platform(escalating.project, user="local:reader", role=Role.READER)
    assert [r.id for r in reader.deployments.reviews("triage")] == [review.id]
    with pytest.raises(PermissionDeniedError):
        reader.deployments.answer_review("triage", review.id, label=1)
    other = installation.platform(f"{escalating.project}-other", user="local:test")
    with pytest.raises(NotFoundError):
        other.deployments.reviews("triage")
    with pytest.raises(NotFoundError):
        escalating.deployments.answer_review("triage", "0" * 32, label=1)


def test_reviews_over_http(
    escalating: Platform, installation: Installation, live_server: LiveServer
) -> None:
    escalating.predict("triage", features=FEATURES)
    project = escalating.project
    reader = {"authorization": f"Bearer {live_server.key(project, Role.READER)}"}
    writer = {"authorization": f"Bearer {live_server.key(project, Role.WRITER)}"}
    stranger = {"authorization": f"Bearer {live_server.key(f'{project}-x', Role.ADMIN)}"}
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        listed = http.get("/v1/deployments/triage/reviews", headers=reader)
        assert listed.status_code == 200, listed.text
        [review] = listed.json()
        url = f"/v1/deployments/triage/reviews/{review['id']}"
        refused = http.post(url, json={"label": 1}, headers=reader)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert http.post(url, json={"label": 1}, headers=stranger).status_code == 404
        bad = http.post(url, json={"label": [1]}, headers=writer)
        assert bad.status_code in (400, 422) and "label" in bad.text
        done = http.post(url, json={"label": 1}, headers=writer)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "answered"
        again = http.get(
            "/v1/deployments/triage/reviews", params={"status": "answered"}, headers=reader
        )
        assert [r["id"] for r in again.json()] == [review["id"]]
        assert http.get(
            "/v1/deployments/triage/reviews", params={"status": "nope"}, headers=reader
        ).status_code in (400, 422)
