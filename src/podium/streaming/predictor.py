"""Streaming inference: a deployment's answers for every event of an input stream.

:func:`open_stream_predictor` composes a :class:`~podium.streaming.consumer.StreamConsumer`
over a serving runtime (a ``podium serve`` replica's, :func:`podium.replica.open_replica`):
each input event ``{"id", "features"}`` gets one output event ``{"id", "result"}`` on the
output stream, ``result`` being the body ``POST /v1/predictions`` would answer (with its
own ``request_id`` and ``model_version``); events that cannot be scored go to the
dead-letter stream with a ``reason``. Several predictors with the same ``group`` share the
input; outputs are written once per event id whichever of them, or how often, scores it.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from podium.serving.requests.online import OnlineFeatureMerge
from podium.serving.requests.runtime import ServingRuntime
from podium.streaming.backends import open_sink, open_source
from podium.streaming.consumer import Handle, Outcome, StreamConsumer, Validate
from podium.streaming.events import Event
from podium.streaming.metrics import StreamMetrics
from podium.streaming.scoring import BatchScorer
from podium.streaming.streams import StreamSink
from podium.streaming.urls import StreamUrl

__all__ = ["ConsumerOptions", "open_stream_predictor", "prediction_handler"]


@dataclass(frozen=True)
class ConsumerOptions:
    """How a consumer reads its input stream."""

    group: str
    """The consumer group: consumers of one group share the stream's events."""
    consumer: str
    """This consumer's name in the group (``host-pid`` by default)."""
    batch_size: int = 500
    """The most events per micro-batch."""
    max_wait_ms: int = 50
    """How long a read waits for the first event of a batch."""
    claim_idle_ms: int = 30_000
    """After how long an event another consumer holds unacknowledged is taken over (Redis
    ``XAUTOCLAIM``) or delivered again (NATS ``ack_wait``)."""


def prediction_handler(scorer: BatchScorer) -> Handle:
    """The handler that answers a batch of events with ``scorer``."""

    async def handle(events: list[Event]) -> list[Outcome]:
        answers = await scorer.score([event.features for event in events])
        outcomes: list[Outcome] = []
        for event, answer in zip(events, answers, strict=True):
            if isinstance(answer, dict):
                outcomes.append({"id": event.id, "result": answer})
            else:
                field = f" (field {answer.field})" if answer.field else ""
                outcomes.append(f"{answer.code}: {answer.message}{field}")
        return outcomes

    return handle


async def open_stream_predictor(
    runtime: ServingRuntime,
    deployment: str,
    *,
    source: StreamUrl,
    output: StreamUrl,
    dead_letter: StreamUrl | None,
    options: ConsumerOptions,
    executor: Executor,
    validate: Validate | None = None,
) -> StreamConsumer:
    """A consumer scoring ``source`` with ``deployment`` into ``output``; its metrics
    join the runtime's registry."""
    scorer = BatchScorer(runtime, deployment, online=online_merge(runtime), executor=executor)
    opened: list[StreamSink] = []
    input_stream = await open_source(
        source, group=options.group, consumer=options.consumer,
        claim_idle_ms=options.claim_idle_ms,
    )  # fmt: skip
    try:
        opened.append(await open_sink(output))
        opened.append(await open_sink(dead_letter or source.dead_letter()))
    except BaseException:
        await input_stream.close()
        for sink in opened:
            await sink.close()
        raise
    return StreamConsumer(
        input_stream,
        handle=prediction_handler(scorer),
        outputs=opened[0],
        dead_letters=opened[1],
        metrics=StreamMetrics(runtime.metrics.registry, stream=source.name, group=options.group),
        stream=source.name,
        batch_size=options.batch_size,
        max_wait_ms=options.max_wait_ms,
        validate=validate,
    )


def online_merge(runtime: ServingRuntime) -> OnlineFeatureMerge | None:
    """The online feature lookup the runtime joins into requests (``None`` without one).

    The runtime keeps it private; reading it here keeps streamed answers equal to
    ``/v1/predictions`` ones without opening a second feature store.
    """
    found = getattr(runtime, "_online", None)
    return found if isinstance(found, OnlineFeatureMerge) else None
