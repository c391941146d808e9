"""MLflow's artifact proxy (``/api/2.0/mlflow-artifacts``) on the files of podium runs.

A run's artifact URI is ``mlflow-artifacts:/<experiment id>/<run id>/artifacts``, so a
proxy path is ``<experiment id>/<run id>/artifacts/<file>``: the file is stored with the
run (``p.tracking.read_artifact(run_id, file)`` reads it back), content-addressed like any
other. Paths not of that form are a 400, another project's run a 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from podium.api.deps import Reader, Writer, platform_of
from podium.api.mlflow.errors import MlflowRoute
from podium.api.mlflow.fields import Fields, read_fields
from podium.errors import InvalidInputError
from podium.tracking.types import ArtifactInfo

__all__ = ["RunPath", "list_dir", "proxy_router", "router", "run_path"]

proxy_router = APIRouter(route_class=MlflowRoute)
router = APIRouter(route_class=MlflowRoute)
Body = Annotated[Fields, Depends(read_fields)]


class RunPath:
    """A proxy path split into the run it names and the path inside the run's files."""

    def __init__(self, run_id: str, path: str) -> None:
        self.run_id = run_id
        self.path = path


def run_path(text: str) -> RunPath:
    """``<experiment id>/<run id>/artifacts[/<path>]`` as a :class:`RunPath`."""
    parts = text.strip("/").split("/", 3)
    if len(parts) < 3 or parts[2] != "artifacts" or not parts[1]:
        raise InvalidInputError(
            f"the artifact path {text!r} is not '<experiment id>/<run id>/artifacts/<path>'",
            field="path",
            remedy="use the artifact URI of a run (run.info.artifact_uri)",
        )
    return RunPath(parts[1], parts[3] if len(parts) == 4 else "")


def list_dir(files: list[ArtifactInfo], directory: str) -> list[dict[str, Any]]:
    """One level of ``directory`` among a run's ``files``, as MLflow ``FileInfo``s with
    paths relative to it (sub-folders as ``is_dir``)."""
    prefix = f"{directory.strip('/')}/" if directory.strip("/") else ""
    entries: dict[str, dict[str, Any]] = {}
    for info in files:
        if not info.path.startswith(prefix):
            continue
        rest = info.path[len(prefix) :]
        head, sep, _ = rest.partition("/")
        if sep:
            entries.setdefault(head, {"path": head, "is_dir": True})
        else:
            entries[head] = {"path": head, "is_dir": False, "file_size": info.size}
    return [entries[name] for name in sorted(entries)]


@proxy_router.put("/artifacts/{path:path}")
async def upload(path: str, request: Request, who: Writer) -> dict[str, Any]:
    where = run_path(path)
    data = await request.body()
    platform = await run_in_threadpool(platform_of, request, who)
    await run_in_threadpool(platform.tracking.put_artifact, where.run_id, where.path, data)
    return {}


@proxy_router.get("/artifacts/{path:path}")
def download(path: str, request: Request, who: Reader) -> Response:
    where = run_path(path)
    data = platform_of(request, who).tracking.read_artifact(where.run_id, where.path)
    return Response(data, media_type="application/octet-stream")


@proxy_router.get("/artifacts")
def list_proxy(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    where = run_path(body.text("path"))
    files = platform_of(request, who).tracking.list_artifacts(where.run_id)
    return {"files": list_dir(files, where.path)}


@router.get("/artifacts/list")
def list_artifacts(request: Request, who: Reader, body: Body) -> dict[str, Any]:
    run_id = body.text("run_id") if body.has("run_id") else body.text("run_uuid")
    run = platform_of(request, who).tracking.get_run(run_id)
    files = platform_of(request, who).tracking.list_artifacts(run_id)
    directory = body.text("path", default="")
    return {
        "root_uri": f"mlflow-artifacts:/{run.experiment_id}/{run.id}/artifacts",
        "files": [
            {**entry, "path": f"{directory.strip('/')}/{entry['path']}".lstrip("/")}
            for entry in list_dir(files, directory)
        ],
    }
