"""Faulty models are answered by the next link of the chain; the breaker opens and closes."""

from __future__ import annotations

import time

import pytest

from podium.errors import BackendUnavailableError
from podium.platform import Installation, Platform
from tests.serving import faulty
from tests.serving.conftest import FEATURES, RegisterPyfunc

NO_CACHE = {"enabled": False}


@pytest.mark.parametrize(
    "model",
    [faulty.RaisingModel(), faulty.HangingModel(2.0), faulty.GarbageModel()],
    ids=["raises", "hangs", "garbage"],
)
def test_a_failing_primary_is_answered_by_the_fallback_model(
    churn_models: Platform,
    installation: Installation,
    register_pyfunc: RegisterPyfunc,
    model: object,
) -> None:
    version = register_pyfunc("broken", model)
    churn_models.deployments.create(
        "broken",
        model=f"broken/{version}",
        fallback={"model": "churn/1"},
        timeout_ms=200,
        cache=NO_CACHE,
    )
    started = time.perf_counter()
    body = churn_models.predict("broken", features=FEATURES)
    assert time.perf_counter() - started < 1.5  # a hung model never holds the answer
    assert body["served_by"] == "fallback"
    assert body["model_version"] == str(version)
    assert body["probability"] is not None
    text = installation.runtime(churn_models.project).render_metrics().decode()
    assert 'podium_degraded_responses_total{deployment="broken",served_by="fallback"' in text


def test_the_chain_goes_on_to_rules_and_the_default(
    churn_models: Platform, register_pyfunc: RegisterPyfunc
) -> None:
    version = register_pyfunc("broken", faulty.RaisingModel())
    churn_models.deployments.create(
        "rules",
        model=f"broken/{version}",
        fallback={"rules": "tests.serving.faulty:rules"},
        cache=NO_CACHE,
    )
    answer = churn_models.predict("rules", features={**FEATURES, "tenure_months": 3})
    assert (answer["served_by"], answer["prediction"], answer["probability"]) == ("rules", 1, 0.8)
    churn_models.deployments.create(
        "default",
        model=f"broken/{version}",
        fallback={"default": {"prediction": 0, "probability": 0.5}},
        cache=NO_CACHE,
    )
    answer = churn_models.predict("default", features=FEATURES)
    assert (answer["served_by"], answer["prediction"]) == ("default", 0)


def test_with_no_link_left_the_answer_is_503(
    churn_models: Platform, register_pyfunc: RegisterPyfunc
) -> None:
    version = register_pyfunc("broken", faulty.RaisingModel())
    churn_models.deployments.create("alone", model=f"broken/{version}", cache=NO_CACHE)
    with pytest.raises(BackendUnavailableError) as caught:
        churn_models.predict("alone", features=FEATURES)
    assert "RuntimeError" in str(caught.value)


def test_the_breaker_opens_on_failures_and_closes_after_probes(
    churn_models: Platform, installation: Installation, register_pyfunc: RegisterPyfunc
) -> None:
    version = register_pyfunc("flaky", faulty.FlakyModel())
    churn_models.deployments.create(
        "flaky",
        model=f"flaky/{version}",
        fallback={"default": {"prediction": 0}},
        breaker={
            "failure_rate": 0.5,
            "min_calls": 4,
            "cooldown_seconds": 0.3,
            "half_open_probes": 2,
            "restore_seconds": 0,
        },
        cache=NO_CACHE,
    )
    runtime = installation.runtime(churn_models.project)

    def breaker() -> str:
        return str(runtime.describe("flaky")["breakers"][f"{version}/primary"]["state"])

    assert churn_models.predict("flaky", features=FEATURES)["served_by"] == "primary"
    faulty.SWITCH["fail"] = True
    served = [churn_models.predict("flaky", features=FEATURES)["served_by"] for _ in range(4)]
    assert served == ["default"] * 4
    assert breaker() == "open"
    faulty.SWITCH["fail"] = False
    # Open: the model is not called, however healthy it is again.
    assert churn_models.predict("flaky", features=FEATURES)["served_by"] == "default"
    time.sleep(0.35)
    probes = [churn_models.predict("flaky", features=FEATURES)["served_by"] for _ in range(2)]
    assert probes == ["primary", "primary"]
    assert breaker() == "closed"
    text = runtime.render_metrics().decode()
    assert f'podium_breaker_state{{deployment="flaky",link="primary",version="{version}"}} 0.0' in (
        text
    )
