"""Event triggers: an alert that fires starts the triggered pipeline once, in process
and under two real `podium up` servers on one PostgreSQL database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sqlalchemy import select

from podium.access.roles import Role
from podium.config import Settings
from podium.errors import InvalidInputError
from podium.monitoring.alerts import error_rate
from podium.pipelines.tables import LeaseRow
from podium.platform import Installation, Platform
from tests.conftest import free_port, postgres_database
from tests.monitoring.traffic import now as utc_now
from tests.monitoring.traffic import register_churn, traffic
from tests.pipelines import flows
from tests.pipelines.test_schedules import scheduler

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_flows() -> Iterator[None]:
    flows.reset()
    yield
    flows.reset()


def fire_alert(platform: Platform) -> None:
    """An error-rate rule over a 15-minute window, and traffic where half the requests fail."""
    churn = register_churn(platform)
    platform.monitoring.create_rule(error_rate("churn", rate=0.05, window=timedelta(minutes=15)))
    at = utc_now()
    traffic(churn, 40, at=at, error_every=2)
    assert [a.state for a in platform.monitoring.evaluate_alerts(now=at)] == ["firing"]


def test_a_fired_alert_starts_the_triggered_pipeline_once(
    platform: Platform, installation: Installation
) -> None:
    trigger = platform.pipelines.trigger(
        flows.three, on="alert.fired", params={"n": 3}, where={"rule": "churn-error-rate"}
    )
    ignored = platform.pipelines.trigger(
        flows.three, on="alert.fired", where={"rule": "another-rule"}
    )
    assert [t.id for t in platform.pipelines.triggers()] == [trigger.id, ignored.id]
    first, second = scheduler(installation, "server-a"), scheduler(installation, "server-b")
    try:
        assert first.tick(wait=True) == []
        fire_alert(platform)
        started = first.tick(wait=True)
        assert [c.source_id for c in started] == [trigger.id]
        assert second.tick(wait=True) == [] and first.tick(wait=True) == []
    finally:
        first.stop()
        second.stop()
        platform.pipelines.unschedule(trigger.id)
        platform.pipelines.unschedule(ignored.id)
    runs = platform.pipelines.runs("three")
    assert len(runs) == 1 and runs[0].status == "succeeded"
    tags = platform.tracking.get_run(runs[0].id).tags
    assert tags["podium.trigger"] == trigger.id
    assert tags["podium.event_id"] == started[0].occurrence


def test_each_new_version_of_a_table_starts_the_triggered_pipeline_once(
    platform: Platform, installation: Installation
) -> None:
    flows.PLATFORM["p"] = platform
    platform.data.write("raw.nums", pd.DataFrame({"x": [1, 2]}))
    trigger = platform.pipelines.trigger(
        flows.lake, on="table.updated", params={"table": "raw.nums"}, where={"table": "raw.nums"}
    )
    first, second = scheduler(installation, "server-a"), scheduler(installation, "server-b")
    try:
        assert first.tick(wait=True) == []  # the write before the trigger does not count
        platform.data.write("raw.other", pd.DataFrame({"x": [1]}))
        assert first.tick(wait=True) == []  # another table
        platform.data.write("raw.nums", pd.DataFrame({"x": [3]}))
        started = first.tick(wait=True)
        assert [c.source_id for c in started] == [trigger.id]
        assert second.tick(wait=True) == [] and first.tick(wait=True) == []
        platform.data.write("raw.nums", pd.DataFrame({"x": [4, 5]}))
        platform.data.delete("raw.nums", "x = 1")
        assert len(second.tick(wait=True)) == 2 and first.tick(wait=True) == []
    finally:
        first.stop()
        second.stop()
        platform.pipelines.unschedule(trigger.id)
    runs = platform.pipelines.runs("lake")
    assert len(runs) == 3 and {r.status for r in runs} == {"succeeded"}
    assert platform.pipelines.get(runs[-1].id).output == 3  # raw.nums@1: three rows
    assert platform.pipelines.get(runs[0].id).output == 4  # raw.nums@3: 5 rows less x = 1
    tags = platform.tracking.get_run(runs[-1].id).tags
    assert tags["podium.trigger"] == trigger.id
    assert tags["podium.event_id"] == started[0].occurrence


def test_bad_triggers_are_refused(platform: Platform) -> None:
    with pytest.raises(InvalidInputError, match=r"alert\.fired") as caught:
        platform.pipelines.trigger(flows.three, on="alert.exploded")
    assert caught.value.field == "on"
    with pytest.raises(InvalidInputError) as caught:
        platform.pipelines.trigger(flows.three, on="alert.fired", where={"x": object()})
    assert caught.value.field == "where"
    with pytest.raises(InvalidInputError, match="import"):
        platform.pipelines.trigger("tests.pipelines.gone:three", on="alert.fired")
    assert platform.pipelines.triggers() == []


# -- two real servers ------------------------------------------------------------------
@pytest.fixture(scope="module")
def fresh_postgres() -> Iterator[str]:
    """A PostgreSQL database of this module's own (both servers and the test use it)."""
    with postgres_database("podium_trig") as url:
        yield url


def _up(home: Path, database_url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(PODIUM_HOME=str(home), PODIUM_DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "podium.cli.app",
                "up",
                "--host",
                "127.0.0.1",
                "--port",
                f"{port}",
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return process, f"http://127.0.0.1:{port}"


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"podium up exited:\n{log.read_text()}"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"podium up did not get ready:\n{log.read_text()}")


def test_under_two_servers_a_fired_alert_starts_the_pipeline_once(
    fresh_postgres: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    installation = Installation(Settings(home=home, database_url=fresh_postgres))
    servers = []
    try:
        # A key exists, so neither server makes the first admin key (two at once would
        # race to create the default project).
        installation.projects.ensure("default")
        installation.keys.create("default", Role.ADMIN, name="test")
        platform = installation.platform("two-servers", user="local:test")
        trigger = platform.pipelines.trigger(flows.three, on="alert.fired", params={"n": 5})
        for name in ("a", "b"):
            log = tmp_path / f"server-{name}.log"
            servers.append((*_up(home, fresh_postgres, log), log))
        for process, url, log in servers:
            _wait_ready(process, url, log)

        fire_alert(platform)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not platform.pipelines.runs("three"):
            time.sleep(0.2)
        runs = platform.pipelines.runs("three")
        assert len(runs) == 1, "the triggered pipeline did not start within 10 s"
        while (
            time.monotonic() < deadline + 10
            and platform.pipelines.runs("three")[0].ended_at is None
        ):
            time.sleep(0.2)
        time.sleep(2)  # both servers had rounds after the first one claimed the event
        runs = platform.pipelines.runs("three")
        assert len(runs) == 1 and runs[0].status == "succeeded", runs
        assert platform.tracking.get_run(runs[0].id).tags["podium.trigger"] == trigger.id
        with installation.db.read() as session:
            leases = session.scalars(select(LeaseRow)).all()
            assert [(lease.status, lease.run_id) for lease in leases] == [("succeeded", runs[0].id)]
    finally:
        for process, _, _ in servers:
            process.terminate()
        for process, _, _ in servers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        installation.close()
