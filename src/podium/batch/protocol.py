"""The batch inference interface (``p.batch``): the embedded service and the HTTP client.

Embedded, ``predict`` scores in the caller's process (or on Ray) and waits; ``start``
runs the same job on a background thread of this process. Over HTTP the server runs
every job in its background and the client follows it (``predict`` and ``resume`` poll
until the job ends, calling ``on_progress`` as rows are committed).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Protocol

from podium.batch.types import BatchJob

__all__ = ["Batch", "Progress"]

Progress = Callable[[int, int], None]
"""``on_progress(rows, rows_total)``: source rows scored so far, out of all."""


class Batch(Protocol):
    """Score lake table versions with registered models, as resumable tracked jobs.

    Over HTTP any method may also raise :class:`~podium.errors.AuthenticationError`,
    :class:`~podium.errors.PermissionDeniedError` (a ``reader`` key starting a job) or
    :class:`~podium.errors.BackendUnavailableError` (the server cannot be reached).
    """

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
        """Score every row of ``source`` (``zone.table`` or ``zone.table@N``; the newest
        version is pinned when none is given) with ``model`` and append the predictions
        to the Delta table ``output``; wait for the end.

        ``model`` is a registry reference (``churn@production``, ``churn@champion``,
        ``churn/3``) or a deployment's name (its stable version, with the online
        features it names joined by its entity keys). Each output row has the row
        ``key`` (the source's ``key`` column, else ``row_number``, the row's stable number
        in the source version), ``prediction``, ``probability`` (binary: the positive
        class's, as ``/v1/predictions``) and ``model_version``. The source is read in
        Arrow batches of ``batch_size`` rows, and written in parts of about
        ``part_rows`` rows, each one commit, so memory stays bounded and a killed job
        resumes where it stopped (:meth:`resume`; or this call again with
        ``resume=True``, which continues the newest unfinished job of the same model,
        source and output). ``runner="ray"`` scores parts on Ray (``podium[ray]``).

        The job is a tracked run (experiment ``batch``) with lineage source version ->
        model version -> output version. A job whose scoring fails is returned
        ``failed`` with its ``error``. Raises before anything runs:
        :class:`~podium.errors.NotFoundError` for an unknown model, deployment, table or
        version, and :class:`~podium.errors.InvalidInputError` for an output equal to
        the source, a source without a column the model reads (or without ``key``), an
        existing output with other columns, or an unknown runner.
        """
        ...

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
        """Check and start the job :meth:`predict` describes, in the background; returns
        it ``running`` at once (follow it with :meth:`get`). Raises as :meth:`predict`."""
        ...

    def resume(
        self, job_id: str, *, runner: str | None = None, on_progress: Progress | None = None
    ) -> BatchJob:
        """Continue job ``job_id`` (killed or failed) where it stopped and wait: parts
        already committed to the output are kept, never written twice; the rest are
        scored from the same source version with the same model version. ``runner``
        defaults to the job's. Raises :class:`~podium.errors.NotFoundError` for an
        unknown job and :class:`~podium.errors.ConflictError` for a job that succeeded
        or is still running in a live process."""
        ...

    def get(self, job_id: str) -> BatchJob:
        """The job: status, rows scored so far, output version. Raises
        :class:`~podium.errors.NotFoundError` for an unknown job."""
        ...

    def jobs(self, *, limit: int = 20) -> builtins.list[BatchJob]:
        """The newest ``limit`` (1 to 1,000) jobs of the project, newest first. Raises
        :class:`~podium.errors.InvalidInputError` for a bad limit."""
        ...
