"""The checks ``p.tune`` makes before anything runs: objective, direction, counts.

Each failure is an :class:`~podium.errors.InvalidInputError` naming the argument and the
fix, raised before a study, a run or a process exists.
"""

from __future__ import annotations

import inspect
import os
import pickle
import sys
import uuid
from collections.abc import Callable
from typing import Any, cast

from podium.errors import InvalidInputError
from podium.pipelines.tuning_results import Direction

__all__ = [
    "check_count",
    "check_direction",
    "check_picklable",
    "new_study_name",
    "takes_trial",
    "usable_cpus",
]

_DIRECTIONS = ("maximize", "minimize")


def takes_trial(objective: object) -> bool:
    """Whether ``objective`` takes ``(params, trial)`` rather than ``(params)``."""
    example = "def objective(params, trial): ... return auc"
    if not callable(objective):
        raise InvalidInputError(
            f"the objective must be a function; got {objective!r} instead",
            field="objective",
            remedy=f"pass e.g. {example}",
        )
    try:
        signature = inspect.signature(objective)
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    varargs = any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values())
    if len(positional) in (1, 2) or (varargs and len(positional) < 2):
        return len(positional) == 2 or varargs
    raise InvalidInputError(
        f"the objective must take (params) or (params, trial); it takes {signature}",
        field="objective",
        remedy=f"define it as {example}",
    )


def check_direction(direction: object) -> Direction:
    if direction not in _DIRECTIONS:
        raise InvalidInputError(
            f"the direction must be 'maximize' or 'minimize'; got {direction!r} instead",
            field="direction",
            remedy="pass direction='maximize' for scores such as auc, 'minimize' for losses",
        )
    return cast(Direction, direction)


def check_count(field: str, value: object, low: int, high: int | None, meaning: str) -> None:
    number_like = isinstance(value, int) and not isinstance(value, bool)
    if number_like and value >= low and (high is None or value <= high):  # type: ignore[operator]
        return
    bound = f"between {low} and {high}" if high is not None else f"at least {low}"
    why = f" (the cores this machine gives podium: {high})" if high is not None else ""
    raise InvalidInputError(
        f"{field} must be an integer {bound}{why}; got {value!r} instead",
        field=field,
        remedy=f"pass {field}= {meaning}",
    )


def check_picklable(objective: Callable[..., Any]) -> None:
    remedy = "define the objective as a function at the top level of a module, or pass parallel=1"
    module = getattr(objective, "__module__", None)
    main = sys.modules.get("__main__")
    if module == "__main__" and not getattr(main, "__file__", None):
        raise InvalidInputError(
            "parallel trials run in worker processes, which cannot import an objective "
            "defined in an interactive session (a notebook or the REPL)",
            field="objective",
            remedy="move the objective into a .py module and import it, or pass parallel=1",
        )
    try:
        pickle.dumps(objective)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InvalidInputError(
            f"parallel trials run in worker processes, which need a picklable objective; "
            f"{objective!r} is not ({exc})",
            field="objective",
            remedy=remedy,
        ) from None


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def new_study_name() -> str:
    return f"study-{uuid.uuid4().hex[:8]}"
