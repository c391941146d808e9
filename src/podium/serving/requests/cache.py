"""Response caches: exact-match by canonical features and model version, and by similarity.

:func:`cache_key` turns a model version and a request's features into a key that does not
depend on key order or on writing ``1`` as ``1.0``; the version is part of the key, so a
new version never hits an answer of the old one. :class:`ResponseCache` is an LRU with a
TTL; :class:`SimilarityCache` answers a numeric input from the nearest cached input of the
same version within an L2 distance. Both are thread-safe and hand out copies, so callers
may change what they get.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from podium.errors import InvalidInputError

__all__ = ["CacheStats", "ResponseCache", "SimilarityCache", "cache_key"]

Clock = Callable[[], float]


def cache_key(version: str, features: Mapping[str, Any]) -> str:
    """The exact-match key of ``features`` for model ``version`` (a sha1 hex digest).

    Keys are sorted, integral floats equal their ints (``1.0`` and ``1`` give one key),
    numpy scalars equal Python numbers; NaN and infinities are refused (they are never
    equal to themselves, so caching them could only miss).
    """
    canonical = [str(version), {k: _canonical(v, k) for k, v in _named(features)}]
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _named(features: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [(k if type(k) is str else str(k), v) for k, v in features.items()]


def _canonical(value: Any, path: str) -> Any:
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:  # the common cases first
        return value
    if kind is float and math.isfinite(value):
        return int(value) if value.is_integer() else value
    return _canonical_other(value, path)


def _canonical_other(value: Any, path: str) -> Any:
    if isinstance(value, str | bool):
        return value
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, bool):
            return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(
                f"feature '{path}' is {value}, which cannot be cached",
                field=path,
                remedy="send a finite number, or null for a missing value",
            )
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _canonical(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise InvalidInputError(
        f"feature '{path}' has type {type(value).__name__}, which has no canonical form",
        field=path,
        remedy="send JSON values: strings, numbers, booleans, null, lists and objects",
    )


@dataclass(frozen=True)
class CacheStats:
    """Counters of a cache: ``evictions`` counts entries pushed out by the size bound,
    ``expirations`` entries dropped because their time to live was over."""

    hits: int
    misses: int
    evictions: int
    size: int
    expirations: int = 0

    @property
    def hit_rate(self) -> float:
        """Hits per lookup (0 before the first lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy_value(v) for k, v in value.items()}


def _copy_value(value: Any) -> Any:
    # Responses are JSON-shaped; copying them by hand is several times faster than deepcopy.
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, dict):
        return {k: _copy_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_value(v) for v in value]
    return copy.deepcopy(value)


def _check_bounds(owner: str, max_entries: int, ttl_seconds: float) -> None:
    if max_entries < 1:
        raise InvalidInputError(
            f"the 'max_entries' parameter of {owner} must be at least 1; "
            f"got {max_entries!r} instead",
            field="max_entries",
            remedy="pass a positive number of entries",
        )
    if not ttl_seconds > 0:
        raise InvalidInputError(
            f"the 'ttl_seconds' parameter of {owner} must be a positive number; "
            f"got {ttl_seconds!r} instead",
            field="ttl_seconds",
            remedy="pass a time to live in seconds, e.g. 60",
        )


class ResponseCache:
    """An exact-match response cache: at most ``max_entries``, each kept ``ttl_seconds``.

    Keys come from :func:`cache_key`. The least recently used entry leaves first when the
    cache is full; an expired entry is never returned.
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        ttl_seconds: float = 60.0,
        clock: Clock = time.monotonic,
    ) -> None:
        _check_bounds("ResponseCache", max_entries, ttl_seconds)
        self._max = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._expirations = 0

    def get(self, key: str) -> dict[str, Any] | None:
        """A copy of the response cached under ``key``, or ``None``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                return None
            expires, value = entry
            if expires <= self._clock():
                del self._entries[key]
                self._misses += 1
                self._expirations += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
        return _copy(value)

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Cache a copy of ``value`` under ``key`` for ``ttl_seconds``."""
        stored = _copy(value)
        with self._lock:
            now = self._clock()
            self._entries[key] = (now + self._ttl, stored)
            self._entries.move_to_end(key)
            # Expired entries at the cold end go first, so they do not sit until evicted.
            entries = self._entries
            while entries and next(iter(entries.values()))[0] <= now:
                entries.popitem(last=False)
                self._expirations += 1
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
                self._evictions += 1

    def invalidate(self) -> None:
        """Drop every entry (on a version change)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def stats(self) -> CacheStats:
        """Hits, misses, evictions and the number of entries held."""
        with self._lock:
            return CacheStats(
                self._hits, self._misses, self._evictions, len(self._entries), self._expirations
            )


class _VersionIndex:
    """The cached vectors of one model version, as rows of one matrix."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.vectors = np.zeros((4, dim))
        self.norms = np.zeros(4)  # squared L2 norm of each row
        self.expires = np.full(4, -np.inf)  # -inf marks a free row
        self.values: list[dict[str, Any] | None] = [None] * 4
        self.free = list(range(3, -1, -1))

    def add(self, vector: np.ndarray, expires: float, value: dict[str, Any]) -> int:
        if not self.free:
            size = len(self.expires)
            self.vectors = np.vstack([self.vectors, np.zeros((size, self.dim))])
            self.norms = np.concatenate([self.norms, np.zeros(size)])
            self.expires = np.concatenate([self.expires, np.full(size, -np.inf)])
            self.values.extend([None] * size)
            self.free = list(range(2 * size - 1, size - 1, -1))
        row = self.free.pop()
        self.vectors[row] = vector
        self.norms[row] = vector @ vector
        self.expires[row] = expires
        self.values[row] = value
        return row

    def remove(self, row: int) -> None:
        self.expires[row] = -np.inf
        self.values[row] = None
        self.free.append(row)

    def nearest(self, vector: np.ndarray, now: float) -> tuple[int, float] | None:
        live = self.expires > now
        if not live.any():
            return None
        # |x - v|^2 = |x|^2 - 2 x.v + |v|^2: one matrix-vector product, no temporaries
        squared = self.norms - 2.0 * (self.vectors @ vector)
        squared[~live] = np.inf
        row = int(np.argmin(squared))
        # Recompute the winner exactly; the expansion can lose precision for near points.
        return row, float(np.linalg.norm(self.vectors[row] - vector))


class SimilarityCache:
    """Answers a numeric input from the nearest cached input of the same version.

    A lookup hits when the L2 distance to the nearest live entry of ``version`` is at most
    ``threshold``. At most ``max_entries`` across versions (least recently used leaves
    first), each kept ``ttl_seconds``. A lookup costs one vectorised pass over the
    version's entries.
    """

    def __init__(
        self,
        *,
        threshold: float,
        max_entries: int = 1_000,
        ttl_seconds: float = 60.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if not (threshold >= 0 and math.isfinite(threshold)):
            raise InvalidInputError(
                "the 'threshold' parameter of SimilarityCache must be a finite number >= 0; "
                f"got {threshold!r} instead",
                field="threshold",
                remedy="pass the largest L2 distance that still counts as the same input",
            )
        _check_bounds("SimilarityCache", max_entries, ttl_seconds)
        self._threshold = threshold
        self._max = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._indexes: dict[str, _VersionIndex] = {}
        self._lru: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._hits = 0
        self._misses = 0
        self._evictions = 0

    def get(self, version: str, vector: Sequence[float]) -> dict[str, Any] | None:
        """A copy of the response cached for the nearest input within the threshold."""
        point = _as_vector(vector)
        with self._lock:
            index = self._indexes.get(version)
            found = None
            if index is not None and index.dim == len(point):
                found = index.nearest(point, self._clock())
            if found is None or found[1] > self._threshold:
                self._misses += 1
                return None
            row = found[0]
            self._lru.move_to_end((version, row))
            self._hits += 1
            value = index.values[row] if index is not None else None
        return _copy(value) if value is not None else None

    def put(self, version: str, vector: Sequence[float], value: dict[str, Any]) -> None:
        """Cache a copy of ``value`` for ``vector`` under model ``version``."""
        point = _as_vector(vector)
        stored = _copy(value)
        with self._lock:
            index = self._indexes.get(version)
            if index is None:
                index = self._indexes[version] = _VersionIndex(len(point))
            elif index.dim != len(point):
                raise InvalidInputError(
                    f"vectors of version {version} have {index.dim} numbers; got {len(point)}",
                    field="vector",
                    remedy="send the same numeric features, in the same order, every time",
                )
            while len(self._lru) >= self._max:
                (old_version, old_row), _ = self._lru.popitem(last=False)
                self._indexes[old_version].remove(old_row)
                self._evictions += 1
            row = index.add(point, self._clock() + self._ttl, stored)
            self._lru[(version, row)] = None

    def invalidate(self) -> None:
        """Drop every entry (on a version change)."""
        with self._lock:
            self._indexes.clear()
            self._lru.clear()

    def __len__(self) -> int:
        return len(self._lru)

    @property
    def stats(self) -> CacheStats:
        """Hits, misses, evictions and the number of entries held."""
        with self._lock:
            return CacheStats(self._hits, self._misses, self._evictions, len(self._lru))


def _as_vector(vector: Sequence[float]) -> np.ndarray:
    try:
        point = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"a similarity-cache vector must be numbers; got {vector!r}",
            field="vector",
            remedy="cache only numeric features",
        ) from exc
    if point.ndim != 1 or point.size == 0 or not np.isfinite(point).all():
        raise InvalidInputError(
            "a similarity-cache vector must be a non-empty list of finite numbers",
            field="vector",
            remedy="cache only requests whose numeric features are all present and finite",
        )
    return point
