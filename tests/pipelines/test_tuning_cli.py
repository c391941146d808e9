"""``podium tune module:objective --space ...``: a study from the command line.

The objective lives in a module written to the current folder, as a user's would; with
``--parallel 2`` the worker processes import it from there.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from podium.cli.app import app
from podium.config import Settings
from podium.platform import Installation
from tests.cli.assertions import Invoke, assert_one_error

OBJECTIVE = textwrap.dedent(
    """
    def objective(params):
        return {"auc": 1 - (params["C"] - 1.0) ** 2 / 100, "depth": params["depth"]}
    """
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PODIUM_HOME for this test (the autouse fixture cleared the others), a wide
    terminal, and the test's folder as the current one."""
    path = tmp_path / "home"
    monkeypatch.setenv("PODIUM_HOME", str(path))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    return path


@pytest.fixture
def invoke(home: Path) -> Invoke:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def embedded(home: Path) -> Iterator[Installation]:
    installation = Installation(Settings())
    yield installation
    installation.close()


@pytest.fixture
def objective_module(home: Path) -> str:
    """A module ``churn_objective`` in the current folder (the test's tmp_path)."""
    name = f"churn_objective_{home.parent.name.replace('-', '_')}"
    (home.parent / f"{name}.py").write_text(OBJECTIVE)
    return name


def test_tune_runs_a_study_and_shows_the_best_trials(
    invoke: Invoke, objective_module: str, embedded: Installation
) -> None:
    result = invoke(
        "tune",
        f"{objective_module}:objective",
        "--space", "C=loguniform(1e-3,10)",
        "--space", "depth=intuniform(2,8)",
        "--trials", "6",
        "--parallel", "2",
        "--experiment", "churn",
        "--metric", "auc",
        "--direction", "maximize",
        "--seed", "7",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "6 trials (6 complete, 0 pruned, 0 failed)" in result.stdout
    assert "best trials by auc (maximize)" in result.stdout
    assert "best auc: " in result.stdout

    runs = embedded.platform("default").tracking.search_runs(
        "churn",
        filter="tags.`podium.trial.state` = 'complete'",
        order_by=["metrics.auc DESC"],
    )
    assert len(runs.runs) == 6
    best = runs.runs[0]
    assert best.id[:8] in result.stdout
    assert {"C", "depth"} == set(best.params)


def test_tune_json_resumes_a_study_by_name(invoke: Invoke, objective_module: str) -> None:
    args = [
        "tune", f"{objective_module}:objective", "--space", "C=uniform(0.5,2)",
        "--space", "depth=choice([3,4])", "--metric", "auc", "--direction", "maximize",
        "--study", "nightly", "--json",
    ]  # fmt: skip
    first = json.loads(invoke(*args, "--trials", "2").stdout)
    second = json.loads(invoke(*args, "--trials", "4").stdout)
    assert second["run_id"] == first["run_id"]
    assert [t["number"] for t in second["trials"]] == [0, 1, 2, 3]
    assert second["best_run_id"] in {t["run_id"] for t in second["trials"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--direction", "up"], "the direction must be 'maximize' or 'minimize'; got 'up' instead"),
        (["--trials", "0"], "trials must be an integer at least 1; got 0 instead"),
        (["--parallel", "999"], "parallel must be an integer between 1 and"),
        (["--space", "C=normal(0,1)"], "the search space entry 'C=normal(0,1)' cannot be read"),
        (
            ["--space", "C=uniform(0,1)", "--space", "C=uniform(0,2)"],
            "the param 'C' is given twice",
        ),
    ],
)
def test_bad_input_is_one_clear_error_before_anything_runs(
    invoke: Invoke, objective_module: str, embedded: Installation, args: list[str], message: str
) -> None:
    space = [] if "--space" in args else ["--space", "C=uniform(0,1)"]
    result = invoke("tune", f"{objective_module}:objective", *space, *args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {message}")
    assert "Traceback" not in result.output
    assert embedded.platform("default").tracking.list_experiments() == []


def test_an_objective_that_cannot_be_found_is_a_clear_error(invoke: Invoke, home: Path) -> None:
    result = invoke("tune", "no_such_module:objective", "--space", "C=uniform(0,1)")
    assert_one_error(
        result,
        "the objective's module 'no_such_module' cannot be imported "
        "(No module named 'no_such_module')",
    )
    result = invoke("tune", "objective_without_module", "--space", "C=uniform(0,1)")
    assert_one_error(
        result, "the objective must be module:function; got 'objective_without_module' instead"
    )
