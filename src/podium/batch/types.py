"""What the batch area returns: a job, its progress and where its predictions went."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

__all__ = ["BatchJob", "BatchStatus"]

BatchStatus = Literal["running", "succeeded", "failed"]


class BatchJob(BaseModel):
    """A batch inference job: the model version it scored ``source`` with, into ``output``.

    ``id`` is its tracked run (experiment ``batch``). ``rows`` is how many source rows have
    predictions committed to ``output`` so far (``rows_total`` when it succeeded);
    ``output_version`` the output table's version holding all of them once it succeeded.
    A job that was killed stays ``running`` until it is resumed
    (``p.batch.resume(job.id)``); a job whose scoring raised is ``failed`` with ``error``.
    """

    id: str
    status: BatchStatus
    model: str
    model_version: str
    deployment: str | None = None
    source: str
    output: str
    output_version: int | None = None
    key: str | None = None
    runner: str
    rows: int = 0
    rows_total: int = 0
    parts: int = 0
    parts_done: int = 0
    seconds: float | None = None
    error: str | None = None
    created_by: str = ""
    started_at: datetime
    ended_at: datetime | None = None

    @property
    def progress(self) -> float:
        """The share of source rows scored and committed, from 0.0 to 1.0."""
        return 1.0 if self.rows_total == 0 else self.rows / self.rows_total

    @property
    def rows_per_second(self) -> float | None:
        """Rows scored per second over the job's run time (None until it succeeded)."""
        if not self.seconds:
            return None
        return self.rows / self.seconds
