"""Schedules: a due schedule starts exactly one run, even with two schedulers on one
database; bad input is refused before anything is stored; REST and the client agree."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

import podium
from podium.access.roles import Role
from podium.errors import InvalidInputError, NotFoundError
from podium.pipelines.scheduler import PipelineScheduler
from podium.pipelines.service import PipelineService
from podium.platform import Installation, Platform
from tests.conftest import LiveServer
from tests.pipelines import flows

TARGET = "tests.pipelines.flows:three"


@pytest.fixture(autouse=True)
def _fresh_flows() -> Iterator[None]:
    flows.reset()
    yield
    flows.reset()


def scheduler(installation: Installation, holder: str) -> PipelineScheduler:
    """A scheduler as `podium up` builds it (``holder`` names the server)."""

    def pipelines_of(name: str) -> PipelineService:
        found = installation.platform_for_existing(name, user="podium:scheduler", role=Role.WRITER)
        assert isinstance(found.pipelines, PipelineService)
        return found.pipelines

    return PipelineScheduler(installation.db, pipelines_of, holder=holder)


def test_a_due_schedule_starts_exactly_one_run_across_two_schedulers(
    platform: Platform, installation: Installation
) -> None:
    schedule = platform.pipelines.schedule(flows.three, cron="* * * * *", params={"n": 2})
    assert [s.id for s in platform.pipelines.schedules()] == [schedule.id]
    assert schedule.target == TARGET and schedule.params == {"n": 2}
    first, second = scheduler(installation, "server-a"), scheduler(installation, "server-b")
    try:
        before = schedule.created_at.replace(second=0, microsecond=0)
        assert first.tick(before, wait=True) == []  # due before the schedule existed
        due = before + timedelta(minutes=1)
        at = due + timedelta(seconds=5)
        started = first.tick(at, wait=True)
        assert [c.occurrence for c in started] == [due.isoformat()]
        assert second.tick(at, wait=True) == []  # the other server finds it claimed
        assert first.tick(at + timedelta(seconds=30), wait=True) == []  # same due time
        runs = platform.pipelines.runs("three")
        assert len(runs) == 1 and runs[0].status == "succeeded"
        assert runs[0].params == {"n": "2", "scale": "1.0"}
        tags = platform.tracking.get_run(runs[0].id).tags
        assert tags["podium.schedule"] == schedule.id
        assert tags["podium.due"] == due.isoformat()
        assert platform.pipelines.schedules()[0].last_due == due
    finally:
        first.stop()
        second.stop()
        platform.pipelines.unschedule(schedule.id)
    assert platform.pipelines.schedules() == []
    with pytest.raises(NotFoundError):
        platform.pipelines.unschedule(schedule.id)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cron": "every day"}, "cron"),
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "* * * * *", "params": {"nope": 1}}, "params"),
        ({"cron": "* * * * *", "params": {"n": object()}}, "params"),
        ({"cron": "* * * * *", "runner": "spark"}, "runner"),
    ],
)
def test_bad_schedules_are_refused_before_anything_is_stored(
    platform: Platform, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        platform.pipelines.schedule(flows.three, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert platform.pipelines.schedules() == []


@pytest.mark.parametrize(
    "target",
    ["__main__:churn", "tests.pipelines.no_such_module:three", "tests.pipelines.flows:prepare"],
)
def test_a_pipeline_the_server_cannot_import_is_refused(platform: Platform, target: str) -> None:
    with pytest.raises(InvalidInputError, match=r"import|not a pipeline") as caught:
        platform.pipelines.schedule(target, cron="0 3 * * *")
    assert caught.value.field == "pipeline"


def test_schedules_over_http(live_server: LiveServer) -> None:
    key = live_server.key("remote-schedules")
    with podium.connect(live_server.url, api_key=key) as p:
        made = p.pipelines.schedule(flows.three, cron="0 3 * * *", params={"n": 3})
        assert [s.id for s in p.pipelines.schedules()] == [made.id]
        with pytest.raises(InvalidInputError, match="cron"):
            p.pipelines.schedule(flows.three, cron="0 3 * *")
        p.pipelines.unschedule(made.id)
        assert p.pipelines.schedules() == []
    answer = httpx.post(
        f"{live_server.url}/v1/pipelines/schedules",
        json={"target": TARGET, "cron": "bad"},
        headers={"authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 400 and answer.json()["field"] == "cron"
    reader = live_server.key("remote-schedules", role="reader")
    answer = httpx.post(
        f"{live_server.url}/v1/pipelines/schedules",
        json={"target": TARGET, "cron": "0 3 * * *"},
        headers={"authorization": f"Bearer {reader}"},
    )
    assert answer.status_code == 403
