"""A ``podium stream`` process: a replica's runtime, a stream consumer, ``/metrics``, signals.

:func:`run_stream_predictor` builds the deployment's serving runtime the way ``podium
serve`` does (:func:`podium.replica.open_replica`: models loaded and warmed, online
features joined, inference log parked in the spool for the platform to commit), follows
changes to the deployment, serves the runtime's Prometheus registry on
``metrics_port`` (when given) and consumes micro-batches until SIGTERM or SIGINT. Then it
finishes the batch in progress (written and acknowledged), closes the streams and
flushes the inference log.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from prometheus_client import start_http_server

from podium.config import Settings
from podium.replica import open_replica
from podium.streaming.consumer import StreamConsumer, Validate
from podium.streaming.predictor import ConsumerOptions, open_stream_predictor
from podium.streaming.urls import StreamUrl

__all__ = ["Progress", "run_consumer", "run_stream_predictor"]


@dataclass(frozen=True)
class Progress:
    """Where a consumer stands: counts so far, the recent rate and the group's lag."""

    scored: int
    dead: int
    per_second: float
    lag: int


def run_stream_predictor(
    settings: Settings,
    project: str,
    deployment: str,
    *,
    source: StreamUrl,
    output: StreamUrl,
    dead_letter: StreamUrl | None,
    options: ConsumerOptions,
    validate: Validate | None = None,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
) -> Progress:
    """Score ``source`` into ``output`` until a signal (or ``stop``); the final counts."""
    replica = open_replica(settings, project, deployment)
    executor = ThreadPoolExecutor(4, thread_name_prefix="podium-stream")
    server = None
    try:
        replica.start()
        if metrics_port is not None:
            server, _ = start_http_server(
                metrics_port, addr=metrics_host, registry=replica.runtime.metrics.registry
            )

        async def open_consumer() -> StreamConsumer:
            return await open_stream_predictor(
                replica.runtime, deployment, source=source, output=output,
                dead_letter=dead_letter, options=options, executor=executor, validate=validate,
            )  # fmt: skip

        return asyncio.run(run_consumer(open_consumer, on_progress=on_progress, stop=stop))
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        replica.close()  # parks the last inference records
        executor.shutdown(wait=True)


async def run_consumer(
    open_consumer: Callable[[], Awaitable[StreamConsumer]],
    *,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    progress_every_seconds: float = 0.5,
    stop_when_idle: bool = False,
) -> Progress:
    """Open a consumer and run it until SIGTERM, SIGINT, ``stop`` or (``stop_when_idle``)
    a read that finds nothing to do; then close it."""
    consumer = await open_consumer()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)

    async def report() -> None:
        while not stopping.is_set():
            if stop is not None and stop.is_set():
                stopping.set()
            if on_progress is not None:
                on_progress(_progress(consumer))
            await asyncio.sleep(progress_every_seconds)

    reporter = asyncio.create_task(report())
    try:
        await consumer.run(stopping, stop_when_idle=stop_when_idle)
    finally:
        stopping.set()
        await reporter
        if in_main:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        await consumer.close()
    return _progress(consumer)


def _progress(consumer: StreamConsumer) -> Progress:
    metrics = consumer.metrics
    return Progress(
        scored=metrics.scored,
        dead=metrics.dead,
        per_second=metrics.throughput(),
        lag=metrics.last_lag,
    )
