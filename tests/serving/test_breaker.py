"""The circuit breaker: every state transition, driven by a fake clock."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podium.errors import InvalidInputError
from podium.serving.requests.breaker import BreakerSettings, BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


SETTINGS = BreakerSettings(
    failure_rate=0.5,
    window_seconds=30.0,
    min_calls=10,
    cooldown_seconds=10.0,
    half_open_probes=3,
    restore_seconds=10.0,
)


def make(settings: BreakerSettings = SETTINGS) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    return CircuitBreaker(settings, clock=clock), clock


def feed(breaker: CircuitBreaker, outcomes: list[bool]) -> None:
    for ok in outcomes:
        assert breaker.allow()
        breaker.record(ok)


def trip(breaker: CircuitBreaker) -> None:
    feed(breaker, [False] * 10)
    assert breaker.state is BreakerState.OPEN


def close_via_probes(breaker: CircuitBreaker, clock: Clock) -> None:
    trip(breaker)
    clock.advance(10.0)
    for _ in range(3):
        assert breaker.allow()
        breaker.record(True)
    assert breaker.state is BreakerState.CLOSED


def test_starts_closed_and_admits_everything() -> None:
    breaker, _ = make()
    assert breaker.state is BreakerState.CLOSED
    assert all(breaker.allow() for _ in range(100))


def test_opens_when_failure_rate_reaches_threshold() -> None:
    breaker, _ = make()
    feed(breaker, [True] * 5 + [False] * 4)
    assert breaker.state is BreakerState.CLOSED  # 9 calls: below min_calls
    feed(breaker, [False])  # 5 failures of 10 calls = 0.5
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    snap = breaker.snapshot()
    assert snap["state"] == "open"
    assert snap["opened_at"] == 1000.0
    assert snap["times_opened"] == 1


def test_stays_closed_below_the_rate() -> None:
    breaker, _ = make()
    feed(breaker, [True, True, False] * 20)  # a third fail
    assert breaker.state is BreakerState.CLOSED
    snap = breaker.snapshot()
    assert snap["calls"] == 60
    assert snap["failures"] == 20


def test_never_opens_below_min_calls_even_if_all_fail() -> None:
    breaker, _ = make()
    feed(breaker, [False] * 9)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot()["failure_rate"] == 1.0


def test_old_calls_leave_the_window() -> None:
    breaker, clock = make()
    feed(breaker, [False] * 9)
    clock.advance(31.0)
    feed(breaker, [False] * 9)  # 9 in the window, the first 9 expired
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot()["calls"] == 9
    feed(breaker, [False])
    assert breaker.state is BreakerState.OPEN


def test_open_turns_half_open_after_cooldown() -> None:
    breaker, clock = make()
    trip(breaker)
    clock.advance(9.9)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.state is BreakerState.HALF_OPEN


def test_half_open_admits_one_probe_at_a_time() -> None:
    breaker, clock = make()
    trip(breaker)
    clock.advance(10.0)
    assert breaker.allow()
    assert not breaker.allow()  # a probe is in flight
    assert breaker.snapshot()["probe_in_flight"] is True
    breaker.record(True)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()


def test_failed_probe_reopens_with_a_new_cooldown() -> None:
    breaker, clock = make()
    trip(breaker)
    clock.advance(10.0)
    assert breaker.allow()
    breaker.record(False)
    assert breaker.state is BreakerState.OPEN
    assert breaker.snapshot()["opened_at"] == 1010.0
    clock.advance(9.0)
    assert breaker.state is BreakerState.OPEN
    clock.advance(1.0)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.snapshot()["times_opened"] == 2


def test_enough_successful_probes_close_it() -> None:
    breaker, clock = make()
    trip(breaker)
    clock.advance(10.0)
    for expected in (BreakerState.HALF_OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED):
        assert breaker.allow()
        breaker.record(True)
        assert breaker.state is expected


def test_late_results_of_old_calls_do_not_count_as_probes() -> None:
    breaker, clock = make()
    trip(breaker)
    breaker.record(True)  # a call admitted before the breaker opened finishes late
    clock.advance(10.0)
    for _ in range(3):
        breaker.record(True)  # nothing is in flight, so these are not probes
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.snapshot()["probe_successes"] == 0


def test_a_lost_probe_is_given_up_after_the_probe_timeout() -> None:
    breaker, clock = make(BreakerSettings(min_calls=1, cooldown_seconds=1.0,
                                          probe_timeout_seconds=5.0))  # fmt: skip
    feed(breaker, [False])
    clock.advance(1.0)
    assert breaker.allow()  # this probe's caller never reports back
    clock.advance(4.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.allow()


def test_traffic_ramps_from_ten_percent_after_closing() -> None:
    breaker, clock = make()
    close_via_probes(breaker, clock)
    assert breaker.admitted_share() == pytest.approx(0.1)
    admitted = sum(breaker.allow() for _ in range(1000))
    assert admitted == 100
    clock.advance(5.0)  # half way: 0.1 + 0.9 * 0.5
    assert breaker.admitted_share() == pytest.approx(0.55)
    admitted = sum(breaker.allow() for _ in range(1000))
    assert admitted == pytest.approx(550, abs=1)
    clock.advance(5.0)
    assert breaker.admitted_share() == 1.0
    assert all(breaker.allow() for _ in range(1000))


def test_ramp_admits_the_first_call_after_closing() -> None:
    breaker, clock = make()
    close_via_probes(breaker, clock)
    assert breaker.allow()
    assert not breaker.allow()


def test_no_ramp_with_zero_restore_seconds() -> None:
    breaker, clock = make(BreakerSettings(min_calls=10, half_open_probes=3, restore_seconds=0))
    close_via_probes(breaker, clock)
    assert all(breaker.allow() for _ in range(100))


def test_failures_during_the_ramp_reopen_it() -> None:
    breaker, clock = make(BreakerSettings(min_calls=2, half_open_probes=1))
    feed(breaker, [False, False])
    clock.advance(10.0)
    assert breaker.allow()
    breaker.record(True)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot()["calls"] == 0  # the window restarts on closing
    breaker.record(False)
    breaker.record(False)
    assert breaker.state is BreakerState.OPEN


def test_rejections_are_counted() -> None:
    breaker, _ = make()
    trip(breaker)
    for _ in range(7):
        breaker.allow()
    assert breaker.snapshot()["rejected"] == 7


def test_concurrent_callers_get_exactly_one_probe() -> None:
    breaker, clock = make()
    trip(breaker)
    clock.advance(10.0)
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def caller() -> None:
        start.wait()
        got = [breaker.allow() for _ in range(100)]
        with lock:
            results.extend(got)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 1


def test_window_memory_is_bounded() -> None:
    breaker, clock = make(BreakerSettings(min_calls=10**9))
    for _ in range(10_000):
        clock.advance(0.006)
        breaker.allow()
        breaker.record(True)
    assert len(breaker._window._slots) <= 1001  # 60 s of calls, one slot per 30 ms kept
    assert breaker.snapshot()["calls"] == pytest.approx(5000, abs=10)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("failure_rate", 0.0),
        ("failure_rate", 1.5),
        ("window_seconds", 0.0),
        ("min_calls", 0),
        ("cooldown_seconds", -1.0),
        ("half_open_probes", 0),
        ("restore_seconds", float("inf")),
        ("probe_timeout_seconds", 0.0),
    ],
)
def test_bad_settings_name_the_field(name: str, value: float) -> None:
    with pytest.raises(InvalidInputError) as info:
        BreakerSettings(**{name: value})  # type: ignore[arg-type]
    assert info.value.field == name
    assert name in info.value.message


@settings(derandomize=True, deadline=None, max_examples=150)
@given(st.lists(st.tuples(st.sampled_from(["allow", "ok", "fail", "wait"]), st.floats(0, 4)),
                max_size=300))  # fmt: skip
def test_invariants_hold_under_any_sequence_of_events(events: list[tuple[str, float]]) -> None:
    breaker, clock = make()
    in_flight = 0  # admitted half-open probes not yet reported
    probe_at = 0.0
    for event, seconds in events:
        state = breaker.state
        if event == "wait":
            clock.advance(seconds)
        elif event == "allow":
            admitted = breaker.allow()
            if state is BreakerState.OPEN:
                assert not admitted
            if state is BreakerState.HALF_OPEN and admitted:
                if clock.now - probe_at >= 10.0:
                    in_flight = 0  # the earlier probe was given up (probe timeout)
                in_flight += 1
                probe_at = clock.now
                assert in_flight == 1  # never two probes at once
        else:
            breaker.record(event == "ok")
            in_flight = 0
        snap = breaker.snapshot()
        assert 0 <= snap["failures"] <= snap["calls"]  # type: ignore[operator]
        assert 0.0 <= snap["admitted_share"] <= 1.0  # type: ignore[operator]
        if breaker.state is not BreakerState.HALF_OPEN:
            in_flight = 0
