"""What happens around each step of one run: the cache, the stored output, the records.

:class:`RunHooks` is what a runner calls back (:class:`~podium.pipelines.runner.StepHooks`):
``prepare`` computes the step's cache key from its code, parameters, the digests of its
inputs and its pinned tables, and answers a cached result when the key is known (and its
blob is still stored); otherwise it opens the step's tracked child run and loads the
upstream outputs. ``finish`` stores the output (by reference: a blob digest), caches it,
attaches the captured logs (``logs.txt``, when the step printed anything) and ends the
child run. Embedded, a child run opens in one write and ends in one (``begin_run`` and
``complete_run`` of the tracking service); against any other tracking, call by call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podium.errors import InvalidInputError
from podium.pipelines.hashing import cache_key, canonical
from podium.pipelines.outputs import load_output, store_output
from podium.pipelines.plan import Plan, PlannedStep, Ref, substitute
from podium.pipelines.records import CacheWrite, PipelineRecords
from podium.pipelines.runner import Attempted, StepCall, StepResult
from podium.store.artifacts import ArtifactStore
from podium.store.base import utcnow
from podium.tracking.protocol import Tracking
from podium.tracking.types import RunStatus

__all__ = ["LOGS_ARTIFACT", "OUTPUT_TAG", "RunHooks", "StepListener"]

LOGS_ARTIFACT = "logs.txt"
"""The artifact of a step's child run holding what the step printed."""
OUTPUT_TAG = "podium.output_digest"
"""The tag of a step's child run holding the sha256 of its stored output."""

StepListener = Callable[[str, str], None]
"""Called with ``(step name, status)`` whenever a step ends (the CLI's progress)."""

_PARAM_CHARS = 500


@dataclass
class RunHooks:
    """The :class:`~podium.pipelines.runner.StepHooks` of one pipeline run."""

    plan: Plan
    run_id: str
    records: PipelineRecords
    tracking: Tracking
    artifacts: ArtifactStore
    reuse: Mapping[str, StepResult] = field(default_factory=dict)
    listener: StepListener | None = None
    _keys: dict[str, str] = field(default_factory=dict)
    _children: dict[str, str] = field(default_factory=dict)

    def prepare(
        self, planned: PlannedStep, upstream: Mapping[str, StepResult]
    ) -> StepResult | StepCall:
        """A cached or reused result, or the call to compute (its child run opened)."""
        reused = self.reuse.get(planned.name)
        if reused is not None:
            self._ended(reused)
            return reused
        digests = {name: result.output_digest or "" for name, result in upstream.items()}
        params = {
            key: canonical(substitute(value, lambda ref: {"$input": digests[ref.name]}))
            for key, value in planned.bound().items()
        }
        key = cache_key(
            code=planned.code, params=params, inputs=sorted(digests.values()), tables=planned.tables
        )
        self._keys[planned.name] = key
        hit = self.records.cached(key) if planned.step.cache else None
        if hit is not None and self.artifacts.exists(hit[0]):
            return self._cached(planned, key, hit)
        child = self._open_child(planned, {"podium.cache_key": key})
        self.records.update_step(
            self.run_id,
            planned.name,
            status="running",
            cache_key=key,
            tracked_run_id=child,
            started_at=utcnow(),
        )
        formats = {name: result.output_format or "pickle" for name, result in upstream.items()}

        def load(ref: Ref) -> Any:
            return load_output(self.artifacts, digests[ref.name], formats[ref.name])

        return StepCall(
            planned=planned,
            args=substitute(planned.args, load),
            kwargs=substitute(planned.kwargs, load),
        )

    def finish(self, call: StepCall, attempted: Attempted) -> StepResult:
        """Store the output (or record the failure) and end the step's child run."""
        planned = call.planned
        child = self._children[planned.name]
        error = attempted.error
        stored = None
        if error is None:
            try:
                stored = store_output(self.artifacts, attempted.value, step=planned.name)
            except InvalidInputError as exc:
                error = exc.message
        logs = attempted.logs + ("" if error is None or error in attempted.logs else error + "\n")
        if logs:  # a step that printed nothing has no logs.txt (`logs` shows it empty)
            self.tracking.put_artifact(child, LOGS_ARTIFACT, logs.encode())
        duration = attempted.ended_ms - attempted.started_ms
        tags: dict[str, str] = {}
        cache = None
        if stored is None:
            result = StepResult(planned.name, "failed", error=_last_line(error or "failed"))
        else:
            tags[OUTPUT_TAG] = stored.digest
            result = StepResult(planned.name, "succeeded", stored.digest, stored.format)
            if planned.step.cache:
                output = (stored.digest, stored.format)
                cache = CacheWrite(self._keys[planned.name], planned.step.name, output, self.run_id)
        self._end_child(child, "FINISHED" if stored else "FAILED", tags)
        self.records.update_step(  # the step's record and its cache entry: one write
            self.run_id,
            planned.name,
            cache=cache,
            status=result.status,
            output_digest=result.output_digest,
            output_format=result.output_format,
            attempts=attempted.attempts,
            duration_ms=duration,
            error=result.error,
            ended_at=utcnow(),
        )
        self._ended(result)
        return result

    def skip(self, planned: PlannedStep, failed: str) -> StepResult:
        """Record that ``planned`` did not run because ``failed`` did not succeed."""
        result = StepResult(
            planned.name, "skipped", error=f"not run: step {failed!r} did not succeed"
        )
        self.records.update_step(self.run_id, planned.name, status="skipped", error=result.error)
        self._ended(result)
        return result

    # -- helpers ------------------------------------------------------------------------
    def _cached(self, planned: PlannedStep, key: str, hit: tuple[str, str]) -> StepResult:
        digest, format = hit
        child = self._open_child(
            planned, {"podium.cache_key": key, "podium.cached": "true", OUTPUT_TAG: digest}
        )
        self._end_child(child, "FINISHED", {})
        now = utcnow()
        self.records.update_step(
            self.run_id,
            planned.name,
            status="cached",
            cache_key=key,
            output_digest=digest,
            output_format=format,
            tracked_run_id=child,
            attempts=0,
            duration_ms=0,
            error=None,
            started_at=now,
            ended_at=now,
        )
        result = StepResult(planned.name, "cached", digest, format)
        self._ended(result)
        return result

    def _open_child(self, planned: PlannedStep, tags: Mapping[str, str]) -> str:
        """Start the step's tracked child run with its params, tags and table inputs."""
        params = {
            key: _shown(value) for key, value in planned.bound().items() if not _holds_ref(value)
        }
        run_tags = {"podium.step": planned.step.name, **tags}
        name, experiment = planned.name, self.plan.pipeline.name
        begin = getattr(self.tracking, "begin_run", None)  # embedded: one write, not two
        child: str
        if begin is not None:
            child = begin(
                experiment, name=name, parent_run_id=self.run_id, tags=run_tags, params=params
            ).id
        else:
            child = self.tracking.create_run(
                experiment, name=name, parent_run_id=self.run_id, tags=run_tags
            ).id
            if params:
                self.tracking.log_params(child, params)
        self._children[planned.name] = child
        if planned.tables:
            self.tracking.log_inputs(child, list(planned.tables))
        return child

    def _end_child(self, child: str, status: RunStatus, tags: Mapping[str, str]) -> None:
        """Tag and end a step's child run: one write where tracking batches (embedded)."""
        complete = getattr(self.tracking, "complete_run", None)
        if complete is not None:
            complete(child, status=status, tags=tags)
            return
        if tags:
            self.tracking.set_tags(child, tags)
        self.tracking.end_run(child, status=status)

    def _ended(self, result: StepResult) -> None:
        if self.listener is not None:
            self.listener(result.name, result.status)


def _holds_ref(value: Any) -> bool:
    found: list[Ref] = []
    substitute(value, found.append)
    return bool(found)


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _PARAM_CHARS else text[: _PARAM_CHARS - 3] + "..."


def _last_line(error: str) -> str:
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return lines[-1] if lines else error
