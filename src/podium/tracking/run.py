"""ActiveRun (what ``start_run`` returns) and the ``start_run`` every backend offers.

::

    with p.tracking.start_run(experiment="churn", params={"C": 0.5}) as run:
        run.log_metrics({"auc": 0.91}, step=0)
        run.log_artifact("confusion.png")

Metrics are buffered (see :mod:`podium.tracking.buffer`); params, tags, inputs and
artifacts are written at once, so a conflicting param fails at the line that logs it.
Leaving the block ends the run FINISHED, or FAILED when an exception escapes it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from podium.errors import InvalidInputError
from podium.store.base import now_ms
from podium.store.paths import safe_relative_path
from podium.tracking.buffer import MetricBuffer
from podium.tracking.environment import capture_environment
from podium.tracking.types import ArtifactInfo, MetricPoint, Run, RunStatus
from podium.tracking.validation import (
    check_key,
    check_metric_value,
    check_step,
    check_timestamp,
)

if TYPE_CHECKING:
    from podium.tracking.protocol import TrackingBackend

__all__ = ["ActiveRun", "StartsRuns"]


class ActiveRun:
    """A run being logged to; use it as a context manager."""

    def __init__(self, backend: TrackingBackend, run: Run, *, flush_interval: float) -> None:
        self._backend = backend
        self._run = run
        self._buffer = MetricBuffer(
            lambda points: backend.log_metric_points(run.id, points), interval=flush_interval
        )
        self._ended = False

    @property
    def id(self) -> str:
        """The run id."""
        return self._run.id

    @property
    def name(self) -> str:
        """The run name."""
        return self._run.name

    @property
    def experiment(self) -> str:
        """The experiment the run belongs to."""
        return self._run.experiment

    def log_param(self, key: str, value: Any) -> None:
        """Log one param (immutable: another value later is a ConflictError)."""
        self._backend.log_params(self.id, {key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log several params at once."""
        self._backend.log_params(self.id, params)

    def log_metric(
        self, key: str, value: float, *, step: int = 0, timestamp: int | None = None
    ) -> None:
        """Log one metric point (buffered; written in the background)."""
        ts = now_ms() if timestamp is None else timestamp
        self._buffer.add([_point(key, value, step, ts)])

    def log_metrics(self, metrics: Mapping[str, float], *, step: int = 0) -> None:
        """Log several metrics at the same step (buffered)."""
        ts = now_ms()
        self._buffer.add([_point(k, v, step, ts) for k, v in metrics.items()])

    def set_tag(self, key: str, value: Any) -> None:
        """Set one tag (tags may change)."""
        self._backend.set_tags(self.id, {key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set several tags."""
        self._backend.set_tags(self.id, tags)

    def log_input(self, ref: str) -> None:
        """Record a dataset the run read, e.g. ``raw.customers@3``."""
        self._backend.log_inputs(self.id, [ref])

    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        """Upload a file, or a folder recursively, under ``artifact_path`` in the run."""
        source = Path(local_path)
        if not source.exists():
            raise InvalidInputError(
                f"{str(source)!r} does not exist",
                field="local_path",
                remedy="pass the path of a file or folder to upload",
            )
        prefix = safe_relative_path(artifact_path) + "/" if artifact_path else ""
        # "." and ".." get the name of the folder they mean (symlinks keep their own name).
        source = Path(os.path.abspath(source))
        if source.is_file():
            files = [(source, prefix + source.name)]
        else:
            files = [
                (f, prefix + source.name + "/" + f.relative_to(source).as_posix())
                for f in sorted(source.rglob("*"))
                if f.is_file()
            ]
        return [self._backend.put_artifact(self.id, dest, f.read_bytes()) for f, dest in files]

    def log_text(self, text: str, path: str) -> ArtifactInfo:
        """Store ``text`` as the file ``path`` of the run."""
        return self._backend.put_artifact(self.id, path, text.encode())

    def log_dict(self, data: Mapping[str, Any], path: str) -> ArtifactInfo:
        """Store ``data`` as JSON in the file ``path`` of the run."""
        return self.log_text(json.dumps(data, indent=2, sort_keys=True, default=str), path)

    def flush(self) -> None:
        """Write buffered metrics now."""
        self._buffer.flush()

    def info(self) -> Run:
        """The run as stored now (flushes buffered metrics first)."""
        self.flush()
        self._run = self._backend.get_run(self.id)
        return self._run

    def end(self, status: RunStatus = "FINISHED") -> Run:
        """Flush metrics and end the run with ``status``; later calls do nothing."""
        if self._ended:
            return self._run
        self._ended = True
        try:
            self._buffer.close()
        finally:
            self._run = self._backend.end_run(self.id, status=status)
        return self._run

    def end_with(
        self,
        status: RunStatus,
        *,
        metrics: Mapping[str, float] | None = None,
        step: int = 0,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Log final ``metrics`` (at ``step``) and ``tags``, then end the run with
        ``status``: one write where the backend batches (embedded), else the same calls
        one by one. Unlike :meth:`end` it hands nothing back; later calls do nothing."""
        if self._ended:
            return
        ts = now_ms()
        points = [_point(k, v, step, ts) for k, v in (metrics or {}).items()]
        self._ended = True
        try:
            self._buffer.close()  # what was logged before goes first
        finally:
            complete = getattr(self._backend, "complete_run", None)
            if complete is not None:
                complete(self.id, status=status, tags=tags, points=points)
            else:
                self._backend.log_metric_points(self.id, points)
                if tags:
                    self._backend.set_tags(self.id, tags)
                self._run = self._backend.end_run(self.id, status=status)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end("FINISHED" if exc_type is None else "FAILED")

    def __repr__(self) -> str:
        return f"ActiveRun(id={self.id!r}, experiment={self.experiment!r}, name={self.name!r})"


def _point(key: str, value: Any, step: Any, timestamp: Any) -> MetricPoint:
    """A checked point: a bad one fails here, at the logging call, never in a later flush."""
    return MetricPoint(
        key=check_key(key, kind="metric"),
        value=check_metric_value(key, value),
        step=check_step(key, step),
        timestamp=check_timestamp(key, timestamp),
    )


class StartsRuns:
    """Mixin giving a tracking backend the ``start_run`` of the SDK."""

    metric_flush_interval: float = 0.5

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
        """Start a run in ``experiment`` (created on first use); nest it under ``parent``."""
        backend: TrackingBackend = self  # type: ignore[assignment]
        parent_id = parent.id if isinstance(parent, ActiveRun) else parent
        run = backend.create_run(
            experiment,
            name=name,
            parent_run_id=parent_id,
            tags={k: str(v) for k, v in (tags or {}).items()},
            environment=capture_environment() if capture_env else None,
        )
        active = ActiveRun(backend, run, flush_interval=self.metric_flush_interval)
        if params:
            try:
                active.log_params(params)
            except BaseException:
                active.end("FAILED")
                raise
        return active
