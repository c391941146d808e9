"""The real ``tritonclient`` over REST with its defaults (binary tensors) against podium.

Behind the platform server and behind ``podium serve`` (the ``predictions_api`` fixture),
the client's answers must equal ``POST /v1/predictions`` on the same rows, and podium's
error messages must reach the client.
"""

from __future__ import annotations

import json
import os
import ssl
import struct
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from tests.api.assertions import assert_problem
from tests.serving.conftest import Api, churn_frame

ROWS = 6


def _client(api: Api) -> triton.InferenceServerClient:
    """The client of ``api``'s server, over TLS when it serves HTTPS (trusting the test CA
    that ``SSL_CERT_FILE`` names)."""
    scheme, _, address = str(api.http.base_url).rstrip("/").partition("://")
    if scheme == "http":
        return triton.InferenceServerClient(url=address)
    ca = os.environ["SSL_CERT_FILE"]
    return triton.InferenceServerClient(
        url=address,
        ssl=True,
        ssl_context_factory=lambda *args, **kwargs: ssl.create_default_context(cafile=ca),
    )


def _inputs() -> tuple[list[triton.InferInput], list[dict[str, Any]]]:
    frame, _ = churn_frame(ROWS, seed=7)
    inputs = []
    for column in frame.columns:
        values = frame[column].to_numpy()
        datatype = "INT64" if values.dtype.kind == "i" else "FP64"
        tensor = triton.InferInput(column, [ROWS], datatype)
        tensor.set_data_from_numpy(values.astype(np.int64 if datatype == "INT64" else np.float64))
        inputs.append(tensor)
    return inputs, frame.to_dict("records")


def _v1(api: Api, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answer = api.predict({"model_id": "churn", "instances": rows})
    assert answer.status_code == 200, answer.text
    predictions: list[dict[str, Any]] = answer.json()["predictions"]
    return predictions


def test_tritonclient_defaults_get_the_v1_predictions(predictions_api: Api) -> None:
    client = _client(predictions_api)
    headers = predictions_api.headers
    # tritonclient adds its own headers to the dict it is given: each call gets a copy.
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("churn", headers=dict(headers))
    assert client.is_model_ready("churn", "1", headers=dict(headers))
    meta = client.get_model_metadata("churn", headers=dict(headers))
    assert [i["name"] for i in meta["inputs"]] == [
        "tenure_months",
        "monthly_charges",
        "support_calls",
    ]
    inputs, rows = _inputs()
    result = client.infer("churn", inputs, headers=dict(headers))  # binary in and out by default
    expected = _v1(predictions_api, rows)
    assert result.as_numpy("predict").tolist() == [e["prediction"] for e in expected]
    assert result.as_numpy("probability").tolist() == [e["probability"] for e in expected]
    assert result.as_numpy("probabilities").shape == (ROWS, 2)
    assert result.get_response()["model_version"] == "1"
    # One output asked for, as JSON; and the version route answers the same.
    json_out = client.infer(
        "churn",
        inputs,
        model_version="1",
        outputs=[triton.InferRequestedOutput("probability", binary_data=False)],
        headers=dict(headers),
    )
    assert [o["name"] for o in json_out.get_response()["outputs"]] == ["probability"]
    assert json_out.as_numpy("probability").tolist() == [e["probability"] for e in expected]


def test_tritonclient_reads_podium_errors(predictions_api: Api) -> None:
    client = _client(predictions_api)
    meta = client.get_server_metadata()  # no key needed
    assert meta["name"] == "podium" and "binary_tensor_data" in meta["extensions"]
    inputs, _ = _inputs()
    with pytest.raises(InferenceServerException) as missing:
        client.infer("no-such-deployment", inputs, headers=dict(predictions_api.headers))
    assert missing.value.status() == "404" and "no-such-deployment" in missing.value.message()
    with pytest.raises(InferenceServerException) as keyless:
        client.infer("churn", inputs)
    assert keyless.value.status() == "401" and "key" in keyless.value.message()
    odd = triton.InferInput("tenure_months", [ROWS, 2], "INT64")
    odd.set_data_from_numpy(np.zeros((ROWS, 2), dtype=np.int64))
    with pytest.raises(InferenceServerException) as shaped:
        client.infer("churn", [odd], headers=dict(predictions_api.headers))
    assert shaped.value.status() == "400" and "[N] or [N, 1]" in shaped.value.message()
    assert not client.is_model_ready("churn", "9", headers=dict(predictions_api.headers))


def _binary(header: dict[str, Any], raw: bytes) -> tuple[bytes, dict[str, str]]:
    text = json.dumps(header).encode()
    return text + raw, {"inference-header-content-length": str(len(text))}


def _tensor(name: str, datatype: str, shape: list[int], size: int) -> dict[str, Any]:
    return {
        "name": name,
        "datatype": datatype,
        "shape": shape,
        "parameters": {"binary_data_size": size},
    }


BAD_BINARY = [
    # 2 INT64 need 16 bytes, 12 sent
    (
        {"inputs": [_tensor("tenure_months", "INT64", [2], 12)]},
        b"\0" * 12,
        None,
        "tenure_months",
    ),
    # the sizes leave bytes over
    ({"inputs": [_tensor("tenure_months", "INT64", [1], 8)]}, b"\0" * 12, None, "body"),
    # a size past the end
    (
        {"inputs": [_tensor("tenure_months", "INT64", [1], 80)]},
        b"\0" * 8,
        None,
        "tenure_months",
    ),
    ({"inputs": [_tensor("tenure_months", "BF16", [1], 2)]}, b"\0" * 2, None, "tenure_months"),
    # a BYTES element longer than the data
    (
        {"inputs": [_tensor("tenure_months", "BYTES", [1], 6)]},
        struct.pack("<I", 9) + b"ab",
        None,
        "tenure_months",
    ),
    (
        {"inputs": [_tensor("tenure_months", "INT64", [1], 8)]},
        b"\0" * 8,
        "99999",
        "Inference-Header-Content-Length",
    ),
    (
        {"inputs": [_tensor("tenure_months", "INT64", [1], 8)]},
        b"\0" * 8,
        "x1",
        "Inference-Header-Content-Length",
    ),
    (
        {"inputs": [_tensor("tenure_months", "INT64", [1], 8)], "outputs": [{"name": "zz"}]},
        b"\0" * 8,
        None,
        "outputs",
    ),
]
"""(JSON header, raw bytes, Inference-Header-Content-Length override, field named)."""


def test_bad_binary_requests_are_400_with_an_error_member(api: Api, deployed_churn: None) -> None:
    for header, raw, length, field in BAD_BINARY:
        body, headers = _binary(header, raw)
        if length is not None:
            headers["inference-header-content-length"] = length
        answer = api.http.post(
            "/v2/models/churn/infer", content=body, headers={**api.headers, **headers}
        )
        problem = assert_problem(answer, 400)
        assert problem["field"] == field, problem
        assert problem["error"].startswith(problem["detail"])


BAD_JSON = [
    (b"{not json", 400),
    (b'{"inputs": [{"name": "a", "shape": [1], "datatype": "STRING", "data": [1]}]}', 400),
    (b'{"inputs": [{"name": "a", "shape": [-1], "datatype": "FP64", "data": [1]}]}', 400),
    (b'{"inputs": [{"name": "a", "shape": [3], "datatype": "FP64", "data": [1]}]}', 400),
    (
        b'{"inputs": [{"name": "a", "shape": [1000000000000], "datatype": "FP64", "data": [1]}]}',
        400,
    ),
    (b'{"inputs": []}', 400),
    (b"[]", 400),
    (b"x" * (300 * 1024), 413),
]


def test_bad_json_requests_are_4xx_with_an_error_member(api: Api, deployed_churn: None) -> None:
    for body, status in BAD_JSON:
        answer = api.http.post("/v2/models/churn/infer", content=body, headers=api.headers)
        problem = assert_problem(answer, status)
        assert problem["error"].startswith(problem["detail"])


def test_version_routes(api: Api, deployed_churn: None) -> None:
    meta = api.http.get("/v2/models/churn/versions/1", headers=api.headers)
    assert meta.status_code == 200 and meta.json()["versions"] == ["1"]
    missing = api.http.get("/v2/models/churn/versions/2/ready", headers=api.headers)
    assert "version '2'" in assert_problem(missing, 404)["error"]
    unknown = api.http.get("/v2/models/nope/ready", headers=api.headers)
    assert "nope" in assert_problem(unknown, 404)["error"]
    route = api.http.get("/v2/no/such/route", headers=api.headers)
    assert assert_problem(route, 404)["error"]
    keyless = api.http.get("/v2/models/churn")
    assert assert_problem(keyless, 401)["error"]
