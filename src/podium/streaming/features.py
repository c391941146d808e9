"""Streaming features (the speed layer): feature events pushed into the feature store.

Each event ``{"id", "features": ROW}`` carries one row of a feature view: its join keys,
its timestamp (ISO 8601, or seconds since the epoch; UTC when no offset is given), its
features, and optionally the view's created timestamp. A micro-batch of rows goes through
the feature store's own push (:meth:`podium.features.service.FeatureStore.push`), which
appends them to the view's source Delta table and writes the latest per entity to the
online store in one step, so a point-in-time join afterwards sees streamed rows exactly
as if they had been pushed: same table, same rules (``event_timestamp - ttl <= row_ts <=
event_timestamp``, latest wins).

Rows that cannot be pushed (no timestamp, a bad one, a missing key or feature, a wrong
type) go to the dead-letter stream with the reason; the rest of their batch is pushed.

A batch redelivered after a crash between push and acknowledgement is appended again:
the offline table then holds the same rows twice, which changes no point-in-time answer
(equal rows, equal timestamps) and no online value.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd
from prometheus_client import CollectorRegistry

from podium.errors import InvalidInputError
from podium.streaming.backends import open_sink, open_source
from podium.streaming.consumer import Handle, Outcome, StreamConsumer
from podium.streaming.events import Event
from podium.streaming.metrics import StreamMetrics
from podium.streaming.predictor import ConsumerOptions
from podium.streaming.process import Progress, run_consumer
from podium.streaming.urls import StreamUrl

__all__ = ["FeatureSink", "feature_handler", "ingest_stream"]


class FeatureSink(Protocol):
    """What ingesting needs of the feature store (``p.features``)."""

    def get(self, name: str, *, kind: str = ..., version: int | None = ...) -> Any:
        """The stored definition ``name`` (a :class:`~podium.features.definitions.FeatureView`)."""
        ...

    def push(self, view: str, rows: Any) -> Any:
        """Append rows to the view's source table and to the online store."""
        ...


def feature_handler(features: FeatureSink, view: str, *, executor: Executor) -> Handle:
    """The handler that pushes a batch of feature events to ``view``."""
    definition = features.get(view)
    times = [definition.timestamp_field]
    if definition.created_timestamp_field:
        times.append(definition.created_timestamp_field)
    floats = [f.name for f in definition.features if str(f.dtype).startswith("float")]

    def push(rows: list[dict[str, Any]]) -> None:
        frame = pd.DataFrame(rows)
        for name in floats:
            if name in frame.columns:
                frame[name] = frame[name].astype("float64")
        features.push(view, frame)

    async def handle(events: list[Event]) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(events)
        rows: dict[int, dict[str, Any]] = {}
        for index, event in enumerate(events):
            try:
                rows[index] = _with_times(event.features, times)
            except InvalidInputError as exc:
                outcomes[index] = f"{exc.code}: {exc.message}"
        loop = asyncio.get_running_loop()
        try:
            if rows:
                await loop.run_in_executor(executor, push, list(rows.values()))
        except InvalidInputError:
            for index, row in rows.items():  # find the rows at fault, push the others
                try:
                    await loop.run_in_executor(executor, push, [row])
                except InvalidInputError as exc:
                    outcomes[index] = f"{exc.code}: {exc.message}"
        return outcomes

    return handle


def _with_times(row: dict[str, Any], names: list[str]) -> dict[str, Any]:
    converted = dict(row)
    for name in names:
        if name not in row:
            if name == names[0]:
                raise InvalidInputError(
                    f"the feature event has no {name!r}", field=name,
                    remedy=f"send {name!r} as ISO 8601 text or seconds since the epoch",
                )  # fmt: skip
            continue
        converted[name] = _moment(row[name], name)
    return converted


def _moment(value: object, name: str) -> datetime:
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise InvalidInputError(
        f"{name!r} must be ISO 8601 text or seconds since the epoch; got {value!r} instead",
        field=name,
        remedy="send e.g. 2026-01-31T12:00:00Z",
    )


def ingest_stream(
    features: FeatureSink,
    view: str,
    source: StreamUrl,
    *,
    options: ConsumerOptions,
    dead_letter: StreamUrl | None = None,
    executor: Executor,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    stop_when_idle: bool = False,
) -> Progress:
    """Push the feature events of ``source`` to ``view`` until a signal, ``stop``, or
    (``stop_when_idle``) a read that finds the stream drained; the final counts."""

    async def open_consumer() -> StreamConsumer:
        handle = feature_handler(features, view, executor=executor)
        input_stream = await open_source(
            source, group=options.group, consumer=options.consumer,
            claim_idle_ms=options.claim_idle_ms,
        )  # fmt: skip
        try:
            dead = await open_sink(dead_letter or source.dead_letter())
        except BaseException:
            await input_stream.close()
            raise
        return StreamConsumer(
            input_stream, handle=handle, outputs=None, dead_letters=dead,
            metrics=StreamMetrics(CollectorRegistry(), stream=source.name, group=options.group),
            stream=source.name, batch_size=options.batch_size, max_wait_ms=options.max_wait_ms,
        )  # fmt: skip

    running = run_consumer(
        open_consumer, on_progress=on_progress, stop=stop, stop_when_idle=stop_when_idle
    )
    return asyncio.run(running)
