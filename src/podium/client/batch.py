"""Batch inference over HTTP: the same interface as the embedded service (``p.batch``).

The server runs every job in its background; ``predict`` and ``resume`` start one and
poll it until it has ended, calling ``on_progress`` as its rows are committed.
"""

from __future__ import annotations

import builtins
import time

from pydantic import TypeAdapter

from podium.batch.protocol import Progress
from podium.batch.types import BatchJob
from podium.client.http import ApiClient, url_path

__all__ = ["HttpBatch"]

_JOBS = TypeAdapter(list[BatchJob])
_POLL_SECONDS = (0.05, 0.1, 0.2, 0.5, 1.0)  # quick jobs answer quickly, long ones poll calmly


class HttpBatch:
    """A project's batch jobs on a podium server (starting one needs the writer role)."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def predict(
        self,
        model: str,
        *,
        source: str,
        output: str,
        runner: str = "local",
        key: str | None = None,
        batch_size: int = 65_536,
        part_rows: int = 1_000_000,
        resume: bool = False,
        on_progress: Progress | None = None,
    ) -> BatchJob:
        if resume:
            found = self._unfinished(model, source, output)
            if found is not None:
                return self.resume(found, runner=runner, on_progress=on_progress)
        started = self.start(
            model,
            source=source,
            output=output,
            runner=runner,
            key=key,
            batch_size=batch_size,
            part_rows=part_rows,
        )
        return self._followed(started, on_progress)

    def start(
        self,
        model: str,
        *,
        source: str,
        output: str,
        runner: str = "local",
        key: str | None = None,
        batch_size: int = 65_536,
        part_rows: int = 1_000_000,
    ) -> BatchJob:
        body = {
            "model": model,
            "source": source,
            "output": output,
            "runner": runner,
            "key": key,
            "batch_size": batch_size,
            "part_rows": part_rows,
        }
        return BatchJob.model_validate(self._api.json("POST", "/v1/batch-jobs", json=body))

    def resume(
        self, job_id: str, *, runner: str | None = None, on_progress: Progress | None = None
    ) -> BatchJob:
        path = url_path("/v1/batch-jobs/{}/resume", job_id)
        started = BatchJob.model_validate(self._api.json("POST", path, json={"runner": runner}))
        return self._followed(started, on_progress)

    def get(self, job_id: str) -> BatchJob:
        return BatchJob.model_validate(self._api.json("GET", url_path("/v1/batch-jobs/{}", job_id)))

    def jobs(self, *, limit: int = 20) -> builtins.list[BatchJob]:
        return _JOBS.validate_python(
            self._api.json("GET", "/v1/batch-jobs", params={"limit": limit})
        )

    def _followed(self, job: BatchJob, on_progress: Progress | None) -> BatchJob:
        polls = 0
        while True:
            if on_progress is not None:
                on_progress(job.rows, job.rows_total)
            if job.status != "running":
                return job
            time.sleep(_POLL_SECONDS[min(polls, len(_POLL_SECONDS) - 1)])
            polls += 1
            job = self.get(job.id)

    def _unfinished(self, model: str, source: str, output: str) -> str | None:
        table = source.partition("@")[0]
        for job in self.jobs(limit=1000):
            same = (job.model, job.source.partition("@")[0], job.output) == (model, table, output)
            if same and job.status != "succeeded":
                return job.id
        return None
