"""The prediction path in process: body, routing, cache, batching, shadow, reloads."""

from __future__ import annotations

import asyncio

import pytest

from podium.errors import InvalidInputError, NotFoundError
from podium.platform import Platform
from podium.serving.requests.runtime import ServingRuntime
from tests.serving import faulty
from tests.serving.conftest import FEATURES, RegisterPyfunc

BODY_KEYS = {
    "prediction",
    "probability",
    "probabilities",
    "model_version",
    "latency_ms",
    "request_id",
    "served_by",
    "cached",
}


def test_predict_answers_with_the_contract_body(churn_models: Platform) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    body = churn_models.predict("churn", features=FEATURES)
    assert set(body) == BODY_KEYS
    assert body["prediction"] in (0, 1)
    assert body["probability"] == pytest.approx(body["probabilities"]["1"])
    assert sum(body["probabilities"].values()) == pytest.approx(1.0)
    assert (body["model_version"], body["served_by"], body["cached"]) == ("1", "primary", False)
    assert body["latency_ms"] > 0


def test_the_answer_matches_the_registered_model(churn_models: Platform) -> None:
    churn_models.deployments.create("churn", model="churn/2", cache={"enabled": False})
    model = churn_models.registry.load("churn/2")
    expected = model.predict_proba([FEATURES])[0][1]
    assert churn_models.predict("churn", features=FEATURES)["probability"] == pytest.approx(
        expected
    )


def test_batch_instances(churn_models: Platform) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    rows = [FEATURES, {**FEATURES, "tenure_months": 2, "monthly_charges": 110.0}]
    body = churn_models.predict("churn", instances=rows)
    assert set(body) == {"predictions", "latency_ms", "request_id"}
    assert [p["model_version"] for p in body["predictions"]] == ["1", "1"]
    assert body["predictions"][1]["probability"] > body["predictions"][0]["probability"]


def test_cache_hits_return_the_same_body(churn_models: Platform) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    first = churn_models.predict("churn", features=FEATURES)
    second = churn_models.predict("churn", features={**FEATURES, "tenure_months": 24.0})
    assert (first["cached"], second["cached"]) == (False, True)
    assert first["request_id"] != second["request_id"]
    strip = {"latency_ms", "request_id", "cached"}
    assert {k: v for k, v in first.items() if k not in strip} == {
        k: v for k, v in second.items() if k not in strip
    }


def test_a_new_version_never_serves_the_old_cached_answer(
    churn_models: Platform, runtime: ServingRuntime
) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    churn_models.predict("churn", features=FEATURES)
    assert churn_models.predict("churn", features=FEATURES)["cached"] is True
    churn_models.deployments.update("churn", model="churn/2")
    runtime.reload("churn").result()
    after = churn_models.predict("churn", features=FEATURES)
    assert (after["model_version"], after["cached"]) == ("2", False)


def test_canary_weight_one_routes_everything_to_the_canary(
    churn_models: Platform, runtime: ServingRuntime
) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    churn_models.deployments.canary("churn", 2, weight=1.0, auto=False)
    runtime.reload("churn").result()
    assert churn_models.predict("churn", features=FEATURES)["model_version"] == "2"


def test_sticky_canary_keeps_a_customer_on_one_version(
    churn_models: Platform, runtime: ServingRuntime
) -> None:
    churn_models.deployments.create(
        "churn", model="churn/1", cache={"enabled": False}, entity_keys=["customer_id"]
    )
    churn_models.deployments.canary("churn", 2, weight=0.5, sticky_key="customer_id", auto=False)
    runtime.reload("churn").result()
    seen: dict[str, set[str]] = {}
    for customer in ("a", "b", "c", "d", "e", "f"):
        for _ in range(5):
            body = churn_models.predict("churn", features={**FEATURES, "customer_id": customer})
            seen.setdefault(customer, set()).add(body["model_version"])
    assert all(len(versions) == 1 for versions in seen.values())
    assert {v for versions in seen.values() for v in versions} == {"1", "2"}


def test_shadow_answers_are_recorded_never_returned(
    churn_models: Platform, runtime: ServingRuntime
) -> None:
    churn_models.deployments.create("churn", model="churn/1", cache={"enabled": False})
    churn_models.deployments.shadow("churn", 2)
    runtime.reload("churn").result()
    for _ in range(5):
        assert churn_models.predict("churn", features=FEATURES)["model_version"] == "1"
    stats = runtime.state("churn").shadow_stats
    for _ in range(100):
        if stats.compared == 5:
            break
        runtime.run(asyncio.sleep(0.01))
    assert (stats.compared, stats.failed) == (5, 0)


def test_batching_gathers_concurrent_requests(
    churn_models: Platform, runtime: ServingRuntime
) -> None:
    churn_models.deployments.create(
        "churn",
        model="churn/1",
        cache={"enabled": False},
        batching={"enabled": True, "max_batch_size": 8, "max_wait_ms": 20},
    )
    runtime.state("churn")  # loaded, so the 16 requests arrive at the batcher together

    async def burst() -> list[dict[str, object]]:
        bodies = [
            {"model_id": "churn", "features": {**FEATURES, "tenure_months": i}} for i in range(16)
        ]
        return list(await asyncio.gather(*(runtime.predict(b) for b in bodies)))

    answers = runtime.run(burst())
    assert len({a["request_id"] for a in answers}) == 16
    text = runtime.render_metrics().decode()
    assert 'podium_batch_size_count{deployment="churn",version="1"} 2.0' in text


def test_unknown_deployment_and_bad_bodies(churn_models: Platform) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    with pytest.raises(NotFoundError) as missing:
        churn_models.predict("nope", features=FEATURES)
    assert missing.value.field == "model_id"
    with pytest.raises(InvalidInputError) as both:
        churn_models.predict("churn", features=FEATURES, instances=[FEATURES])
    assert both.value.field == "features"
    with pytest.raises(InvalidInputError) as bad_row:
        churn_models.predict("churn", instances=[FEATURES, {**FEATURES, "tenure_months": "x"}])
    assert bad_row.value.field == "instances[1].tenure_months"


def test_a_worse_canary_is_rolled_back_automatically(
    churn_models: Platform, runtime: ServingRuntime, register_pyfunc: RegisterPyfunc
) -> None:
    bad = register_pyfunc("churn", faulty.RaisingModel())
    churn_models.deployments.create(
        "churn", model="churn/1", cache={"enabled": False}, fallback={"default": {"prediction": 0}}
    )
    churn_models.deployments.canary(
        "churn", bad, weight=0.5, limits={"min_requests": 5}, step_seconds=3600
    )
    runtime.reload("churn").result()
    for tenure in range(40):
        churn_models.predict("churn", features={**FEATURES, "tenure_months": tenure})
    verdicts = runtime.judge.tick()
    assert verdicts["churn"].decision == "rollback"
    deployment = churn_models.deployments.get("churn")
    assert deployment.traffic.canary is None and deployment.traffic.stable == 1
    assert "error rate" in churn_models.deployments.history("churn")[-1].reason


def test_a_healthy_canary_steps_up_then_is_promoted(
    churn_models: Platform, runtime: ServingRuntime
) -> None:
    churn_models.deployments.create("churn", model="churn/1", cache={"enabled": False})
    churn_models.deployments.canary(
        "churn",
        2,
        steps=[0.25, 0.5, 1.0],
        step_seconds=0.001,
        limits={"min_requests": 5, "max_p95_latency_ratio": 100, "max_prediction_psi": 100},
    )
    for _ in range(2):
        runtime.reload("churn").result()
        for tenure in range(40):
            churn_models.predict("churn", features={**FEATURES, "tenure_months": tenure})
        runtime.judge.tick()
    deployment = churn_models.deployments.get("churn")
    assert (deployment.traffic.stable, deployment.traffic.canary) == (2, None)
    actions = [change.action for change in churn_models.deployments.history("churn")]
    assert actions[-2:] == ["step", "promote"]
