"""The runner interface: how a plan's steps get computed, locally or elsewhere.

A runner decides where and when each step runs (threads here, Ray tasks on a cluster);
the pipeline service decides what a step is and records what happened. They meet at
:class:`StepHooks`: for each step whose upstream steps are done the runner asks
``prepare`` (which answers a finished :class:`StepResult` when the step is cached or
reused, else a :class:`StepCall` to compute), computes the call with
:func:`call_with_retries` (or its own equivalent on another machine) and hands the
:class:`Attempted` outcome to ``finish``. A step after a failed one gets ``skip``.

Runners are found by name with :func:`runner_named`; ``"local"`` is built in, ``"ray"``
is the ``podium[ray]`` extra's.
"""

from __future__ import annotations

import contextvars
import importlib
import io
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from podium.errors import InvalidInputError, MissingDependencyError
from podium.pipelines.logs import capture
from podium.pipelines.plan import Plan, PlannedStep
from podium.store.base import now_ms

__all__ = [
    "Attempted",
    "Runner",
    "StepCall",
    "StepHooks",
    "StepResult",
    "StepStatus",
    "call_with_retries",
    "runner_named",
]

StepStatus = Literal["succeeded", "cached", "failed", "skipped"]


@dataclass
class StepResult:
    """How a step ended: its status and, when it has one, where its output is stored."""

    name: str
    status: StepStatus
    output_digest: str | None = None
    output_format: str | None = None
    error: str | None = None


@dataclass
class StepCall:
    """A step to compute: the function and its arguments, upstream outputs loaded."""

    planned: PlannedStep
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass
class Attempted:
    """What computing a :class:`StepCall` gave: a value or the last error, and the logs."""

    value: Any = None
    error: str | None = None
    logs: str = ""
    attempts: int = 0
    started_ms: int = 0
    ended_ms: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class StepHooks(Protocol):
    """What a runner calls back; the pipeline service implements it."""

    def prepare(
        self, planned: PlannedStep, upstream: Mapping[str, StepResult]
    ) -> StepResult | StepCall:
        """A finished result (cached, reused on resume) or the call to compute."""
        ...

    def finish(self, call: StepCall, attempted: Attempted) -> StepResult:
        """Store the output of a computed call and record the step; its result."""
        ...

    def skip(self, planned: PlannedStep, failed: str) -> StepResult:
        """Record that ``planned`` did not run because step ``failed`` did not succeed."""
        ...


class Runner(Protocol):
    """Computes the steps of a plan; one method to check, one to run."""

    name: str

    def check(self, plan: Plan) -> None:
        """Refuse, before anything runs, a plan this runner can never run (a step asking
        for more cores, memory or GPUs than it has): InvalidInputError."""
        ...

    def run(self, plan: Plan, hooks: StepHooks) -> dict[str, StepResult]:
        """Run every step of ``plan`` through ``hooks``; the result of each, by name.

        Independent steps may run at once; a step runs only after the steps it depends
        on succeeded (or were cached), and is skipped after one failed.
        """
        ...


def call_with_retries(call: StepCall) -> Attempted:
    """Compute ``call`` in this process, retrying as the step says, capturing its output.

    A step with a ``timeout`` runs in a thread of its own that is abandoned when the time
    is up (Python threads cannot be killed): the step fails with a message saying so and
    its late result, if any, is discarded.
    """
    step = call.planned.step
    buffer = io.StringIO()
    attempted = Attempted(started_ms=now_ms())
    for attempt in range(1, step.retries + 2):
        attempted.attempts = attempt
        if attempt > 1:
            buffer.write(f"[podium] attempt {attempt} of {step.retries + 1}\n")
        value, error = _attempt(call, buffer)
        if error is None:
            attempted.value, attempted.error = value, None
            break
        attempted.error = error
        buffer.write(error if error.endswith("\n") else error + "\n")
    attempted.ended_ms = now_ms()
    attempted.logs = buffer.getvalue()
    return attempted


def _attempt(call: StepCall, buffer: io.StringIO) -> tuple[Any, str | None]:
    step = call.planned.step
    if step.timeout is None:
        return _run_captured(call, buffer)
    box: list[tuple[Any, str | None]] = []
    thread = threading.Thread(
        # The step's context (podium.pipelines.context) goes with it into its thread.
        target=lambda context=contextvars.copy_context(): box.append(
            context.run(_run_captured, call, buffer)
        ),
        name=f"podium-step-{call.planned.name}",
        daemon=True,
    )
    thread.start()
    thread.join(step.timeout)
    if thread.is_alive() or not box:
        return None, (
            f"step {call.planned.name!r} timed out after {step.timeout:g} s; its thread was "
            "abandoned (it may still be running) and its result will be discarded"
        )
    return box[0]


def _run_captured(call: StepCall, buffer: io.StringIO) -> tuple[Any, str | None]:
    with capture(buffer):
        try:
            return call.planned.step.function(*call.args, **call.kwargs), None
        except Exception:  # the step's failure is its result, recorded in full
            return None, traceback.format_exc()


_BUILT_IN = {"local": "podium.pipelines.local:LocalRunner"}
_EXTRAS = {"ray": ("podium.pipelines.ray_runner:RayRunner", "ray", "ray")}


def runner_named(name: str, *, ray_address: str | None = None) -> Runner:
    """The runner called ``name``: ``"local"``, or ``"ray"`` with the ``podium[ray]`` extra
    (on the cluster at ``ray_address``, the ``PODIUM_RAY_ADDRESS`` setting; None starts a
    local Ray on 127.0.0.1 when the first plan is checked)."""
    if name in _BUILT_IN:
        return _load(_BUILT_IN[name])
    if name in _EXTRAS:
        where, package, extra = _EXTRAS[name]
        try:
            importlib.import_module(package)
        except ImportError:
            raise MissingDependencyError(package, extra=extra) from None
        try:
            return _load(where, address=ray_address)
        except ImportError:
            raise InvalidInputError(
                f"the {name!r} runner is not part of this version of podium yet",
                field="runner",
                remedy="use runner='local'",
            ) from None
    known = ", ".join(repr(n) for n in [*_BUILT_IN, *_EXTRAS])
    raise InvalidInputError(
        f"the runner must be one of {known}; got {name!r} instead",
        field="runner",
        remedy="pass runner='local' (threads on this machine) or runner='ray'",
    )


def _load(where: str, **options: Any) -> Runner:
    module, _, attribute = where.partition(":")
    runner: Runner = getattr(importlib.import_module(module), attribute)(**options)
    return runner
