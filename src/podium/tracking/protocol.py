"""The tracking interface: the embedded service and the HTTP client both implement it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from podium.tracking.types import (
    ArtifactInfo,
    Experiment,
    MetricPoint,
    Run,
    RunComparison,
    RunPage,
    RunStatus,
)

if TYPE_CHECKING:
    from podium.tracking.run import ActiveRun

__all__ = ["Tracking", "TrackingBackend"]


class TrackingBackend(Protocol):
    """Everything tracking stores, one call per operation (no hidden state).

    Experiments and runs belong to the project of the platform; another project's run is
    a :class:`~podium.errors.NotFoundError`, as is an unknown one. Over HTTP any method may
    also raise :class:`~podium.errors.AuthenticationError`,
    :class:`~podium.errors.PermissionDeniedError` (a ``reader`` key writing) or
    :class:`~podium.errors.BackendUnavailableError` (the server cannot be reached).
    """

    def create_experiment(self, name: str, *, description: str = "") -> Experiment:
        """Create the experiment ``name`` with an optional ``description``.

        Runs create their experiment on first use, so this is needed only to describe
        one up front. Raises :class:`~podium.errors.InvalidInputError` for a name that is
        empty, over 250 characters or holds slashes or control characters, and
        :class:`~podium.errors.ConflictError` when the name is taken.
        """
        ...

    def get_experiment(self, name: str) -> Experiment:
        """The experiment called ``name`` (or whose id is ``name``).

        Raises :class:`~podium.errors.NotFoundError` when the project has none.
        """
        ...

    def list_experiments(self) -> list[Experiment]:
        """Every experiment of the project, sorted by name."""
        ...

    def create_run(
        self,
        experiment: str,
        *,
        name: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        environment: Mapping[str, Any] | None = None,
    ) -> Run:
        """Create a RUNNING run in ``experiment`` (created if it does not exist yet).

        The low-level call under :meth:`Tracking.start_run`, which most code uses.
        ``name`` defaults to ``run-<first 8 characters of the id>``; ``parent_run_id``
        nests the run under another; ``tags`` are set at once; ``environment`` is stored
        as given (``start_run`` captures Python, packages and git). Raises
        :class:`~podium.errors.InvalidInputError` for a bad experiment or run name or tag
        key, and :class:`~podium.errors.NotFoundError` for an unknown parent run.
        """
        ...

    def get_run(self, run_id: str) -> Run:
        """The run with everything logged to it: params, latest metrics, tags, inputs.

        Raises :class:`~podium.errors.NotFoundError` for an unknown run id.
        """
        ...

    def end_run(self, run_id: str, *, status: RunStatus = "FINISHED") -> Run:
        """Mark the run ended with ``status`` and the end time now; returns the run.

        Raises :class:`~podium.errors.InvalidInputError` when ``status`` is not
        ``FINISHED``, ``FAILED`` or ``KILLED``, and :class:`~podium.errors.NotFoundError`
        for an unknown run.
        """
        ...

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log ``params`` (values stored as strings) to the run, all or none of them.

        A param is immutable: logging the same value again is fine, another value is a
        :class:`~podium.errors.ConflictError` (``details`` has the old and new value).
        Raises :class:`~podium.errors.InvalidInputError` for a bad key (1-250 letters,
        digits, spaces or ``_-./:``) or a value over 6,000 characters, and
        :class:`~podium.errors.NotFoundError` for an unknown run.
        """
        ...

    def log_metric_points(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Log a batch of metric points to the run in one transaction.

        A metric keeps every point (see :meth:`metric_history`); the run shows the one
        with the highest step, then the latest timestamp. ``ActiveRun.log_metric`` buffers
        points and calls this. Raises :class:`~podium.errors.InvalidInputError` for a bad
        key, a value that is not a finite number, or a step or timestamp (milliseconds)
        outside 64-bit integers, and :class:`~podium.errors.NotFoundError` for an unknown
        run.
        """
        ...

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set ``tags`` on the run (values stored as strings); unlike a param, a tag may
        change. Raises :class:`~podium.errors.InvalidInputError` for a bad key or value
        and :class:`~podium.errors.NotFoundError` for an unknown run."""
        ...

    def log_inputs(self, run_id: str, refs: Sequence[str]) -> None:
        """Record the lake tables the run read, as exact references.

        ``refs`` are ``zone.name`` (pinned to the table's current version, so the run can
        be reproduced from exactly the data it saw) or ``zone.name@N``; each also becomes
        a lineage edge in the catalog. Raises :class:`~podium.errors.InvalidInputError`
        for a reference that is not a table, and :class:`~podium.errors.NotFoundError` for
        an unknown run, table or version.
        """
        ...

    def put_artifact(self, run_id: str, path: str, data: bytes) -> ArtifactInfo:
        """Store ``data`` as the file ``path`` of the run, replacing one stored there.

        Blobs are content-addressed (sha256), so the same bytes are stored once. Raises
        :class:`~podium.errors.InvalidInputError` for an absolute path or one leaving the
        run's folder (``..``), and :class:`~podium.errors.NotFoundError` for an unknown run.
        """
        ...

    def list_artifacts(self, run_id: str) -> list[ArtifactInfo]:
        """Every file logged to the run (path, size, sha256), sorted by path.

        Raises :class:`~podium.errors.NotFoundError` for an unknown run.
        """
        ...

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of the run's file ``path``, verified against their sha256.

        Raises :class:`~podium.errors.NotFoundError` for an unknown run or path,
        :class:`~podium.errors.InvalidInputError` for a path leaving the run's folder, and
        :class:`~podium.errors.IntegrityError` when the stored bytes are damaged.
        """
        ...

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point logged for metric ``key``, by step then time (empty if none).

        Raises :class:`~podium.errors.NotFoundError` for an unknown run.
        """
        ...

    def search_runs(
        self,
        experiments: str | Sequence[str] | None = None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RunPage:
        """The runs of ``experiments`` (one name, several, or None for all) that match.

        ``filter`` is clauses joined by ``AND``, e.g. ``"metrics.auc > 0.8 and params.C =
        '0.5'"``; ``order_by`` items are ``entity.key [ASC|DESC]``, e.g.
        ``["metrics.auc DESC"]`` (the syntax: :mod:`podium.tracking.filter`). A page holds
        at most ``max_results`` (1 to 10,000) runs; pass its ``next_page_token`` as
        ``page_token`` for the next one. Raises :class:`~podium.errors.InvalidInputError`
        for a bad filter (``details["position"]`` points at it), order-by, page size or
        token, and :class:`~podium.errors.NotFoundError` for an unknown experiment.
        """
        ...

    def compare_runs(self, run_ids: Sequence[str]) -> RunComparison:
        """Runs side by side: every param and metric key, and the params that differ.

        Raises :class:`~podium.errors.InvalidInputError` for fewer than 1 or more than 100
        ids, and :class:`~podium.errors.NotFoundError` for an unknown run.
        """
        ...


class Tracking(TrackingBackend, Protocol):
    """What ``p.tracking`` offers, embedded or remote: the backend plus ``start_run``."""

    def start_run(
        self,
        experiment: str = "default",
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        parent: ActiveRun | str | None = None,
        capture_env: bool = True,
    ) -> ActiveRun:
        """Start a run in ``experiment`` (created on first use); use it as a context
        manager, which ends it FINISHED, or FAILED when an exception escapes::

            with p.tracking.start_run("churn", params={"C": 0.5}) as run:
                run.log_metrics({"auc": 0.91}, step=0)

        ``params`` and ``tags`` are logged at once; ``parent`` (a run or its id) nests the
        run; ``capture_env`` records Python, packages and git state. Raises what
        :meth:`create_run` and :meth:`log_params` raise (a run whose params fail is ended
        FAILED first).
        """
        ...
