"""A traced pipeline checked and put in order: the plan a runner executes.

Everything that can be wrong with a graph is found here, before any step runs: a cycle,
a step output from another pipeline, arguments that cannot be pickled (a runner may have
to ship them to another process, and the cache hashes them), a pipeline that calls no
step. A ``str`` argument naming an existing lake table (``zone.name``) is pinned here to
its current version: the step gets a :class:`LakeTable` (a ``str`` equal to the name,
with ``.version``), and ``zone.name@N`` enters the cache key and the step's inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from podium.errors import InvalidInputError
from podium.pipelines.definitions import Node, Pipeline, Step, Trace
from podium.pipelines.hashing import canonical, code_hash

__all__ = ["LakeTable", "Plan", "PlannedStep", "Ref", "build_plan", "substitute"]

_TABLE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")

TablePinner = Callable[[str], "int | None"]
"""``zone.name -> current version``, or None when there is no such table."""


class LakeTable(str):
    """A lake table's name, as the step was given it, pinned to ``version`` at plan time.

    Read exactly what the cache key saw with ``p.data.read(table, version=table.version)``.
    """

    version: int

    def __new__(cls, name: str, version: int) -> LakeTable:
        made = super().__new__(cls, name)
        made.version = version
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (LakeTable, (str(self), self.version))

    @property
    def ref(self) -> str:
        """``zone.name@version``, as runs record their inputs."""
        return f"{self}@{self.version}"


@dataclass(frozen=True)
class Ref:
    """Where the output of step ``name`` goes in another step's arguments."""

    name: str


@dataclass
class PlannedStep:
    """One step call of the plan: its arguments (with :class:`Ref` for upstream outputs)."""

    name: str
    step: Step[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    depends_on: tuple[str, ...]
    tables: tuple[str, ...]
    code: str
    position: int

    def bound(self) -> dict[str, Any]:
        """Every argument by parameter name, defaults included (Refs still in place)."""
        bound = self.step.signature.bind(*self.args, **self.kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)


@dataclass
class Plan:
    """The steps of one run in dependency order, and where the output comes from."""

    pipeline: Pipeline[..., Any]
    params: dict[str, Any]
    steps: list[PlannedStep]
    output: Any
    _by_name: dict[str, PlannedStep] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_name = {planned.name: planned for planned in self.steps}

    def step(self, name: str) -> PlannedStep:
        """The planned step called ``name``."""
        return self._by_name[name]

    def dependants(self, name: str) -> set[str]:
        """Every step that needs ``name``'s output, directly or not."""
        found: set[str] = set()
        for planned in self.steps:  # in order, so upstream steps are seen first
            if any(dep == name or dep in found for dep in planned.depends_on):
                found.add(planned.name)
        return found


def substitute(value: Any, replace: Callable[[Ref], Any]) -> Any:
    """``value`` with every :class:`Ref` (inside lists, tuples and dicts) replaced."""
    if isinstance(value, Ref):
        return replace(value)
    if isinstance(value, list):
        return [substitute(item, replace) for item in value]
    if isinstance(value, tuple):
        return tuple(substitute(item, replace) for item in value)
    if isinstance(value, dict):
        return {key: substitute(item, replace) for key, item in value.items()}
    return value


def build_plan(
    pipeline: Pipeline[..., Any],
    params: Mapping[str, Any] | None,
    *,
    pin: TablePinner,
) -> Plan:
    """Trace ``pipeline`` with ``params`` and check the graph (module docstring)."""
    bound = pipeline.bind(params)
    for key, value in bound.items():
        _check_picklable(value, f"param {key!r} of pipeline {pipeline.name!r}")
    trace, returned = pipeline.trace(bound)
    if not trace.nodes:
        raise InvalidInputError(
            f"pipeline {pipeline.name!r} called no step, so a run would do nothing",
            field="pipeline",
            remedy="call functions decorated with @podium.step inside the pipeline function",
        )
    steps = [_planned(node, trace, pin, position) for position, node in enumerate(trace.nodes)]
    output = _as_refs(returned, trace, "the pipeline's return value")
    return Plan(pipeline=pipeline, params=bound, steps=_ordered(steps), output=output)


def _planned(node: Node, trace: Trace, pin: TablePinner, position: int) -> PlannedStep:
    where = f"step {node.name!r}"
    args = tuple(_as_refs(arg, trace, where) for arg in node.args)
    kwargs = {key: _as_refs(value, trace, where) for key, value in node.kwargs.items()}
    planned = PlannedStep(
        name=node.name,
        step=node.step,
        args=args,
        kwargs=kwargs,
        depends_on=(),
        tables=(),
        code=code_hash(node.step.function),
        position=position,
    )
    depends: list[str] = []
    tables: list[str] = []
    for key, value in planned.bound().items():
        substitute(value, lambda ref: depends.append(ref.name))
        _check_picklable(substitute(value, lambda _: None), f"argument {key!r} of {where}")
        if isinstance(value, str) and _TABLE.match(value):
            version = pin(value)
            if version is not None:
                tables.append(f"{value}@{version}")
                _replace_argument(planned, key, LakeTable(value, version))
    planned.depends_on = tuple(dict.fromkeys(depends))
    planned.tables = tuple(tables)
    return planned


def _replace_argument(planned: PlannedStep, key: str, value: Any) -> None:
    names = list(planned.step.signature.parameters)
    index = names.index(key)
    if index < len(planned.args):
        planned.args = (*planned.args[:index], value, *planned.args[index + 1 :])
    else:
        planned.kwargs[key] = value


def _as_refs(value: Any, trace: Trace, where: str) -> Any:
    """``value`` with its nodes replaced by :class:`Ref`; a node of another trace refused."""
    if isinstance(value, Node):
        if value.trace is not trace:
            raise InvalidInputError(
                f"{where} gets the output of step {value.name!r} of another pipeline run",
                field="pipeline",
                remedy="call the upstream step inside this pipeline function",
            )
        return Ref(value.name)
    if isinstance(value, list | tuple):
        items = [_as_refs(item, trace, where) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {key: _as_refs(item, trace, where) for key, item in value.items()}
    return value


def _check_picklable(value: Any, what: str) -> None:
    try:
        canonical(value)
    except TypeError as exc:
        raise InvalidInputError(
            f"the {what} cannot be stored: {exc}",
            field="params",
            remedy="pass plain data (numbers, strings, lists, dicts, frames), or build "
            "the object inside a step",
        ) from None


def _ordered(steps: list[PlannedStep]) -> list[PlannedStep]:
    """``steps`` so that each comes after what it depends on; a cycle is refused."""
    by_name: dict[str, PlannedStep] = {}
    for planned in steps:
        if planned.name in by_name:
            raise InvalidInputError(
                f"two steps of the pipeline are named {planned.name!r}",
                field="pipeline",
                remedy="give the step functions distinct names",
            )
        by_name[planned.name] = planned
    for planned in steps:
        unknown = [dep for dep in planned.depends_on if dep not in by_name]
        if unknown:
            raise InvalidInputError(
                f"step {planned.name!r} depends on {unknown}, which are not steps of the pipeline",
                field="pipeline",
                remedy="call the upstream steps inside this pipeline function",
            )
    done: dict[str, PlannedStep] = {}
    waiting = list(steps)
    while waiting:
        ready = [s for s in waiting if all(dep in done for dep in s.depends_on)]
        if not ready:
            cycle = " -> ".join(_cycle(waiting))
            raise InvalidInputError(
                f"the steps of the pipeline form a cycle: {cycle}",
                field="pipeline",
                remedy="a step may only take the outputs of steps called before it",
            )
        for planned in ready:
            done[planned.name] = planned
        waiting = [s for s in waiting if s.name not in done]
    return list(done.values())


def _cycle(waiting: list[PlannedStep]) -> Iterator[str]:
    """The names along one cycle among ``waiting`` (each has an unfinished dependency)."""
    left = {s.name: s for s in waiting}
    seen: list[str] = []
    name = waiting[0].name
    while name not in seen:
        seen.append(name)
        name = next(dep for dep in left[name].depends_on if dep in left)
    yield from seen[seen.index(name) :]
    yield name
