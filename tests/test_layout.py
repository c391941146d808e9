"""The layout shows the architecture: folders by concern, imports one way, one file per API.

docs/architecture.md draws the tree these tests hold the code to; ADR 0021 says why.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

import podium

PACKAGE = Path(podium.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Every ``podium...`` module a file imports, at any level of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "podium"}


def _modules_under(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize(
    ("package", "concerns"),
    [
        ("serving", {"control", "requests", "http", "log"}),
        ("monitoring/drift", set()),
        ("quickstart", set()),
    ],
)
def test_a_split_package_keeps_its_concerns_in_subpackages(
    package: str, concerns: set[str]
) -> None:
    folder = PACKAGE / package
    subpackages = {p.parent.name for p in folder.glob("*/__init__.py")}
    assert concerns <= subpackages
    if package == "serving":
        flat = {p.name for p in folder.glob("*.py")}
        assert flat == {"__init__.py", "protocol.py"}, "a serving module outside its concern"


@pytest.mark.parametrize(
    "old",
    [
        "monitoring/drift.py",
        "monitoring/drift_tests.py",
        "monitoring/drift_columns.py",
        "monitoring/drift_status.py",
        "registry/optimize.py",
        "features/online_read.py",
        "api/routes/models.py",
        "cli/quickstart_training.py",
        "serving/inference_log.py",
    ],
)
def test_misleading_module_names_are_gone(old: str) -> None:
    assert not (PACKAGE / old).exists()


@pytest.mark.parametrize(
    ("area", "forbidden"),
    [
        ("serving", ("podium.api", "podium.cli", "podium.client")),
        ("monitoring", ("podium.api", "podium.cli", "podium.client")),
        ("quickstart", ("podium.api", "podium.cli", "podium.client")),
    ],
)
def test_imports_flow_from_the_front_doors_to_the_areas(
    area: str, forbidden: tuple[str, ...]
) -> None:
    for path in _modules_under(area):
        wrong = {m for m in _imported_modules(path) if m.startswith(forbidden)}
        assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"


def test_the_quickstart_package_imports_nothing_heavy() -> None:
    """``import podium.quickstart`` (its names) loads neither scikit-learn nor the CLI."""
    script = (
        "import sys, podium.quickstart\n"
        "print(' '.join(m for m in ('sklearn', 'pandas', 'podium.cli') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""


def _routers() -> dict[str, list[APIRouter]]:
    """Every APIRouter the API's route modules and the serving HTTP app define."""
    names = [f"podium.api.routes.{p.stem}" for p in (PACKAGE / "api" / "routes").glob("*.py")]
    found: dict[str, list[APIRouter]] = {}
    for name in [*names, "podium.serving.http.app"]:
        module = importlib.import_module(name)
        found[name] = [v for v in vars(module).values() if isinstance(v, APIRouter)]
    return found


def _paths(routers: list[APIRouter]) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }


def test_every_deployment_route_lives_in_one_file(tmp_path: Path) -> None:
    owners = {
        name
        for name, routers in _routers().items()
        for _, path in _paths(routers)
        if path.startswith("/v1/deployments")
    }
    assert owners == {"podium.api.routes.deployments"}
    registry_owners = {
        name
        for name, routers in _routers().items()
        for _, path in _paths(routers)
        if path.startswith("/v1/models")
    }
    assert registry_owners == {"podium.api.routes.registry"}


def test_the_platform_and_a_replica_serve_a_deployments_live_status(tmp_path: Path) -> None:
    from podium.api.app import create_app
    from podium.api.replica_server import create_serving_app
    from podium.config import Settings
    from podium.platform import Installation

    installation = Installation(Settings(home=tmp_path / "home"))
    try:
        platform_paths = create_app(installation).openapi()["paths"]
        installation.platform("default")  # creates the project
        runtime = installation.runtime("default")
        replica = create_serving_app(runtime, keys=installation.keys, max_body_bytes=1024)
        assert isinstance(replica.app, FastAPI)
        replica_paths = replica.app.openapi()["paths"]
    finally:
        installation.close()
    for paths in (platform_paths, replica_paths):
        assert "get" in paths["/v1/deployments/{name}"]
    assert "post" in platform_paths["/v1/deployments"]
    assert "/v1/deployments" not in replica_paths  # a replica changes nothing


def test_the_two_inference_log_classes_are_named_for_their_side() -> None:
    from podium.monitoring.inference import InferenceLogReader
    from podium.serving.log.writer import InferenceLogWriter

    assert InferenceLogWriter.__module__ == "podium.serving.log.writer"
    assert InferenceLogReader.__module__ == "podium.monitoring.inference"
