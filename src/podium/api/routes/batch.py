"""``/v1/batch-jobs``: start, follow and resume batch inference jobs of the project.

A job runs in the server's background: ``POST /v1/batch-jobs`` checks it (a bad model,
table, version or column is a problem+json answer before anything runs), starts it and
answers 202 with the running job and its ``Location``; ``GET`` it until it has ended.
The routes are the remote side of ``p.batch`` (:class:`podium.batch.protocol.Batch`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from podium.access.roles import Principal
from podium.api.bodies import RequestBody
from podium.api.deps import Reader, Writer, platform_of, set_audit_target
from podium.batch.service import BatchService
from podium.batch.types import BatchJob
from podium.errors import NotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["batch"])


class JobIn(RequestBody):
    model: str = Field(description="A model version ('churn@production', 'churn/3') or deployment.")
    source: str = Field(description="The lake table to score, 'zone.table' or 'zone.table@N'.")
    output: str = Field(description="The Delta table the predictions are appended to.")
    runner: str = "local"
    key: str | None = Field(default=None, description="The source's row key column.")
    batch_size: int = 65_536
    part_rows: int = 1_000_000


class ResumeIn(RequestBody):
    runner: str | None = None


def _batch(request: Request, who: Principal) -> BatchService:
    found = platform_of(request, who).batch
    if not isinstance(found, BatchService):  # the server's platform is embedded
        raise NotFoundError("this server runs no batch jobs")
    return found


def _located(job: BatchJob, request: Request, response: Response) -> BatchJob:
    set_audit_target(request, f"/v1/batch-jobs/{job.id}")
    response.headers["location"] = f"/v1/batch-jobs/{job.id}"
    return job


@router.post("/batch-jobs", status_code=202)
def start_batch_job(body: JobIn, request: Request, response: Response, who: Writer) -> BatchJob:
    """Check and start a job; answers with it running. Poll it until it has ended."""
    job = _batch(request, who).start(
        body.model,
        source=body.source,
        output=body.output,
        runner=body.runner,
        key=body.key,
        batch_size=body.batch_size,
        part_rows=body.part_rows,
    )
    return _located(job, request, response)


@router.get("/batch-jobs")
def list_batch_jobs(
    request: Request, who: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 20
) -> list[BatchJob]:
    """The newest jobs of the project, newest first."""
    return _batch(request, who).jobs(limit=limit)


@router.get("/batch-jobs/{job_id}")
def get_batch_job(job_id: str, request: Request, who: Reader) -> BatchJob:
    """The job: status, rows scored so far (``rows`` of ``rows_total``), output version."""
    return _batch(request, who).get(job_id)


@router.post("/batch-jobs/{job_id}/resume", status_code=202)
def resume_batch_job(
    job_id: str, request: Request, response: Response, who: Writer, body: ResumeIn | None = None
) -> BatchJob:
    """Continue a killed or failed job in the background; answers with it running."""
    set_audit_target(request, f"/v1/batch-jobs/{job_id}")
    runner = body.runner if body else None
    job = _batch(request, who).resume_in_background(job_id, runner=runner)
    return _located(job, request, response)
