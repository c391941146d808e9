"""Batch inference jobs: the newest jobs with their progress, and one job in detail."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from podium.ui.pages.common import viewer_of
from podium.ui.rendering import page

__all__ = ["routes"]

_SHOWN = 200


def jobs(request: Request) -> Response:
    viewer = viewer_of(request)
    found = viewer.platform.batch.jobs(limit=_SHOWN)
    return page(request, viewer, "batch_jobs.html", jobs=found, shown=_SHOWN)


def job(request: Request) -> Response:
    viewer = viewer_of(request)
    found = viewer.platform.batch.get(request.path_params["job_id"])
    return page(request, viewer, "batch_job.html", job=found)


routes = [
    Route("/ui/batch", jobs, name="batch_jobs"),
    Route("/ui/batch/{job_id}", job, name="batch_job"),
]
