"""Prometheus metrics of a stream consumer, in the serving runtime's registry.

The series join the runtime's own (``podium_predictions_total``, latency, batch size per
model call, ...) in one ``CollectorRegistry``, so ``GET /metrics`` of ``podium stream
--metrics-port N`` reads like a ``podium serve`` replica's, plus, labelled with
``stream`` and ``group``:

==================================  =========  ==================================================
name                                labels     what
==================================  =========  ==================================================
podium_stream_events_total          outcome    events consumed: ``scored`` or ``dead``
podium_stream_dead_letters_total    reason     dead letters written, by reason code
podium_stream_batch_size                       events per micro-batch
podium_stream_lag                              events the group has not been given yet
podium_stream_pending                          events given to a consumer, not yet acknowledged
podium_stream_throughput                       events per second over the last few seconds
==================================  =========  ==================================================
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["StreamMetrics"]

_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
_WINDOW_SECONDS = 5.0


class StreamMetrics:
    """Counters and gauges of one consumer of ``stream``."""

    def __init__(self, registry: CollectorRegistry, *, stream: str, group: str) -> None:
        labels = {"stream": stream, "group": group}
        found = _collectors(registry)
        self._events, self._dead, self._batch = found.events, found.dead, found.batch
        self._labels = labels
        self._lag = found.lag.labels(**labels)
        self._pending = found.pending.labels(**labels)
        self._throughput = found.throughput.labels(**labels)
        self._recent: deque[tuple[float, int]] = deque()
        self.scored = 0
        """Events answered so far by this consumer."""
        self.dead = 0
        """Events sent to the dead-letter stream so far by this consumer."""
        self.last_lag = 0
        """The group's lag (undelivered events) when last asked."""

    def batch(self, *, scored: int, dead_reasons: list[str]) -> None:
        """Count one micro-batch: ``scored`` answered events and one reason per dead one."""
        size = scored + len(dead_reasons)
        self._batch.labels(**self._labels).observe(size)
        self._events.labels(**self._labels, outcome="scored").inc(scored)
        if dead_reasons:
            self._events.labels(**self._labels, outcome="dead").inc(len(dead_reasons))
            for reason in dead_reasons:
                self._dead.labels(**self._labels, reason=reason.split(":", 1)[0]).inc()
        self.scored += scored
        self.dead += len(dead_reasons)
        now = time.monotonic()
        self._recent.append((now, size))
        self._update_throughput(now)

    def lag(self, undelivered: int, pending: int) -> None:
        """Set the group's lag as the stream reports it now."""
        self.last_lag = undelivered
        self._lag.set(undelivered)
        self._pending.set(pending)
        self._update_throughput(time.monotonic())

    def throughput(self) -> float:
        """Events per second over the last few seconds."""
        return self._update_throughput(time.monotonic())

    def _update_throughput(self, now: float) -> float:
        while self._recent and now - self._recent[0][0] > _WINDOW_SECONDS:
            self._recent.popleft()
        rate = sum(size for _, size in self._recent) / _WINDOW_SECONDS
        self._throughput.set(rate)
        return rate


@dataclass(frozen=True)
class _Collectors:
    events: Counter
    dead: Counter
    batch: Histogram
    lag: Gauge
    pending: Gauge
    throughput: Gauge


# One set per registry: consumers sharing a runtime (tests, two groups in one process)
# share the series, each with its own labels.
_REGISTERED: weakref.WeakKeyDictionary[CollectorRegistry, _Collectors] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _collectors(registry: CollectorRegistry) -> _Collectors:
    with _LOCK:
        found = _REGISTERED.get(registry)
        if found is None:
            found = _REGISTERED[registry] = _register(registry)
        return found


def _register(registry: CollectorRegistry) -> _Collectors:
    names = ["stream", "group"]
    return _Collectors(
        events=Counter(
            "podium_stream_events", "Events consumed, by outcome (scored or dead).",
            [*names, "outcome"], registry=registry,
        ),
        dead=Counter(
            "podium_stream_dead_letters", "Dead letters written, by reason code.",
            [*names, "reason"], registry=registry,
        ),
        batch=Histogram(
            "podium_stream_batch_size", "Events per micro-batch.", names,
            buckets=_BATCH_BUCKETS, registry=registry,
        ),
        lag=Gauge(
            "podium_stream_lag", "Events the group has not been given yet.", names,
            registry=registry,
        ),
        pending=Gauge(
            "podium_stream_pending", "Events given to a consumer and not yet acknowledged.",
            names, registry=registry,
        ),
        throughput=Gauge(
            "podium_stream_throughput", "Events consumed per second, over the last 5 s.",
            names, registry=registry,
        ),
    )  # fmt: skip
