"""The prediction routes over HTTP: contract body, bad input as problem+json, OIP v2."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

import podium
from podium.access.roles import Role
from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.platform import Installation, Platform
from tests.api.assertions import assert_problem
from tests.conftest import LiveServer
from tests.serving.conftest import FEATURES, MAX_BODY, Api

CONTRACT = {
    "prediction",
    "probability",
    "probabilities",
    "model_version",
    "latency_ms",
    "request_id",
    "served_by",
    "cached",
}


@pytest.fixture
def deployed(churn_models: Platform) -> Platform:
    churn_models.deployments.create("churn", model="churn/1")
    return churn_models


def test_a_reader_key_predicts_with_the_contract_body(predictions_api: Api) -> None:
    response = predictions_api.predict({"model_id": "churn", "features": FEATURES})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == CONTRACT
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["model_version"] == "1" and body["served_by"] == "primary"


def test_batch_instances_over_http(predictions_api: Api) -> None:
    rows = [FEATURES, {**FEATURES, "tenure_months": 3}]
    response = predictions_api.predict({"model_id": "churn", "instances": rows})
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 2


BAD_BODIES = [
    ("{not json", "body", 400),
    ('["a list"]', "body", 400),
    ('{"features": {}}', "model_id", 400),
    ('{"model_id": "nope", "features": {}}', "model_id", 404),
    ('{"model_id": "churn", "features": {"tenure_months": 1, "monthly_charges": 2.0}}',
     "support_calls", 400),
    ('{"model_id": "churn", "features": {"tenure_months": 1, "monthly_charges": 2.0, '
     '"support_calls": 1, "zip": "x"}}', "zip", 400),
    ('{"model_id": "churn", "features": {"tenure_months": "ten", "monthly_charges": 2.0, '
     '"support_calls": 1}}', "tenure_months", 400),
    ('{"model_id": "churn", "features": {"tenure_months": true, "monthly_charges": 2.0, '
     '"support_calls": 1}}', "tenure_months", 400),
    ('{"model_id": "churn", "features": {"tenure_months": 1, "monthly_charges": NaN, '
     '"support_calls": 1}}', "monthly_charges", 400),
    ('{"model_id": "churn", "features": {"tenure_months": 1, "monthly_charges": Infinity, '
     '"support_calls": 1}}', "monthly_charges", 400),
    ('{"model_id": "churn", "features": {"tenure_months": 1, "monthly_charges": 1e999, '
     '"support_calls": 1}}', "monthly_charges", 400),
    ('{"model_id": "churn", "features": [1, 2, 3]}', "features", 400),
    ('{"model_id": "churn", "instances": []}', "instances", 400),
    ('{"model_id": "churn", "instances": [{"tenure_months": 1}]}', "instances[0].monthly_charges",
     400),
    ('{"model_id": "churn", "features": {}, "extra": 1}', "extra", 400),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "field", "status"), BAD_BODIES)
def test_bad_input_is_a_problem_naming_the_field(
    predictions_api: Api, raw: str, field: str, status: int
) -> None:
    response = predictions_api.http.post(
        "/v1/predictions",
        content=raw.encode(),
        headers={**predictions_api.headers, "content-type": "application/json"},
    )
    body = assert_problem(response, status)
    assert body["field"] == field


def test_an_oversized_body_is_413(predictions_api: Api) -> None:
    rows = [FEATURES] * (MAX_BODY // 40)
    raw = json.dumps({"model_id": "churn", "instances": rows}).encode()
    assert len(raw) > MAX_BODY
    response = predictions_api.http.post(
        "/v1/predictions",
        content=raw,
        headers={**predictions_api.headers, "content-type": "application/json"},
    )
    assert_problem(response, 413)


def test_keys_of_other_projects_see_no_deployment(
    predictions_api: Api, installation: Installation
) -> None:
    installation.projects.ensure("elsewhere")
    _, other = installation.keys.create("elsewhere", Role.ADMIN, name="other")
    response = predictions_api.http.post(
        "/v1/predictions",
        json={"model_id": "churn", "features": FEATURES},
        headers={"authorization": f"Bearer {other}"},
    )
    assert_problem(response, 404)
    assert_problem(predictions_api.http.post("/v1/predictions", json={"model_id": "churn"}), 401)


def test_a_given_request_id_is_echoed_and_a_made_one_is_unique(predictions_api: Api) -> None:
    given = predictions_api.predict(
        {"model_id": "churn", "features": FEATURES},
        headers={**predictions_api.headers, "x-request-id": "client-42"},
    )
    assert given.headers["x-request-id"] == given.json()["request_id"] == "client-42"
    unsafe = predictions_api.predict(
        {"model_id": "churn", "features": {}},
        headers={**predictions_api.headers, "x-request-id": "no spaces allowed"},
    )
    made = assert_problem(unsafe, 400)["request_id"]
    assert made != "no spaces allowed" and unsafe.headers["x-request-id"] == made
    ids = {
        predictions_api.predict({"model_id": "churn", "features": FEATURES}).json()["request_id"]
        for _ in range(5)
    }
    assert len(ids) == 5


def test_a_streamed_body_over_the_limit_is_413(predictions_api: Api) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"model_id": "churn", "instances": ['
        for _ in range(MAX_BODY // 500):  # twice the limit
            yield b'{"tenure_months": 1, "monthly_charges": 2.0, "support_calls": 1},' * 15
        yield b"]}"

    response = predictions_api.http.post(
        "/v1/predictions", content=chunks(), headers=predictions_api.headers
    )
    assert_problem(response, 413)


def test_the_project_header_must_name_the_keys_project(predictions_api: Api) -> None:
    body = {"model_id": "churn", "features": FEATURES}
    own = {**predictions_api.headers, "x-podium-project": predictions_api.project}
    assert predictions_api.predict(body, headers=own).status_code == 200
    other = {**predictions_api.headers, "x-podium-project": "elsewhere"}
    assert_problem(predictions_api.predict(body, headers=other), 404)


def test_only_post_predicts(predictions_api: Api) -> None:
    response = predictions_api.http.get("/v1/predictions", headers=predictions_api.headers)
    assert_problem(response, 405)


def test_a_revoked_key_is_refused_soon(predictions_api: Api, installation: Installation) -> None:
    key, secret = installation.keys.create(predictions_api.project, Role.READER, name="short")
    headers = {"authorization": f"Bearer {secret}"}
    body = {"model_id": "churn", "features": FEATURES}
    assert predictions_api.predict(body, headers=headers).status_code == 200
    installation.keys.revoke(predictions_api.project, key.id)
    revoked = time.monotonic()
    # The platform server shares the revoking process's key cache: refused at once. A
    # replica is another process: its key cache (5 s) and the front's memory (1 s).
    limit = 0.5 if predictions_api.kind == "platform" else 6.5
    while predictions_api.predict(body, headers=headers).status_code == 200:
        assert time.monotonic() - revoked < limit, "the revoked key still works"
        time.sleep(0.1)
    assert_problem(predictions_api.predict(body, headers=headers), 401)


def test_get_deployment_shows_stored_and_live_state(api: Api, deployed: Platform) -> None:
    api.predict({"model_id": "churn", "features": FEATURES})
    response = api.http.get("/v1/deployments/churn", headers=api.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["spec"]["name"] == "churn" and body["traffic"]["stable"] == 1
    assert body["status"]["versions"] == ["1"]
    assert body["status"]["breakers"]["1/primary"]["state"] == "closed"


def test_metrics_count_requests_per_version(api: Api, deployed: Platform) -> None:
    for _ in range(3):
        api.predict({"model_id": "churn", "features": FEATURES})
    api.predict({"model_id": "churn", "features": {}})
    text = api.http.get("/metrics", headers=api.headers).text
    line = 'podium_predictions_total{deployment="churn",served_by="primary",version="1"} 3.0'
    assert line in text
    assert 'podium_cache_hits_total{deployment="churn",version="1"} 2.0' in text
    assert 'podium_prediction_errors_total{code="invalid-input",deployment="churn"} 1.0' in text
    assert 'podium_breaker_state{deployment="churn",link="primary",version="1"} 0.0' in text


def test_open_inference_protocol_v2(api: Api, deployed: Platform) -> None:
    assert api.http.get("/v2/health/ready").json() == {"ready": True}
    meta = api.http.get("/v2/models/churn", headers=api.headers).json()
    assert [i["name"] for i in meta["inputs"]] == list(FEATURES)
    assert api.http.get("/v2/models/churn/ready", headers=api.headers).status_code == 200
    per_feature = {
        "id": "r1",
        "inputs": [
            {"name": "tenure_months", "shape": [2], "datatype": "INT64", "data": [24, 2]},
            {"name": "monthly_charges", "shape": [2], "datatype": "FP64", "data": [89.99, 110]},
            {"name": "support_calls", "shape": [2, 1], "datatype": "INT64", "data": [[2], [1]]},
        ],
    }
    answer = api.http.post("/v2/models/churn/infer", json=per_feature, headers=api.headers)
    assert answer.status_code == 200, answer.text
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert answer.json()["id"] == "r1" and answer.json()["model_version"] == "1"
    assert outputs["predict"]["shape"] == [2]
    assert outputs["probabilities"]["shape"] == [2, 2]
    matrix = {
        "inputs": [
            {
                "name": "input-0",
                "shape": [2, 3],
                "datatype": "FP64",
                "data": [24, 89.99, 2, 2, 110, 1],
            }
        ]
    }
    same = api.http.post("/v2/models/churn/infer", json=matrix, headers=api.headers)
    assert same.status_code == 200, same.text
    assert {o["name"]: o for o in same.json()["outputs"]}["probability"]["data"] == outputs[
        "probability"
    ]["data"]
    wrong = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}
    bad = api.http.post("/v2/models/churn/infer", json=wrong, headers=api.headers)
    assert assert_problem(bad, 400)["field"] == "inputs[0].shape"


def test_the_remote_sdk_deploys_rolls_out_and_predicts(
    churn_models: Platform, live_server: LiveServer
) -> None:
    writer = live_server.key(churn_models.project, Role.WRITER)
    with podium.connect(live_server.url, api_key=writer, project=churn_models.project) as remote:
        created = remote.deployments.create(
            model="churn/1", fallback={"default": {"prediction": 0}}
        )
        assert created.name == "churn" and created.spec.fallback.default == {"prediction": 0}
        assert remote.predict("churn", features=FEATURES)["model_version"] == "1"
        remote.deployments.canary("churn", 2, weight=1.0, auto=False)
        deadline = time.monotonic() + 10  # the server reloads in the background
        while remote.predict("churn", features=FEATURES)["model_version"] != "2":
            assert time.monotonic() < deadline, "the canary never served"
            time.sleep(0.05)
        promoted = remote.deployments.promote("churn")
        assert (promoted.traffic.stable, promoted.traffic.blue) == (2, 1)
        assert [d.name for d in remote.deployments.list()] == ["churn"]
        assert remote.deployments.get("churn") == churn_models.deployments.get("churn")
        assert [c.action for c in remote.deployments.history("churn")] == [
            "created",
            "canary",
            "promote",
        ]
        with pytest.raises(ConflictError):
            remote.deployments.switch("churn")
        with pytest.raises(InvalidInputError) as bad:
            remote.predict("churn", features={**FEATURES, "tenure_months": "x"})
        assert bad.value.field == "tenure_months"
        remote.deployments.delete("churn")
        with pytest.raises(NotFoundError):
            remote.deployments.get("churn")
