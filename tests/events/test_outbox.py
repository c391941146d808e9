"""The outbox: events commit with the change they describe, or not at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from podium.access.projects import Project
from podium.errors import InvalidInputError
from podium.events import Event, EventDispatcher, record_event
from podium.events.tables import EventRow
from podium.platform import Installation


def _count(installation: Installation, project: Project) -> int:
    with installation.db.read() as session:
        query = select(func.count()).select_from(EventRow)
        return int(session.scalar(query.where(EventRow.project_id == project.id)) or 0)


def test_an_event_in_a_rolled_back_transaction_is_never_recorded(
    installation: Installation, project: Project
) -> None:
    with pytest.raises(RuntimeError), installation.db.write() as session:
        record_event(
            session,
            project_id=project.id,
            type="model.version_registered",
            subject="churn/1",
            payload={"version": 1},
            actor="alice",
        )
        raise RuntimeError("the change failed")
    assert _count(installation, project) == 0


def test_a_committed_event_reaches_subscribers_once(
    installation: Installation,
    project: Project,
    make_dispatcher: Callable[..., EventDispatcher],
) -> None:
    with installation.db.write() as session:
        record_event(
            session,
            project_id=project.id,
            type="model.stage_changed",
            subject="churn/2",
            payload={"stage": "production"},
            actor="bob",
        )
    dispatcher = make_dispatcher()
    seen: list[Event] = []
    dispatcher.subscribe(seen.append)
    dispatcher.dispatch_once()
    dispatcher.dispatch_once()
    mine = [e for e in seen if e.project == project.name]
    assert [(e.type, e.subject, e.payload, e.actor) for e in mine] == [
        ("model.stage_changed", "churn/2", {"stage": "production"}, "bob")
    ]
    assert _count(installation, project) == 1


def test_a_failing_subscriber_does_not_starve_the_others(
    installation: Installation,
    project: Project,
    make_dispatcher: Callable[..., EventDispatcher],
) -> None:
    with installation.db.write() as session:
        record_event(
            session, project_id=project.id, type="alert.fired", subject="a", payload={}, actor=""
        )
    dispatcher = make_dispatcher()
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    dispatcher.subscribe(broken)
    dispatcher.subscribe(seen.append)
    dispatcher.dispatch_once()
    assert [e.subject for e in seen if e.project == project.name] == ["a"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "NotDotted"),
        ("type", "x." + "a" * 70),
        ("subject", "s" * 257),
        ("actor", "a" * 129),
        ("payload", ["not", "an", "object"]),
        ("payload", {"when": object()}),
    ],
)
def test_bad_events_are_refused_with_the_field(
    installation: Installation, project: Project, field: str, value: object
) -> None:
    args: dict[str, object] = {
        "type": "model.version_registered",
        "subject": "churn/1",
        "payload": {},
        "actor": "alice",
    }
    args[field] = value
    with pytest.raises(InvalidInputError) as info, installation.db.write() as session:
        record_event(session, project_id=project.id, **args)  # type: ignore[arg-type]
    assert info.value.field == field
    assert info.value.remedy
