"""A job killed with SIGKILL mid-way, then resumed: every source row exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from sqlalchemy import delete

from podium.batch.tables import BatchJobRow, BatchPartRow
from podium.config import Settings
from podium.errors import ConflictError
from podium.platform import Installation, Platform
from tests.batch.conftest import churn_frame, register_churn_model

_FILES = 16
_ROWS = 2_500

_JOB = """
import sys
from pathlib import Path
from podium.config import Settings
from podium.platform import Installation
import time
import podium.batch.runners as runners
_score = runners.score_part
def _slow_part(*args, **kwargs):
    time.sleep(0.25)  # each part takes a while, so the test always kills the job mid-way
    return _score(*args, **kwargs)
runners.score_part = _slow_part
home, database_url, project = sys.argv[1:4]
installation = Installation(Settings(home=Path(home), database_url=database_url), migrate=False)
platform = installation.platform(project, user="local:test")
platform.batch.predict(
    "churn/1", source="curated.customers", output="scores.churn", key="customer_id",
    part_rows=2_500, batch_size=250,
)
"""


@pytest.fixture
def big_source(platform: Platform) -> Platform:
    for index in range(_FILES):
        frame = churn_frame(_ROWS, seed=index, start=index * _ROWS)
        platform.data.write("curated.customers", frame)
    register_churn_model(platform, churn_frame(2_000))
    return platform


def _kill_mid_job(settings: Settings, project: str, platform: Platform) -> str:
    process = subprocess.Popen(
        [sys.executable, "-c", _JOB, str(settings.home), settings.resolved_database_url, project],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            jobs = platform.batch.jobs()
            if jobs and jobs[0].parts_done >= 3:
                break
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.01)
        else:
            pytest.fail("the job did not get going within 60 s")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
    (job,) = platform.batch.jobs()
    assert job.status == "running"
    assert 0 < job.parts_done < _FILES, "the job was not mid-way when killed"
    return job.id


def _assert_every_row_once(platform: Platform) -> None:
    out = platform.data.read("scores.churn", columns=["customer_id"]).column("customer_id")
    ids = sorted(out.to_pylist())
    assert ids == list(range(_FILES * _ROWS))


def test_a_killed_job_resumes_without_losing_or_duplicating_rows(
    big_source: Platform, settings: Settings, project_name: str
) -> None:
    platform = big_source
    job_id = _kill_mid_job(settings, project_name, platform)
    resumed = platform.batch.resume(job_id)
    assert resumed.status == "succeeded", resumed.error
    assert (resumed.rows, resumed.parts_done) == (_FILES * _ROWS, _FILES)
    _assert_every_row_once(platform)
    with pytest.raises(ConflictError, match="succeeded"):
        platform.batch.resume(job_id)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_part_committed_just_before_the_kill_is_not_written_again(
    big_source: Platform, settings: Settings, project_name: str, installation: Installation
) -> None:
    platform = big_source
    job_id = _kill_mid_job(settings, project_name, platform)
    # As if killed between a part's Delta commit and its row in the metadata DB.
    with installation.db.write() as session:
        session.execute(delete(BatchPartRow).where(BatchPartRow.job_id == job_id))
    resumed = platform.batch.predict(
        "churn/1",
        source="curated.customers",
        output="scores.churn",
        key="customer_id",
        resume=True,
    )
    assert resumed.id == job_id
    assert resumed.status == "succeeded", resumed.error
    _assert_every_row_once(platform)


def test_resume_refuses_a_job_held_by_a_live_process(
    platform: Platform, installation: Installation
) -> None:
    frame = churn_frame(500)
    platform.data.write("curated.customers", frame)
    register_churn_model(platform, frame)
    job = platform.batch.predict("churn/1", source="curated.customers", output="scores.churn")
    with installation.db.write() as session:  # as if it still ran in a live process
        row = session.get(BatchJobRow, job.id)
        row.status, row.holder = "running", f"{socket.gethostname()}:{os.getppid()}"
    with pytest.raises(ConflictError, match="running in"):
        platform.batch.resume(job.id)
    assert platform.batch.get(job.id).status == "running"
