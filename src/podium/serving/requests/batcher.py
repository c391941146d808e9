"""Server-side dynamic batching: concurrent requests to one model, predicted together.

Each :meth:`DynamicBatcher.submit` waits for its item's result. Items are gathered into a
batch until ``max_batch_size`` items are waiting or ``max_wait_ms`` has passed since the
oldest one arrived, whichever comes first. One batch runs at a time per batcher, and the
next one gathers meanwhile, so under load batches fill up by themselves. An exception in
``run_batch`` fails every waiter of that batch with it; a waiter that is cancelled is
dropped from its batch without disturbing the others.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from podium.errors import BackendUnavailableError, InvalidInputError, PodiumError

__all__ = ["BatchStats", "DynamicBatcher"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class BatchStats:
    """How a batcher has batched so far: ``sizes`` maps a batch size to how many ran."""

    batches: int
    items: int
    sizes: dict[int, int] = field(default_factory=dict)

    @property
    def mean_size(self) -> float:
        """Items per batch on average (0 before the first batch)."""
        return self.items / self.batches if self.batches else 0.0


@dataclass
class _Waiter(Generic[T, R]):
    item: T
    future: asyncio.Future[R]
    arrived: float


class DynamicBatcher(Generic[T, R]):
    """Gathers concurrent :meth:`submit` calls on one event loop into calls of ``run_batch``.

    ``run_batch`` receives the items of a batch and returns one result per item, in order.
    The batcher binds to the event loop of its first :meth:`submit`; call :meth:`close`
    on that loop when done (it runs what is still waiting, then stops).
    """

    def __init__(
        self,
        run_batch: Callable[[list[T]], Awaitable[list[R]]],
        *,
        max_batch_size: int = 32,
        max_wait_ms: float = 2.0,
    ) -> None:
        if max_batch_size < 1:
            raise InvalidInputError(
                "the 'max_batch_size' parameter of DynamicBatcher must be at least 1; "
                f"got {max_batch_size!r} instead",
                field="max_batch_size",
                remedy="pass max_batch_size=1 to disable batching",
            )
        if not (max_wait_ms >= 0 and math.isfinite(max_wait_ms)):
            raise InvalidInputError(
                "the 'max_wait_ms' parameter of DynamicBatcher must be a number >= 0; "
                f"got {max_wait_ms!r} instead",
                field="max_wait_ms",
                remedy="pass a wait in milliseconds, e.g. 2.0",
            )
        self._run_batch = run_batch
        self._max_size = max_batch_size
        self._max_wait = max_wait_ms / 1000.0
        self._pending: list[_Waiter[T, R]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None
        self._closed = False
        self._batches = 0
        self._items = 0
        self._sizes: dict[int, int] = {}

    @property
    def max_batch_size(self) -> int:
        """The most items one batch holds."""
        return self._max_size

    @property
    def max_wait_ms(self) -> float:
        """The longest the oldest waiting item waits for company, in milliseconds."""
        return self._max_wait * 1000.0

    @property
    def stats(self) -> BatchStats:
        """Batches run, items batched, and the histogram of batch sizes."""
        return BatchStats(batches=self._batches, items=self._items, sizes=dict(self._sizes))

    @property
    def pending(self) -> int:
        """Items waiting for their batch to start."""
        return len(self._pending)

    async def submit(self, item: T) -> R:
        """Queue ``item`` and return its result once its batch has run."""
        if self._closed:
            raise BackendUnavailableError(
                "the batcher is closed and takes no more items",
                code="batcher-closed",
                remedy="retry the request; the deployment is shutting down or reloading",
            )
        loop = self._bind()
        waiter: _Waiter[T, R] = _Waiter(item, loop.create_future(), loop.time())
        self._pending.append(waiter)
        assert self._wakeup is not None
        if len(self._pending) == 1 or len(self._pending) >= self._max_size:
            self._wakeup.set()
        return await waiter.future

    async def close(self) -> None:
        """Stop taking items, run every item still waiting, and stop the worker."""
        self._closed = True
        if self._worker is None:
            return
        assert self._wakeup is not None
        self._wakeup.set()
        await self._worker

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None and not self._loop.is_closed() and self._pending:
                raise InvalidInputError(
                    "a DynamicBatcher serves one event loop; this one is bound to another",
                    field="loop",
                    remedy="create one batcher per event loop",
                )
            self._loop = loop
            self._wakeup = asyncio.Event()
            self._worker = None
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._work(), name="podium-batcher")
        return loop

    async def _work(self) -> None:
        try:
            await self._gather_and_run()
        finally:
            # However the worker ends (cancelled with its loop, say), nobody waits forever.
            stranded, self._pending = self._pending, []
            for waiter in stranded:
                if not waiter.future.done():
                    waiter.future.set_exception(
                        BackendUnavailableError(
                            "the batcher stopped before this item's batch ran",
                            code="batcher-closed",
                            remedy="retry the request",
                        )
                    )

    async def _gather_and_run(self) -> None:
        assert self._loop is not None and self._wakeup is not None
        loop, wakeup = self._loop, self._wakeup
        while True:
            if not self._pending:
                if self._closed:
                    return
                wakeup.clear()
                await wakeup.wait()
                continue
            if len(self._pending) < self._max_size and not self._closed:
                delay = self._pending[0].arrived + self._max_wait - loop.time()
                if delay > 0:
                    wakeup.clear()
                    try:
                        async with asyncio.timeout(delay):
                            await wakeup.wait()
                    except TimeoutError:
                        pass
                    # Woken early but neither full nor closing: wait out the oldest's deadline.
                    if (
                        len(self._pending) < self._max_size
                        and not self._closed
                        and self._pending[0].arrived + self._max_wait > loop.time()
                    ):
                        continue
            batch = self._pending[: self._max_size]
            del self._pending[: self._max_size]
            await self._run(batch)

    async def _run(self, batch: list[_Waiter[T, R]]) -> None:
        live = [waiter for waiter in batch if not waiter.future.done()]
        if not live:
            return
        self._batches += 1
        self._items += len(live)
        self._sizes[len(live)] = self._sizes.get(len(live), 0) + 1
        try:
            results = await self._run_batch([waiter.item for waiter in live])
            if len(results) != len(live):
                raise PodiumError(
                    f"run_batch returned {len(results)} results for {len(live)} items",
                    code="batch-result-mismatch",
                    remedy="return exactly one result per item, in order",
                )
        except asyncio.CancelledError:
            for waiter in live:
                waiter.future.cancel()
            raise
        # Whatever run_batch raises belongs to the waiters of this batch, not to the worker.
        except Exception as exc:
            for waiter in live:
                if not waiter.future.done():
                    waiter.future.set_exception(exc)
            return
        for waiter, result in zip(live, results, strict=True):
            if not waiter.future.done():
                waiter.future.set_result(result)
