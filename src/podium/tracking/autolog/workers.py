"""Fits that joblib runs in worker threads count as nested in the fit that started them.

A search with ``n_jobs`` and a thread backend fits its candidates in joblib's threads,
where this thread's nesting (a context variable) is not seen: each would log a run of its
own. While autolog is on, tasks handed to joblib from inside a fit are wrapped so that
they run marked as nested wherever they run. Process workers never see the patches, so
there the mark changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from joblib import Parallel  # type: ignore[import-untyped]

from podium.tracking.autolog import state
from podium.tracking.autolog.patches import patch
from podium.tracking.autolog.target import fitting, inside_fit

__all__ = ["NestedTask", "install"]


class NestedTask:
    """A joblib task run as a fit nested in another (picklable for process workers)."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with fitting():
            return self.function(*args, **kwargs)

    @property
    def __name__(self) -> str:  # joblib names tasks in its messages
        return str(getattr(self.function, "__name__", "task"))


def _dispatch(original: Callable[..., Any], parallel: Any, iterable: Iterable[Any]) -> Any:
    if state.current() is None or not inside_fit():
        return original(parallel, iterable)
    tasks = ((NestedTask(function), args, kwargs) for function, args, kwargs in iterable)
    return original(parallel, tasks)


def install() -> None:
    """Wrap ``joblib.Parallel.__call__`` (undone by ``restore_all``)."""
    patch(Parallel, "__call__", _dispatch)
