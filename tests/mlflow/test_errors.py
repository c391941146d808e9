"""Roles, projects and bad input through MLflow's API: MLflow's error shapes, never a 500."""

from __future__ import annotations

import httpx
import pytest

from podium.access.roles import Role
from tests.mlflow.conftest import MlflowTarget, mlflow


def _run_in(target: MlflowTarget) -> str:
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1)
    return str(run.info.run_id)


def test_a_reader_key_may_read_but_its_writes_are_permission_denied(target: MlflowTarget) -> None:
    from mlflow.exceptions import MlflowException

    from mlflow import MlflowClient

    run_id = _run_in(target)
    target.use_key(target.key(Role.READER))
    client = MlflowClient()
    assert client.get_run(run_id).data.params == {"C": "1"}
    for write in (
        lambda: client.log_metric(run_id, "auc", 0.5),
        lambda: client.set_tag(run_id, "k", "v"),
        lambda: client.create_experiment("nope"),
        lambda: client.create_registered_model("nope"),
    ):
        with pytest.raises(MlflowException) as caught:
            write()
        assert caught.value.error_code == "PERMISSION_DENIED"
    assert "auc" not in client.get_run(run_id).data.metrics


def test_another_projects_run_does_not_exist(target: MlflowTarget) -> None:
    from mlflow.exceptions import MlflowException

    from mlflow import MlflowClient

    run_id = _run_in(target)
    target.use_key(target.key(Role.ADMIN, project=f"{target.project}-other"))
    client = MlflowClient()
    for call in (
        lambda: client.get_run(run_id),
        lambda: client.log_param(run_id, "x", 1),
        lambda: client.list_artifacts(run_id),
        lambda: client.get_metric_history(run_id, "auc"),
    ):
        with pytest.raises(MlflowException) as caught:
            call()
        assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_bad_input_is_invalid_parameter_value(target: MlflowTarget) -> None:
    from mlflow.exceptions import MlflowException

    from mlflow import MlflowClient

    run_id = _run_in(target)
    client = MlflowClient()
    with pytest.raises(MlflowException) as caught:
        client.search_runs(["0"], filter_string="metrics.auc >>> 1")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as caught:
        client.log_param(run_id, "C", 2)  # a param never changes
    assert caught.value.get_http_status_code() == 400


# (method, path, body, status, error_code); RUN stands for a run of the test's project.
_MALFORMED = [
    ("POST", "/api/2.0/mlflow/runs/log-metric", b"{not json", 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "/api/2.0/mlflow/runs/log-metric", b"[1, 2]", 400, "INVALID_PARAMETER_VALUE"),
    (
        "POST",
        "/api/2.0/mlflow/runs/log-metric",
        b'{"run_id": "x"}',
        400,
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        b'{"run_id": 5}',
        400,
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        b'{"run_id": "RUN", "metrics": [{"key": "a", "value": "x", "timestamp": 1}]}',
        400,
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        b'{"run_id": "RUN", "metrics": [{"key": "a", "value": 1, "timestamp": 1e30}]}',
        400,
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        b'{"run_id": "RUN", "metrics": [{"value": 1, "timestamp": 1}, {"key": [], "value": true}]}',
        400,
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "/api/2.0/mlflow/runs/log-parameter",
        b'{"run_id": "RUN", "key": "a/../b\\u0000", "value": "1"}',
        400,
        "INVALID_PARAMETER_VALUE",
    ),
    ("GET", "/api/2.0/mlflow/runs/get?run_id=0123", b"", 404, "RESOURCE_DOES_NOT_EXIST"),
    ("GET", "/api/2.0/mlflow/runs/get", b"", 400, "INVALID_PARAMETER_VALUE"),
    (
        "PUT",
        "/api/2.0/mlflow-artifacts/artifacts/not-a-run-path",
        b"x",
        400,
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "PUT",
        "/api/2.0/mlflow-artifacts/artifacts/1/RUN/artifacts/../../etc",
        b"x",
        400,
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "/api/2.0/mlflow/model-versions/create",
        b'{"name": "m", "source": "s3://b/k"}',
        400,
        "INVALID_PARAMETER_VALUE",
    ),
    ("GET", "/api/2.0/mlflow/no/such/endpoint", b"", 404, "ENDPOINT_NOT_FOUND"),
    (
        "POST",
        "/api/2.0/mlflow/experiments/delete",
        b'{"experiment_id": "1"}',
        501,
        "NOT_IMPLEMENTED",
    ),
]


def test_malformed_requests_get_mlflow_errors(target: MlflowTarget) -> None:
    run_id = _run_in(target)
    headers = {"Authorization": f"Bearer {target.key()}"}
    for method, path, body, status, code in _MALFORMED:
        response = httpx.request(
            method,
            target.server.url + path.replace("RUN", run_id),
            content=body.replace(b"RUN", run_id.encode()),
            headers=headers,
        )
        got = (response.status_code, response.json()["error_code"])
        assert got == (status, code), (method, path, response.text)
        assert response.json()["message"]


def test_a_missing_key_is_refused(target: MlflowTarget) -> None:
    response = httpx.get(target.server.url + "/api/2.0/mlflow/experiments/get?experiment_id=0")
    assert response.status_code == 401
