"""``podium pipelines``: run a module:function from the current folder, then inspect it."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.cli.assertions import Invoke, assert_one_error
from tests.cli.conftest import home, invoke  # noqa: F401 - fixtures shared with tests/cli

PIPELINE = """
import pathlib
import podium

@podium.step
def load(n: int) -> list:
    print(f"loading {n}")
    return list(range(n))

@podium.step
def check(xs: list) -> int:
    if pathlib.Path("fail.flag").exists():
        raise RuntimeError("check was told to fail")
    return sum(xs)

@podium.pipeline("cli-demo")
def demo(n: int = 3):
    return check(load(n))
"""


@pytest.fixture
def module(home: Path) -> str:  # noqa: F811 - the fixture above
    """A pipeline module in the current folder (the test's tmp_path), named uniquely."""
    name = f"cli_pipes_{uuid.uuid4().hex[:8]}"
    (home.parent / f"{name}.py").write_text(textwrap.dedent(PIPELINE))
    return name


def _run_id(invoke: Invoke) -> str:  # noqa: F811
    listed = invoke("pipelines", "runs", "--json")
    assert listed.exit_code == 0, listed.output
    return str(json.loads(listed.stdout)[0]["id"])


def test_run_rerun_runs_show_logs_and_ls(invoke: Invoke, module: str) -> None:  # noqa: F811
    first = invoke("pipelines", "run", f"{module}:demo", "--param", "n=4")
    assert first.exit_code == 0, first.output
    assert "succeeded" in first.stdout and "load" in first.stdout and "n=4" in first.stdout

    again = invoke("pipelines", "run", f"{module}:demo", "-P", "n=4")
    assert again.exit_code == 0, again.output
    assert again.stdout.count("cached") >= 2

    run_id = _run_id(invoke)
    shown = invoke("pipelines", "show", run_id[:8])
    assert shown.exit_code == 0 and "cached" in shown.stdout and "yes" in shown.stdout
    first_id = invoke("pipelines", "runs")
    assert first_id.exit_code == 0 and first_id.stdout.count("cli-demo") == 2
    listed = invoke("pipelines", "ls")
    assert listed.exit_code == 0 and f"{module}:demo" in listed.stdout


def test_a_failed_run_exits_1_and_resume_finishes_it(
    invoke: Invoke,  # noqa: F811
    module: str,
    home: Path,  # noqa: F811
) -> None:
    flag = home.parent / "fail.flag"
    flag.write_text("")
    failed = invoke("pipelines", "run", f"{module}:demo")
    assert failed.exit_code == 1
    assert "error: step 'check' failed" in failed.stderr
    assert "podium pipelines resume" in failed.stderr
    run_id = _run_id(invoke)
    logs = invoke("pipelines", "logs", run_id[:8], "--step", "check")
    assert logs.exit_code == 0 and "check was told to fail" in logs.stdout

    flag.unlink()
    resumed = invoke("pipelines", "resume", run_id[:8])
    assert resumed.exit_code == 0, resumed.output
    assert "succeeded" in resumed.stdout
    assert "loading 3" in invoke("pipelines", "logs", run_id).stdout


def test_bad_params_and_targets_are_one_line_errors(invoke: Invoke, module: str) -> None:  # noqa: F811
    assert_one_error(
        invoke("pipelines", "run", f"{module}:demo", "--param", "n"),
        "a --param is KEY=VALUE; got 'n' instead",
    )
    assert_one_error(
        invoke("pipelines", "run", f"{module}:demo", "--param", "m=1"),
        "the params of pipeline 'cli-demo' do not fit its function: got an unexpected "
        "keyword argument 'm'",
    )
    result = invoke("pipelines", "run", "no_such_module_here:demo")
    assert result.exit_code == 1 and "cannot be imported" in result.stderr


def test_schedule_trigger_list_and_unschedule(invoke: Invoke, module: str) -> None:  # noqa: F811
    made = invoke(
        "pipelines", "schedule", f"{module}:demo", "--cron", "0 3 * * *", "-P", "n=5", "--json"
    )
    assert made.exit_code == 0, made.output
    schedule = json.loads(made.stdout)
    assert schedule["target"] == f"{module}:demo" and schedule["params"] == {"n": 5}
    hooked = invoke(
        "pipelines",
        "trigger",
        f"{module}:demo",
        "--on",
        "alert.fired",
        "--where",
        "rule=churn-drift",
        "--where",
        "severity.level=2",
    )
    assert hooked.exit_code == 0, hooked.output
    assert "runs on every alert.fired event" in hooked.stdout

    listed = invoke("pipelines", "schedules")
    assert listed.exit_code == 0 and "0 3 * * *" in listed.stdout and "n=5" in listed.stdout
    found = json.loads(invoke("pipelines", "triggers", "--json").stdout)
    assert [(t["on"], t["where"]) for t in found] == [
        ("alert.fired", {"rule": "churn-drift", "severity.level": 2})
    ]

    assert invoke("pipelines", "unschedule", schedule["id"][:8]).exit_code == 0
    assert invoke("pipelines", "unschedule", found[0]["id"]).exit_code == 0
    assert "no schedules" in invoke("pipelines", "schedules").stdout
    assert json.loads(invoke("pipelines", "triggers", "--json").stdout) == []
    gone = invoke("pipelines", "unschedule", schedule["id"])
    assert gone.exit_code == 1 and "no schedule or trigger id starts with" in gone.stderr


def test_bad_schedules_and_triggers_are_one_line_errors(invoke: Invoke, module: str) -> None:  # noqa: F811
    bad_cron = invoke("pipelines", "schedule", f"{module}:demo", "--cron", "every day")
    assert bad_cron.exit_code == 1 and "cron" in bad_cron.stderr
    assert_one_error(
        invoke("pipelines", "trigger", f"{module}:demo", "--on", "alert.fired", "--where", "x"),
        "a --where is KEY=VALUE; got 'x' instead",
    )
    unknown = invoke("pipelines", "trigger", f"{module}:demo", "--on", "no.such.event")
    assert unknown.exit_code == 1 and "no.such.event" in unknown.stderr
    assert json.loads(invoke("pipelines", "schedules", "--json").stdout) == []
    assert json.loads(invoke("pipelines", "triggers", "--json").stdout) == []
