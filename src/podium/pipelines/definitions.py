"""Steps and pipelines as plain Python: ``@podium.step``, ``@podium.pipeline``, ``podium.map``.

A step is a function with resource requests. Called outside a pipeline it simply runs
(handy in a notebook or a test). Called while a pipeline is being traced it runs nothing
and returns a :class:`Node`, a lazy reference to its future output; passing nodes to
other steps draws the graph. Tracing calls the pipeline function once with its
parameters, so ordinary Python (loops over a list, ``podium.map``) builds the graph, but
a node's value cannot steer it: ``if node:`` is refused with a clear error.

Every pipeline defined in this process is kept by its ``module:qualname`` so a run can be
resumed even when its module cannot be imported again (``__main__``, a notebook).
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, overload

from podium.errors import InvalidInputError
from podium.pipelines.resources import Resources, parse_memory

__all__ = [
    "Node",
    "Pipeline",
    "Step",
    "Trace",
    "defined_pipeline",
    "map",
    "pipeline",
    "step",
]

P = ParamSpec("P")
R = TypeVar("R")

_PIPELINE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_TRACE: ContextVar[Trace | None] = ContextVar("podium_pipeline_trace", default=None)
_DEFINED: dict[str, Pipeline[..., Any]] = {}


class Step(Generic[P, R]):
    """A function with resource requests and a cache switch (made by :func:`step`)."""

    def __init__(
        self,
        function: Callable[P, R],
        *,
        cpus: float = 1,
        memory: int | str | None = None,
        gpus: float = 0,
        retries: int = 0,
        timeout: float | None = None,
        cache: bool = True,
        resources: Mapping[str, float] | None = None,
    ) -> None:
        self.function = function
        self.name: str = function.__name__
        self.signature = inspect.signature(function)
        self.resources = Resources(
            cpus=_non_negative("cpus", cpus, self.name, positive=True),
            memory=parse_memory(memory, step=self.name),
            gpus=_non_negative("gpus", gpus, self.name),
            custom=_custom_resources(resources, self.name),
        )
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidInputError(
                f"the 'retries' parameter of step {self.name!r} must be an int >= 0; "
                f"got {retries!r} instead",
                field="retries",
                remedy="pass e.g. retries=2",
            )
        self.retries = retries
        self.timeout = (
            None if timeout is None else _non_negative("timeout", timeout, self.name, positive=True)
        )
        self.cache = bool(cache)
        functools.update_wrapper(self, function)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        trace = _TRACE.get()
        if trace is None:
            return self.function(*args, **kwargs)
        return trace.add(self, args, kwargs)  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Step({self.name!r}, {self.resources})"


@overload
def step(function: Callable[P, R], /) -> Step[P, R]: ...


@overload
def step(
    *,
    cpus: float = 1,
    memory: int | str | None = None,
    gpus: float = 0,
    retries: int = 0,
    timeout: float | None = None,
    cache: bool = True,
    resources: Mapping[str, float] | None = None,
) -> Callable[[Callable[P, R]], Step[P, R]]: ...


def step(
    function: Callable[P, R] | None = None,
    /,
    *,
    cpus: float = 1,
    memory: int | str | None = None,
    gpus: float = 0,
    retries: int = 0,
    timeout: float | None = None,
    cache: bool = True,
    resources: Mapping[str, float] | None = None,
) -> Step[P, R] | Callable[[Callable[P, R]], Step[P, R]]:
    """Make a function a pipeline step: ``@podium.step`` or ``@podium.step(cpus=2, ...)``.

    ``cpus`` and ``gpus`` (numbers) and ``memory`` (``"1GB"``, ``"512MiB"`` or bytes; None
    reserves none) are what a runner reserves while the step runs; ``retries`` reruns a
    step that raised; ``timeout`` (seconds) fails a step that runs longer; ``cache=False``
    always runs it, even when its code, parameters and inputs are unchanged.
    ``resources`` asks for custom resources by name (``{"accelerator": 1}``), which only
    a Ray cluster declaring them can schedule.
    """

    def make(fn: Callable[P, R]) -> Step[P, R]:
        return Step(
            fn,
            cpus=cpus,
            memory=memory,
            gpus=gpus,
            retries=retries,
            timeout=timeout,
            cache=cache,
            resources=resources,
        )

    return make if function is None else make(function)


class Node:
    """The future output of one step call in a pipeline being traced.

    Pass it to other steps, or return it from the pipeline; its value exists only once
    the run has computed it.
    """

    def __init__(
        self,
        trace: Trace,
        name: str,
        step: Step[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.trace = trace
        self.name = name
        self.step = step
        self.args = args
        self.kwargs = kwargs

    def _refuse(self, what: str) -> InvalidInputError:
        return InvalidInputError(
            f"the output of step {self.name!r} is not known while the pipeline is being "
            f"traced, so it cannot be {what}",
            field="pipeline",
            remedy="move the logic that looks at the value into a step, which gets the value",
        )

    def __bool__(self) -> bool:
        raise self._refuse("tested with if/while/and/or")

    def __iter__(self) -> Any:
        raise self._refuse("iterated or unpacked")

    def __len__(self) -> int:
        raise self._refuse("measured with len()")

    def __repr__(self) -> str:
        return f"Node({self.name!r})"


@dataclass
class Trace:
    """The nodes a pipeline function made while it ran once, in call order."""

    nodes: list[Node] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        step: Step[..., Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        *,
        name: str | None = None,
    ) -> Node:
        try:
            step.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidInputError(
                f"step {step.name!r} was called with arguments its function does not take: {exc}",
                field="pipeline",
                remedy=f"call it as {step.name}{step.signature}",
            ) from None
        node = Node(self, name or self.label(step), step, tuple(args), dict(kwargs))
        self.nodes.append(node)
        return node

    def label(self, step: Step[..., Any]) -> str:
        """A name for the next use of ``step``: its name, then ``name-2``, ``name-3``..."""
        count = self._counts[step.name] = self._counts.get(step.name, 0) + 1
        return step.name if count == 1 else f"{step.name}-{count}"


class Pipeline(Generic[P, R]):
    """A named pipeline (made by :func:`pipeline`): run it with ``p.pipelines.run``."""

    def __init__(self, name: str, function: Callable[P, R]) -> None:
        if not isinstance(name, str) or not _PIPELINE_NAME.match(name):
            raise InvalidInputError(
                "a pipeline name must be 1-128 letters, digits or _.- starting with a letter "
                f"or digit; got {name!r} instead",
                field="name",
                remedy="name it e.g. @podium.pipeline('churn-training')",
            )
        self.name = name
        self.function = function
        self.signature = inspect.signature(function)
        self.target = f"{function.__module__}:{function.__qualname__}"
        functools.update_wrapper(self, function)
        _DEFINED[self.target] = self

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the pipeline function directly (its steps run eagerly, nothing is tracked)."""
        return self.function(*args, **kwargs)

    def bind(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """``params`` completed with the function's defaults; unknown or missing ones refused."""
        given = dict(params or {})
        try:
            bound = self.signature.bind(**given)
        except TypeError as exc:
            raise InvalidInputError(
                f"the params of pipeline {self.name!r} do not fit its function: {exc}",
                field="params",
                remedy=f"pass params named after the arguments of {self.target}{self.signature}",
            ) from None
        bound.apply_defaults()
        return dict(bound.arguments)

    def trace(self, params: Mapping[str, Any]) -> tuple[Trace, Any]:
        """Call the function once with ``params``, recording step calls; returns the trace
        and what the function returned (nodes inside it stand for step outputs)."""
        trace = Trace()
        token = _TRACE.set(trace)
        try:
            returned = self.function(**params)  # type: ignore[call-arg]
        finally:
            _TRACE.reset(token)
        return trace, returned

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, target={self.target!r})"


def pipeline(name: str) -> Callable[[Callable[P, R]], Pipeline[P, R]]:
    """Make a function a pipeline named ``name``: ``@podium.pipeline("churn-training")``.

    The function calls steps; its parameters are the run's ``params`` and what it returns
    (a step's output, or a list or dict of them) is the run's ``output``.
    """

    def make(function: Callable[P, R]) -> Pipeline[P, R]:
        return Pipeline(name, function)

    return make


def map(step: Step[..., R], items: Iterable[Any], /, **kwargs: Any) -> list[R]:
    """``step(item, **kwargs)`` for every item: one node each in a pipeline (run in
    parallel as resources allow), gathered as a list in the order of ``items``.

    Outside a pipeline it calls the step on each item in turn. ``items`` must be known
    while tracing (a list of partitions, of table names, of parameter values).
    """
    if not isinstance(step, Step):
        raise InvalidInputError(
            f"podium.map() needs a @podium.step; got {type(step).__name__} instead",
            field="step",
            remedy="decorate the function with @podium.step",
        )
    if isinstance(items, Node):
        raise items._refuse("fanned out over (podium.map needs items known while tracing)")
    trace = _TRACE.get()
    if trace is None:
        return [step(item, **kwargs) for item in items]
    label = trace.label(step)
    return [
        trace.add(step, (item,), kwargs, name=f"{label}[{i}]")  # type: ignore[misc]
        for i, item in enumerate(items)
    ]


def defined_pipeline(target: str) -> Pipeline[..., Any] | None:
    """The pipeline last defined in this process under ``module:qualname``, if any."""
    return _DEFINED.get(target)


def _non_negative(what: str, value: Any, step: str, *, positive: bool = False) -> float:
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > 0 if positive else value >= 0)
    )
    if not ok:
        bound = "> 0" if positive else ">= 0"
        raise InvalidInputError(
            f"the {what!r} parameter of step {step!r} must be a number {bound}; "
            f"got {value!r} instead",
            field=what,
            remedy=f"pass e.g. {what}=1",
        )
    return float(value)


_BUILT_IN_RESOURCES = {"cpu": "cpus", "gpu": "gpus", "memory": "memory"}


def _custom_resources(
    resources: Mapping[str, float] | None, step: str
) -> tuple[tuple[str, float], ...]:
    """The custom resources a step asks for, checked and in a stable order."""
    if resources is None:
        return ()
    if not isinstance(resources, Mapping):
        raise InvalidInputError(
            f"the 'resources' parameter of step {step!r} must be a dict of resource name "
            f"to amount; got {resources!r} instead",
            field="resources",
            remedy='pass e.g. resources={"accelerator": 1}',
        )
    checked: dict[str, float] = {}
    for name, amount in resources.items():
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(
                f"the resource names of step {step!r} must be non-empty strings; got {name!r}",
                field="resources",
                remedy='pass e.g. resources={"accelerator": 1}',
            )
        if name.lower() in _BUILT_IN_RESOURCES:
            use = _BUILT_IN_RESOURCES[name.lower()]
            raise InvalidInputError(
                f"step {step!r} asks for {name!r} in 'resources', which has its own parameter",
                field="resources",
                remedy=f"pass {use}=... to @podium.step instead",
            )
        checked[name] = _non_negative(f"resources[{name!r}]", amount, step, positive=True)
    return tuple(sorted(checked.items()))
