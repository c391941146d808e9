"""Rate limits and quotas: a token bucket per key and per project, in process or in Redis.

A key created with ``--rate-limit 20/s`` (or ``600/m``) holds a bucket of ``burst``
tokens (one second's worth, at least 1, unless given) that refills at the rate; each
authenticated request takes one token, and a request finding the bucket empty is refused
with :class:`~podium.errors.RateLimitedError` (429) saying in whole seconds when a token
will be there. A project's quota (``podium projects update P --rate-limit 100/s``) is one
more bucket, shared by all the project's keys.

:class:`TokenBuckets` keeps the buckets in the memory of one process: N replicas admit up
to N times the rate. :class:`RedisTokenBuckets` keeps them in Redis (an atomic Lua script
per request, the clock of the Redis server), so every replica draws from one budget;
:func:`open_token_buckets` picks it for a ``redis://`` URL (see
docs/adr/0036-key-lifecycle-quotas-route-limits.md).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from podium.errors import InvalidInputError, MissingDependencyError, RateLimitedError

__all__ = [
    "Buckets",
    "RateLimit",
    "RedisTokenBuckets",
    "TokenBuckets",
    "open_token_buckets",
    "parse_rate_limit",
]

_log = logging.getLogger(__name__)
_KEY_LIMIT = "this key's rate limit"

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


class Buckets(Protocol):
    """Where token buckets live: :meth:`take` admits a request or raises 429."""

    def take(self, bucket_id: str, limit: RateLimit, *, subject: str = _KEY_LIMIT) -> None:
        """Take one token of ``bucket_id``'s bucket, or raise :class:`RateLimitedError`
        naming ``subject`` (whose limit it is)."""

    def forget(self, bucket_id: str) -> None:
        """Drop ``bucket_id``'s bucket (its limit changed, or its key was revoked)."""


def refused(limit: RateLimit, tokens: float, *, subject: str) -> RateLimitedError:
    """The 429 for a bucket of ``limit`` holding ``tokens`` (< 1) right now."""
    wait = max(1, math.ceil((1.0 - tokens) / limit.rate))
    return RateLimitedError(
        f"{subject} of {limit.spec} (burst {limit.burst}) is exhausted",
        remedy=f"retry after {wait} s (the Retry-After header), or ask an admin for a "
        "higher --rate-limit",
        details={"retry_after": wait},
    )


class TokenBuckets:
    """One token bucket per id, in this process, thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # key id -> (tokens left, when they were counted)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key_id: str, limit: RateLimit, *, subject: str = _KEY_LIMIT) -> None:
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
        raise refused(limit, tokens, subject=subject)

    def forget(self, key_id: str) -> None:
        """Drop ``key_id``'s bucket (its limit changed, or it was revoked)."""
        with self._lock:
            self._buckets.pop(key_id, None)


# KEYS[1]: the bucket; ARGV: rate per second, burst. The Redis server's clock, so replicas
# with skewed clocks share one bucket fairly. Returns {admitted, tokens left as text}.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local admitted = 0
if tokens >= 1 then tokens = tokens - 1; admitted = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {admitted, tostring(tokens)}
"""


class RedisTokenBuckets:
    """Token buckets in Redis, shared by every process using the same server and ``prefix``.

    While Redis does not answer, requests are counted in this process's own buckets (each
    replica then admits up to the limit on its own) and a warning is logged: a quota
    outage neither opens the API nor closes it.
    """

    def __init__(self, url: str, *, prefix: str = "podium:ratelimit:") -> None:
        try:
            import redis
        except ImportError:  # pragma: no cover - redis is an extra
            raise MissingDependencyError("redis", extra="redis") from None
        self._redis: Any = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script: Any = self._redis.register_script(_TAKE)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._prefix = prefix
        self._local = TokenBuckets()
        self._down_logged = False

    def take(self, bucket_id: str, limit: RateLimit, *, subject: str = _KEY_LIMIT) -> None:
        """Take one token of ``bucket_id``'s shared bucket, or raise :class:`RateLimitedError`."""
        try:
            admitted, tokens = self._script(
                keys=[self._prefix + bucket_id], args=[repr(limit.rate), limit.burst]
            )
        except self._errors:
            if not self._down_logged:
                self._down_logged = True
                _log.warning("rate limits: Redis does not answer; counting in this process")
            self._local.take(bucket_id, limit, subject=subject)
            return
        self._down_logged = False
        if int(admitted) != 1:
            raise refused(limit, float(tokens), subject=subject)

    def forget(self, bucket_id: str) -> None:
        """Drop ``bucket_id``'s bucket, here and in Redis."""
        self._local.forget(bucket_id)
        try:
            self._redis.delete(self._prefix + bucket_id)
        except self._errors:
            _log.warning("rate limits: could not drop bucket %s in Redis", bucket_id)

    def close(self) -> None:
        """Close the connections to Redis."""
        self._redis.close()


def open_token_buckets(url: str | None) -> TokenBuckets | RedisTokenBuckets:
    """Buckets in Redis for a ``redis://`` (or ``rediss://``) ``url``; unset: in this process."""
    if url is None:
        return TokenBuckets()
    if not url.startswith(("redis://", "rediss://")):
        raise InvalidInputError(
            f"the rate limit store must be a redis:// URL; got {url!r} instead",
            field="rate_limit_url",
            remedy="set PODIUM_RATE_LIMIT_URL=redis://HOST:6379/0, or unset it to count "
            "in each process",
        )
    return RedisTokenBuckets(url)
