"""The CI/CD hook end to end: registry transitions reach a real webhook receiver, signed,
even when the receiver is down for the first attempts."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sklearn.linear_model import LogisticRegression

from podium.access.projects import Project
from podium.access.roles import Role
from podium.events import EventDispatcher, WebhookService, verify_signature
from podium.platform import Installation
from tests.events.conftest import Receiver, drain

EXPECTED = [
    "model.version_registered",
    "model.transition_requested",
    "model.transition_approved",
    "model.stage_changed",
]


def test_every_transition_reaches_a_receiver_that_was_down_at_first(
    installation: Installation,
    project: Project,
    webhooks: WebhookService,
    receiver: Receiver,
    make_dispatcher: Callable[..., EventDispatcher],
) -> None:
    receiver.statuses = [503, 503]  # the receiver fails the first two deliveries
    _, secret = webhooks.create(receiver.url)
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(frame, [0, 0, 1, 1])

    owner = installation.platform(project.name, user="local:owner", role=Role.ADMIN).registry
    approver = installation.platform(project.name, user="local:approver", role=Role.ADMIN)
    version = owner.register("churn", model, input_example=frame)
    request = owner.request_transition("churn", version.version, "production")
    approver.registry.approve(request.id, comment="ship it")

    dispatcher = make_dispatcher()

    def delivered() -> list[str]:
        return sorted(d.event_type for d in webhooks.deliveries() if d.status == "delivered")

    drain(dispatcher, lambda: delivered() == sorted(EXPECTED))
    received = sorted({r.event["type"] for r in receiver.events_of(project.name)})
    assert received == sorted(EXPECTED)
    for received in receiver.events_of(project.name):
        assert verify_signature(secret, received.body, received.headers["X-Podium-Signature"])
    failed_first = [d for d in webhooks.deliveries() if d.attempt > 1]
    assert failed_first, "the two 503s were retried"
    assert all(d.status == "delivered" for d in webhooks.deliveries())
