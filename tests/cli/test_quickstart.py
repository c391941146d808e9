"""``podium quickstart``: data, a tracked grid, the ranking, the registry, the port check."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from podium.access.roles import Role
from podium.api.app import create_app
from podium.platform import Installation
from podium.tracking.types import Run
from tests.cli.assertions import Invoke, assert_one_error
from tests.conftest import loopback_server

ROWS = "400"  # the hidden --rows keeps the test fast; the grid is the real one
GRID_SIZE = 6


def _churn_runs(embedded: Installation) -> list[Run]:
    return embedded.platform().tracking.search_runs("churn", max_results=1000).runs


def _ranked_names(output: str) -> list[str]:
    """The run names of the ranking table, top to bottom."""
    rows = re.findall(r"^\s+(\d+)(?: \*)?\s+[0-9a-f]{8}\s+(\S+)\s", output, re.MULTILINE)
    return [name for _, name in rows]


def test_quickstart_trains_tracks_and_ranks(
    invoke: Invoke, home: Path, embedded: Installation
) -> None:
    result = invoke("quickstart", "--no-serve", "--rows", ROWS)
    assert result.exit_code == 0, result.output

    data = embedded.platform().data
    customers = data.read("raw.customers").to_pandas()
    assert len(customers) == int(ROWS)
    assert list(customers.columns) == [
        "customer_id",
        "event_ts",
        "tenure_months",
        "monthly_charges",
        "total_charges",
        "contract",
        "support_calls",
        "churned",
    ]
    features = data.read("curated.churn_features").to_pandas()
    assert len(features) == int(ROWS) and "contract_one_year" in features.columns
    upstream = embedded.platform().catalog.describe("curated.churn_features").upstream
    assert any(node.startswith("table:raw.customers@") for node in upstream)

    runs = _churn_runs(embedded)
    assert len(runs) == GRID_SIZE
    for run in runs:
        assert run.status == "FINISHED"
        assert {"auc", "accuracy", "f1", "log_loss"} <= set(run.metrics)
        assert 0.5 < run.metrics["auc"] <= 1.0
        assert run.params["rows"] == ROWS
        assert run.tags["source"] == "quickstart"
        assert run.inputs == [data.ref("curated.churn_train")]  # the version it read

    by_auc = sorted(runs, key=lambda r: r.metrics["auc"], reverse=True)
    assert _ranked_names(result.stdout) == [r.name for r in by_auc]
    assert "1 *" in result.stdout and "* best held-out AUC" in result.stdout

    tracking = embedded.platform().tracking
    by_name = {run.name: run for run in runs}
    boosted = by_name["gbm-100x2"]
    evaluation = json.loads(tracking.read_artifact(boosted.id, "evaluation.json"))
    matrix = evaluation["confusion_matrix"]["matrix"]
    assert sum(map(sum, matrix)) == int(ROWS) // 4  # the held-out quarter
    assert set(evaluation["feature_importances"]) >= {"tenure_months", "support_calls"}
    train_loss = tracking.metric_history(boosted.id, "train_loss")
    assert [p.step for p in train_loss] == list(range(1, 101))
    auc_curve = tracking.metric_history(boosted.id, "auc")
    assert [p.step for p in auc_curve] == [20, 40, 60, 80, 100]
    assert auc_curve[-1].value == boosted.metrics["auc"]
    linear = tracking.read_artifact(by_name["logreg-C1"].id, "evaluation.json")
    assert "coefficients_standardized" in json.loads(linear)


def test_quickstart_registers_promotes_and_optimizes_the_best_model(
    invoke: Invoke, embedded: Installation
) -> None:
    result = invoke("quickstart", "--no-serve", "--rows", ROWS)
    assert result.exit_code == 0, result.output
    registry = embedded.platform().registry
    best = max(_churn_runs(embedded), key=lambda r: r.metrics["auc"])

    source = registry.get_version("customer-churn/1")
    assert source.stage == "production" and source.run_id == best.id
    assert source.inputs == best.inputs and source.metrics["auc"] == best.metrics["auc"]
    (request,) = registry.list_requests("customer-churn", status="applied")
    assert request.to_stage == "production"
    assert request.requested_by != "local:quickstart-approver"
    assert [(a.actor, a.decision) for a in request.approvals] == [
        ("local:quickstart-approver", "approve")
    ]

    optimized = registry.get_version("customer-churn/2")
    assert optimized.flavor == "onnx" and optimized.derived_from == "customer-churn/1"
    assert optimized.tags == {"optimized": "onnx"}
    agreement = re.search(r"agrees on ([\d.]+)% of (\d+) held-out rows", result.stdout)
    assert agreement is not None, result.stdout
    assert float(agreement.group(1)) >= 99.0 and int(agreement.group(2)) == int(ROWS) // 4

    features = pd.DataFrame(
        {
            "tenure_months": [2.0, 40.0],
            "monthly_charges": [99.5, 25.0],
            "total_charges": [199.0, 1000.0],
            "support_calls": [4.0, 0.0],
            "contract_one_year": [0.0, 0.0],
            "contract_two_year": [0.0, 1.0],
        }
    )
    production = registry.load("customer-churn@production").predict(features)
    assert set(np.unique(production)) <= {0, 1}
    assert list(registry.load("customer-churn/2").predict(features)) == list(production)
    assert "customer-churn/1 is in stage production" in result.stdout

    # The drift alert triggered the retraining pipeline, which the quickstart's round of
    # the scheduler started: its gate registered version 3 and asked for production.
    platform = embedded.platform()
    (trigger,) = platform.pipelines.triggers()
    assert (trigger.pipeline, trigger.on) == ("churn-retraining", "alert.fired")
    assert trigger.where == {"rule": "customer-churn-feature-drift"}
    (retraining,) = platform.pipelines.runs("churn-retraining")
    assert retraining.status == "succeeded"
    assert [(s.name, s.status) for s in retraining.steps] == [
        ("load_training_set", "succeeded"),
        ("fit", "succeeded"),
        ("gate", "succeeded"),
    ]
    tags = platform.tracking.get_run(retraining.id).tags
    assert tags["podium.trigger"] == trigger.id
    (fired,) = platform.monitoring.alerts(state="firing")
    assert tags["podium.event_id"].isdigit()
    assert fired.rule == "customer-churn-feature-drift"
    candidate = registry.get_version("customer-churn/3")
    gate_run = next(s.run_id for s in retraining.steps if s.name == "gate")
    assert candidate.run_id == gate_run and candidate.stage == "none"
    (proposed,) = [r for r in registry.list_requests("customer-churn") if r.version == 3]
    assert (proposed.to_stage, proposed.status) == ("production", "pending")
    assert proposed.requested_by == "podium:scheduler"
    assert f"podium models approve {proposed.id}" in result.stdout
    assert "podium pipelines runs churn-retraining" in result.stdout


def test_quickstart_twice_adds_runs(invoke: Invoke, embedded: Installation) -> None:
    assert invoke("quickstart", "--no-serve", "--rows", ROWS).exit_code == 0
    second = invoke("quickstart", "--no-serve", "--rows", ROWS)
    assert second.exit_code == 0, second.output
    assert len(_churn_runs(embedded)) == 2 * GRID_SIZE
    assert len(_ranked_names(second.stdout)) == GRID_SIZE  # ranks this invocation's runs
    registry = embedded.platform().registry
    stages = [v.stage for v in registry.list_versions("customer-churn")]
    # 3 is the first quickstart's retraining candidate; the alert still fires, so the
    # second quickstart fired no new one and started no retraining (one trigger, kept).
    assert stages == ["archived", "none", "none", "production", "none"]
    assert registry.get_version("customer-churn/5").derived_from == "customer-churn/4"
    assert len(embedded.platform().pipelines.triggers()) == 1
    assert len(embedded.platform().pipelines.runs("churn-retraining")) == 1
    assert "no retraining run started: the rule fired no new alert" in second.stdout


def test_quickstart_checks_the_port_before_training(
    invoke: Invoke, home: Path, embedded: Installation
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke("quickstart", "--rows", ROWS, "--port", str(port))
    assert_one_error(result, f"cannot listen on 127.0.0.1:{port} (Address already in use)")
    assert not (home / "quickstart").exists()


def test_optimize_after_quickstart_needs_no_sample_option(invoke: Invoke) -> None:
    assert invoke("quickstart", "--no-serve", "--rows", ROWS).exit_code == 0
    # The model's run read curated.churn_train@N, which holds every signature column.
    result = invoke("models", "optimize", "customer-churn", "1", "--to", "onnx")
    assert result.exit_code == 0, result.output
    assert "agreement" in result.stdout


SEED_BODY = (
    '{"model_id": "customer-churn-v2", "features": '
    '{"customer_id": "12345", "tenure_months": 24, "monthly_charges": 89.99}}'
)
"""The seed's example request, byte for byte (and the README's curl)."""


def test_after_the_quickstart_the_seed_request_and_the_readme_canary_work(
    invoke: Invoke, embedded: Installation
) -> None:
    result = invoke("quickstart", "--no-serve", "--rows", ROWS)
    assert result.exit_code == 0, result.output
    platform = embedded.platform()
    deployment = platform.deployments.get("customer-churn")
    # The canary of version 2 was not promoted: promoting it waits for its approval.
    assert deployment.traffic.stable == 1 and deployment.traffic.canary is not None
    pending = platform.registry.list_requests("customer-churn", status="pending")
    assert sorted(r.version for r in pending) == [2, 3]  # 3: the retraining's candidate
    (waiting,) = [r for r in pending if r.version == 2]
    assert waiting.to_stage == "production"
    assert f"podium models approve {waiting.id}" in result.stdout

    _, secret = embedded.keys.create(embedded.settings.project, Role.READER, name="seed")
    with (
        loopback_server(create_app(embedded)) as url,
        httpx.Client(base_url=url, headers={"authorization": f"Bearer {secret}"}) as http,
    ):
        headers = {"content-type": "application/json"}
        answer = http.post("/v1/predictions", content=SEED_BODY, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert {"prediction", "probability", "model_version", "latency_ms", "request_id"} <= set(
            body
        )
        assert body["model_version"] in {"1", "2"} and 0 <= body["probability"] <= 1
        # customer_id fetched the rest of the customer's features from the online store.
        stranger = SEED_BODY.replace('"12345"', '"99999"')
        unknown = http.post("/v1/predictions", content=stranger, headers=headers)
        assert unknown.status_code == 400 and unknown.json()["field"] == "total_charges"

    canary = invoke("deploy", "canary", "customer-churn", "2", "--weight", "0.1")
    assert canary.exit_code == 0, canary.output
    assert "canary 2 at 10%" in canary.stdout
