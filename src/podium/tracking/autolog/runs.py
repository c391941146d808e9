"""Fits inside ``with p.tracking.start_run(...) as run:`` log to that run.

While autolog is on, entering an :class:`~podium.tracking.run.ActiveRun` as a context
manager makes it this thread's current run (innermost wins) and leaving it undoes that,
so a fit in the block adds its params, metrics and model to the user's run instead of
starting one of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podium.tracking.autolog.patches import patch
from podium.tracking.autolog.target import pop_run, push_run
from podium.tracking.run import ActiveRun

__all__ = ["install"]


def _enter(original: Callable[..., Any], run: ActiveRun) -> Any:
    entered = original(run)
    push_run(run)
    return entered


def _exit(original: Callable[..., Any], run: ActiveRun, *exc: Any) -> Any:
    pop_run(run)
    return original(run, *exc)


def install() -> None:
    """Follow ``with`` blocks of runs (undone by ``restore_all``)."""
    patch(ActiveRun, "__enter__", _enter)
    patch(ActiveRun, "__exit__", _exit)
