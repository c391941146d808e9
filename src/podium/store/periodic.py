"""Periodic: one daemon thread that does a piece of work every few seconds until stopped.

The server delivers events, evaluates alert rules and commits replica spools this way;
serving judges canaries and watches for deployment changes this way. Each of them is::

    judge = Periodic("podium-canary", 1.0, self.tick, on_error=...)
    judge.start()    # a daemon thread: wait ``interval``, call ``work``, repeat
    judge.run_now()  # wake it for a round now instead of at the end of the wait
    judge.stop(timeout=5)  # ask it to stop and join it (the current round finishes)

``work`` runs in the thread only, never concurrently with itself. An exception it raises
is logged (or handed to ``on_error``) and the next round runs as planned: a database
hiccup must not end a background loop silently.

It lives in the store layer, the lowest layer every area, the API and serving may import
(areas import only ``store``, ``config`` and ``errors``), beside the other small shared
pieces of that layer (``store.paths``, ``store.base``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Periodic"]

_log = logging.getLogger(__name__)

OnError = Callable[[Exception], None]
"""Called inside the ``except`` block, so ``logger.exception`` there logs the traceback."""


class Periodic:
    """Calls ``work`` every ``interval`` seconds in a daemon thread called ``name``.

    ``wait_first`` (the default) waits one interval before the first round; otherwise the
    first round runs as soon as the thread starts. With ``drain``, a round whose ``work``
    returns something truthy (it had more to do) is followed by the next one at once
    instead of after the interval. With ``final_round``, stopping runs one more round
    before the thread ends (to write what was still pending). ``on_error(exc)`` handles an
    exception ``work`` raised; by default it is logged with its traceback.

    :meth:`start` starts the thread, :meth:`stop` ends it for good (a stopped loop does
    not start again: build another).
    """

    def __init__(
        self,
        name: str,
        interval: float,
        work: Callable[[], object],
        *,
        wait_first: bool = True,
        drain: bool = False,
        final_round: bool = False,
        on_error: OnError | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"the interval of {name!r} must be positive; got {interval!r}")
        self.name = name
        self.interval = interval
        self._work = work
        self._wait_first = wait_first
        self._drain = drain
        self._final_round = final_round
        self._on_error = on_error
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive (it still is while a stop waits for its round)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Start the thread; a no-op while it runs, and once stopped."""
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()

    def run_now(self) -> None:
        """Wake the thread for a round now; during a round, another follows it at once."""
        self._wake.set()

    def stop(self, *, timeout: float | None = None) -> None:
        """Stop the thread for good and join it: ``timeout`` seconds at most (None: as
        long as the current round, and the final one, take). Called from ``work``, it does
        not join. Stopping is final, so a late :meth:`start` never leaves a thread behind."""
        with self._lock:
            self._stop.set()
            self._wake.set()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=timeout)

    def _loop(self) -> None:
        wait = self._wait_first
        while True:
            if wait:
                self._wake.wait(self.interval)
                self._wake.clear()
            if self._stop.is_set():
                if self._final_round:
                    self._round()
                return
            busy = self._round()
            wait = not (self._drain and busy)

    def _round(self) -> bool:
        """Run ``work`` once; whether it had more to do (only asked with ``drain``)."""
        try:
            result = self._work()
        except Exception as exc:  # logged (or handed on); the next round runs as planned
            self._report(exc)
            return False
        return self._drain and bool(result)

    def _report(self, exc: Exception) -> None:
        if self._on_error is None:
            _log.exception("%s failed; next round in %.1f s", self.name, self.interval)
            return
        try:
            self._on_error(exc)
        except Exception:  # a broken handler must not end the loop either
            _log.exception("%s failed, and so did its error handler", self.name)
