"""What a step prints, captured per thread while steps run side by side.

``sys.stdout`` and ``sys.stderr`` are process-wide, so redirecting them per step would
mix the output of parallel steps. While any run is going, both are wrapped by a stream
that sends a thread's writes to that thread's capture buffer, if it has one, and
everything else to the original stream. The wrapper is removed when the last run ends.
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["capture", "routing"]

_local = threading.local()
_lock = threading.Lock()
_users = 0
_originals: tuple[TextIO, TextIO] | None = None


class _Routed(io.TextIOBase):
    """A text stream that writes to the current thread's buffer, else to ``fallback``."""

    def __init__(self, fallback: TextIO) -> None:
        self._fallback = fallback

    def write(self, text: str) -> int:
        # One buffer for both streams: the log keeps the order things were written in.
        buffer: io.StringIO | None = getattr(_local, "buffer", None)
        return (self._fallback if buffer is None else buffer).write(text)

    def flush(self) -> None:
        self._fallback.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno...
        return getattr(self._fallback, name)


@contextlib.contextmanager
def routing() -> Iterator[None]:
    """Route ``sys.stdout``/``sys.stderr`` per thread for the block (re-entrant)."""
    global _users, _originals
    with _lock:
        if _users == 0:
            _originals = (sys.stdout, sys.stderr)
            sys.stdout = _Routed(sys.stdout)
            sys.stderr = _Routed(sys.stderr)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _originals is not None:
                sys.stdout, sys.stderr = _originals
                _originals = None


@contextlib.contextmanager
def capture(buffer: io.StringIO) -> Iterator[io.StringIO]:
    """Send what this thread prints to ``buffer`` for the block (inside :func:`routing`)."""
    previous = getattr(_local, "buffer", None)
    _local.buffer = buffer
    try:
        yield buffer
    finally:
        _local.buffer = previous
