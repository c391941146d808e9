"""Bad input is a clear error before anything runs: no step body runs, no run is recorded."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import podium
from podium.errors import InvalidInputError, MissingDependencyError
from podium.pipelines.resources import parse_memory
from podium.platform import Platform
from tests.pipelines import flows

RAN: list[str] = []


@pytest.fixture(autouse=True)
def _nothing_ran() -> Iterator[None]:
    RAN.clear()
    flows.reset()
    yield
    RAN.clear()


@podium.step
def inc(x: int) -> int:
    RAN.append("inc")
    return x + 1


@podium.step
def locked(x: int, lock: Any = threading.Lock()) -> int:  # an unpicklable default: the point
    RAN.append("locked")
    return x


def _cyclic() -> Any:
    first = inc(0)
    second = inc(first)
    first.args = (second,)  # a node edited to need its own dependant
    return second


def _unpicklable_default() -> Any:
    return locked(inc(1))


def _branching() -> Any:
    if inc(1):
        return inc(2)
    return None


def _nothing() -> Any:
    return 42


@podium.step(cpus=100_000)
def greedy() -> int:
    RAN.append("greedy")
    return 1


@podium.step(memory="1000TB")
def hungry() -> int:
    RAN.append("hungry")
    return 1


@podium.step(gpus=1)
def gpu() -> int:
    RAN.append("gpu")
    return 1


def _one(step: Callable[[], int]) -> Callable[[], Any]:
    def body() -> Any:
        return step()

    body.__name__ = body.__qualname__ = f"only_{step.__name__}"
    return body


CASES = {
    "a cycle": (_cyclic, {}, "form a cycle: inc -> inc-2 -> inc"),
    "an unpicklable default": (
        _unpicklable_default,
        {},
        "argument 'lock' of step 'locked' cannot be stored",
    ),
    "a node in an if": (_branching, {}, "cannot be tested with if"),
    "no step": (_nothing, {}, "called no step"),
    "more cores than the machine": (_one(greedy), {}, "asks for cpus=100000"),
    "more memory than the machine": (_one(hungry), {}, "asks for memory=1000TB"),
    "a gpu on the local runner": (_one(gpu), {}, "asks for gpus=1"),
}


@pytest.mark.parametrize(("body", "runner_kw", "message"), CASES.values(), ids=list(CASES))
def test_bad_graphs_and_resources_are_refused_before_anything_runs(
    platform: Platform, body: Callable[[], Any], runner_kw: dict[str, Any], message: str
) -> None:
    pipe = podium.pipeline(f"bad-{body.__name__.strip('_')}")(body)
    with pytest.raises(InvalidInputError, match=message.replace("+", r"\+").replace("(", r"\(")):
        platform.pipelines.run(pipe, **runner_kw)
    assert RAN == []
    assert platform.pipelines.runs() == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"nope": 1}, "do not fit its function"),
        ({"n": threading.Lock()}, "param 'n' of pipeline 'three' cannot be stored"),
    ],
)
def test_bad_params_are_refused(platform: Platform, params: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        platform.pipelines.run(flows.three, params=params)
    assert flows.CALLS == [] and platform.pipelines.runs() == []


def test_an_unknown_runner_is_refused(platform: Platform) -> None:
    with pytest.raises(InvalidInputError, match="the runner must be one of 'local', 'ray'"):
        platform.pipelines.run(flows.three, runner="spark")
    assert flows.CALLS == [] and platform.pipelines.runs() == []


def test_the_ray_runner_without_the_extra_names_it(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(MissingDependencyError, match="ray") as info:
        platform.pipelines.run(flows.three, runner="ray")
    assert info.value.remedy == "pip install 'podium[ray]'"
    assert flows.CALLS == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cpus": 0}, "cpus"),
        ({"gpus": -1}, "gpus"),
        ({"memory": "lots"}, "memory"),
        ({"retries": -1}, "retries"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_bad_step_options_are_refused_where_the_step_is_defined(
    kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        podium.step(**kwargs)(lambda: 1)
    assert info.value.field == field


def test_memory_sizes() -> None:
    assert parse_memory("1GB", step="s") == 10**9
    assert parse_memory("512MiB", step="s") == 512 * 2**20
    assert parse_memory(2048, step="s") == 2048
    assert parse_memory(None, step="s") == 0


def test_a_bad_pipeline_name_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="a pipeline name must be"):
        podium.pipeline("no spaces please")(lambda: None)


def test_a_step_outside_a_pipeline_just_runs() -> None:
    assert inc(1) == 2 and RAN == ["inc"]
