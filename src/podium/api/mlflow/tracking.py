"""MLflow's tracking routes (experiments, runs, params, metrics, tags) on podium's tracking.

Runs logged here are ordinary podium runs: ``p.tracking`` and ``podium runs`` see them,
and runs logged with podium are visible to MLflow clients. What podium does not keep
(deleting, restoring or renaming an experiment) is answered with MLflow's
``NOT_IMPLEMENTED`` and says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from podium.access.roles import Principal
from podium.api.deps import Reader, Writer, installation, platform_of
from podium.api.mlflow.entities import (
    INPUT_TAG_PREFIX,
    experiment_json,
    experiment_key,
    is_deleted,
    run_json,
)
from podium.api.mlflow.errors import MlflowRoute
from podium.api.mlflow.fields import Fields, read_fields
from podium.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from podium.tracking.protocol import Tracking
from podium.tracking.records import RunRecords
from podium.tracking.types import Experiment, MetricPoint, Run

__all__ = ["router"]

router = APIRouter(route_class=MlflowRoute)
Body = Annotated[Fields, Depends(read_fields)]

# MLflow's own limits on one log-batch request.
_BATCH_METRICS, _BATCH_PARAMS, _BATCH_TAGS = 1000, 100, 100
_ENDED = ("FINISHED", "FAILED", "KILLED")
# Bare attribute names MLflow accepts in order_by, and the tag MLflow keeps the name in.
_ATTRIBUTES = ("start_time", "end_time", "status", "run_name", "run_id", "experiment_id")
_RUN_NAME_TAG = re.compile(r"\btags\.(`mlflow\.runName`|\"mlflow\.runName\"|mlflow\.runName)")


def _tracking(request: Request, who: Any) -> Tracking:
    return platform_of(request, who).tracking


# -- experiments --------------------------------------------------------------------
@router.post("/experiments/create")
def create_experiment(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    tags = body.pairs("tags")
    made = _tracking(request, who).create_experiment(
        body.text("name"), description=tags.get("mlflow.note.content", "")
    )
    return {"experiment_id": made.id}


@router.get("/experiments/get")
def get_experiment(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    found = _experiment(_tracking(request, who), body.text("experiment_id"), create_default=True)
    return {"experiment": experiment_json(found)}


@router.get("/experiments/get-by-name")
def get_experiment_by_name(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    tracking = _tracking(request, who)
    name = body.text("experiment_name")
    by_name = [e for e in tracking.list_experiments() if e.name == name]
    if not by_name:
        raise NotFoundError(
            f"Could not find experiment with name '{name}'",
            field="experiment_name",
            remedy="create it (mlflow.set_experiment does), or check the name",
        )
    return {"experiment": experiment_json(by_name[0])}


@router.post("/experiments/search")
def search_experiments(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    found = _tracking(request, who).list_experiments()
    wanted = _name_filter(body.text("filter", default=""), field="filter")
    return {"experiments": [experiment_json(e) for e in found if wanted(e.name)]}


@router.post("/experiments/update")
@router.post("/experiments/delete")
@router.post("/experiments/restore")
def change_experiment(request: Request, who: Writer) -> JSONResponse:
    action = request.url.path.rsplit("/", 1)[1]
    return JSONResponse(
        {
            "error_code": "NOT_IMPLEMENTED",
            "message": f"podium does not {action} experiments: an experiment is kept with "
            "its runs (use another experiment name instead)",
        },
        status_code=501,
    )


@router.post("/experiments/set-experiment-tag")
def set_experiment_tag(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    # podium experiments carry a description only; MLflow keeps it in this tag.
    _experiment(_tracking(request, who), body.text("experiment_id"))
    if body.text("key") != "mlflow.note.content":
        raise InvalidInputError(
            "podium experiments keep only a description ('mlflow.note.content'); "
            f"got the tag {body.text('key')!r}",
            field="key",
            remedy="tag runs instead, or describe the experiment when creating it",
        )
    return {}


def _experiment(
    tracking: Tracking, experiment_id: str, *, create_default: bool = False
) -> Experiment:
    key = experiment_key(experiment_id)
    try:
        return tracking.get_experiment(key)
    except NotFoundError:
        if key != experiment_id and create_default:  # MLflow's "0" always exists
            try:
                return tracking.create_experiment(key)
            except ConflictError:  # created concurrently
                return tracking.get_experiment(key)
            except PermissionDeniedError:
                pass  # a reader cannot create it: it does not exist for them
        raise NotFoundError(
            f"No Experiment with id={experiment_id} exists",
            field="experiment_id",
            remedy="list experiments to find its id",
        ) from None


def _name_filter(text: str, *, field: str) -> Any:
    """The predicate of an experiment or model search filter: ``name = 'x'`` or
    ``name LIKE 'x%'`` (ILIKE too), or nothing."""
    if not text.strip():
        return lambda name: True
    match = re.fullmatch(
        r"\s*(?:attributes?\.)?name\s*(=|!=|LIKE|ILIKE)\s*(['\"])(.*)\2\s*", text, re.IGNORECASE
    )
    if match is None:
        raise InvalidInputError(
            f"podium supports filters of the form name = '...' or name LIKE '...'; got {text!r}",
            field=field,
            remedy="filter by name, e.g. \"name LIKE 'churn%'\"",
        )
    op, value = match.group(1).upper(), match.group(3)
    if op in ("=", "!="):
        return lambda name: (name == value) == (op == "=")
    pattern = re.escape(value).replace("%", ".*").replace("_", ".")
    flags = re.IGNORECASE if op == "ILIKE" else 0
    return lambda name: re.fullmatch(pattern, name, flags) is not None


# -- runs ---------------------------------------------------------------------------
@router.post("/runs/create")
def create_run(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    tags = body.pairs("tags")
    name = body.text("run_name", default="") or tags.get("mlflow.runName") or None
    parent = tags.pop("mlflow.parentRunId", None)
    tags.pop("mlflow.runName", None)
    tags.pop("mlflow.user", None)  # podium records the key's identity as the run's user
    tracking = _tracking(request, who)
    experiment = experiment_key(body.text("experiment_id", default="0"))
    run = tracking.create_run(experiment, name=name, parent_run_id=parent, tags=tags)
    return {"run": run_json(run)}


@router.get("/runs/get")
def get_run(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    tracking = _tracking(request, who)
    run = tracking.get_run(_run_id(body))
    return {"run": run_json(run, _latest_points(tracking, run.id, run.metrics))}


def _latest_points(tracking: Tracking, run_id: str, keys: Iterable[str]) -> dict[str, MetricPoint]:
    """The latest point of each metric (the history's last: highest step, then time)."""
    latest: dict[str, MetricPoint] = {}
    for key in keys:
        history = tracking.metric_history(run_id, key)
        if history:
            latest[key] = history[-1]
    return latest


@router.post("/runs/update")
def update_run(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    tracking = _tracking(request, who)
    run_id = _run_id(body)
    status = body.text("status", default="RUNNING")
    if status in _ENDED:
        run = tracking.end_run(run_id, status=status)  # type: ignore[arg-type]
    elif status in ("RUNNING", "SCHEDULED"):
        run = tracking.get_run(run_id)
    else:
        raise InvalidInputError(
            f"the 'status' parameter must be one of RUNNING, {', '.join(_ENDED)}; got {status!r}",
            field="status",
            remedy="send a run status MLflow defines",
        )
    return {"run_info": run_json(run)["info"]}


@router.post("/runs/search")
def search_runs(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    experiments = [experiment_key(e) for e in body.texts("experiment_ids")]
    page = _tracking(request, who).search_runs(
        experiments or None,
        filter=_run_filter(body.text("filter", default="")),
        order_by=[_order_item(item) for item in body.texts("order_by")],
        max_results=body.integer("max_results", default=1000),
        page_token=body.text("page_token", default="") or None,
    )
    view = _view(body.text("run_view_type", default="ACTIVE_ONLY"))
    runs = [run for run in page.runs if view in ("ALL", _stage(run))]
    answer: dict[str, Any] = {"runs": [run_json(run) for run in runs]}
    if page.next_page_token:
        answer["next_page_token"] = page.next_page_token
    return answer


def _view(text: str) -> str:
    views = {"1": "ACTIVE_ONLY", "2": "DELETED_ONLY", "3": "ALL"}
    view = views.get(text, text)
    if view not in views.values():
        raise InvalidInputError(
            f"the 'run_view_type' parameter must be ACTIVE_ONLY, DELETED_ONLY or ALL; got {text!r}",
            field="run_view_type",
            remedy="send one of MLflow's view types",
        )
    return view


def _stage(run: Run) -> str:
    return "DELETED_ONLY" if is_deleted(run) else "ACTIVE_ONLY"


@router.post("/runs/delete")
def delete_run(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    _run_records(request, who).mark_deleted(_run_id(body), deleted=True)
    return {}


@router.post("/runs/restore")
def restore_run(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    _run_records(request, who).mark_deleted(_run_id(body), deleted=False)
    return {}


@router.post("/runs/delete-tag")
def delete_tag(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    _run_records(request, who).delete_tag(_run_id(body), body.text("key"))
    return {}


def _run_records(request: Request, who: Principal) -> RunRecords:
    inst = installation(request)
    return RunRecords(inst.db, inst.projects.get(who.project), actor=who.actor, role=who.role)


def _run_filter(text: str) -> str:
    # MLflow keeps a run's name in the tag mlflow.runName; podium has it as an attribute.
    return _RUN_NAME_TAG.sub("attributes.run_name", text)


def _order_item(item: str) -> str:
    words = item.strip().split()
    if words and words[0] in _ATTRIBUTES:
        words[0] = f"attributes.{words[0]}"
    return " ".join(words)


# -- logging ------------------------------------------------------------------------
@router.post("/runs/log-parameter")
def log_param(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    _tracking(request, who).log_params(
        _run_id(body), {body.text("key"): body.text("value", default="")}
    )
    return {}


@router.post("/runs/log-metric")
def log_metric(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    tracking = _tracking(request, who)
    run_id = _run_id(body)
    points = _unlogged(tracking, run_id, [_point(body)], linked=body.has("model_id"))
    if points:
        tracking.log_metric_points(run_id, points)
    return {}


@router.post("/runs/set-tag")
def set_tag(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    _tracking(request, who).set_tags(
        _run_id(body), {body.text("key"): body.text("value", default="")}
    )
    return {}


@router.post("/runs/log-batch")
def log_batch(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    tracking = _tracking(request, who)
    run_id = _run_id(body)
    sent = body.objects("metrics", limit=_BATCH_METRICS)
    linked = [_point(Fields(m)) for m in sent if m.get("model_id")]
    metrics = [_raw_point(m) for m in sent if not m.get("model_id")]
    metrics += _unlogged(tracking, run_id, linked, linked=True)
    params = body.messages("params", limit=_BATCH_PARAMS)
    tags = body.messages("tags", limit=_BATCH_TAGS)
    if params:
        tracking.log_params(run_id, {p.text("key"): p.text("value", default="") for p in params})
    if metrics:
        tracking.log_metric_points(run_id, metrics)
    if tags:
        tracking.set_tags(run_id, {t.text("key"): t.text("value", default="") for t in tags})
    if not (params or metrics or tags):
        tracking.get_run(run_id)  # an unknown run is still a 404
    return {}


@router.post("/runs/log-inputs")
def log_inputs(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    tracking = _tracking(request, who)
    run_id = _run_id(body)
    tags: dict[str, str] = {}
    for item in body.messages("datasets"):
        dataset = item.message("dataset")
        name, digest = dataset.text("name"), dataset.text("digest")
        stored = {
            "dataset": {
                "name": name,
                "digest": digest,
                "source_type": dataset.text("source_type", default=""),
                "source": dataset.text("source", default=""),
                "schema": dataset.text("schema", default=""),
                "profile": dataset.text("profile", default=""),
            },
            "tags": [{"key": k, "value": v} for k, v in item.pairs("tags").items()],
        }
        tags[f"{INPUT_TAG_PREFIX}{name}.{digest}"[:250]] = json.dumps(stored, sort_keys=True)
    if tags:
        tracking.set_tags(run_id, tags)
    else:
        tracking.get_run(run_id)
    return {}


@router.post("/runs/outputs")
def log_outputs(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    models = {m.text("model_id"): m.integer("step", default=0) for m in body.messages("models")}
    tracking = _tracking(request, who)
    if models:
        tracking.set_tags(
            _run_id(body), {f"mlflow.output.{k}"[:250]: str(v) for k, v in models.items()}
        )
    else:
        tracking.get_run(_run_id(body))
    return {}


@router.get("/metrics/get-history")
def metric_history(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    points = _tracking(request, who).metric_history(_run_id(body), body.text("metric_key"))
    return {
        "metrics": [
            {"key": p.key, "value": p.value, "timestamp": p.timestamp, "step": p.step}
            for p in points
        ]
    }


def _unlogged(
    tracking: Tracking, run_id: str, points: list[MetricPoint], *, linked: bool
) -> list[MetricPoint]:
    """``points`` less those the run already holds, when they link to a logged model.

    MLflow 3's ``log_model`` logs the run's metrics again, naming the model; MLflow's store
    keeps one row per identical point, so podium drops the copies too.
    """
    if not linked or not points:
        return points
    held = {
        (p.key, p.value, p.step, p.timestamp)
        for key in {p.key for p in points}
        for p in tracking.metric_history(run_id, key)
    }
    return [p for p in points if (p.key, p.value, p.step, p.timestamp) not in held]


def _run_id(body: Fields) -> str:
    return body.text("run_id") if body.has("run_id") else body.text("run_uuid")


def _raw_point(item: dict[str, Any]) -> MetricPoint:
    """A point of a batch, unvalidated: the tracking service checks key, value, step and
    time of every point (the fast path of a large batch). Protobuf JSON may send the two
    64-bit integers as text."""
    step, timestamp = item.get("step", 0), item.get("timestamp")
    if type(step) is not int or type(timestamp) is not int:
        fields = Fields(item)
        step, timestamp = fields.integer("step", default=0), fields.integer("timestamp")
    unchecked: dict[str, Any] = {
        "key": item.get("key"),
        "value": item.get("value"),
        "step": step,
        "timestamp": timestamp,
    }
    return MetricPoint.model_construct(**unchecked)


def _point(body: Fields) -> MetricPoint:
    return MetricPoint(
        key=body.text("key"),
        value=body.number("value"),
        step=body.integer("step", default=0),
        timestamp=body.integer("timestamp"),
    )
