"""The Kubernetes manifests under deploy/kubernetes: rendered with ``kubectl kustomize``,
validated against the Kubernetes schemas (``kubernetes-validate``, offline, strict), and
held to what the serving pattern needs (probes, resources, non-root, PDBs, HPAs on real
podium metrics, commands the CLI accepts)."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import kubernetes_validate
import pytest
import typer.core
import typer.main
import yaml

from podium.cli.app import app as cli_app
from podium.serving.requests import metrics as serving_metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
OVERLAYS = ["local", "production"]
K8S_VERSION = "1.32.0"


def _kubectl() -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI") == "true":
            raise RuntimeError("kubectl must be installed in CI to render the overlays")
        pytest.skip("kubectl is not installed")
    return kubectl


def _render(overlay: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [_kubectl(), "kustomize", str(DEPLOY / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def _load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return _render(request.param)


def test_every_rendered_resource_passes_strict_schema_validation(
    rendered: list[dict[str, Any]],
) -> None:
    assert len(rendered) >= 12
    for doc in rendered:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_a_misspelt_field_is_caught_by_the_validation() -> None:
    deployment = _by_kind(_render("local"), "Deployment")["podium-api"]
    deployment["spec"]["replica"] = 2  # not a Deployment field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_pods_are_probed_bounded_and_unprivileged(rendered: list[dict[str, Any]]) -> None:
    deployments = _by_kind(rendered, "Deployment")
    assert {"podium-api", "podium-scheduler", "podium-serve-churn"} <= set(deployments)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            assert container["resources"]["requests"]["cpu"], name
            assert container["resources"]["limits"]["memory"], name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert "livenessProbe" in container, name
            if name != "podium-scheduler":
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
                assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name


def test_replicated_deployments_have_a_disruption_budget_and_an_autoscaler(
    rendered: list[dict[str, Any]],
) -> None:
    deployments = _by_kind(rendered, "Deployment")
    budgets = _by_kind(rendered, "PodDisruptionBudget")
    scalers = _by_kind(rendered, "HorizontalPodAutoscaler")
    for name in ("podium-api", "podium-serve-churn"):
        labels = deployments[name]["spec"]["selector"]["matchLabels"]
        assert budgets[name]["spec"]["selector"]["matchLabels"] == labels
        assert scalers[name]["spec"]["scaleTargetRef"]["name"] == name
    # The serving HPA scales on CPU and on podium's own request rate.
    kinds = {m["type"] for m in scalers["podium-serve-churn"]["spec"]["metrics"]}
    assert kinds == {"Resource", "Pods"}
    # The scheduler runs once: a rollout stops the old pod before starting the new one.
    scheduler = deployments["podium-scheduler"]["spec"]
    assert scheduler["replicas"] == 1 and scheduler["strategy"]["type"] == "Recreate"


def test_secrets_carry_the_encryption_key_and_backend_urls(
    rendered: list[dict[str, Any]],
) -> None:
    secret = _by_kind(rendered, "Secret")["podium-secrets"]["stringData"]
    assert {"PODIUM_DATABASE_URL", "PODIUM_EVENTS_URL", "PODIUM_ENCRYPTION_KEY"} <= set(secret)
    config = _by_kind(rendered, "ConfigMap")["podium-config"]["data"]
    assert not set(config) & set(secret), "a setting is both in the ConfigMap and the Secret"


def test_container_commands_are_ones_the_cli_accepts(rendered: list[dict[str, Any]]) -> None:
    command = typer.main.get_command(cli_app)
    assert isinstance(command, typer.core.TyperGroup)
    for deployment in _by_kind(rendered, "Deployment").values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            args = list(container["args"])
            sub = command.get_command(click.Context(command), args[0])
            assert sub is not None, args
            sub.make_context(args[0], args[1:], resilient_parsing=False)


def test_the_autoscaling_rules_read_series_podium_exports() -> None:
    (adapter,) = _load(DEPLOY / "extras" / "prometheus-adapter.yaml")
    kubernetes_validate.validate(adapter, K8S_VERSION, strict=True)
    rules = yaml.safe_load(adapter["data"]["config.yaml"])["rules"]
    source = inspect.getsource(serving_metrics)
    names = {rule["name"]["as"] for rule in rules}
    for rule in rules:
        series = rule["seriesQuery"].split("{")[0].strip("'")
        base = series.removesuffix("_count")
        assert base in source, f"{series} is not a series podium's /metrics exports"
    serve_hpa = _by_kind(_load(DEPLOY / "base" / "serve-churn.yaml"), "HorizontalPodAutoscaler")
    custom = [
        m["pods"]["metric"]["name"]
        for m in serve_hpa["podium-serve-churn"]["spec"]["metrics"]
        if m["type"] == "Pods"
    ]
    assert custom and set(custom) <= names


def test_the_custom_resources_point_at_real_objects_and_valid_pods() -> None:
    base = _render("local")
    deployments = _by_kind(base, "Deployment")
    (vpa,) = _load(DEPLOY / "extras" / "vpa.yaml")
    assert vpa["kind"] == "VerticalPodAutoscaler"
    assert vpa["spec"]["targetRef"]["name"] in deployments
    assert vpa["spec"]["updatePolicy"]["updateMode"] == "Off"  # recommendations only
    (isvc,) = _load(DEPLOY / "extras" / "kserve-inferenceservice.yaml")
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    # KServe's predictor takes a pod spec: validate its containers as one.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "predictor"},
        "spec": {"containers": isvc["spec"]["predictor"]["containers"]},
    }
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    assert isvc["spec"]["predictor"]["containers"][0]["args"][0] == "serve"
