"""The stream backend for a URL: Redis Streams for ``redis://``, NATS JetStream for ``nats://``.

redis-py and nats-py are extras (``podium[redis]``, ``podium[nats]``), imported only
when a URL of their scheme is used.
"""

from __future__ import annotations

from podium.errors import BackendUnavailableError, MissingDependencyError
from podium.streaming.streams import StreamSink, StreamSource
from podium.streaming.urls import StreamUrl

__all__ = ["open_sink", "open_source"]


async def open_source(
    url: StreamUrl, *, group: str, consumer: str, claim_idle_ms: int = 30_000
) -> StreamSource:
    """A consumer of ``group`` on the stream at ``url``."""
    _require(url)
    if url.scheme == "redis":
        from redis.exceptions import ConnectionError as RedisDown

        from podium.streaming.redis_streams import RedisSource

        try:
            return await RedisSource.open(
                url.server, url.name, group=group, consumer=consumer, claim_idle_ms=claim_idle_ms
            )
        except (OSError, TimeoutError, RedisDown) as exc:
            raise _unreachable(url, exc) from exc
    from nats.errors import NoServersError

    from podium.streaming.nats_streams import NatsSource

    try:
        return await NatsSource.open(
            url.server, url.name, group=group, consumer=consumer, claim_idle_ms=claim_idle_ms
        )
    except (OSError, TimeoutError, NoServersError) as exc:
        raise _unreachable(url, exc) from exc


async def open_sink(url: StreamUrl) -> StreamSink:
    """An idempotent writer of the stream at ``url``."""
    _require(url)
    if url.scheme == "redis":
        from podium.streaming.redis_streams import RedisSink

        return RedisSink.open(url.server, url.name)
    from nats.errors import NoServersError

    from podium.streaming.nats_streams import NatsSink

    try:
        return await NatsSink.open(url.server, url.name)
    except (OSError, TimeoutError, NoServersError) as exc:
        raise _unreachable(url, exc) from exc


def _require(url: StreamUrl) -> None:
    module, extra = ("redis", "redis") if url.scheme == "redis" else ("nats", "nats")
    try:
        __import__(module)
    except ImportError as exc:
        raise MissingDependencyError(module, extra=extra) from exc


def _unreachable(url: StreamUrl, exc: BaseException) -> BackendUnavailableError:
    return BackendUnavailableError(
        f"cannot reach the stream server {url.server} ({type(exc).__name__}: {exc})",
        remedy="start it, or fix the host and port of the stream URL",
    )
