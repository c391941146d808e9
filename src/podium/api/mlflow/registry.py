"""MLflow's model registry routes (registered models, versions, aliases, tags) on podium's.

A version created through MLflow (``mlflow.register_model``, ``log_model(...,
registered_model_name=...)``) names its files by a source URI; podium zips those files
(they are already stored with the run) into one artifact and registers it with the
``mlflow`` flavor, which podium never loads: docs/coming-from-mlflow.md says how such a
version becomes servable. Stages map to podium's (``Production`` is ``production``) and
go through its approvals; deleting or renaming models is answered ``NOT_IMPLEMENTED``.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from podium.access.audit import Auditor
from podium.access.roles import Principal
from podium.api.deps import Reader, Writer, installation, platform_of
from podium.api.mlflow.artifacts import run_path
from podium.api.mlflow.entities import SOURCE_TAG, model_json, run_artifact_uri, version_json
from podium.api.mlflow.errors import MlflowRoute
from podium.api.mlflow.fields import Fields, read_fields
from podium.api.mlflow.logged_models import model_folder
from podium.errors import InvalidInputError
from podium.registry.protocol import Registry
from podium.registry.records import RegistryRecords
from podium.registry.types import STAGES, ModelVersion, RegisteredModel
from podium.tracking.protocol import Tracking

__all__ = ["router"]

router = APIRouter(route_class=MlflowRoute)
Body = Annotated[Fields, Depends(read_fields)]

_FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # zip entries carry no time: same files, same digest
_CLAUSE = re.compile(
    r"\s*(?:(?:attributes?\.)?(name|run_id|version|source_path)|tags?\.(?:`([^`]+)`|([\w.]+)))"
    r"\s*(=|!=|LIKE|ILIKE)\s*(?:(['\"])(.*?)\5|(\d+))\s*",
    re.IGNORECASE,
)


def _records(request: Request, who: Principal) -> RegistryRecords:
    inst = installation(request)
    project = inst.projects.get(who.project)
    return RegistryRecords(
        inst.db,
        inst.storage.child(f"projects/{project.name}"),
        project,
        actor=who.actor,
        role=who.role,
        audit=Auditor(inst.audit, project_id=project.id, actor=who.actor),
    )


def _registry(request: Request, who: Principal) -> Registry:
    return platform_of(request, who).registry


def _model_answer(registry: Registry, model: RegisteredModel) -> dict[str, Any]:
    versions = registry.list_versions(model.name) if model.latest_version else []
    newest: dict[str, ModelVersion] = {}
    for version in versions:  # oldest first, so the last one per stage stays
        newest[version.stage] = version
    return model_json(model, [newest[s] for s in STAGES if s in newest])


# -- registered models --------------------------------------------------------------
@router.post("/registered-models/create")
def create_registered_model(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    made = _records(request, who).create_model(
        body.text("name"), description=body.text("description", default=""), tags=body.pairs("tags")
    )
    return {"registered_model": model_json(made, [])}


@router.get("/registered-models/get")
def get_registered_model(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    registry = _registry(request, who)
    return {"registered_model": _model_answer(registry, registry.get_model(body.text("name")))}


@router.get("/registered-models/search")
def search_registered_models(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    registry = _registry(request, who)
    keep = _version_filter(body.text("filter", default=""))
    models = [m for m in registry.list_models() if keep({"name": m.name, **_tag_facts(m.tags)})]
    limit = body.integer("max_results", default=100)
    return {"registered_models": [_model_answer(registry, m) for m in models[:limit]]}


@router.patch("/registered-models/update")
def update_registered_model(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    registry = _registry(request, who)
    updated = _records(request, who).update_model(body.text("name"), description=_description(body))
    return {"registered_model": _model_answer(registry, updated)}


@router.post("/registered-models/set-tag")
def set_registered_model_tag(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    tag = {body.text("key"): body.text("value", default="")}
    _records(request, who).update_model(body.text("name"), set_tags=tag)
    return {}


@router.delete("/registered-models/delete-tag")
def delete_registered_model_tag(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    _records(request, who).update_model(body.text("name"), delete_tags=[body.text("key")])
    return {}


@router.post("/registered-models/get-latest-versions")
def get_latest_versions(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    registry = _registry(request, who)
    answer = _model_answer(registry, registry.get_model(body.text("name")))
    stages = {s.lower() for s in body.texts("stages")}
    latest = [
        v for v in answer["latest_versions"] if not stages or v["current_stage"].lower() in stages
    ]
    return {"model_versions": latest}


@router.post("/registered-models/rename")
@router.delete("/registered-models/delete")
@router.delete("/model-versions/delete")
def not_kept(request: Request, who: Writer) -> JSONResponse:
    return JSONResponse(
        {
            "error_code": "NOT_IMPLEMENTED",
            "message": "podium keeps registered models and versions under their names "
            "(lineage and deployments refer to them): archive a version with a stage "
            "transition to 'Archived' instead",
        },
        status_code=501,
    )


# -- aliases ------------------------------------------------------------------------
@router.post("/registered-models/alias")
def set_alias(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    _registry(request, who).set_alias(
        body.text("name"), body.text("alias"), body.integer("version")
    )
    return {}


@router.delete("/registered-models/alias")
def delete_alias(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    _registry(request, who).delete_alias(body.text("name"), body.text("alias"))
    return {}


@router.get("/registered-models/alias")
def get_by_alias(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    ref = f"{body.text('name')}@{body.text('alias')}"
    return {"model_version": version_json(_registry(request, who).get_version(ref))}


# -- model versions -----------------------------------------------------------------
@router.post("/model-versions/create")
def create_model_version(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    tracking = platform_of(request, who).tracking
    source = body.text("source")
    run_id, folder = _source_files(source)
    archive = _zip_folder(tracking, run_id, folder)
    tags = body.pairs("tags")
    tags[SOURCE_TAG] = source
    if body.has("model_id"):
        tags["mlflow.model_id"] = body.text("model_id")
    version = _records(request, who).import_version(
        body.text("name"),
        archive,
        run_id=run_id,
        description=body.text("description", default=""),
        tags=tags,
    )
    return {"model_version": version_json(version)}


@router.get("/model-versions/get")
def get_model_version(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    version = _registry(request, who).get_version(_ref(body))
    return {"model_version": version_json(version)}


@router.get("/model-versions/get-download-uri")
def get_download_uri(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    version = _registry(request, who).get_version(_ref(body))
    source = version.tags.get(SOURCE_TAG)
    if source is None or version.run_id is None:
        raise InvalidInputError(
            f"model version {version.ref} was registered with podium (flavor "
            f"{version.flavor!r}), not from MLflow files",
            field="version",
            remedy=f"load it with podium: p.registry.load('{version.ref}')",
        )
    run = platform_of(request, who).tracking.get_run(version.run_id)
    _, folder = _source_files(source)
    return {"artifact_uri": f"{run_artifact_uri(run.experiment_id, run.id)}/{folder}".rstrip("/")}


@router.get("/model-versions/search")
def search_model_versions(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    registry = _registry(request, who)
    keep = _version_filter(body.text("filter", default=""))
    found: list[dict[str, Any]] = []
    for model in registry.list_models():
        if not keep({"name": model.name}, partial=True):
            continue
        for version in registry.list_versions(model.name):
            facts = {
                "name": version.name,
                "version": str(version.version),
                "run_id": version.run_id or "",
                "source_path": version.tags.get(SOURCE_TAG, ""),
                **_tag_facts(version.tags),
            }
            if keep(facts):
                found.append(version_json(version))
    found.sort(key=lambda v: (v["name"], -int(v["version"])))
    return {"model_versions": found[: body.integer("max_results", default=10_000)]}


@router.patch("/model-versions/update")
def update_model_version(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    updated = _records(request, who).update_version(
        body.text("name"), body.integer("version"), description=_description(body)
    )
    return {"model_version": version_json(updated)}


@router.post("/model-versions/set-tag")
def set_model_version_tag(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    tag = {body.text("key"): body.text("value", default="")}
    _records(request, who).update_version(body.text("name"), body.integer("version"), set_tags=tag)
    return {}


@router.delete("/model-versions/delete-tag")
def delete_model_version_tag(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    _records(request, who).update_version(
        body.text("name"), body.integer("version"), delete_tags=[body.text("key")]
    )
    return {}


@router.post("/model-versions/transition-stage")
def transition_stage(request: Request, who: Writer, body: Body) -> dict[str, Any]:
    registry = _registry(request, who)
    name, number = body.text("name"), body.integer("version")
    made = registry.request_transition(name, number, body.text("stage").lower())
    answer = version_json(registry.get_version(f"{name}/{number}"))
    if made.status == "pending":
        answer["status_message"] = (
            f"the move to {made.to_stage} waits for approval: request {made.id} "
            f"({made.message or 'see podium models requests'})"
        )
    return {"model_version": answer}


def _description(body: Fields) -> str | None:
    """The new description, or None (kept) when the request sets none."""
    return body.text("description", default="") if body.has("description") else None


def _ref(body: Fields) -> str:
    return f"{body.text('name')}/{body.integer('version')}"


def _source_files(source: str) -> tuple[str, str]:
    """``(run id, folder in the run)`` of an MLflow source URI podium stores."""
    if source.startswith("models:/m-"):
        return model_folder(source.removeprefix("models:/").strip("/"))
    if source.startswith("mlflow-artifacts:/"):
        where = run_path(source.removeprefix("mlflow-artifacts:").lstrip("/"))
        return where.run_id, where.path
    if source.startswith("runs:/"):
        run_id, _, folder = source.removeprefix("runs:/").strip("/").partition("/")
        return run_id, folder
    raise InvalidInputError(
        f"podium registers model files logged to its runs; the source {source!r} is not "
        "'runs:/<run id>/<path>', 'models:/<model id>' or an mlflow-artifacts URI",
        field="source",
        remedy="log the model to a run on this server first (mlflow.<flavor>.log_model)",
    )


def _zip_folder(tracking: Tracking, run_id: str, folder: str) -> bytes:
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    files = [a for a in tracking.list_artifacts(run_id) if a.path.startswith(prefix)]
    if not files:
        raise InvalidInputError(
            f"run {run_id} has no files under {folder!r} to register",
            field="source",
            remedy="log the model's files first, then register them",
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in files:
            entry = zipfile.ZipInfo(info.path[len(prefix) :], date_time=_FIXED_TIME)
            archive.writestr(entry, tracking.read_artifact(run_id, info.path))
    return buffer.getvalue()


def _version_filter(text: str) -> Callable[..., bool]:
    """The predicate of a registry search filter: clauses on ``name``, ``run_id``,
    ``version`` or ``source_path`` with ``= != LIKE ILIKE``, joined by AND."""
    clauses: list[tuple[str, str, str]] = []
    for part in re.split(r"\s+AND\s+", text.strip(), flags=re.IGNORECASE) if text.strip() else []:
        match = _CLAUSE.fullmatch(part)
        if match is None:
            raise InvalidInputError(
                f"podium cannot read the filter clause {part!r}: use name, run_id, version or "
                "source_path with =, !=, LIKE or ILIKE and a quoted value, joined by AND",
                field="filter",
                remedy="e.g. \"name = 'churn' AND run_id = '...'\"",
            )
        attribute, tag = match.group(1), match.group(2) or match.group(3)
        key = f"tag.{tag}" if tag else attribute.lower()
        value = match.group(6) if match.group(6) is not None else match.group(7)
        clauses.append((key, match.group(4).upper(), value))

    def keep(facts: dict[str, str], *, partial: bool = False) -> bool:
        """Whether ``facts`` (attributes, and tags as ``tag.<key>``) match; ``partial``
        skips the clauses on attributes the facts leave out. A missing tag only matches
        ``!=``, as in MLflow."""
        for key, op, value in clauses:
            actual = facts.get(key)
            if actual is None:
                if partial or (key.startswith("tag.") and op == "!="):
                    continue
                return False
            if not _compare(actual, op, value):
                return False
        return True

    return keep


def _tag_facts(tags: dict[str, str]) -> dict[str, str]:
    return {f"tag.{key}": value for key, value in tags.items()}


def _compare(actual: str, op: str, value: str) -> bool:
    if op in ("=", "!="):
        return (actual == value) == (op == "=")
    pattern = re.escape(value).replace("%", ".*").replace("_", ".")
    return re.fullmatch(pattern, actual, re.IGNORECASE if op == "ILIKE" else 0) is not None
