"""The dynamic batcher: size and time flushes, concurrency, errors and cancellation."""

from __future__ import annotations

import asyncio
import time

import pytest

from podium.errors import BackendUnavailableError, InvalidInputError, PodiumError
from podium.serving.requests.batcher import DynamicBatcher


class Model:
    """Doubles numbers; records each batch it saw and can be held or made to fail."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay
        self.fail: Exception | None = None
        self.running = 0
        self.max_running = 0

    async def __call__(self, items: list[int]) -> list[int]:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            self.batches.append(list(items))
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.fail is not None:
                raise self.fail
            return [2 * item for item in items]
        finally:
            self.running -= 1


def test_full_batch_flushes_without_waiting() -> None:
    model = Model()
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=4, max_wait_ms=10_000)

    async def go() -> tuple[list[int], float]:
        start = time.perf_counter()
        results = await asyncio.gather(*(batcher.submit(i) for i in range(8)))
        elapsed = time.perf_counter() - start
        await batcher.close()
        return results, elapsed

    results, elapsed = asyncio.run(go())
    assert results == [2 * i for i in range(8)]
    assert model.batches == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert elapsed < 5  # nowhere near the 10 s wait
    stats = batcher.stats
    assert (stats.batches, stats.items, stats.sizes) == (2, 8, {4: 2})
    assert stats.mean_size == 4.0


def test_partial_batch_flushes_after_max_wait() -> None:
    model = Model()
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=100, max_wait_ms=100)

    async def go() -> tuple[list[int], float]:
        start = time.perf_counter()
        results = await asyncio.gather(*(batcher.submit(i) for i in range(3)))
        elapsed = time.perf_counter() - start
        await batcher.close()
        return results, elapsed

    results, elapsed = asyncio.run(go())
    assert results == [0, 2, 4]
    assert model.batches == [[0, 1, 2]]
    assert 0.1 <= elapsed < 0.1 + 0.5


def test_wait_counts_from_the_first_item() -> None:
    model = Model()
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=100, max_wait_ms=600)

    async def go() -> list[int]:
        first = asyncio.create_task(batcher.submit(1))
        await asyncio.sleep(0.5)
        second = asyncio.create_task(batcher.submit(2))
        await asyncio.sleep(0.35)  # past the first item's deadline (0.6), not the second's (1.1)
        assert first.done() and second.done()
        results = [await first, await second]
        await batcher.close()
        return results

    assert asyncio.run(go()) == [2, 4]
    assert model.batches == [[1, 2]]


def test_one_batch_runs_at_a_time_and_the_next_gathers_meanwhile() -> None:
    model = Model(delay=0.05)
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=64, max_wait_ms=1)

    async def client(i: int) -> int:
        await asyncio.sleep(0.002 * (i % 10))
        return await batcher.submit(i)

    async def go() -> list[int]:
        results = await asyncio.gather(*(client(i) for i in range(200)))
        await batcher.close()
        return results

    assert asyncio.run(go()) == [2 * i for i in range(200)]
    assert model.max_running == 1
    assert sum(len(batch) for batch in model.batches) == 200
    assert len(model.batches) < 20  # batching happened
    assert sorted(x for batch in model.batches for x in batch) == list(range(200))


def test_exception_fails_every_waiter_of_that_batch_only() -> None:
    model = Model()
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=3, max_wait_ms=10_000)

    async def go() -> list[object]:
        model.fail = RuntimeError("model exploded")
        first = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
        model.fail = None
        second = await asyncio.gather(*(batcher.submit(i) for i in range(3)))
        await batcher.close()
        return [*first, *second]

    results = asyncio.run(go())
    assert all(isinstance(r, RuntimeError) and str(r) == "model exploded" for r in results[:3])
    assert results[3:] == [0, 2, 4]


def test_wrong_number_of_results_fails_the_batch() -> None:
    async def short(items: list[int]) -> list[int]:
        return items[:-1]

    batcher: DynamicBatcher[int, int] = DynamicBatcher(short, max_batch_size=2, max_wait_ms=10_000)

    async def go() -> list[object]:
        results = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
        await batcher.close()
        return results

    results = asyncio.run(go())
    assert all(isinstance(r, PodiumError) and r.code == "batch-result-mismatch" for r in results)


def test_cancelled_waiter_is_dropped_and_others_are_answered() -> None:
    model = Model()
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=10, max_wait_ms=50)

    async def go() -> list[int]:
        tasks = [asyncio.create_task(batcher.submit(i)) for i in range(4)]
        await asyncio.sleep(0)
        tasks[1].cancel()
        results = [await tasks[i] for i in (0, 2, 3)]
        assert tasks[1].cancelled()
        await batcher.close()
        return results

    assert asyncio.run(go()) == [0, 4, 6]
    assert model.batches == [[0, 2, 3]]


def test_waiter_cancelled_while_its_batch_runs_does_not_break_the_others() -> None:
    model = Model(delay=0.05)
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=3, max_wait_ms=1)

    async def go() -> list[int]:
        tasks = [asyncio.create_task(batcher.submit(i)) for i in range(3)]
        await asyncio.sleep(0.02)  # the batch is running now
        tasks[0].cancel()
        results = [await tasks[1], await tasks[2]]
        results.append(await batcher.submit(5))
        await batcher.close()
        return results

    assert asyncio.run(go()) == [2, 4, 10]


def test_close_runs_what_is_waiting_then_refuses() -> None:
    model = Model()
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=10, max_wait_ms=10_000)

    async def go() -> list[int]:
        tasks = [asyncio.create_task(batcher.submit(i)) for i in range(3)]
        await asyncio.sleep(0)
        await batcher.close()
        with pytest.raises(BackendUnavailableError):
            await batcher.submit(9)
        return [await task for task in tasks]

    assert asyncio.run(go()) == [0, 2, 4]


def test_close_before_any_submit_is_fine() -> None:
    batcher: DynamicBatcher[int, int] = DynamicBatcher(Model())
    asyncio.run(batcher.close())


def test_batcher_rebinds_to_a_new_loop_once_the_old_one_is_gone() -> None:
    model = Model()
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=1)
    assert asyncio.run(batcher.submit(1)) == 2
    assert asyncio.run(batcher.submit(2)) == 4


def test_zero_wait_still_batches_what_arrived_together() -> None:
    model = Model()
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=10, max_wait_ms=0)

    async def go() -> None:
        await asyncio.gather(*(batcher.submit(i) for i in range(5)))
        await batcher.close()

    asyncio.run(go())
    assert model.batches == [[0, 1, 2, 3, 4]]


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"max_batch_size": 0}, "max_batch_size"),
    ({"max_wait_ms": -1.0}, "max_wait_ms"),
    ({"max_wait_ms": float("nan")}, "max_wait_ms"),
])  # fmt: skip
def test_bad_settings_name_the_field(kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        DynamicBatcher(Model(), **kwargs)  # type: ignore[arg-type]
    assert info.value.field == name


def test_items_waiting_when_the_worker_is_cancelled_get_an_error_not_a_hang() -> None:
    model = Model()
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=10, max_wait_ms=10_000)

    async def go() -> None:
        task = asyncio.create_task(batcher.submit(1))
        await asyncio.sleep(0.01)
        assert batcher._worker is not None
        batcher._worker.cancel()
        with pytest.raises(BackendUnavailableError, match="stopped"):
            await asyncio.wait_for(task, 5)
        assert batcher.pending == 0
        second = asyncio.create_task(batcher.submit(2))  # a new worker starts on demand
        await asyncio.sleep(0)
        await batcher.close()
        assert await second == 4

    asyncio.run(go())
    assert model.batches == [[2]]


def test_close_waits_for_the_running_batch() -> None:
    model = Model(delay=0.05)
    batcher: DynamicBatcher[int, int] = DynamicBatcher(model, max_batch_size=2, max_wait_ms=0)

    async def go() -> list[int]:
        tasks = [asyncio.create_task(batcher.submit(i)) for i in range(5)]
        await asyncio.sleep(0.01)  # the first batch is running
        await batcher.close()
        assert all(task.done() for task in tasks)
        return [task.result() for task in tasks]

    assert asyncio.run(go()) == [0, 2, 4, 6, 8]
    assert batcher.stats.sizes == {2: 2, 1: 1}
