"""Prometheus metrics of one serving runtime, in a registry of its own.

Each :class:`ServingMetrics` owns a ``CollectorRegistry`` (never the global one), so two
runtimes in one process (tests, several projects on one server) never mix their series.
``GET /metrics`` renders it in the Prometheus text format. Series, all labelled with
``deployment``:

======================================  ==============================  ====================
name                                    labels                          what
======================================  ==============================  ====================
podium_prediction_latency_seconds       version, served_by              request latency
podium_predictions_total                version, served_by              answered rows
podium_prediction_errors_total          code                            failed requests
podium_degraded_responses_total         version, served_by              answered by fallback
podium_batch_size                       version                         rows per model call
podium_cache_hits_total / _misses_total version                         response cache
podium_breaker_state                    version, link                   0 closed, 1 half-open,
                                                                        2 open
podium_inflight_requests                                                being answered now
podium_queue_depth                                                      waiting in the
                                                                        micro-batcher
podium_capacity                                                         requests answered
                                                                        at once
podium_saturation                                                       in flight / capacity
                                                                        (the HPA target)
======================================  ==============================  ====================

The last four are this process's load (:mod:`podium.serving.requests.saturation`), read
when ``/metrics`` is rendered.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["CONTENT_TYPE", "ServingMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_BREAKER_VALUE = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


class ServingMetrics:
    """The counters and histograms of one runtime; cheap to update from the hot path."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["deployment", "version", "served_by"]
        self._latency = Histogram(
            "podium_prediction_latency_seconds",
            "Latency of prediction requests, from parsed body to answer.",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._requests = Counter(
            "podium_predictions", "Rows answered.", labels, registry=self.registry
        )
        self._degraded = Counter(
            "podium_degraded_responses",
            "Rows answered by a link after the primary model (fallback, rules, default).",
            labels,
            registry=self.registry,
        )
        self._errors = Counter(
            "podium_prediction_errors",
            "Prediction requests that failed, by error code.",
            ["deployment", "code"],
            registry=self.registry,
        )
        self._batch = Histogram(
            "podium_batch_size",
            "Rows per model call (dynamic batching gathers concurrent requests).",
            ["deployment", "version"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self._hits = Counter(
            "podium_cache_hits", "Response cache hits.", ["deployment", "version"],
            registry=self.registry,
        )  # fmt: skip
        self._misses = Counter(
            "podium_cache_misses", "Response cache misses.", ["deployment", "version"],
            registry=self.registry,
        )  # fmt: skip
        self._breaker = Gauge(
            "podium_breaker_state",
            "Circuit breaker state per link: 0 closed, 1 half-open, 2 open.",
            ["deployment", "version", "link"],
            registry=self.registry,
        )
        self._inflight = Gauge(
            "podium_inflight_requests",
            "Prediction requests being answered now by this process.",
            ["deployment"],
            registry=self.registry,
        )
        self._queued = Gauge(
            "podium_queue_depth",
            "Rows waiting in the micro-batcher for their batch to start.",
            ["deployment"],
            registry=self.registry,
        )
        self._capacity = Gauge(
            "podium_capacity",
            "Requests this process answers at once without queueing.",
            ["deployment"],
            registry=self.registry,
        )
        self._saturation = Gauge(
            "podium_saturation",
            "In-flight requests over capacity (above 1 requests queue); the HPA target.",
            ["deployment"],
            registry=self.registry,
        )
        # Labelled children looked up once per label set: labels(...) costs more than inc().
        self._children: dict[tuple[Any, ...], Any] = {}

    def observe(
        self,
        deployment: str,
        version: str,
        served_by: str,
        *,
        seconds: float,
        rows: int = 1,
        degraded: bool = False,
    ) -> None:
        """Count one answered request of ``rows`` rows that took ``seconds``."""
        key = ("ok", deployment, version, served_by)
        children = self._children.get(key)
        if children is None:
            children = (
                self._latency.labels(deployment, version, served_by),
                self._requests.labels(deployment, version, served_by),
                self._degraded.labels(deployment, version, served_by),
            )
            self._children[key] = children
        children[0].observe(seconds)
        children[1].inc(rows)
        if degraded:
            children[2].inc(rows)

    def error(self, deployment: str, code: str) -> None:
        """Count one failed request."""
        key = ("error", deployment, code)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._errors.labels(deployment, code)
        child.inc()

    def batch(self, deployment: str, version: str, size: int) -> None:
        """Record one model call of ``size`` rows."""
        key = ("batch", deployment, version)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._batch.labels(deployment, version)
        child.observe(size)

    def cache(self, deployment: str, version: str, *, hit: bool) -> None:
        """Count one cache lookup."""
        key = ("cache", deployment, version, hit)
        child = self._children.get(key)
        if child is None:
            child = (self._hits if hit else self._misses).labels(deployment, version)
            self._children[key] = child
        child.inc()

    def breaker(self, deployment: str, version: str, link: str, state: str) -> None:
        """Set the breaker gauge of one link."""
        self._breaker.labels(deployment, version, link).set(_BREAKER_VALUE.get(state, 0.0))

    def load(self, deployment: str, *, in_flight: int, queued: int, capacity: int) -> None:
        """Set the load gauges of ``deployment``: in flight, queued, capacity, saturation."""
        self._inflight.labels(deployment).set(in_flight)
        self._queued.labels(deployment).set(queued)
        self._capacity.labels(deployment).set(capacity)
        self._saturation.labels(deployment).set(in_flight / capacity if capacity > 0 else 0.0)

    def render(self) -> bytes:
        """The Prometheus text exposition of every series."""
        return generate_latest(self.registry)
