"""Periodic: the one background loop (real threads, synchronised by events, never by sleeps)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest

from podium.store.periodic import Periodic

WAIT = 5.0  # seconds an event may take to arrive before the test fails
LONG = 3600.0  # an interval that never elapses during a test


@pytest.fixture
def loops() -> Iterator[Callable[..., Periodic]]:
    """Builds loops and stops every one of them at the end, whatever the test did."""
    made: list[Periodic] = []

    def make(*args: object, **kwargs: object) -> Periodic:
        loop = Periodic(*args, **kwargs)  # type: ignore[arg-type]
        made.append(loop)
        return loop

    yield make
    for loop in made:
        loop.stop(timeout=WAIT)


class Calls:
    """A ``work`` that counts its calls and sets an event at a given count."""

    def __init__(self, *, until: int = 1, result: Callable[[int], object] = lambda n: None):
        self.count = 0
        self.threads: list[threading.Thread] = []
        self.reached = threading.Event()
        self._until = until
        self._result = result

    def __call__(self) -> object:
        self.count += 1
        self.threads.append(threading.current_thread())
        if self.count >= self._until:
            self.reached.set()
        return self._result(self.count)


def test_it_calls_work_every_interval_in_a_named_daemon_thread(
    loops: Callable[..., Periodic],
) -> None:
    work = Calls(until=3)
    loop = loops("podium-test", 0.01, work)
    loop.start()
    assert work.reached.wait(WAIT)
    loop.stop(timeout=WAIT)
    assert {t.name for t in work.threads} == {"podium-test"}
    assert all(t.daemon for t in work.threads) and len(set(work.threads)) == 1
    assert not loop.running


def test_it_waits_one_interval_before_the_first_round(loops: Callable[..., Periodic]) -> None:
    work = Calls()
    loop = loops("podium-test", LONG, work)
    loop.start()
    assert loop.running and work.count == 0  # the hour has not passed
    loop.run_now()
    assert work.reached.wait(WAIT)
    assert work.count == 1


def test_without_wait_first_the_first_round_runs_at_once(
    loops: Callable[..., Periodic],
) -> None:
    work = Calls()
    loops("podium-test", LONG, work, wait_first=False).start()
    assert work.reached.wait(WAIT)


def test_drain_runs_again_at_once_while_work_has_more_to_do(
    loops: Callable[..., Periodic],
) -> None:
    work = Calls(until=4, result=lambda n: n < 4)  # busy three times, then idle
    loop = loops("podium-test", LONG, work, wait_first=False, drain=True)
    loop.start()
    assert work.reached.wait(WAIT)
    loop.stop(timeout=WAIT)
    assert work.count == 4  # idle after the fourth: it waits for the interval


def test_a_truthy_result_does_not_repeat_without_drain(loops: Callable[..., Periodic]) -> None:
    work = Calls(result=lambda n: True)
    loop = loops("podium-test", LONG, work, wait_first=False)
    loop.start()
    assert work.reached.wait(WAIT)
    loop.stop(timeout=WAIT)
    assert work.count == 1


def test_final_round_runs_work_once_more_when_stopped(loops: Callable[..., Periodic]) -> None:
    work = Calls()
    loop = loops("podium-test", LONG, work, final_round=True)
    loop.start()
    loop.stop(timeout=WAIT)
    assert work.count == 1 and work.threads[0].name == "podium-test"


def test_stopping_without_final_round_runs_nothing_more(
    loops: Callable[..., Periodic],
) -> None:
    work = Calls()
    loop = loops("podium-test", LONG, work)
    loop.start()
    loop.stop(timeout=WAIT)
    assert work.count == 0 and not loop.running


def test_stop_joins_the_thread_after_its_current_round(loops: Callable[..., Periodic]) -> None:
    entered, release, finished, returned = (threading.Event() for _ in range(4))

    def work() -> None:
        entered.set()
        release.wait(WAIT)
        finished.set()

    loop = loops("podium-test", LONG, work, wait_first=False)
    loop.start()
    assert entered.wait(WAIT)

    def stop() -> None:
        loop.stop()
        returned.set()

    stopper = threading.Thread(target=stop)
    stopper.start()
    assert not returned.wait(0.05)  # still waiting for the round
    release.set()
    assert returned.wait(WAIT)
    assert finished.is_set()  # stop returned only once the round was over
    stopper.join(WAIT)


def test_an_exception_is_logged_and_the_next_round_runs(
    loops: Callable[..., Periodic], caplog: pytest.LogCaptureFixture
) -> None:
    first = threading.Event()

    def fail_once(n: int) -> None:
        if n == 1:
            first.set()
            raise RuntimeError("database hiccup")

    work = Calls(until=2, result=fail_once)
    loop = loops("podium-test", LONG, work)
    with caplog.at_level(logging.ERROR, logger="podium.store.periodic"):
        loop.start()
        loop.run_now()
        assert first.wait(WAIT)
        loop.run_now()  # during the failing round: another follows it
        assert work.reached.wait(WAIT)
    [record] = caplog.records
    assert "podium-test failed" in record.getMessage()
    assert record.exc_info is not None and "database hiccup" in str(record.exc_info[1])


def test_on_error_gets_the_exception_inside_the_except_block(
    loops: Callable[..., Periodic], caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Exception] = []
    handled = threading.Event()
    log = logging.getLogger("tests.periodic")

    def on_error(exc: Exception) -> None:
        seen.append(exc)
        log.exception("judging failed")  # the traceback is still at hand here
        handled.set()

    def work() -> None:
        raise KeyError("gone")

    with caplog.at_level(logging.ERROR):
        loops("podium-test", LONG, work, wait_first=False, on_error=on_error).start()
        assert handled.wait(WAIT)
    assert [type(e) for e in seen] == [KeyError]
    [record] = caplog.records
    assert record.name == "tests.periodic" and record.exc_info is not None


def test_a_failing_error_handler_does_not_end_the_loop(
    loops: Callable[..., Periodic], caplog: pytest.LogCaptureFixture
) -> None:
    def on_error(exc: Exception) -> None:
        raise ValueError("handler bug")

    def fail_first(n: int) -> None:
        if n == 1:
            raise RuntimeError("work bug")

    work = Calls(until=2, result=fail_first)
    with caplog.at_level(logging.ERROR, logger="podium.store.periodic"):
        loop = loops("podium-test", 0.01, work, on_error=on_error)
        loop.start()
        assert work.reached.wait(WAIT)
    assert any("its error handler" in r.getMessage() for r in caplog.records)


def test_run_now_during_a_round_asks_for_another(loops: Callable[..., Periodic]) -> None:
    entered, release = threading.Event(), threading.Event()

    def first_blocks(n: int) -> None:
        if n == 1:
            entered.set()
            release.wait(WAIT)

    work = Calls(until=2, result=first_blocks)
    loop = loops("podium-test", LONG, work, wait_first=False)
    loop.start()
    assert entered.wait(WAIT)
    loop.run_now()
    release.set()
    assert work.reached.wait(WAIT)


def test_start_is_idempotent(loops: Callable[..., Periodic]) -> None:
    loop = loops("podium-test", LONG, Calls())
    loop.start()
    loop.start()
    assert [t.name for t in threading.enumerate()].count("podium-test") == 1


def test_a_stopped_loop_stays_stopped(loops: Callable[..., Periodic]) -> None:
    # A runtime closed while a deployment still loads must not get its thread back.
    entered, release = threading.Event(), threading.Event()

    def first_blocks(n: int) -> None:
        if n == 1:
            entered.set()
            release.wait(WAIT)

    work = Calls(result=first_blocks)
    loop = loops("podium-test", 0.01, work, wait_first=False)
    loop.start()
    assert entered.wait(WAIT)
    loop.stop(timeout=0.01)  # returns while the round still runs
    loop.start()
    release.set()
    [thread] = set(work.threads)
    thread.join(WAIT)
    assert not thread.is_alive() and not loop.running and work.count == 1
    assert "podium-test" not in [t.name for t in threading.enumerate()]


def test_work_may_stop_its_own_loop(loops: Callable[..., Periodic]) -> None:
    holder: list[Periodic] = []
    threads: list[threading.Thread] = []
    done = threading.Event()

    def work() -> None:
        threads.append(threading.current_thread())
        holder[0].stop(timeout=WAIT)  # must not try to join its own thread
        done.set()

    loop = loops("podium-test", LONG, work, wait_first=False)
    holder.append(loop)
    loop.start()
    assert done.wait(WAIT)
    [thread] = threads
    thread.join(WAIT)
    assert not thread.is_alive() and not loop.running


def test_stop_before_start_is_harmless() -> None:
    Periodic("podium-test", 1.0, lambda: None).stop(timeout=WAIT)


@pytest.mark.parametrize("interval", [0, -1.0])
def test_the_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="interval of 'podium-test' must be positive"):
        Periodic("podium-test", interval, lambda: None)
