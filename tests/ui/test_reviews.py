"""The review queue page: an escalated request answered in the UI becomes a label that
``p.monitoring.accuracy`` counts; readers get no form and a 403; CSRF and projects hold."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pandas as pd
import pytest
from tests.serving import faulty
from tests.ui.conftest import csrf_of, log_in

from podium.access.roles import Role
from podium.platform import Installation, Platform
from podium.registry.signature import infer_signature

pytestmark = pytest.mark.anyio

FEATURES = {"tenure": 3, "charges": 95.0}
_FORM = re.compile(r'action="(/ui/deployments/triage/reviews/([0-9a-f]{32})/answer)"')


@dataclass
class Escalated:
    installation: Installation
    platform: Platform
    request_id: str

    def key(self, role: Role) -> str:
        _, secret = self.installation.keys.create(self.platform.project, role, name="ui")
        return secret


def _escalated(installation: Installation, project: str) -> Escalated:
    """Deployment 'triage' whose model always raises, escalating; one request answered."""
    platform = installation.platform(project, user="local:builder", role=Role.ADMIN)
    signature = infer_signature(pd.DataFrame([FEATURES]))
    version = platform.registry.register("broken", faulty.RaisingModel(), signature=signature)
    platform.deployments.create(
        "triage",
        model=f"broken/{version.version}",
        fallback={"default": {"prediction": 0}, "escalate": True},
        cache={"enabled": False},
    )
    body = platform.predict("triage", features=FEATURES)
    assert body["served_by"] == "escalated"
    return Escalated(installation, platform, body["request_id"])


@pytest.fixture
def escalated(installation: Installation) -> Escalated:
    return _escalated(installation, f"ui-{uuid.uuid4().hex[:8]}")


async def test_an_answer_in_the_ui_becomes_a_label_accuracy_counts(
    http: httpx.AsyncClient, escalated: Escalated
) -> None:
    await log_in(http, escalated.key(Role.WRITER))
    page = await http.get("/ui/reviews")
    assert page.status_code == 200
    assert escalated.request_id in page.text and 'href="/ui/reviews"' in page.text
    found = _FORM.search(page.text)
    assert found, page.text
    done = await http.post(found.group(1), data={"csrf": csrf_of(page.text), "label": "1"})
    assert done.status_code == 303 and done.headers["location"] == "/ui/reviews#triage"
    after = await http.get("/ui/reviews")
    assert escalated.request_id not in after.text and "Nothing waiting" in after.text
    [review] = escalated.platform.deployments.reviews("triage", status="answered")
    assert (review.id, review.label) == (found.group(2), 1)
    accuracy = escalated.platform.monitoring.accuracy("triage", window=timedelta(hours=1))
    assert accuracy.labeled == 1 and accuracy.overall["accuracy"].value == 0.0


async def test_a_bad_label_is_refused_with_a_remedy_and_the_review_stays_open(
    http: httpx.AsyncClient, escalated: Escalated
) -> None:
    await log_in(http, escalated.key(Role.WRITER))
    page = await http.get("/ui/reviews")
    found = _FORM.search(page.text)
    assert found
    done = await http.post(found.group(1), data={"csrf": csrf_of(page.text), "label": "  "})
    assert done.status_code == 400 and "label" in done.text
    assert len(escalated.platform.deployments.reviews("triage")) == 1


async def test_a_reader_sees_no_form_and_its_post_is_forbidden(
    http: httpx.AsyncClient, escalated: Escalated
) -> None:
    [review] = escalated.platform.deployments.reviews("triage")
    await log_in(http, escalated.key(Role.READER))
    page = await http.get("/ui/reviews")
    assert page.status_code == 200 and escalated.request_id in page.text
    assert _FORM.search(page.text) is None
    url = f"/ui/deployments/triage/reviews/{review.id}/answer"
    done = await http.post(url, data={"csrf": csrf_of(page.text), "label": "1"})
    assert done.status_code == 403
    assert escalated.platform.deployments.reviews("triage")[0].status == "open"


async def test_forged_posts_and_other_projects_reviews_are_refused(
    http: httpx.AsyncClient, escalated: Escalated, installation: Installation
) -> None:
    other = _escalated(installation, escalated.platform.project + "-b")
    [theirs] = other.platform.deployments.reviews("triage")
    await log_in(http, escalated.key(Role.ADMIN))
    page = await http.get("/ui/reviews")
    assert other.request_id not in page.text
    url = f"/ui/deployments/triage/reviews/{theirs.id}/answer"
    forged = await http.post(url, data={"csrf": "forged", "label": "1"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    done = await http.post(url, data={"csrf": csrf_of(page.text), "label": "1"})
    assert done.status_code == 404
    assert other.platform.deployments.reviews("triage")[0].status == "open"
