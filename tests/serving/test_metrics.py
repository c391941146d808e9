"""Serving metrics: one registry per runtime, the series the docs name."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from podium.serving.requests.metrics import ServingMetrics


def samples(metrics: ServingMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_each_runtime_has_its_own_registry() -> None:
    first, second = ServingMetrics(), ServingMetrics()
    first.observe("churn", "1", "primary", seconds=0.002)
    labels = (("deployment", "churn"), ("served_by", "primary"), ("version", "1"))
    assert samples(first)[("podium_predictions_total", labels)] == 1
    assert ("podium_predictions_total", labels) not in samples(second)


def test_series_for_latency_degradation_batches_cache_breakers_errors() -> None:
    metrics = ServingMetrics()
    metrics.observe("churn", "1", "primary", seconds=0.004, rows=3)
    metrics.observe("churn", "1", "default", seconds=0.5, degraded=True)
    metrics.batch("churn", "1", 7)
    metrics.cache("churn", "1", hit=True)
    metrics.cache("churn", "1", hit=False)
    metrics.cache("churn", "1", hit=False)
    metrics.breaker("churn", "1", "primary", "open")
    metrics.error("churn", "invalid-input")
    found = samples(metrics)
    primary = (("deployment", "churn"), ("served_by", "primary"), ("version", "1"))
    default = (("deployment", "churn"), ("served_by", "default"), ("version", "1"))
    version = (("deployment", "churn"), ("version", "1"))
    assert found[("podium_predictions_total", primary)] == 3
    assert found[("podium_degraded_responses_total", default)] == 1
    assert found[("podium_degraded_responses_total", primary)] == 0
    assert found[("podium_prediction_latency_seconds_count", primary)] == 1
    assert (
        found[
            (
                "podium_prediction_latency_seconds_bucket",
                (primary[0], ("le", "0.005"), *primary[1:]),
            )
        ]
        == 1
    )
    assert found[("podium_batch_size_sum", version)] == 7
    assert found[("podium_cache_hits_total", version)] == 1
    assert found[("podium_cache_misses_total", version)] == 2
    assert (
        found[
            (
                "podium_breaker_state",
                (("deployment", "churn"), ("link", "primary"), ("version", "1")),
            )
        ]
        == 2
    )
    assert (
        found[
            ("podium_prediction_errors_total", (("code", "invalid-input"), ("deployment", "churn")))
        ]
        == 1
    )
