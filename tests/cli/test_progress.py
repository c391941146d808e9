"""Long commands say what they are doing while they work (on stderr, in a terminal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.platform import Installation
from tests.cli.assertions import Invoke
from tests.cli.test_deploy import _register
from tests.cli.test_models import _register_churn


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich treats the captured stderr as an interactive terminal, as a user's would be."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")


@pytest.mark.usefixtures("terminal")
def test_monitor_report_shows_progress(
    invoke: Invoke, embedded: Installation, tmp_path: Path
) -> None:
    _register(embedded)
    assert invoke("deploy", "create", "churn/1").exit_code == 0

    result = invoke("monitor", "report", "churn", "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output
    assert "computing the monitoring report of 'churn'" in result.stderr
    assert "wrote" in result.stdout and (tmp_path / "r.html").exists()


@pytest.mark.usefixtures("terminal")
def test_models_optimize_shows_progress(invoke: Invoke, embedded: Installation) -> None:
    pytest.importorskip("skl2onnx")
    _register_churn(embedded)

    result = invoke("models", "optimize", "churn", "1")
    assert result.exit_code == 0, result.output
    assert "converting churn/1 to ONNX and comparing them" in result.stderr
    assert "registered churn/2 (onnx)" in result.stdout
