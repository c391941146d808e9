"""Monitoring over HTTP: in process through ASGITransport, and the remote SDK against a
live server. Every error is problem+json, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

import podium
from podium.access.roles import Role
from podium.api.app import create_app
from podium.api.tabular import ARROW_STREAM
from podium.config import Settings
from podium.errors import InvalidInputError, NotFoundError, PayloadTooLargeError
from podium.monitoring.alerts import error_rate
from podium.platform import Installation, Platform
from tests.api.assertions import assert_problem
from tests.conftest import LiveServer
from tests.monitoring.traffic import Churn, now, register_churn, traffic, training_frame

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def churn(platform: Platform) -> Churn:
    return register_churn(platform)


@pytest.fixture
async def client(installation: Installation) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(installation))
    async with httpx.AsyncClient(transport=transport, base_url="http://podium.test") as http:
        yield http


def _headers(installation: Installation, project: str, role: Role = Role.WRITER) -> dict[str, str]:
    installation.projects.ensure(project)
    _, secret = installation.keys.create(project, role, name=f"{role}-key")
    return {"authorization": f"Bearer {secret}"}


async def test_feedback_then_accuracy_and_drift(
    client: httpx.AsyncClient, installation: Installation, churn: Churn, project_name: str
) -> None:
    headers = _headers(installation, project_name)
    sent = traffic(churn, 60, at=now())
    (first, prediction), *rest = sent
    answer = await client.post(
        "/v1/feedback", json={"request_id": first, "label": prediction}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["recorded"] == 1
    many = {"labels": [{"request_id": rid, "label": pred} for rid, pred in rest]}
    answer = await client.post("/v1/feedback", json=many, headers=headers)
    assert answer.json()["recorded"] == 59

    accuracy = await client.get(
        "/v1/monitoring/deployments/churn/accuracy", params={"window": 900}, headers=headers
    )
    assert accuracy.status_code == 200
    assert accuracy.json()["overall"]["accuracy"]["value"] == 1.0
    assert accuracy.json()["versions"]["1"]["accuracy"]["value"] == 1.0

    drift = await client.get("/v1/monitoring/deployments/churn/drift", headers=headers)
    assert drift.status_code == 200 and drift.json()["enough_data"] is True
    start, end = (now() - timedelta(minutes=30)).isoformat(), now().isoformat()
    performance = await client.get(
        "/v1/monitoring/deployments/churn/performance",
        params={"start": start, "end": end},
        headers=headers,
    )
    assert performance.json()["overall"]["requests"] == 60
    fairness = await client.get(
        "/v1/monitoring/deployments/churn/fairness", params={"attribute": "plan"}, headers=headers
    )
    assert fairness.status_code == 200 and fairness.json()["labeled"] == 60
    report = await client.get("/v1/monitoring/deployments/churn/report", headers=headers)
    assert report.status_code == 200 and report.json()["deployment"] == "churn"
    reference = await client.get("/v1/monitoring/references/churn/1", headers=headers)
    assert reference.json()["source"] == "raw.churn@0"


async def test_bad_feedback_and_windows_are_problems(
    client: httpx.AsyncClient, installation: Installation, churn: Churn, project_name: str
) -> None:
    headers = _headers(installation, project_name)
    (request_id, _), *_ = traffic(churn, 2, at=now())
    unknown = await client.post(
        "/v1/feedback", json={"request_id": "nope", "label": 1}, headers=headers
    )
    assert "nope" in assert_problem(unknown, 404, code="not-found")["detail"]
    wrong = await client.post(
        "/v1/feedback", json={"request_id": request_id, "label": "yes"}, headers=headers
    )
    assert assert_problem(wrong, 400, code="invalid-input")["field"] == "label"
    for body in ({"request_id": request_id}, {"labels": []}, {"label": 1, "labels": []}, {"x": 1}):
        answer = await client.post("/v1/feedback", json=body, headers=headers)
        assert_problem(answer, 400)
    for params in ({"window": -1}, {"start": now().isoformat()}, {"window": "soon"}):
        answer = await client.get(
            "/v1/monitoring/deployments/churn/drift", params=params, headers=headers
        )
        assert_problem(answer, 400)
    backwards = {"start": now().isoformat(), "end": (now() - timedelta(hours=1)).isoformat()}
    answer = await client.get(
        "/v1/monitoring/deployments/churn/quality", params=backwards, headers=headers
    )
    assert assert_problem(answer, 400)["field"] == "window"
    # "churn" was never deployed here, but it logged predictions: an empty window is a 200.
    earlier = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    empty = await client.get(
        "/v1/monitoring/deployments/churn/drift", params=earlier, headers=headers
    )
    assert empty.status_code == 200
    assert empty.json()["enough_data"] is False
    assert empty.json()["reason"].startswith("not enough data")
    for kind in ("drift", "quality", "performance", "accuracy", "report"):
        nothing = await client.get(f"/v1/monitoring/deployments/nothing/{kind}", headers=headers)
        problem = assert_problem(nothing, 404, code="not-found")
        assert "nothing" in problem["detail"] and problem["remedy"], problem
    missing = await client.get("/v1/monitoring/references/churn/7", headers=headers)
    assert_problem(missing, 404)


async def test_rules_and_alerts_over_http(
    client: httpx.AsyncClient, installation: Installation, churn: Churn, project_name: str
) -> None:
    headers = _headers(installation, project_name)
    reader = _headers(installation, project_name, Role.READER)
    rule = error_rate("churn", window=timedelta(minutes=15)).model_dump(mode="json")
    created = await client.post("/v1/monitoring/rules", json=rule, headers=headers)
    assert created.status_code == 201, created.text
    again = await client.post("/v1/monitoring/rules", json=rule, headers=headers)
    assert_problem(again, 409)
    bad = await client.post(
        "/v1/monitoring/rules", json={**rule, "name": "x", "condition": "~"}, headers=headers
    )
    assert_problem(bad, 400)
    denied = await client.post("/v1/monitoring/rules", json=rule, headers=reader)
    assert_problem(denied, 403)
    listed = await client.get("/v1/monitoring/rules", headers=reader)
    assert [r["name"] for r in listed.json()] == ["churn-error-rate"]

    traffic(churn, 20, at=now(), error_every=2)
    fired = await client.post("/v1/monitoring/alerts/evaluate", headers=headers)
    assert [a["state"] for a in fired.json()] == ["firing"]
    naive = now().replace(tzinfo=None).isoformat()  # UTC, as embedded takes it
    again = await client.post(
        "/v1/monitoring/alerts/evaluate", json={"now": naive}, headers=headers
    )
    assert again.status_code == 200 and again.json() == []  # still firing: nothing changed
    soon = await client.post(
        "/v1/monitoring/alerts/evaluate", json={"now": "soon"}, headers=headers
    )
    assert assert_problem(soon, 400)["field"] == "now"
    alerts = await client.get("/v1/monitoring/alerts", params={"state": "firing"}, headers=reader)
    assert len(alerts.json()) == 1
    bad_state = await client.get("/v1/monitoring/alerts", params={"state": "x"}, headers=reader)
    assert_problem(bad_state, 400)
    deleted = await client.delete("/v1/monitoring/rules/churn-error-rate", headers=headers)
    assert deleted.status_code == 204
    gone = await client.delete("/v1/monitoring/rules/churn-error-rate", headers=headers)
    assert_problem(gone, 404)


def _arrow(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


async def test_a_reference_uploaded_as_arrow(
    client: httpx.AsyncClient, installation: Installation, churn: Churn, project_name: str
) -> None:
    headers = _headers(installation, project_name)
    path = "/v1/monitoring/references/churn/1"
    rows = _arrow(training_frame(30, seed=5).drop(columns="label").assign(scored=1))
    arrow = {**headers, "content-type": ARROW_STREAM}
    uploaded = await client.put(path, content=rows, params={"predictions": "scored"}, headers=arrow)
    assert uploaded.status_code == 200, uploaded.text
    assert (uploaded.json()["rows"], uploaded.json()["source"]) == (30, "explicit")
    assert uploaded.json()["predictions_source"] == "column 'scored' of the reference"
    by_query = await client.put(path, content=rows, params={"format": "arrow"}, headers=headers)
    assert by_query.status_code == 200, by_query.text
    missing = await client.put(path, content=rows, params={"predictions": "x"}, headers=arrow)
    assert assert_problem(missing, 400, code="invalid-input")["field"] == "predictions"
    garbage = await client.put(path, content=b"not arrow", headers=arrow)
    assert assert_problem(garbage, 400)["field"] == "body"
    reader = _headers(installation, project_name, Role.READER)
    denied = await client.put(path, content=rows, headers={**reader, "content-type": ARROW_STREAM})
    assert_problem(denied, 403)


async def test_a_bad_reference_body_is_a_problem(
    client: httpx.AsyncClient, installation: Installation, churn: Churn, project_name: str
) -> None:
    headers = _headers(installation, project_name)
    path = "/v1/monitoring/references/churn/1"
    broken = await client.put(
        path, content=b'{"table": ', headers={**headers, "content-type": "application/json"}
    )
    assert assert_problem(broken, 400, code="invalid-input")["field"] == "body"
    for body in ({}, {"table": "raw.churn", "x": 1}, {"table": 3}):
        answer = await client.put(path, json=body, headers=headers)
        assert_problem(answer, 400, code="invalid-input")
    both = await client.put(
        path, json={"table": "raw.churn"}, params={"predictions": "p"}, headers=headers
    )
    assert assert_problem(both, 400)["field"] == "predictions"
    table = await client.put(path, json={"table": "raw.churn@0"}, headers=headers)
    assert table.status_code == 200 and table.json()["source"] == "raw.churn@0"


async def test_an_uploaded_reference_over_the_body_limit_is_refused(
    tmp_path: Path, database_url: str, project_name: str
) -> None:
    settings = Settings(
        home=tmp_path / "small",
        database_url=database_url,
        max_body_bytes=4096,
        max_upload_body_bytes=4096,  # a reference is an upload (its own, larger limit)
    )
    installation = Installation(settings)
    try:
        headers = _headers(installation, project_name)
        transport = httpx.ASGITransport(app=create_app(installation))
        async with httpx.AsyncClient(transport=transport, base_url="http://podium.test") as http:
            answer = await http.put(
                "/v1/monitoring/references/churn/1",
                content=_arrow(training_frame(2000, seed=1)),
                headers={**headers, "content-type": ARROW_STREAM},
            )
        assert_problem(answer, 413, code=PayloadTooLargeError.default_code)
    finally:
        installation.close()


async def test_another_project_sees_no_traffic(
    client: httpx.AsyncClient, installation: Installation, churn: Churn, project_name: str
) -> None:
    sent = traffic(churn, 5, at=now())
    other = _headers(installation, f"{project_name}-o")
    answer = await client.post(
        "/v1/feedback", json={"request_id": sent[0][0], "label": 1}, headers=other
    )
    assert_problem(answer, 404)
    drift = await client.get("/v1/monitoring/deployments/churn/drift", headers=other)
    assert_problem(drift, 404, code="not-found")


def test_the_remote_sdk_matches_the_embedded_one(
    live_server: LiveServer, churn: Churn, platform: Platform, project_name: str
) -> None:
    sent = traffic(churn, 50, at=now(), shift=2.0)
    key = live_server.key(project_name, Role.WRITER)
    with podium.connect(live_server.url, api_key=key, project=project_name) as remote:
        remote.monitoring.feedback_many(sent)
        window = timedelta(minutes=15)
        drift = remote.monitoring.drift("churn", window=window)
        assert drift.drifted_columns == ["tenure"]
        accuracy = remote.monitoring.accuracy("churn", window=window)
        assert accuracy.overall["accuracy"].value == 1.0
        remote.monitoring.create_rule(error_rate("churn"))
        assert [r.name for r in remote.monitoring.rules()] == ["churn-error-rate"]
        assert remote.monitoring.reference("churn", 1).source == "raw.churn@0"
        with pytest.raises(NotFoundError):
            remote.monitoring.feedback("missing", 1)
        with pytest.raises(NotFoundError, match="nothing"):
            remote.monitoring.drift("nothing")
        with pytest.raises(InvalidInputError):
            remote.monitoring.feedback(sent[0][0], "yes")
        with pytest.raises(InvalidInputError):
            remote.monitoring.create_rule({"name": "x"})
