"""MLflow 3's logged models (``/logged-models``), kept as files of the run that logged them.

``mlflow.<flavor>.log_model`` first creates a logged model, uploads its files to the
model's artifact URI, then marks it ready. podium has no such object: a logged model is
the folder ``models/<model id>/`` of its source run (a model logged outside a run gets a
run of its own, ``model-<name>``, in the experiment), and its record (name, status,
params, tags) the run file ``.mlflow/logged-models/<model id>.json``. The model id is
``m-<run id><8 hex digits>``, so it names its run; another project's id is a 404.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from podium.api.deps import Reader, Writer, platform_of
from podium.api.mlflow.entities import experiment_key, run_artifact_uri
from podium.api.mlflow.errors import MlflowRoute
from podium.api.mlflow.fields import Fields, read_fields
from podium.errors import NotFoundError
from podium.tracking.protocol import Tracking

__all__ = ["LoggedModels", "model_folder", "router"]

router = APIRouter(route_class=MlflowRoute)
Body = Annotated[Fields, Depends(read_fields)]

_MODEL_ID = re.compile(r"m-([0-9a-f]{32})([0-9a-f]{8})")


def model_folder(model_id: str) -> tuple[str, str]:
    """``(run id, folder inside the run)`` of the logged model ``model_id``."""
    match = _MODEL_ID.fullmatch(model_id)
    if match is None:
        raise NotFoundError(
            f"Logged model with ID '{model_id}' not found",
            field="model_id",
            remedy="use the model id mlflow returned when logging the model",
        )
    return match.group(1), f"models/{model_id}"


class LoggedModels:
    """Logged models stored with their runs, through one project's tracking."""

    def __init__(self, tracking: Tracking) -> None:
        self._tracking = tracking

    def create(self, body: Fields) -> dict[str, Any]:
        """A new PENDING logged model, from a ``CreateLoggedModel`` request."""
        name = body.text("name", default="model")
        if body.has("source_run_id"):
            run = self._tracking.get_run(body.text("source_run_id"))
        else:
            experiment = experiment_key(body.text("experiment_id", default="0"))
            run = self._tracking.create_run(experiment, name=f"model-{name}"[:250])
            self._tracking.end_run(run.id)
        now = int(time.time() * 1000)
        record = {
            "model_id": f"m-{run.id}{secrets.token_hex(4)}",
            "experiment_id": run.experiment_id,
            "name": name,
            "model_type": body.text("model_type", default=""),
            "source_run_id": run.id,
            "status": "LOGGED_MODEL_PENDING",
            "creation_timestamp_ms": now,
            "last_updated_timestamp_ms": now,
            "tags": body.pairs("tags"),
            "params": body.pairs("params"),
        }
        self._write(record)
        return _logged_model_json(record)

    def get(self, model_id: str) -> dict[str, Any]:
        """The logged model's record as an MLflow ``LoggedModel``."""
        return _logged_model_json(self._read(model_id))

    def update(
        self,
        model_id: str,
        *,
        status: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Change the status, add tags or params; returns the logged model."""
        record = self._read(model_id)
        if status is not None:
            record["status"] = status
        record["tags"].update(tags or {})
        record["params"].update(params or {})
        record["last_updated_timestamp_ms"] = int(time.time() * 1000)
        self._write(record)
        return _logged_model_json(record)

    def _read(self, model_id: str) -> dict[str, Any]:
        run_id, _ = model_folder(model_id)
        try:
            data = self._tracking.read_artifact(run_id, _record_path(model_id))
        except NotFoundError:
            raise NotFoundError(
                f"Logged model with ID '{model_id}' not found",
                field="model_id",
                remedy="use the model id mlflow returned when logging the model",
            ) from None
        record: dict[str, Any] = json.loads(data)
        return record

    def _write(self, record: dict[str, Any]) -> None:
        data = json.dumps(record, sort_keys=True).encode()
        self._tracking.put_artifact(record["source_run_id"], _record_path(record["model_id"]), data)


def _record_path(model_id: str) -> str:
    return f".mlflow/logged-models/{model_id}.json"


def _logged_model_json(record: dict[str, Any]) -> dict[str, Any]:
    run_id, folder = model_folder(record["model_id"])
    info = {
        key: record[key]
        for key in (
            "model_id",
            "experiment_id",
            "name",
            "model_type",
            "source_run_id",
            "status",
            "creation_timestamp_ms",
            "last_updated_timestamp_ms",
        )
    }
    info["artifact_uri"] = f"{run_artifact_uri(record['experiment_id'], run_id)}/{folder}"
    info["tags"] = [{"key": k, "value": v} for k, v in sorted(record["tags"].items())]
    params = [{"key": k, "value": v} for k, v in sorted(record["params"].items())]
    return {"model": {"info": info, "data": {"params": params, "metrics": []}}}


def _models(request: Request, who: Any) -> LoggedModels:
    return LoggedModels(platform_of(request, who).tracking)


@router.post("/logged-models")
def create_logged_model(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    return _models(request, who).create(body)


@router.get("/logged-models/{model_id}")
def get_logged_model(model_id: str, request: Request, who: Reader) -> dict[str, Any]:
    return _models(request, who).get(model_id)


@router.patch("/logged-models/{model_id}")
def finalize_logged_model(
    model_id: str, request: Request, who: Writer, body: Body
) -> dict[str, Any]:
    return _models(request, who).update(model_id, status=body.text("status"))


@router.patch("/logged-models/{model_id}/tags")
def set_logged_model_tags(
    model_id: str, request: Request, who: Writer, body: Body
) -> dict[str, Any]:
    _models(request, who).update(model_id, tags=body.pairs("tags"))
    return {}


@router.post("/logged-models/{model_id}/params")
def log_logged_model_params(
    model_id: str, request: Request, who: Writer, body: Body
) -> dict[str, Any]:
    _models(request, who).update(model_id, params=body.pairs("params"))
    return {}
