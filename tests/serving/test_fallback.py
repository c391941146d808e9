"""The fallback chain: fault injection on each link, breakers, and the 503 at the end."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from podium.errors import BackendUnavailableError, InvalidInputError
from podium.serving.requests.breaker import BreakerSettings, BreakerState, CircuitBreaker
from podium.serving.requests.fallback import (
    FallbackChain,
    Link,
    Served,
    check_outputs,
    check_present,
)

ROWS: list[dict[str, Any]] = [{"x": 1.0}, {"x": 2.0}, {"x": 3.0}]


def doubled(rows: list[dict[str, Any]]) -> list[float]:
    return [2 * row["x"] for row in rows]


def rules(rows: list[dict[str, Any]]) -> list[float]:
    return [0.5 for _ in rows]


def default(rows: list[dict[str, Any]]) -> list[float]:
    return [0.0] * len(rows)


def raises(rows: list[dict[str, Any]]) -> list[float]:
    raise RuntimeError("model exploded")


def run(chain: FallbackChain, rows: list[dict[str, Any]] = ROWS) -> Served:
    return asyncio.run(chain.run(rows))


@pytest.fixture
def executor() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    yield pool
    pool.shutdown(wait=True)


def test_primary_answers_when_healthy() -> None:
    served = run(FallbackChain([Link("primary", doubled), Link("default", default)]))
    assert served == Served([2.0, 4.0, 6.0], "primary", degraded=False, errors=[])


def test_raising_primary_is_answered_by_the_next_link() -> None:
    served = run(FallbackChain([Link("primary", raises), Link("fallback", doubled)]))
    assert served.outputs == [2.0, 4.0, 6.0]
    assert served.served_by == "fallback"
    assert served.degraded
    assert served.errors == [("primary", "RuntimeError: model exploded")]


def test_hung_primary_is_answered_by_the_next_link_within_its_timeout(
    executor: concurrent.futures.ThreadPoolExecutor,
) -> None:
    release = threading.Event()

    def hangs(rows: list[dict[str, Any]]) -> list[float]:
        release.wait(10)
        return [1.0] * len(rows)

    chain = FallbackChain(
        [Link("primary", hangs, timeout_seconds=0.2), Link("rules", rules)], executor=executor
    )
    start = time.perf_counter()
    served = run(chain)
    elapsed = time.perf_counter() - start
    release.set()
    assert served.served_by == "rules"
    assert served.outputs == [0.5, 0.5, 0.5]
    assert served.errors == [("primary", "timed out after 0.2 s")]
    assert 0.2 <= elapsed < 0.2 + 0.5


@pytest.mark.parametrize(
    "garbage",
    [
        [1.0, 2.0],  # too short
        [1.0, 2.0, 3.0, 4.0],  # too long
        [1.0, float("nan"), 3.0],
        [1.0, None, 3.0],
        [1.0, float("inf"), 3.0],
        [1.0, "high", 3.0],
        np.array([1.0, np.nan, 3.0]),
        None,  # not a sequence at all
    ],
)
def test_garbage_output_is_answered_by_the_next_link(garbage: Any) -> None:
    def bad(rows: list[dict[str, Any]]) -> Any:
        return garbage

    chain = FallbackChain([Link("primary", bad, validate=check_outputs), Link("default", default)])
    served = run(chain)
    assert served.served_by == "default"
    assert served.outputs == [0.0, 0.0, 0.0]
    assert served.errors[0][0] == "primary"


def test_wrong_length_is_refused_even_without_a_validator() -> None:
    chain = FallbackChain([Link("primary", lambda rows: [1]), Link("default", default)])
    served = run(chain)
    assert served.served_by == "default"
    assert "1 outputs for 3 rows" in served.errors[0][1]


def test_numpy_outputs_become_python_values() -> None:
    chain = FallbackChain([Link("primary", lambda rows: np.arange(len(rows), dtype=float))])
    served = run(chain)
    assert served.outputs == [0.0, 1.0, 2.0]
    assert all(type(v) is float for v in served.outputs)


def test_open_breaker_skips_its_link_without_calling_it() -> None:
    calls: list[int] = []

    def counted(rows: list[dict[str, Any]]) -> list[float]:
        calls.append(len(rows))
        return doubled(rows)

    breaker = CircuitBreaker(BreakerSettings(min_calls=1))
    breaker.record(False)
    assert breaker.state is BreakerState.OPEN
    chain = FallbackChain([Link("primary", counted, breaker=breaker), Link("default", default)])
    served = run(chain)
    assert served.served_by == "default"
    assert served.errors == [("primary", "circuit breaker open")]
    assert calls == []


def test_failures_open_the_breaker_and_successes_close_it() -> None:
    now = [0.0]
    breaker = CircuitBreaker(
        BreakerSettings(min_calls=4, cooldown_seconds=5, half_open_probes=2, restore_seconds=0),
        clock=lambda: now[0],
    )
    healthy = [False]

    def flaky(rows: list[dict[str, Any]]) -> list[float]:
        if not healthy[0]:
            raise TimeoutError("upstream")
        return doubled(rows)

    chain = FallbackChain([Link("primary", flaky, breaker=breaker), Link("default", default)])
    for _ in range(4):
        served = run(chain)
        assert served.served_by == "default"
        assert served.errors == [("primary", "TimeoutError: upstream")]
    assert breaker.state is BreakerState.OPEN
    assert run(chain).errors == [("primary", "circuit breaker open")]
    now[0] = 5.0
    healthy[0] = True
    assert run(chain).served_by == "primary"  # probe 1
    assert breaker.state is BreakerState.HALF_OPEN
    assert run(chain).served_by == "primary"  # probe 2
    assert breaker.state is BreakerState.CLOSED


def test_garbage_output_counts_as_a_breaker_failure() -> None:
    breaker = CircuitBreaker(BreakerSettings(min_calls=2))
    chain = FallbackChain(
        [
            Link(
                "primary", lambda rows: [None] * len(rows), breaker=breaker, validate=check_outputs
            ),
            Link("default", default),
        ]
    )
    run(chain)
    run(chain)
    assert breaker.state is BreakerState.OPEN


def test_every_link_failing_is_a_503_naming_each_reason() -> None:
    breaker = CircuitBreaker(BreakerSettings(min_calls=1))
    breaker.record(False)
    chain = FallbackChain(
        [
            Link("primary", raises),
            Link("fallback", doubled, breaker=breaker),
            Link("default", lambda rows: [None] * len(rows), validate=check_outputs),
        ]
    )
    with pytest.raises(BackendUnavailableError) as info:
        run(chain)
    error = info.value
    assert error.status == 503
    assert error.details["errors"][0] == {
        "link": "primary",
        "reason": "RuntimeError: model exploded",
    }
    assert error.details["errors"][1] == {"link": "fallback", "reason": "circuit breaker open"}
    assert error.details["errors"][2]["link"] == "default"
    assert "primary" in error.message and "fallback" in error.message
    assert error.remedy


def test_constant_default_link() -> None:
    chain = FallbackChain(
        [Link("primary", raises), Link("default", lambda rows: ["low_risk"] * len(rows))]
    )
    assert run(chain).outputs == ["low_risk"] * 3


def test_empty_rows_call_nothing() -> None:
    chain = FallbackChain([Link("primary", raises)])
    assert run(chain, []) == Served([], "primary", degraded=False, errors=[])


def test_concurrent_runs_share_the_chain(executor: concurrent.futures.ThreadPoolExecutor) -> None:
    chain = FallbackChain([Link("primary", doubled)], executor=executor)

    async def many() -> list[Served]:
        return await asyncio.gather(*(chain.run([{"x": float(i)}]) for i in range(50)))

    results = asyncio.run(many())
    assert [r.outputs[0] for r in results] == [2.0 * i for i in range(50)]


def test_caller_cancellation_propagates() -> None:
    release = threading.Event()

    def hangs(rows: list[dict[str, Any]]) -> list[float]:
        release.wait(5)
        return [1.0] * len(rows)

    chain = FallbackChain([Link("primary", hangs), Link("default", default)])

    async def cancelled() -> None:
        task = asyncio.create_task(chain.run(ROWS))
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            release.set()

    asyncio.run(cancelled())


def test_check_outputs_accepts_scores_and_probability_rows() -> None:
    check_outputs([0.1, 1, np.float32(0.5)], 3)
    check_outputs([[0.2, 0.8], (0.5, 0.5)], 2)
    with pytest.raises(InvalidInputError) as info:
        check_outputs([True], 1)
    assert info.value.field == "outputs[0]"
    with pytest.raises(InvalidInputError):
        check_outputs([[0.2, float("nan")]], 1)


def test_chain_construction_is_validated() -> None:
    with pytest.raises(InvalidInputError, match="at least one link"):
        FallbackChain([])
    with pytest.raises(InvalidInputError, match="unique"):
        FallbackChain([Link("a", default), Link("a", default)])
    with pytest.raises(InvalidInputError) as info:
        Link("a", default, timeout_seconds=0)
    assert info.value.field == "timeout_seconds"
    with pytest.raises(InvalidInputError):
        Link("", default)


def test_check_present_accepts_labels_and_refuses_holes() -> None:
    check_present(["low_risk", {"p": 0.2, "labels": ["a", "b"]}, 3, np.array([1.0, 2.0])], 4)
    for bad in (None, float("nan"), {"p": None}, [1.0, float("inf")], np.array([np.nan])):
        with pytest.raises(InvalidInputError) as info:
            check_present(["ok", bad], 2)
        assert info.value.field == "outputs[1]"
    with pytest.raises(InvalidInputError):
        check_present(["ok"], 2)


def test_label_model_with_check_present_falls_back_on_none() -> None:
    chain = FallbackChain(
        [
            Link("primary", lambda rows: ["low_risk", None, "high_risk"], validate=check_present),
            Link("default", lambda rows: ["unknown"] * len(rows)),
        ]
    )
    served = run(chain)
    assert served.served_by == "default"
    assert served.errors[0][0] == "primary"
    assert "output 1 of the model is None" in served.errors[0][1]


def hanging(release: threading.Event) -> Any:
    def call(rows: list[dict[str, Any]]) -> list[float]:
        release.wait(10)
        return [1.0] * len(rows)

    return call


def test_inline_default_answers_when_every_worker_thread_is_hung() -> None:
    release = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    threaded = FallbackChain(
        [
            Link("primary", hanging(release), timeout_seconds=0.1),
            Link("default", default, timeout_seconds=0.2),
        ],
        executor=pool,
    )
    inline = FallbackChain(
        [
            Link("primary", hanging(release), timeout_seconds=0.1),
            Link("default", default, inline=True),
        ],
        executor=pool,
    )
    try:
        assert run(inline).served_by == "default"  # the one thread now hangs in primary
        # A threaded default queues behind the hung call: nothing is left to answer with.
        with pytest.raises(BackendUnavailableError, match="default: timed out"):
            run(threaded)
        start = time.perf_counter()
        served = run(inline)
        assert served.served_by == "default"
        assert served.errors == [("primary", "timed out after 0.1 s")]
        assert time.perf_counter() - start < 0.1 + 0.5
    finally:
        release.set()
        pool.shutdown(wait=True)


def test_bulkhead_skips_a_link_whose_hung_calls_fill_it() -> None:
    release = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    chain = FallbackChain(
        [
            Link("primary", hanging(release), timeout_seconds=0.1, max_in_flight=1),
            Link("default", default, inline=True),
        ],
        executor=pool,
    )
    try:
        assert run(chain).errors == [("primary", "timed out after 0.1 s")]
        assert chain.in_flight() == {"primary": 1, "default": 0}
        start = time.perf_counter()
        served = run(chain)
        assert time.perf_counter() - start < 0.1  # skipped, not waited for
        assert served.errors == [("primary", "1 calls still running (max_in_flight 1)")]
        release.set()
        deadline = time.monotonic() + 5
        while chain.in_flight()["primary"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert chain.in_flight() == {"primary": 0, "default": 0}
        assert run(chain).served_by == "primary"
    finally:
        release.set()
        pool.shutdown(wait=True)


def test_inline_and_bulkhead_settings_are_validated() -> None:
    with pytest.raises(InvalidInputError) as info:
        Link("default", default, inline=True, timeout_seconds=1.0)
    assert info.value.field == "timeout_seconds"
    with pytest.raises(InvalidInputError) as info:
        Link("primary", default, max_in_flight=0)
    assert info.value.field == "max_in_flight"
