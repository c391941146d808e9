"""CLI fixtures: a fresh PODIUM_HOME per test (set through the environment, as a user
would), a wide terminal so tables are not wrapped, and a runner for the root app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from podium.cli.app import app
from podium.config import Settings
from podium.platform import Installation
from tests.cli.assertions import Invoke

_PODIUM_ENV = (
    "PODIUM_URL",
    "PODIUM_API_KEY",
    "PODIUM_PROJECT",
    "PODIUM_DATABASE_URL",
    "PODIUM_STORAGE_URL",
    "PODIUM_HOST",
    "PODIUM_PORT",
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PODIUM_HOME for this test, and nothing else of the caller's podium environment."""
    for name in _PODIUM_ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "home"
    monkeypatch.setenv("PODIUM_HOME", str(path))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    return path


@pytest.fixture
def invoke(home: Path) -> Invoke:
    """Run ``podium ARGS...`` in process; stdout and stderr are kept apart."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def embedded(home: Path) -> Iterator[Installation]:
    """The installation the CLI sees, opened by the test to arrange or check state."""
    installation = Installation(Settings())
    yield installation
    installation.close()
