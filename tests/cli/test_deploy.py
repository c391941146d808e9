"""``podium deploy create`` offers what the SDK's ``Deployments.create`` does."""

from __future__ import annotations

import re

from sklearn.linear_model import LogisticRegression

from podium.platform import Installation
from podium.serving.control.spec import BreakerSpec, CacheSpec
from tests.cli.assertions import Invoke
from tests.serving.conftest import churn_frame


def _register(installation: Installation) -> None:
    frame, labels = churn_frame()
    model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
    installation.platform().registry.register("churn", model, input_example=frame[:5])


def test_create_sets_the_breaker_the_similarity_cache_and_aliases(
    invoke: Invoke, embedded: Installation
) -> None:
    _register(embedded)
    created = invoke(
        "deploy", "create", "churn/1",
        "--breaker-failure-rate", "0.25", "--breaker-window", "60", "--breaker-min-calls", "5",
        "--breaker-cooldown", "3", "--breaker-probes", "2", "--breaker-restore", "0",
        "--cache-similarity", "0.5", "--cache-max-entries", "100",
        "--alias", "churn-v1", "--no-log-inferences",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    out = created.stdout
    assert re.search(r"breaker\s+opens at 25% failures of 5\+ calls in 60 s; probes after 3 s", out)
    assert re.search(r"cache\s+ttl 60 s, 100 entries, similar within 0\.5", out)
    assert re.search(r"aliases\s+churn-v1", out)
    assert re.search(r"inference log\s+off", out)

    spec = embedded.platform().deployments.get("churn").spec
    assert spec.breaker == BreakerSpec(
        failure_rate=0.25,
        window_seconds=60,
        min_calls=5,
        cooldown_seconds=3,
        half_open_probes=2,
        restore_seconds=0,
    )
    assert spec.cache == CacheSpec(ttl_seconds=60, max_entries=100, similarity_threshold=0.5)
    assert spec.aliases == ["churn-v1"] and spec.log_inferences is False


def test_create_defaults_are_the_sdk_defaults(invoke: Invoke, embedded: Installation) -> None:
    _register(embedded)
    created = invoke("deploy", "create", "churn/1")
    assert created.exit_code == 0, created.output
    spec = embedded.platform().deployments.get("churn").spec
    assert spec.breaker == BreakerSpec() and spec.cache == CacheSpec()
    assert spec.log_inferences is True and spec.aliases == []
