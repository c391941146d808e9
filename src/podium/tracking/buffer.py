"""A metric buffer: logging calls append in memory; a background thread writes batches.

A training loop that logs a metric per step pays a list append, not a database or HTTP
round trip. Points are written in batches every ``interval`` seconds or when ``max_batch``
are waiting, and always on :meth:`flush` (which ``ActiveRun`` calls when it ends). A
failed background write is kept and raised from the next logging call or flush, so no
error is silently lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from podium.tracking.types import MetricPoint

__all__ = ["MetricBuffer"]


class MetricBuffer:
    """Thread-safe buffer of metric points for one run."""

    def __init__(
        self,
        write: Callable[[Sequence[MetricPoint]], None],
        *,
        interval: float = 0.5,
        max_batch: int = 5_000,
    ) -> None:
        self._write = write
        self._interval = interval
        self._max_batch = max_batch
        self._points: list[MetricPoint] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="podium-metrics", daemon=True)
        self._thread.start()

    def add(self, points: Sequence[MetricPoint]) -> None:
        """Queue points; raises the error of an earlier failed background write."""
        self._raise_pending()
        with self._lock:
            self._points.extend(points)
            full = len(self._points) >= self._max_batch
        if full:
            self._wake.set()

    def flush(self) -> None:
        """Write everything queued so far, in this thread, before returning."""
        self._drain()
        self._raise_pending()

    def close(self) -> None:
        """Flush and stop the background thread."""
        self._closed = True
        self._wake.set()
        self._thread.join()
        self.flush()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._drain()
            except Exception as exc:  # kept and re-raised in the caller's thread
                self._error = exc

    def _drain(self) -> None:
        with self._write_lock:
            while True:
                with self._lock:
                    batch = self._points[: self._max_batch]
                    del self._points[: self._max_batch]
                if not batch:
                    return
                try:
                    self._write(batch)
                except BaseException:
                    with self._lock:  # put them back so a retry can still write them
                        self._points[:0] = batch
                    raise

    def _raise_pending(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error
