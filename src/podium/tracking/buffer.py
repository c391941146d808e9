"""A metric buffer: logging calls append in memory; a background thread writes batches.

A training loop that logs a metric per step pays a list append, not a database or HTTP
round trip. Points are written in batches every ``interval`` seconds or when ``max_batch``
are waiting, and always on :meth:`flush` (which ``ActiveRun`` calls when it ends). A
failed write puts its batch back, so a later flush writes it again; the error of a failed
background write is kept and raised from the next logging call or flush, so no error is
silently lost. After :meth:`close`, points are written as they are added. A buffer that
is never closed is closed when the process exits, so a script that forgets to end its run
still writes its last points. The background thread starts with the first point: a run that
logs no metric (a pipeline step's, a tuning trial's until it reports) costs no thread.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Sequence

from podium.tracking.types import MetricPoint

__all__ = ["MetricBuffer"]

_log = logging.getLogger("podium.tracking")


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
        self._lock = threading.Lock()  # guards _points and _error
        self._write_lock = threading.Lock()  # one write at a time, in order
        self._wake = threading.Event()
        self._closed = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None  # started by the first add
        atexit.register(self._close_at_exit)

    def add(self, points: Sequence[MetricPoint]) -> None:
        """Queue points; raises the error of an earlier failed background write."""
        self._raise_pending()
        with self._lock:
            self._points.extend(points)
            full = len(self._points) >= self._max_batch
            if self._thread is None and not self._closed and points:
                self._thread = threading.Thread(
                    target=self._loop, name="podium-metrics", daemon=True
                )
                self._thread.start()  # under the lock: close() joins only a started thread
        if self._closed:  # no thread left to write them
            self._drain()
        elif full:
            self._wake.set()

    def flush(self) -> None:
        """Write everything queued so far, in this thread, before returning.

        Raises the error of this write or, if it succeeds, of an earlier failed background
        write; each failure is raised once.
        """
        try:
            self._drain()
        except BaseException:
            with self._lock:  # this error reports the failing writes; don't raise twice
                self._error = None
            raise
        self._raise_pending()

    def close(self) -> None:
        """Flush and stop the background thread."""
        atexit.unregister(self._close_at_exit)
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()
        self.flush()

    def _close_at_exit(self) -> None:
        try:
            self.close()
        except Exception as exc:  # the process is ending: report it, there is no caller left
            with self._lock:
                lost = len(self._points)
            _log.warning("%d buffered metric points were not written at exit: %s", lost, exc)

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            self._drain(keep_error=True)

    def _drain(self, *, keep_error: bool = False) -> None:
        """Write the points queued when called (not those added meanwhile), in batches.

        With ``keep_error`` (the background thread), a failure is kept for the caller's
        thread before the write lock is released, so a flush that follows sees it.
        """
        with self._write_lock:
            with self._lock:
                left = len(self._points)
            while left > 0:
                with self._lock:
                    batch = self._points[: min(left, self._max_batch)]
                    del self._points[: len(batch)]
                if not batch:
                    return
                try:
                    self._write(batch)
                except BaseException as exc:
                    with self._lock:  # put them back so a retry can still write them
                        self._points[:0] = batch
                        if keep_error and isinstance(exc, Exception):  # raised later
                            self._error = exc
                            return
                    raise
                left -= len(batch)

    def _raise_pending(self) -> None:
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise error
