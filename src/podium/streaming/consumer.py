"""The micro-batch loop every stream engine runs: read, decode, handle, write, acknowledge.

One :meth:`StreamConsumer.step`:

1. reads up to ``batch_size`` messages (waiting up to ``max_wait_ms`` for the first; a
   batch never waits for more while messages are there, so latency stays low when the
   stream is quiet and batches fill up by themselves when it is busy);
2. decodes each (:func:`~podium.streaming.events.decode`) and checks it with ``validate``
   (a JSON Schema, when given); what fails becomes a dead letter with its reason;
3. hands the good events to the handler, which returns, per event, the output document,
   a reason (a dead letter), or ``None`` (nothing to write);
4. writes the outputs (keyed by event id, idempotently) and the dead letters (keyed by the
   message's stream position), and only then
5. acknowledges every message of the batch.

A consumer that dies anywhere before 5 leaves its messages pending: they are delivered
again (to it after a restart, or to another consumer of the group), handled again, and the
idempotent writes keep one output per event id. Nothing is acknowledged unwritten.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from podium.errors import PodiumError
from podium.streaming.events import Event, Rejected, dead_letter, decode
from podium.streaming.metrics import StreamMetrics
from podium.streaming.streams import StreamSink, StreamSource

__all__ = ["Handle", "Outcome", "StreamConsumer", "Validate"]

Outcome = Mapping[str, Any] | str | None
"""What the handler made of one event: an output document, a dead letter's reason, or
nothing to write."""
Handle = Callable[[list[Event]], Awaitable[list[Outcome]]]
Validate = Callable[[dict[str, Any]], None]
"""Raises :class:`~podium.errors.PodiumError` (``InvalidInputError``) for an event
document ``{"id": ..., "features": {...}}`` that fails its schema."""


@dataclass
class StepResult:
    """What one step did."""

    read: int
    written: int
    dead: int


class StreamConsumer:
    """Runs micro-batches from ``source`` through ``handle`` (see the module docstring)."""

    def __init__(
        self,
        source: StreamSource,
        *,
        handle: Handle,
        dead_letters: StreamSink,
        outputs: StreamSink | None,
        metrics: StreamMetrics,
        stream: str,
        batch_size: int = 500,
        max_wait_ms: int = 50,
        validate: Validate | None = None,
        lag_every_seconds: float = 1.0,
    ) -> None:
        self._source = source
        self._handle = handle
        self._dead_letters = dead_letters
        self._outputs = outputs
        self.metrics = metrics
        self._stream = stream
        self._batch_size = batch_size
        self._max_wait_ms = max_wait_ms
        self._validate = validate
        self._lag_every = lag_every_seconds
        self._next_lag = 0.0

    async def step(self) -> StepResult:
        """Read, handle, write and acknowledge one micro-batch."""
        messages = await self._source.read(self._batch_size, self._max_wait_ms)
        if not messages:
            await self._refresh_lag()
            return StepResult(0, 0, 0)
        events: list[Event] = []
        rejected: list[Rejected] = []
        for message in messages:
            decoded = decode(message)
            if isinstance(decoded, Event):
                decoded = self._checked(decoded)
            (events if isinstance(decoded, Event) else rejected).append(decoded)  # type: ignore[arg-type]
        outputs: list[tuple[str, Mapping[str, Any]]] = []
        if events:
            for event, outcome in zip(events, await self._handle(events), strict=True):
                if isinstance(outcome, str):
                    rejected.append(Rejected(event.message, outcome, event.id))
                elif outcome is not None:
                    outputs.append((event.id, outcome))
        written = 0
        if outputs and self._outputs is not None:
            written = await self._outputs.write(outputs)
        if rejected:
            await self._dead_letters.write(
                [(f"{self._stream}/{r.message.key}", dead_letter(r)) for r in rejected]
            )
        await self._source.ack(messages)
        self.metrics.batch(
            scored=len(messages) - len(rejected), dead_reasons=[r.reason for r in rejected]
        )
        await self._refresh_lag()
        return StepResult(len(messages), written, len(rejected))

    def _checked(self, event: Event) -> Event | Rejected:
        if self._validate is None:
            return event
        try:
            self._validate({"id": event.id, "features": event.features})
        except PodiumError as exc:
            return Rejected(event.message, f"schema-invalid: {exc.message}", event.id)
        return event

    async def _refresh_lag(self) -> None:
        now = time.monotonic()
        if now < self._next_lag:
            return
        self._next_lag = now + self._lag_every
        self.metrics.lag(*await self._source.lag())

    async def run(self, stop: asyncio.Event, *, stop_when_idle: bool = False) -> None:
        """Run steps until ``stop`` is set (the step in progress finishes, written and
        acknowledged, first) or, with ``stop_when_idle``, until a read finds nothing."""
        while not stop.is_set():
            done = await self.step()
            if stop_when_idle and done.read == 0:
                return

    async def close(self) -> None:
        """Disconnect from the streams."""
        await self._source.close()
        await self._dead_letters.close()
        if self._outputs is not None:
            await self._outputs.close()
