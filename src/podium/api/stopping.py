"""SIGTERM stops a server as Ctrl-C does: gracefully, with its shutdown work done.

uvicorn shuts down gracefully on SIGINT and SIGTERM alike, then raises the signal again
for its caller. Python turns a re-raised SIGINT into :class:`KeyboardInterrupt`, so the
caller's ``finally`` blocks run (the inference log is flushed, replicas park their last
records); a re-raised SIGTERM, with no handler, ends the process on the spot and loses
them. :func:`sigterm_as_interrupt` gives SIGTERM the same path as Ctrl-C.

:data:`GRACEFUL_SHUTDOWN_SECONDS` bounds the graceful part: requests in flight get that
long to finish. Without a bound, one idle keep-alive client of a TLS server holds the stop
for 30 s (the TLS close waits for the client's ``close_notify``, which an idle client
never sends), longer than many orchestrators wait before they SIGKILL.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["GRACEFUL_SHUTDOWN_SECONDS", "sigterm_as_interrupt"]

GRACEFUL_SHUTDOWN_SECONDS = 10
"""How long a stopping server waits for requests in flight and open connections."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`KeyboardInterrupt` in the main thread.

    Outside the main thread (where signals cannot be handled) it changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")
