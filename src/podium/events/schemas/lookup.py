"""The versions :meth:`~podium.events.schemas.protocol.Schemas.validate` checks against,
kept for a moment, so validating each event costs no database or HTTP round trip.

A pinned version never changes (only a deleted and re-created subject reuses a number),
the latest one does when a version is registered: both are kept for ``ttl`` seconds, and
a change made through the same service is seen at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from podium.events.schemas.models import SchemaVersion

__all__ = ["VersionLookup"]


class VersionLookup:
    """``(subject, version or None)`` → :class:`SchemaVersion`, loaded by ``load`` and
    kept ``ttl`` seconds (at most ``size`` entries)."""

    def __init__(
        self,
        load: Callable[[str, int | None], SchemaVersion],
        *,
        ttl: float = 1.0,
        size: int = 1024,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._size = size
        self._found: dict[tuple[str, int | None], tuple[float, SchemaVersion]] = {}
        self._lock = threading.Lock()

    def get(self, subject: str, version: int | None) -> SchemaVersion:
        """The version, from memory when it was loaded less than ``ttl`` seconds ago."""
        key = (subject, version)
        now = time.monotonic()
        with self._lock:
            found = self._found.get(key)
        if found is not None and now - found[0] < self._ttl:
            return found[1]
        loaded = self._load(subject, version)
        with self._lock:
            if len(self._found) >= self._size:
                self._found.clear()  # rare: more subjects in use than the bound
            self._found[key] = (now, loaded)
        return loaded

    def forget(self, subject: str) -> None:
        """Drop what is kept of ``subject`` (it changed through this process)."""
        with self._lock:
            for key in [key for key in self._found if key[0] == subject]:
                del self._found[key]
