"""MetricBuffer on its own: batching, flushing, closing, and errors that are never lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from podium.tracking.buffer import MetricBuffer
from podium.tracking.types import MetricPoint


def _points(n: int, start: int = 0) -> list[MetricPoint]:
    return [MetricPoint(key="m", value=float(i), step=i, timestamp=1) for i in range(start, n)]


class Sink:
    """A write function that records batches, and fails while ``failing`` is set."""

    def __init__(self) -> None:
        self.batches: list[list[MetricPoint]] = []
        self.failing: BaseException | None = None
        self.attempts = 0
        self.attempted = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, points: Sequence[MetricPoint]) -> None:
        with self.lock:
            self.attempts += 1
            self.attempted.set()
            if self.failing is not None:
                raise self.failing
            self.batches.append(list(points))

    @property
    def values(self) -> list[float]:
        return [p.value for batch in self.batches for p in batch]


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def idle(sink: Sink) -> Iterator[MetricBuffer]:
    """A buffer whose background thread never wakes on its own during a test."""
    buffer = MetricBuffer(sink, interval=3600, max_batch=100)
    yield buffer
    sink.failing = None
    buffer.close()


def test_flush_writes_everything_in_order(idle: MetricBuffer, sink: Sink) -> None:
    idle.add(_points(50))
    idle.add(_points(80, start=50))
    assert sink.batches == []  # nothing is written before a flush or the interval
    idle.flush()
    assert sink.values == [float(i) for i in range(80)]
    idle.flush()  # nothing left: no empty write
    assert sink.attempts == 1


def test_batches_are_capped_at_max_batch(idle: MetricBuffer, sink: Sink) -> None:
    idle.add(_points(250))
    idle.flush()
    assert [len(b) for b in sink.batches] == [100, 100, 50]
    assert sink.values == [float(i) for i in range(250)]


def test_background_thread_writes_on_its_interval(sink: Sink) -> None:
    buffer = MetricBuffer(sink, interval=0.01)
    try:
        buffer.add(_points(3))
        deadline = time.monotonic() + 10
        while not sink.batches and time.monotonic() < deadline:
            time.sleep(0.005)
        assert sink.values == [0.0, 1.0, 2.0]
    finally:
        buffer.close()


def test_a_full_buffer_wakes_the_thread(idle: MetricBuffer, sink: Sink) -> None:
    idle.add(_points(100))  # max_batch reached: written without waiting an hour
    assert sink.attempted.wait(timeout=10)
    idle.flush()
    assert len(sink.values) == 100


def test_close_flushes_and_stops_the_thread(sink: Sink) -> None:
    buffer = MetricBuffer(sink, interval=3600)
    buffer.add(_points(5))
    buffer.close()
    assert sink.values == [float(i) for i in range(5)]
    assert not buffer._thread.is_alive()
    buffer.close()  # twice is fine
    assert len(sink.values) == 5


def test_points_added_after_close_are_written_at_once(sink: Sink) -> None:
    buffer = MetricBuffer(sink, interval=3600)
    buffer.close()
    buffer.add(_points(3))
    assert sink.values == [0.0, 1.0, 2.0]


def test_flush_error_puts_points_back_for_a_later_flush(idle: MetricBuffer, sink: Sink) -> None:
    idle.add(_points(250))
    sink.failing = ConnectionError("down")
    with pytest.raises(ConnectionError, match="down"):
        idle.flush()
    assert sink.values == []
    sink.failing = None
    idle.flush()
    assert sink.values == [float(i) for i in range(250)]  # all of them, once, in order


def test_a_failure_midway_keeps_only_what_was_not_written(sink: Sink) -> None:
    calls = 0

    def flaky(points: Sequence[MetricPoint]) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise TimeoutError("slow database")
        sink(points)

    buffer = MetricBuffer(flaky, interval=3600, max_batch=10)
    buffer.add(_points(30))
    with pytest.raises(TimeoutError):
        buffer.flush()
    assert sink.values == [float(i) for i in range(10)]
    buffer.close()
    assert sink.values == [float(i) for i in range(30)]


def test_background_error_is_raised_by_the_next_flush(sink: Sink) -> None:
    buffer = MetricBuffer(sink, interval=0.01)
    sink.failing = ConnectionError("down")
    buffer.add(_points(3))
    assert sink.attempted.wait(timeout=10)
    sink.failing = None
    with pytest.raises(ConnectionError, match="down"):
        buffer.flush()
    assert sink.values == [0.0, 1.0, 2.0]  # written by that flush, before it raised
    buffer.flush()  # raised once only
    buffer.close()
    assert sink.values == [0.0, 1.0, 2.0]


def test_background_error_is_raised_by_the_next_add(sink: Sink) -> None:
    buffer = MetricBuffer(sink, interval=0.01)
    sink.failing = ValueError("bad batch")
    buffer.add(_points(1))
    with pytest.raises(ValueError, match="bad batch"):
        for _ in range(1_000):
            buffer.add([])
            time.sleep(0.01)
    sink.failing = None
    buffer.close()
    assert sink.values == [0.0]


def test_close_raises_a_write_that_still_fails(sink: Sink) -> None:
    buffer = MetricBuffer(sink, interval=3600)
    buffer.add(_points(2))
    sink.failing = ConnectionError("down")
    with pytest.raises(ConnectionError):
        buffer.close()
    assert not buffer._thread.is_alive()
    sink.failing = None
    buffer.flush()  # the points were kept
    assert sink.values == [0.0, 1.0]


def test_many_threads_adding_and_flushing_lose_nothing(sink: Sink) -> None:
    buffer = MetricBuffer(sink, interval=0.001, max_batch=37)

    def add(t: int) -> None:
        for i in range(500):
            buffer.add(_points(t * 500 + i + 1, start=t * 500 + i))
            if i % 100 == 0:
                buffer.flush()

    threads = [threading.Thread(target=add, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    buffer.close()
    assert sorted(sink.values) == [float(i) for i in range(4_000)]
    assert max(len(b) for b in sink.batches) <= 37
