"""``p.pipelines`` against a live server: REST under /v1/pipelines, run by module:qualname."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import podium
from podium.errors import NotFoundError, PermissionDeniedError
from tests.conftest import LiveServer
from tests.pipelines import flows

TARGET = "tests.pipelines.flows:three"


@pytest.fixture(autouse=True)
def _fresh_flows() -> Iterator[None]:
    flows.reset()
    yield
    flows.reset()


def test_run_runs_get_logs_and_resume_over_http(live_server: LiveServer) -> None:
    key = live_server.key("remote-pipes")
    with podium.connect(live_server.url, api_key=key) as p:
        done = p.pipelines.run(flows.three, params={"n": 3})  # sent as its module:qualname
        assert done.status == "succeeded" and done.target == TARGET
        assert [s.status for s in done.steps] == ["succeeded"] * 3
        assert done.output == 5.0 and done.output_digest  # 0 + 1 + 4, fetched from the server

        seen: list[tuple[str, str]] = []
        cached = p.pipelines.run(TARGET, params={"n": 3}, on_step=lambda *s: seen.append(s))
        assert seen == [("prepare", "cached"), ("featurize", "cached"), ("train", "cached")]
        assert [r.id for r in p.pipelines.runs("three")] == [cached.id, done.id]
        assert p.pipelines.get(done.id).steps == done.steps
        assert "preparing 3 rows" in p.pipelines.logs(done.id, step="prepare")
        assert [info.name for info in p.pipelines.list()] == ["three"]

        flows.FAIL["featurize"] = True
        failed = p.pipelines.run(TARGET, params={"n": 5})
        assert failed.status == "failed"
        flows.FAIL["featurize"] = False
        flows.CALLS.clear()
        resumed = p.pipelines.resume(failed.id)
        assert resumed.status == "succeeded" and flows.CALLS == ["featurize", "train"]

        with pytest.raises(NotFoundError, match="cannot be imported"):
            p.pipelines.run("tests.pipelines.no_such_module:three")
        with pytest.raises(NotFoundError):
            p.pipelines.get("0" * 32)


def test_a_reader_may_look_but_not_run(live_server: LiveServer) -> None:
    writer = live_server.key("pipes-roles")
    reader = live_server.key("pipes-roles", role="reader")
    with podium.connect(live_server.url, api_key=writer) as p:
        run = p.pipelines.run(TARGET)
    with podium.connect(live_server.url, api_key=reader) as p:
        assert p.pipelines.get(run.id).status == "succeeded"
        with pytest.raises(PermissionDeniedError):
            p.pipelines.run(TARGET)


def test_rest_bodies_are_checked(live_server: LiveServer) -> None:
    key = live_server.key("pipes-rest")
    headers = {"authorization": f"Bearer {key}"}
    answer = httpx.post(
        f"{live_server.url}/v1/pipelines/runs",
        json={"target": "not a target"},
        headers=headers,
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["field"] == "target"
    answer = httpx.post(
        f"{live_server.url}/v1/pipelines/runs",
        json={"target": TARGET, "runner": "spark"},
        headers=headers,
    )
    assert answer.status_code == 400 and answer.json()["field"] == "runner"
    answer = httpx.post(
        f"{live_server.url}/v1/pipelines/runs",
        json={"target": "json:dumps"},
        headers=headers,
    )
    assert answer.status_code == 400 and "not a pipeline" in answer.json()["detail"]
