"""Rate limits of API keys: a token bucket per key, in this process.

A key created with ``--rate-limit 20/s`` (or ``600/m``) holds a bucket of ``burst``
tokens (one second's worth, at least 1, unless given) that refills at the rate; each
authenticated request takes one token, and a request finding the bucket empty is refused
with :class:`~podium.errors.RateLimitedError` (429) saying in whole seconds when a token
will be there. Buckets live in the memory of one server process: N replicas admit up to
N times the rate (see docs/adr/0032-rate-limits-and-audit-chain.md).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from podium.errors import InvalidInputError, RateLimitedError

__all__ = ["RateLimit", "TokenBuckets", "parse_rate_limit"]

_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute)\s*$", re.IGNORECASE)
_MAX_BUCKETS = 100_000


@dataclass(frozen=True)
class RateLimit:
    """``rate`` requests per second on average, up to ``burst`` at once."""

    spec: str
    rate: float
    burst: int


def parse_rate_limit(spec: str, *, burst: int | None = None) -> RateLimit:
    """The limit ``spec`` (``20/s``, ``600/m``) with ``burst`` (default: one second's worth).

    Anything else is an :class:`InvalidInputError` saying what is accepted.
    """
    match = _SPEC.match(spec)
    remedy = "pass --rate-limit N/s or N/m, e.g. 20/s or 600/m (N > 0), and --burst >= 1"
    if match is None or float(match.group(1)) <= 0:
        raise InvalidInputError(
            f"a rate limit is a positive number per second or minute; got {spec!r} instead",
            field="rate_limit",
            remedy=remedy,
        )
    count = float(match.group(1))
    per_minute = match.group(2).lower().startswith("m")
    rate = count / 60.0 if per_minute else count
    if burst is not None and not 1 <= burst <= 1_000_000:
        raise InvalidInputError(
            f"a burst is between 1 and 1000000 requests; got {burst} instead",
            field="burst",
            remedy=remedy,
        )
    size = burst if burst is not None else max(1, math.ceil(rate))
    number = f"{count:g}"
    return RateLimit(spec=f"{number}/{'m' if per_minute else 's'}", rate=rate, burst=size)


class TokenBuckets:
    """One token bucket per key id, thread-safe; :meth:`take` admits or refuses a request."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # key id -> (tokens left, when they were counted)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key_id: str, limit: RateLimit) -> None:
        """Take one token of ``key_id``'s bucket, or raise :class:`RateLimitedError`."""
        now = self._clock()
        with self._lock:
            tokens, since = self._buckets.get(key_id, (float(limit.burst), now))
            tokens = min(float(limit.burst), tokens + (now - since) * limit.rate)
            if tokens >= 1.0:
                if len(self._buckets) >= _MAX_BUCKETS and key_id not in self._buckets:
                    self._buckets.clear()  # a full bucket is what a forgotten key gets anyway
                self._buckets[key_id] = (tokens - 1.0, now)
                return
            self._buckets[key_id] = (tokens, now)
        wait = max(1, math.ceil((1.0 - tokens) / limit.rate))
        raise RateLimitedError(
            f"this key's rate limit of {limit.spec} (burst {limit.burst}) is exhausted",
            remedy=f"retry after {wait} s (the Retry-After header), or ask an admin for a "
            "key with a higher --rate-limit",
            details={"retry_after": wait},
        )

    def forget(self, key_id: str) -> None:
        """Drop ``key_id``'s bucket (its limit changed, or it was revoked)."""
        with self._lock:
            self._buckets.pop(key_id, None)
