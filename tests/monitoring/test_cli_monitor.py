"""``podium monitor``: Rich tables from the embedded installation, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podium.cli.quickstart import TerminalShow
from podium.cli.render import console
from podium.errors import InvalidInputError
from podium.platform import Installation
from podium.quickstart.monitoring import show_monitoring
from tests.cli.assertions import Invoke, assert_one_error
from tests.cli.conftest import embedded, home, invoke  # noqa: F401  (fixtures)
from tests.monitoring.traffic import Churn, now, register_churn, traffic, training_frame


@pytest.fixture
def churn(embedded: Installation) -> Churn:  # noqa: F811
    return register_churn(embedded.platform())


def test_drift_performance_quality_and_accuracy_tables(invoke: Invoke, churn: Churn) -> None:  # noqa: F811
    sent = traffic(churn, 200, at=now(), shift=2.0)
    result = invoke("monitor", "drift", "churn", "--window", "30m")
    assert result.exit_code == 0, result.output
    assert "tenure" in result.stdout and "drift" in result.stdout
    assert "1 of 3 columns drifted" in result.stdout

    result = invoke("monitor", "performance", "churn")
    assert result.exit_code == 0 and "p99 ms" in result.stdout and "200" in result.stdout
    result = invoke("monitor", "quality", "churn")
    assert result.exit_code == 0 and "completeness" in result.stdout

    request_id, prediction = sent[0]
    result = invoke("monitor", "feedback", request_id, str(prediction))
    assert result.exit_code == 0, result.output
    result = invoke("monitor", "accuracy", "churn")
    assert result.exit_code == 0 and "1 labels" in result.stdout
    result = invoke("monitor", "fairness", "churn", "--attribute", "plan")
    assert result.exit_code == 0 and "demographic_parity_difference" in result.stdout


def test_empty_windows_print_not_enough_data(invoke: Invoke, churn: Churn) -> None:  # noqa: F811
    churn.platform.deployments.create("churn", model="churn/1")
    for command in ("drift", "quality", "performance", "accuracy"):
        result = invoke("monitor", command, "churn")
        assert result.exit_code == 0, result.output
        assert "not enough data" in result.stdout


def test_an_unknown_deployment_is_one_line_with_a_hint(invoke: Invoke, churn: Churn) -> None:  # noqa: F811
    for command in ("drift", "performance"):
        result = invoke("monitor", command, "nothing")
        assert result.exit_code != 0
        assert "deployment 'nothing' does not exist" in result.output
        assert "podium deploy ls" in result.output and "Traceback" not in result.output


def test_rules_alerts_and_report(invoke: Invoke, churn: Churn, tmp_path: Path) -> None:  # noqa: F811
    assert "no alert rules" in invoke("monitor", "rules", "ls").stdout
    result = invoke("monitor", "rules", "defaults", "churn")
    assert result.exit_code == 0 and result.stdout.count("added rule") == 7
    result = invoke(
        "monitor",
        "rules",
        "add",
        "busy",
        "-d",
        "churn",
        "-m",
        "requests",
        "-c",
        ">",
        "-t",
        "5",
        "--window",
        "30m",
    )
    assert result.exit_code == 0, result.output
    assert "busy" in invoke("monitor", "rules", "ls").stdout
    assert "feature_drift_share" in invoke("monitor", "rules", "metrics").stdout

    traffic(churn, 50, at=now(), error_every=2)
    result = invoke("monitor", "alerts", "--evaluate")
    assert result.exit_code == 0, result.output
    assert "busy" in result.stdout and "firing" in result.stdout
    assert "churn-error-rate" in invoke("monitor", "alerts", "--state", "firing").stdout

    out = tmp_path / "report.html"
    result = invoke("monitor", "report", "churn", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.exists() and "<svg" in out.read_text()
    assert json.loads(out.with_suffix(".json").read_text())["deployment"] == "churn"
    assert invoke("monitor", "rules", "rm", "busy").exit_code == 0


def test_errors_are_one_line(invoke: Invoke, churn: Churn) -> None:  # noqa: F811
    assert_one_error(
        invoke("monitor", "drift", "churn", "--window", "5x"),
        "the window must be a number and a unit (s, m, h, d); got '5x' instead",
    )
    traffic(churn, 2, at=now())
    assert_one_error(
        invoke("monitor", "feedback", "nope", "1"),
        "no prediction with request id 'nope' is in the inference log",
    )
    result = invoke(
        "monitor", "rules", "add", "x", "-d", "churn", "-m", "nope", "-c", ">", "-t", "1"
    )
    assert result.exit_code == 1 and result.stderr.startswith("error: the rule's 'metric'")
    assert_one_error(
        invoke("monitor", "rules", "rm", "missing"),
        "there is no alert rule 'missing' in project 'default'",
    )


def test_the_quickstart_step_shows_drift_accuracy_alert_and_report(
    embedded: Installation,  # noqa: F811
    churn: Churn,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    platform = embedded.platform()
    platform.deployments.create("churn", model="churn/1", timeout_ms=30_000)
    frame = training_frame(120, seed=11)
    shown = show_monitoring(
        TerminalShow(console()),
        platform,
        deployment="churn",
        inputs=frame[["tenure", "charges", "plan"]],
        labels=frame["label"].to_numpy(),
        report_dir=tmp_path,
        shift_column="tenure",
    )
    assert shown.sent == 120 and shown.labeled == 120
    assert [a.rule for a in shown.fired] == ["churn-feature-drift"]
    assert shown.report.exists() and shown.report_json.exists()
    printed = capsys.readouterr().out
    assert "tenure" in printed and "accuracy of 'churn'" in printed
    assert "churn-feature-drift" in printed and str(shown.report) in printed
    with pytest.raises(InvalidInputError):
        show_monitoring(
            TerminalShow(console()),
            platform,
            deployment="churn",
            inputs=frame[["plan"]],
            labels=[],
            report_dir=tmp_path,
        )
