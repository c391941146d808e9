"""What importing a piece of podium loads: a serving replica and the command line stay lean.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(statement: str, modules: list[str]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after running ``statement``."""
    script = f"import sys\n{statement}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.split()


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
