"""The root app: errors become one line and a hint, Ctrl-C is clean, --version works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from podium import __version__
from podium.access.projects import ProjectService
from tests.cli.assertions import Invoke, assert_one_error


def test_version(invoke: Invoke) -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"podium {__version__}"


def test_no_arguments_shows_help(invoke: Invoke) -> None:
    result = invoke()
    assert "quickstart" in result.output


def test_podium_error_is_one_line_with_hint(invoke: Invoke) -> None:
    result = invoke("projects", "create", "Not A Name")
    assert_one_error(
        result,
        "the project name must match ^[a-z][a-z0-9-]{0,62}$; got 'Not A Name' instead",
    )
    assert result.stderr.splitlines()[1].startswith("hint: use lowercase letters")


def test_bad_setting_is_one_line(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_PORT", "eighty")
    result = invoke("config")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the setting PODIUM_PORT is invalid")
    assert "'eighty'" in result.stderr


def test_ctrl_c_exits_130_without_traceback(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(self: ProjectService) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ProjectService, "list", interrupted)
    result = invoke("projects", "list")
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted"


def test_console_script_reports_errors_the_same_way(home: Path) -> None:
    env = {**os.environ, "PODIUM_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "podium.cli.app", "keys", "create", "-p", "default", "-r", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: the role must be one of reader, writer, admin; got 'x' instead",
        "hint: pass --role reader|writer|admin",
    ]
