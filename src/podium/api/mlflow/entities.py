"""podium's experiments, runs, models and versions as MLflow's JSON messages.

Ids map one to one: an MLflow experiment id is the podium experiment's id, an MLflow run
id the podium run's id, a registered model's name and a version's number are podium's.
The one exception is MLflow's default experiment ``"0"``, which is podium's experiment
named ``default`` (see :func:`experiment_key`). A run's artifacts live at
``mlflow-artifacts:/<experiment id>/<run id>/artifacts``, which the MLflow client turns
into the artifact proxy routes of :mod:`podium.api.mlflow.artifacts`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from podium.registry.types import ModelVersion, RegisteredModel
from podium.tracking.records import DELETED_TAG
from podium.tracking.types import Experiment, MetricPoint, Run

__all__ = [
    "DEFAULT_EXPERIMENT",
    "INPUT_TAG_PREFIX",
    "SOURCE_TAG",
    "experiment_json",
    "experiment_key",
    "is_deleted",
    "model_json",
    "run_artifact_uri",
    "run_json",
    "version_json",
]

DEFAULT_EXPERIMENT = "default"
"""The podium experiment that MLflow's default experiment id ``"0"`` stands for."""

INPUT_TAG_PREFIX = "mlflow.input."
"""Run tags holding the MLflow datasets a run logged (``log_inputs``), one per dataset."""

SOURCE_TAG = "mlflow.source"
"""The model version tag recording the MLflow artifact URI it was registered from."""

_NOTE_TAG = "mlflow.note.content"  # MLflow's description of an experiment, run or model
_STAGES = {"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}


def experiment_key(experiment_id: str) -> str:
    """What podium's tracking calls the experiment MLflow calls ``experiment_id``."""
    return DEFAULT_EXPERIMENT if experiment_id == "0" else experiment_id


def run_artifact_uri(experiment_id: str, run_id: str) -> str:
    """Where the MLflow client reads and writes the run's artifacts (the proxy)."""
    return f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    """An MLflow ``Experiment`` (always active: podium keeps experiments)."""
    tags = [{"key": _NOTE_TAG, "value": experiment.description}] if experiment.description else []
    return {
        "experiment_id": experiment.id,
        "name": experiment.name,
        "artifact_location": f"mlflow-artifacts:/{experiment.id}",
        "lifecycle_stage": "active",
        "creation_time": experiment.created_at,
        "last_update_time": experiment.created_at,
        "tags": tags,
    }


def run_json(run: Run, latest: Mapping[str, MetricPoint] | None = None) -> dict[str, Any]:
    """An MLflow ``Run``: info, data (latest metric values) and the datasets it read.

    podium's run holds the latest value of each metric; ``latest`` adds the step and time
    of those points (from the metric history). Without it, as in a search, the step is 0
    and the time the run's end (or start).
    """
    when = run.end_time or run.start_time
    points = latest or {}
    tags = {
        k: v for k, v in run.tags.items() if not k.startswith(INPUT_TAG_PREFIX) and k != DELETED_TAG
    }
    tags.setdefault("mlflow.runName", run.name)
    if run.user:
        tags.setdefault("mlflow.user", run.user)
    if run.parent_run_id:
        tags.setdefault("mlflow.parentRunId", run.parent_run_id)
    info: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": run.experiment_id,
        "user_id": run.user,
        "status": run.status,
        "start_time": run.start_time,
        "artifact_uri": run_artifact_uri(run.experiment_id, run.id),
        "lifecycle_stage": "deleted" if is_deleted(run) else "active",
    }
    if run.end_time is not None:
        info["end_time"] = run.end_time
    return {
        "info": info,
        "data": {
            "metrics": [_metric(k, v, points.get(k), when) for k, v in sorted(run.metrics.items())],
            "params": [{"key": k, "value": v} for k, v in sorted(run.params.items())],
            "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
        },
        "inputs": {"dataset_inputs": _dataset_inputs(run)},
    }


def is_deleted(run: Run) -> bool:
    """Whether the run was deleted through MLflow's API (podium keeps it, marked)."""
    return run.tags.get(DELETED_TAG) == "deleted"


def _metric(key: str, value: float, point: MetricPoint | None, when: int) -> dict[str, Any]:
    if point is None:
        return {"key": key, "value": value, "timestamp": when, "step": 0}
    return {"key": key, "value": value, "timestamp": point.timestamp, "step": point.step}


def _dataset_inputs(run: Run) -> list[dict[str, Any]]:
    inputs: list[dict[str, Any]] = []
    for key, value in sorted(run.tags.items()):
        if key.startswith(INPUT_TAG_PREFIX):
            try:
                inputs.append(json.loads(value))
            except ValueError:
                continue  # not written by log-inputs; nothing to show
    for ref in run.inputs:  # podium lake tables, pinned to the version read
        dataset = {"name": ref, "digest": ref.rpartition("@")[2], "source_type": "podium"}
        inputs.append({"dataset": {**dataset, "source": ref}, "tags": []})
    return inputs


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def model_json(model: RegisteredModel, latest: list[ModelVersion]) -> dict[str, Any]:
    """An MLflow ``RegisteredModel`` with ``latest`` (the newest version per stage)."""
    return {
        "name": model.name,
        "creation_timestamp": _ms(model.created_at),
        "last_updated_timestamp": _ms(model.created_at),
        "description": model.description,
        "latest_versions": [version_json(version) for version in latest],
        "tags": [{"key": k, "value": v} for k, v in sorted(model.tags.items())],
        "aliases": [
            {"alias": alias, "version": str(version)}
            for alias, version in sorted(model.aliases.items())
        ],
    }


def version_json(version: ModelVersion) -> dict[str, Any]:
    """An MLflow ``ModelVersion``; always ``READY`` (registration is synchronous)."""
    tags = {k: v for k, v in version.tags.items() if k != SOURCE_TAG}
    body: dict[str, Any] = {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": _ms(version.created_at),
        "last_updated_timestamp": _ms(version.created_at),
        "user_id": version.created_by,
        "current_stage": _STAGES.get(version.stage, "None"),
        "description": version.description,
        "source": version.tags.get(SOURCE_TAG, f"models:/{version.name}/{version.version}"),
        "status": "READY",
        "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
        "aliases": list(version.aliases),
    }
    if version.run_id:
        body["run_id"] = version.run_id
    model_id = version.tags.get("mlflow.model_id")
    if model_id:
        body["model_id"] = model_id
    return body
