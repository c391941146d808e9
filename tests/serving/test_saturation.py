"""The autoscaling signals of /metrics: in flight, queue depth, capacity, saturation."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from podium.platform import Platform
from podium.serving.requests.runtime import ServingRuntime
from podium.serving.requests.saturation import InFlight
from tests.serving.conftest import FEATURES


def load_gauges(runtime: ServingRuntime, deployment: str) -> dict[str, float]:
    found = {}
    for family in text_string_to_metric_families(runtime.render_metrics().decode()):
        for sample in family.samples:
            if sample.labels == {"deployment": deployment} and sample.name in (
                "podium_inflight_requests",
                "podium_queue_depth",
                "podium_capacity",
                "podium_saturation",
            ):
                found[sample.name.removeprefix("podium_")] = sample.value
    return found


def test_in_flight_counts_never_go_below_zero() -> None:
    counts = InFlight()
    counts.enter("churn")
    counts.enter("churn")
    counts.leave("churn")
    assert counts.count("churn") == 1
    counts.leave("churn")
    counts.leave("churn")
    assert counts.count("churn") == 0 and counts.count("other") == 0


def test_requests_waiting_in_the_batcher_show_as_queue_depth_and_saturation(
    runtime: ServingRuntime, churn_models: Platform
) -> None:
    churn_models.deployments.create(
        "churn",
        model="churn/1",
        cache={"enabled": False},
        batching={"enabled": True, "max_batch_size": 4, "max_wait_ms": 1000},
    )
    runtime.warm("churn")
    assert load_gauges(runtime, "churn") == {
        "inflight_requests": 0.0,
        "queue_depth": 0.0,
        "capacity": 4.0,
        "saturation": 0.0,
    }

    async def three_waiting() -> tuple[dict[str, float], list[Any]]:
        body = {"model_id": "churn", "features": FEATURES}
        tasks = [asyncio.create_task(runtime.predict(body)) for _ in range(3)]
        await asyncio.sleep(0.2)  # they wait up to 1 s for a fourth to fill the batch
        during = load_gauges(runtime, "churn")
        return during, await asyncio.gather(*tasks)

    during, answers = runtime.run(three_waiting())
    assert during == {
        "inflight_requests": 3.0,
        "queue_depth": 3.0,
        "capacity": 4.0,
        "saturation": 0.75,
    }
    assert [answer["model_version"] for answer in answers] == ["1", "1", "1"]
    after = load_gauges(runtime, "churn")
    assert after["inflight_requests"] == 0.0 and after["queue_depth"] == 0.0


def test_without_batching_capacity_is_the_prediction_threads(
    runtime: ServingRuntime, churn_models: Platform
) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    runtime.predict_sync("churn", features=FEATURES)
    gauges = load_gauges(runtime, "churn")
    assert gauges["capacity"] == 16.0 and gauges["saturation"] == 0.0
