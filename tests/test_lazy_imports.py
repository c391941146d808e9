"""What importing a piece of podium loads: a serving replica and the command line stay lean.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def loaded_after(
    statement: str, modules: list[str], *, env: dict[str, str] | None = None
) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after running ``statement``."""
    script = f"import sys\n{statement}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    lines = done.stdout.splitlines()
    return lines[-1].split() if lines else []


def test_a_serving_replica_loads_no_data_layer() -> None:
    statement = "import podium.api.replica_server, podium.replica"
    heavy = ["deltalake", "duckdb", "alembic", "pyarrow.dataset", "scipy.stats", "podium.data.lake"]
    assert loaded_after(statement, heavy) == []


@pytest.mark.parametrize(
    "statement",
    ["import podium", "import podium.data.catalog.models", "import podium.cli.app"],
)
def test_imports_leave_heavy_libraries_for_first_use(statement: str) -> None:
    assert loaded_after(statement, ["sklearn", "scipy.stats", "alembic"]) == []


def test_public_names_still_resolve() -> None:
    statement = "import podium, podium.data\nassert podium.connect and podium.data.DataLake"
    assert loaded_after(statement, ["deltalake"]) == ["deltalake"]


# What every podium command would pay for before its first line of output if the root
# command imported it: the server, the client, the database, the data layer, the models.
_HEAVY_FOR_THE_CLI = [
    "fastapi",
    "uvicorn",
    "httpx",
    "sqlalchemy",
    "alembic",
    "pydantic_settings",
    "pandas",
    "numpy",
    "pyarrow",
    "deltalake",
    "duckdb",
    "sklearn",
    "scipy",
    "onnxruntime",
    "podium.config",
    "podium.platform",
    "podium.connection",
    "podium.client",
]
_COMMAND_MODULES = [
    f"podium.cli.{name}"
    for name in [
        *("audit", "catalog", "config", "data", "db", "deploy", "experiments", "features"),
        *("keys", "models", "models_optimize", "monitor", "projects", "quickstart", "runs"),
        *("serve", "up", "webhooks"),
    ]
]


def test_the_command_line_starts_without_its_commands() -> None:
    """``podium --help`` and ``--version`` import the root command and nothing heavy."""
    assert loaded_after("import podium.cli.app", _HEAVY_FOR_THE_CLI + _COMMAND_MODULES) == []


def test_the_root_help_lists_commands_without_importing_them() -> None:
    statement = (
        "from typer.testing import CliRunner\n"
        "from podium.cli.app import app\n"
        "assert 'monitor' in CliRunner().invoke(app, ['--help']).stdout"
    )
    assert loaded_after(statement, _HEAVY_FOR_THE_CLI + _COMMAND_MODULES) == []


def test_a_command_imports_its_own_module_only(tmp_path: Path) -> None:
    """``podium runs list`` (embedded) loads the platform, not the client nor other commands."""
    statement = (
        "from typer.testing import CliRunner\n"
        "from podium.cli.app import app\n"
        "result = CliRunner().invoke(app, ['runs', 'list'])\n"
        "assert result.exit_code == 0, result.output"
    )
    env = {**os.environ, "PODIUM_HOME": str(tmp_path / "home")}
    others = [m for m in _COMMAND_MODULES if m != "podium.cli.runs"]
    watched = ["podium.cli.runs", "podium.connection", "podium.client", "fastapi", *others]
    assert loaded_after(statement, watched, env=env) == ["podium.cli.runs"]
