"""The real ``tritonclient.grpc`` against podium's ``GRPCInferenceService``.

Behind the platform server and behind a ``podium serve`` replica, each with the gRPC
server on its event loop (``with_grpc``): the same predictions as ``/v1/predictions``,
podium's messages in the gRPC status details, and bad input as ``INVALID_ARGUMENT``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException

from podium.access.ratelimit import parse_rate_limit
from podium.access.roles import Role
from podium.access.scopes import parse_scope
from podium.api.app import create_app
from podium.api.replica_server import create_serving_app, runtime_for_replica
from podium.platform import Installation, Platform
from podium.replica import open_replica
from podium.serving.grpc import grpc_predict_v2_pb2 as pb
from podium.serving.grpc import with_grpc
from tests.conftest import free_port, loopback_server
from tests.serving.conftest import MAX_BODY, Api, churn_frame

ROWS = 6


@dataclass
class GrpcApi:
    """A server with gRPC on ``target``, its REST ``api`` and a reader key."""

    api: Api
    target: str
    secret: str

    def client(self) -> triton.InferenceServerClient:
        return triton.InferenceServerClient(url=self.target)

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.secret}"}


@pytest.fixture(params=["platform", "serve"])
def grpc_api(
    request: pytest.FixtureRequest, churn_models: Platform, installation: Installation
) -> Iterator[GrpcApi]:
    churn_models.deployments.create("churn", model="churn/1")
    project = churn_models.project
    _, secret = installation.keys.create(project, Role.READER, name="reader")
    port = free_port()
    replica = None
    if request.param == "platform":
        app: Any = create_app(installation)
        keys = installation.keys
        runtime_for: Any = lambda caller: installation.runtime(caller.project)  # noqa: E731
    else:
        replica = open_replica(installation.settings, project, "churn")
        app = create_serving_app(
            replica.runtime, keys=replica.keys, max_body_bytes=replica.max_body_bytes
        )
        keys, runtime_for = replica.keys, runtime_for_replica(replica.runtime)
    served = with_grpc(
        app,
        keys=keys,
        runtime_for=runtime_for,
        host="127.0.0.1",
        port=port,
        max_message_bytes=MAX_BODY,
    )
    try:
        with loopback_server(served) as url, httpx.Client(base_url=url, timeout=30) as http:
            api = Api(http, {"authorization": f"Bearer {secret}"}, project, request.param)
            yield GrpcApi(api, f"127.0.0.1:{port}", secret)
    finally:
        if replica is not None:
            replica.close()


def _inputs() -> tuple[list[triton.InferInput], list[dict[str, Any]]]:
    frame, _ = churn_frame(ROWS, seed=11)
    inputs = []
    for column in frame.columns:
        values = frame[column].to_numpy()
        integer = values.dtype.kind == "i"
        tensor = triton.InferInput(column, [ROWS], "INT64" if integer else "FP64")
        tensor.set_data_from_numpy(values.astype(np.int64 if integer else np.float64))
        inputs.append(tensor)
    return inputs, frame.to_dict("records")


def test_tritonclient_grpc_gets_the_v1_predictions(grpc_api: GrpcApi) -> None:
    client = grpc_api.client()
    headers = grpc_api.headers()
    assert client.is_server_live() and client.is_server_ready()
    meta = client.get_server_metadata()
    assert meta.name == "podium" and "binary_tensor_data" in meta.extensions
    assert client.is_model_ready("churn", headers=headers)
    assert client.is_model_ready("churn", "1", headers=headers)
    model = client.get_model_metadata("churn", headers=headers)
    assert [t.name for t in model.inputs] == ["tenure_months", "monthly_charges", "support_calls"]
    inputs, rows = _inputs()
    result = client.infer("churn", inputs, headers=headers)  # raw_input_contents
    answer = grpc_api.api.predict({"model_id": "churn", "instances": rows})
    assert answer.status_code == 200, answer.text
    expected = answer.json()["predictions"]
    assert result.as_numpy("predict").tolist() == [e["prediction"] for e in expected]
    assert result.as_numpy("probability").tolist() == [e["probability"] for e in expected]
    assert result.as_numpy("probabilities").shape == (ROWS, 2)
    assert result.get_response().model_version == "1"
    # Typed contents instead of raw bytes, one output asked for: the same numbers.
    request = pb.ModelInferRequest(
        model_name="churn",
        inputs=[
            pb.ModelInferRequest.InferInputTensor(
                name=name,
                datatype="FP64",
                shape=[ROWS],
                contents=pb.InferTensorContents(fp64_contents=[float(r[name]) for r in rows]),
            )
            for name in rows[0]
        ],
        outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="probability")],
    )
    typed = _call(grpc_api, "ModelInfer", request.SerializeToString(), pb.ModelInferResponse)
    assert [o.name for o in typed.outputs] == ["probability"]
    values = np.frombuffer(typed.raw_output_contents[0], dtype="<f8").tolist()
    assert values == [e["probability"] for e in expected]


def _call(grpc_api: GrpcApi, method: str, raw: bytes, answer: Any = None, **kw: Any) -> Any:
    """Call ``method`` with raw request bytes (a malformed message is possible)."""
    with grpc.insecure_channel(grpc_api.target) as channel:
        call = channel.unary_unary(
            f"/inference.GRPCInferenceService/{method}",
            request_serializer=None,
            response_deserializer=answer.FromString if answer is not None else None,
        )
        metadata = kw.get("metadata", (("authorization", f"Bearer {grpc_api.secret}"),))
        return call(raw, metadata=metadata, timeout=30)


def _status(grpc_api: GrpcApi, method: str, raw: bytes, **kw: Any) -> tuple[Any, str]:
    with pytest.raises(grpc.RpcError) as error:
        _call(grpc_api, method, raw, **kw)
    return error.value.code(), error.value.details()


def test_errors_are_grpc_statuses_with_podium_messages(grpc_api: GrpcApi) -> None:
    client = grpc_api.client()
    inputs, _ = _inputs()
    with pytest.raises(InferenceServerException) as missing:
        client.infer("no-such-deployment", inputs, headers=grpc_api.headers())
    assert missing.value.status() == "StatusCode.NOT_FOUND"
    assert "no-such-deployment" in missing.value.message()
    with pytest.raises(InferenceServerException) as keyless:
        client.infer("churn", inputs)
    assert keyless.value.status() == "StatusCode.UNAUTHENTICATED"
    with pytest.raises(InferenceServerException) as wrong_key:
        client.infer("churn", inputs, headers={"authorization": "Bearer pk_nope"})
    assert wrong_key.value.status() == "StatusCode.UNAUTHENTICATED"

    def infer(*tensors: Any, raw: list[bytes] | None = None) -> bytes:
        request = pb.ModelInferRequest(model_name="churn", inputs=tensors, raw_input_contents=raw)
        return request.SerializeToString()

    tensor = pb.ModelInferRequest.InferInputTensor
    bad = {
        "a malformed message": b"\xff\xff\xff\xff",
        "an unknown datatype": infer(
            tensor(name="tenure_months", datatype="BF16", shape=[1]), raw=[b"\0\0"]
        ),
        "too few bytes": infer(
            tensor(name="tenure_months", datatype="INT64", shape=[2]), raw=[b"\0" * 12]
        ),
        "raw for some inputs only": infer(
            tensor(name="tenure_months", datatype="INT64", shape=[1]),
            tensor(name="support_calls", datatype="INT64", shape=[1]),
            raw=[b"\0" * 8],
        ),
        "too few values": infer(
            tensor(
                name="tenure_months",
                datatype="INT64",
                shape=[3],
                contents=pb.InferTensorContents(int64_contents=[1]),
            )
        ),
        "a [N, 2] feature": infer(
            tensor(
                name="tenure_months",
                datatype="INT64",
                shape=[1, 2],
                contents=pb.InferTensorContents(int64_contents=[1, 2]),
            )
        ),
        "no inputs": infer(),
    }
    for case, raw in bad.items():
        code, details = _status(grpc_api, "ModelInfer", raw)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (case, details)
        assert details, case
    code, details = _status(grpc_api, "ModelReady", b"\xff\xff")
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "ModelReadyRequest" in details
    version = pb.ModelReadyRequest(name="churn", version="7").SerializeToString()
    code, details = _status(grpc_api, "ModelReady", version)
    assert code == grpc.StatusCode.NOT_FOUND and "version '7'" in details
    huge = infer(
        tensor(name="tenure_months", datatype="INT64", shape=[40_000]), raw=[b"\0" * 320_000]
    )
    code, _ = _status(grpc_api, "ModelInfer", huge)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_another_projects_key_does_not_see_the_deployment(
    grpc_api: GrpcApi, installation: Installation
) -> None:
    installation.projects.create("elsewhere")
    _, other = installation.keys.create("elsewhere", Role.ADMIN, name="other")
    request = pb.ModelReadyRequest(name="churn").SerializeToString()
    code, details = _status(
        grpc_api, "ModelReady", request, metadata=(("authorization", f"Bearer {other}"),)
    )
    assert code == grpc.StatusCode.NOT_FOUND, details


def test_a_scoped_key_predicts_only_with_its_deployment(
    grpc_api: GrpcApi, churn_models: Platform, installation: Installation
) -> None:
    churn_models.deployments.create("churn-b", model="churn/1")
    project = churn_models.project
    _, scoped = installation.keys.create(
        project, Role.READER, name="churn-only", scopes=[parse_scope("predict:churn")]
    )
    inputs, _ = _inputs()
    client = grpc_api.client()
    assert client.infer("churn", inputs, headers={"authorization": f"Bearer {scoped}"})
    with pytest.raises(InferenceServerException) as other:
        client.infer("churn-b", inputs, headers={"authorization": f"Bearer {scoped}"})
    assert other.value.status() == "StatusCode.PERMISSION_DENIED"
    assert "may predict with churn" in other.value.message()
    request = pb.ModelMetadataRequest(name="churn-b").SerializeToString()
    code, _ = _status(
        grpc_api, "ModelMetadata", request, metadata=(("authorization", f"Bearer {scoped}"),)
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED


def test_a_burst_over_a_keys_limit_is_resource_exhausted_with_retry_after(
    grpc_api: GrpcApi, churn_models: Platform, installation: Installation
) -> None:
    _, limited = installation.keys.create(
        churn_models.project,
        Role.READER,
        name="slow",
        rate_limit=parse_rate_limit("3/minute", burst=3),
    )
    request = pb.ModelReadyRequest(name="churn").SerializeToString()
    metadata = (("authorization", f"Bearer {limited}"),)
    for _ in range(3):
        _call(grpc_api, "ModelReady", request, metadata=metadata)
    with grpc.insecure_channel(grpc_api.target) as channel:
        call = channel.unary_unary("/inference.GRPCInferenceService/ModelReady")
        with pytest.raises(grpc.RpcError) as refused:
            call(request, metadata=metadata, timeout=30)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    trailing = dict(refused.value.trailing_metadata() or ())
    assert int(trailing["retry-after"]) >= 1
    _call(grpc_api, "ModelReady", request)  # another key is unaffected
