"""Search spaces for :meth:`Platform.tune <podium.platform.Platform.tune>`: one helper per kind.

::

    space = {
        "C": podium.loguniform(1e-3, 10.0),        # floats, sampled on a log scale
        "l1_ratio": podium.uniform(0.0, 1.0),      # floats, evenly
        "max_depth": podium.intuniform(2, 12),     # integers (step=, log= optional)
        "solver": podium.choice(["lbfgs", "saga"]),
    }

Each helper returns a small frozen dataclass and checks its arguments at once (a bad
range fails where it is written, not in the middle of a study). The CLI writes the same
helpers as text, ``C=loguniform(1e-3,10)``: :func:`parse_dimension` reads that form
without evaluating any code. This module does not import Optuna; the tuning service
turns each dimension into an Optuna distribution.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from podium.errors import InvalidInputError
from podium.tracking.validation import check_key

__all__ = [
    "Choice",
    "Dimension",
    "IntUniform",
    "LogUniform",
    "Uniform",
    "check_space",
    "choice",
    "describe",
    "intuniform",
    "loguniform",
    "parse_dimension",
    "uniform",
]

ChoiceValue = None | bool | int | float | str


@dataclass(frozen=True)
class LogUniform:
    """Floats between ``low`` and ``high`` (inclusive), sampled on a log scale."""

    low: float
    high: float

    def __str__(self) -> str:
        return f"loguniform({self.low!r}, {self.high!r})"


@dataclass(frozen=True)
class Uniform:
    """Floats between ``low`` and ``high`` (inclusive), sampled evenly."""

    low: float
    high: float

    def __str__(self) -> str:
        return f"uniform({self.low!r}, {self.high!r})"


@dataclass(frozen=True)
class IntUniform:
    """Integers from ``low`` to ``high`` (inclusive) every ``step``, or on a log scale."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def __str__(self) -> str:
        extra = (f", step={self.step}" if self.step != 1 else "") + (
            ", log=True" if self.log else ""
        )
        return f"intuniform({self.low!r}, {self.high!r}{extra})"


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (None, booleans, numbers or strings)."""

    options: tuple[ChoiceValue, ...]

    def __str__(self) -> str:
        return f"choice({list(self.options)!r})"


Dimension = LogUniform | Uniform | IntUniform | Choice
"""One entry of a search space."""


def _invalid(helper: str, parameter: str, expected: str, got: object) -> InvalidInputError:
    return InvalidInputError(
        f"the {parameter!r} parameter of {helper} must be {expected}; got {got!r} instead",
        field=parameter,
        remedy=f"e.g. {_EXAMPLES[helper]}",
    )


_EXAMPLES = {
    "loguniform": "podium.loguniform(1e-3, 10.0)",
    "uniform": "podium.uniform(0.0, 1.0)",
    "intuniform": "podium.intuniform(2, 12)",
    "choice": "podium.choice(['lbfgs', 'saga'])",
}


def _number(helper: str, parameter: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(helper, parameter, "a finite number", value)
    return float(value)


def _integer(helper: str, parameter: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(helper, parameter, "an integer", value)
    return value


def loguniform(low: float, high: float) -> LogUniform:
    """Floats in ``[low, high]`` sampled on a log scale (``0 < low < high``): for
    regularisation strengths and learning rates."""
    lo, hi = _number("loguniform", "low", low), _number("loguniform", "high", high)
    if lo <= 0:
        raise _invalid("loguniform", "low", "greater than 0 (a log scale)", low)
    if hi <= lo:
        raise _invalid("loguniform", "high", f"greater than low ({low!r})", high)
    return LogUniform(lo, hi)


def uniform(low: float, high: float) -> Uniform:
    """Floats in ``[low, high]`` sampled evenly (``low < high``)."""
    lo, hi = _number("uniform", "low", low), _number("uniform", "high", high)
    if hi <= lo:
        raise _invalid("uniform", "high", f"greater than low ({low!r})", high)
    return Uniform(lo, hi)


def intuniform(low: int, high: int, *, step: int = 1, log: bool = False) -> IntUniform:
    """Integers in ``[low, high]`` every ``step``, or on a log scale with ``log=True``
    (then ``low`` must be at least 1 and ``step`` 1)."""
    lo, hi = _integer("intuniform", "low", low), _integer("intuniform", "high", high)
    size = _integer("intuniform", "step", step)
    if hi <= lo:
        raise _invalid("intuniform", "high", f"greater than low ({low!r})", high)
    if size < 1:
        raise _invalid("intuniform", "step", "at least 1", step)
    if not isinstance(log, bool):
        raise _invalid("intuniform", "log", "True or False", log)
    if log and lo < 1:
        raise _invalid("intuniform", "low", "at least 1 on a log scale (log=True)", low)
    if log and size != 1:
        raise _invalid("intuniform", "step", "1 on a log scale (log=True)", step)
    return IntUniform(lo, hi, size, log)


def choice(options: Sequence[ChoiceValue]) -> Choice:
    """One of ``options``: a non-empty list of distinct None, booleans, numbers or strings."""
    if isinstance(options, str | bytes) or not isinstance(options, Sequence) or not options:
        raise _invalid("choice", "options", "a non-empty list", options)
    for option in options:
        if option is not None and not isinstance(option, bool | int | float | str):
            raise _invalid("choice", "options", "None, booleans, numbers or strings", option)
    if len(set(map(repr, options))) != len(options):
        raise _invalid("choice", "options", "distinct values", list(options))
    return Choice(tuple(options))


_HELPERS = {
    "loguniform": loguniform,
    "uniform": uniform,
    "intuniform": intuniform,
    "choice": choice,
}


def check_space(space: object) -> dict[str, Dimension]:
    """``space`` if it maps at least one param name to a dimension, else a clear error."""
    example = "space={'C': podium.loguniform(1e-3, 10.0)}"
    if not isinstance(space, Mapping) or not space:
        raise InvalidInputError(
            f"the search space must be a non-empty dict of param name -> dimension; "
            f"got {space!r} instead",
            field="space",
            remedy=f"pass e.g. {example}",
        )
    checked: dict[str, Dimension] = {}
    for name, dimension in space.items():
        check_key(name, kind="param")
        if not isinstance(dimension, LogUniform | Uniform | IntUniform | Choice):
            raise InvalidInputError(
                f"the search space entry {name!r} must be podium.loguniform, uniform, "
                f"intuniform or choice; got {dimension!r} instead",
                field=f"space.{name}",
                remedy=f"pass e.g. {example}",
            )
        checked[name] = dimension
    return checked


def parse_dimension(text: str) -> tuple[str, Dimension]:
    """``NAME=helper(args)`` (the CLI's ``--space``) as a name and a dimension.

    The arguments are Python literals (``1e-3``, ``'saga'``, ``[1, 2]``, ``step=2``),
    read with :func:`ast.literal_eval`; nothing is executed.
    """
    name, sep, expression = text.partition("=")
    name, expression = name.strip(), expression.strip()
    remedy = "write e.g. --space 'C=loguniform(1e-3,10)' or --space 'solver=choice([\"a\",\"b\"])'"
    if not sep or not name:
        raise InvalidInputError(
            f"a search space entry must look like NAME=helper(args); got {text!r} instead",
            field="space",
            remedy=remedy,
        )
    try:
        call = ast.parse(expression, mode="eval").body
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
            raise ValueError("not a call")
        helper = _HELPERS.get(call.func.id)
        if helper is None:
            raise ValueError(f"unknown helper {call.func.id!r}")
        args = [ast.literal_eval(arg) for arg in call.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
    except (SyntaxError, ValueError) as exc:
        raise InvalidInputError(
            f"the search space entry {text!r} cannot be read ({exc}); the helpers are "
            f"{', '.join(_HELPERS)}",
            field="space",
            remedy=remedy,
        ) from None
    try:
        dimension: Dimension = helper(*args, **kwargs)  # type: ignore[operator]
    except TypeError as exc:
        raise InvalidInputError(
            f"the search space entry {text!r} has the wrong arguments ({exc})",
            field="space",
            remedy=remedy,
        ) from None
    return name, dimension


def describe(space: Mapping[str, Dimension]) -> dict[str, str]:
    """The space as text (``{"C": "loguniform(0.001, 10.0)"}``), for tags and tables."""
    return {name: str(dimension) for name, dimension in space.items()}
