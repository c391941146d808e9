"""``/v1/batch-jobs`` on a real server: 202 and a job running in the background, problem+json
for bad input before anything runs, roles, and the HTTP client following a job."""

from __future__ import annotations

import time

import httpx
import numpy as np

import podium
from podium.access.roles import Role
from podium.platform import Platform
from tests.batch.conftest import churn_frame, register_churn_model
from tests.conftest import LiveServer

PROBLEM = "application/problem+json"


def _arranged(live_server: LiveServer, project: str) -> Platform:
    platform = live_server.installation.platform(project, user="local:test")
    frame = churn_frame(2_000)
    for start in range(0, 2_000, 500):  # four files: four parts of 500 rows
        platform.data.write("curated.customers", frame[start : start + 500])
    register_churn_model(platform, frame)
    return platform


def test_a_job_starts_with_202_and_runs_in_the_background(
    live_server: LiveServer, project_name: str
) -> None:
    _arranged(live_server, project_name)
    headers = {"authorization": f"Bearer {live_server.key(project_name)}"}
    with httpx.Client(base_url=live_server.url, headers=headers) as http:
        body = {"model": "churn/1", "source": "curated.customers", "output": "scores.churn"}
        started = http.post("/v1/batch-jobs", json=body)
        assert started.status_code == 202, started.text
        job = started.json()
        assert started.headers["location"] == f"/v1/batch-jobs/{job['id']}"
        assert job["rows_total"] == 2_000 and job["source"] == "curated.customers@3"
        deadline = time.monotonic() + 60
        while job["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
            job = http.get(f"/v1/batch-jobs/{job['id']}").json()
        assert job["status"] == "succeeded", job
        assert job["rows"] == 2_000 and job["output_version"] == 1
        assert [found["id"] for found in http.get("/v1/batch-jobs").json()] == [job["id"]]
        resumed = http.post(f"/v1/batch-jobs/{job['id']}/resume")
        assert resumed.status_code == 409
        assert resumed.headers["content-type"] == PROBLEM


def test_bad_input_is_a_problem_before_anything_runs(
    live_server: LiveServer, project_name: str
) -> None:
    _arranged(live_server, project_name)
    headers = {"authorization": f"Bearer {live_server.key(project_name)}"}
    cases = [
        ({"model": "nope/1", "source": "curated.customers", "output": "s.x"}, 404, "model"),
        ({"model": "churn/1", "source": "curated.nope", "output": "s.x"}, 404, "source"),
        ({"model": "churn/1", "source": "curated.customers@9", "output": "s.x"}, 404, "source"),
        (
            {"model": "churn/1", "source": "curated.customers", "output": "curated.customers"},
            400,
            "output",
        ),
        (
            {"model": "churn/1", "source": "curated.customers", "output": "s.x", "runner": "x"},
            400,
            "runner",
        ),
    ]
    with httpx.Client(base_url=live_server.url, headers=headers) as http:
        for body, status, field in cases:
            answer = http.post("/v1/batch-jobs", json=body)
            assert answer.status_code == status, (body, answer.text)
            assert answer.headers["content-type"] == PROBLEM
            problem = answer.json()
            assert problem["field"] == field and problem["detail"], problem
            assert "Traceback" not in answer.text
        assert http.get("/v1/batch-jobs").json() == []
        unknown = http.get("/v1/batch-jobs/nope")
        assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM


def test_a_reader_key_may_look_but_not_start(live_server: LiveServer, project_name: str) -> None:
    _arranged(live_server, project_name)
    headers = {"authorization": f"Bearer {live_server.key(project_name, Role.READER)}"}
    with httpx.Client(base_url=live_server.url, headers=headers) as http:
        body = {"model": "churn/1", "source": "curated.customers", "output": "scores.churn"}
        assert http.post("/v1/batch-jobs", json=body).status_code == 403
        assert http.get("/v1/batch-jobs").json() == []


def test_the_http_client_follows_a_job_to_its_end(
    live_server: LiveServer, project_name: str
) -> None:
    embedded = _arranged(live_server, project_name)
    remote = podium.connect(live_server.url, api_key=live_server.key(project_name))
    seen: list[tuple[int, int]] = []
    job = remote.batch.predict(
        "churn/1",
        source="curated.customers",
        output="scores.churn",
        key="customer_id",
        part_rows=500,
        on_progress=lambda rows, total: seen.append((rows, total)),
    )
    assert job.status == "succeeded" and seen[-1] == (2_000, 2_000)
    out = embedded.data.read("scores.churn").to_pandas().sort_values("customer_id")
    frame = churn_frame(2_000)
    expected = embedded.registry.load("churn/1").predict(frame[["tenure", "spend"]])
    np.testing.assert_array_equal(out["prediction"], expected)
    assert remote.batch.get(job.id).parts_done == 4
