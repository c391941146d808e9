"""What a step can ask about the run it is part of: the platform and its own tracked run.

While a pipeline runs on the local runner, each step's code can call
:func:`current_platform` (the :class:`~podium.platform.Platform` of the project the run
belongs to, with the identity that started it) and :func:`current_step` (the pipeline
run id, the step's name and its tracked child run id, e.g. to register a model with
``run_id=``). The service sets both for the step's thread just before the step runs
and clears them when it ends; outside a running step they raise a clear error.

On the Ray runner a step runs in another process, where neither is set: connect with
``podium.connect(...)`` there instead.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podium.errors import ConflictError

if TYPE_CHECKING:
    from podium.platform import Platform

__all__ = ["StepContext", "current_platform", "current_step"]


@dataclass(frozen=True)
class StepContext:
    """The step that is running: its pipeline run, its name and its tracked run."""

    pipeline_run_id: str
    step: str
    run_id: str
    platform: Any


_CURRENT: ContextVar[StepContext | None] = ContextVar("podium_pipeline_step", default=None)


def current_step() -> StepContext:
    """The context of the step running in this thread; ConflictError outside one."""
    found = _CURRENT.get()
    if found is None:
        raise ConflictError(
            "there is no running pipeline step here: current_step() and current_platform() "
            "work inside a @podium.step run by p.pipelines.run(...) on the local runner",
            remedy="call it from a step's code, or use podium.connect() outside a pipeline "
            "(and inside steps on the Ray runner)",
        )
    return found


def current_platform() -> Platform:
    """The platform of the project whose pipeline runs the calling step."""
    platform: Platform = current_step().platform
    return platform


def enter_step(context: StepContext) -> Token[StepContext | None]:
    """Make ``context`` current in this thread (the service, before a step runs)."""
    return _CURRENT.set(context)


def leave_step(token: Token[StepContext | None]) -> None:
    """Undo :func:`enter_step` (the service, when the step ended)."""
    _CURRENT.reset(token)
