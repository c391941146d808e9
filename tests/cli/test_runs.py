"""``podium runs``: list, show and compare, embedded and against a server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from podium.platform import Installation
from tests.cli.assertions import Invoke, assert_one_error
from tests.conftest import LiveServer


def _log_runs(installation: Installation, project: str | None = None) -> dict[str, str]:
    """Three finished runs in experiment 'churn'; returns name -> id."""
    tracking = installation.platform(project, user="local:test").tracking
    ids = {}
    for name, c, auc in (("lr-small", 0.1, 0.71), ("lr-mid", 1.0, 0.83), ("lr-big", 10.0, 0.79)):
        with tracking.start_run(
            "churn",
            name=name,
            params={"C": c, "model": "logreg"},
            tags={"team": "growth"},
            capture_env=False,
        ) as run:
            run.log_input("raw.customers@3")
            for step, value in enumerate((auc - 0.2, auc - 0.1, auc)):
                run.log_metric("auc", value, step=step)
            run.log_dict({"threshold": 0.5}, "evaluation.json")
            ids[name] = run.id
    return ids


def _names_in_order(output: str, ids: dict[str, str]) -> list[str]:
    found = [
        (output.index(run_id[:8]), name) for name, run_id in ids.items() if run_id[:8] in output
    ]
    return [name for _, name in sorted(found)]


@pytest.fixture
def runs(embedded: Installation) -> dict[str, str]:
    return _log_runs(embedded)


def test_list_orders_filters_and_limits(invoke: Invoke, runs: dict[str, str]) -> None:
    result = invoke("runs", "list", "--experiment", "churn", "--order-by", "metrics.auc DESC")
    assert result.exit_code == 0, result.output
    assert _names_in_order(result.stdout, runs) == ["lr-mid", "lr-big", "lr-small"]
    header = next(line for line in result.stdout.splitlines() if "run id" in line)
    assert header.split() == ["run", "id", "name", "status", "auc"]  # one column per metric
    row = next(line for line in result.stdout.splitlines() if "lr-mid" in line)
    assert re.search(r"lr-mid\s+FINISHED\s+0\.8300", row)

    wide = invoke("runs", "list", "--experiment", "churn", "--wide")
    row = next(line for line in wide.stdout.splitlines() if "lr-mid" in line)
    assert "C=1.0, model=logreg" in row and "0.8300" in row

    as_json = json.loads(invoke("runs", "list", "-o", "metrics.auc DESC", "--json").stdout)
    assert [run["name"] for run in as_json] == ["lr-mid", "lr-big", "lr-small"]
    assert as_json[0]["params"] == {"C": "1.0", "model": "logreg"}
    assert as_json[0]["metrics"] == {"auc": pytest.approx(0.83)}

    filtered = invoke("runs", "list", "-f", "metrics.auc > 0.75", "-o", "params.C")
    assert _names_in_order(filtered.stdout, runs) == ["lr-mid", "lr-big"]

    limited = invoke("runs", "list", "-o", "metrics.auc", "--limit", "1")
    assert _names_in_order(limited.stdout, runs) == ["lr-small"]
    assert "more runs match" in limited.stdout


def test_list_bad_filter_points_at_the_mistake(invoke: Invoke, runs: dict[str, str]) -> None:
    result = invoke("runs", "list", "--filter", "metrics.auc >> 1")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: unexpected '>' at position 13 in filter")
    assert "Traceback" not in result.output


def test_list_of_a_missing_experiment(invoke: Invoke) -> None:
    result = invoke("runs", "list", "--experiment", "nope")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "nope" in result.stderr.splitlines()[0]


def test_show_by_prefix(invoke: Invoke, runs: dict[str, str]) -> None:
    run_id = runs["lr-mid"]
    result = invoke("runs", "show", run_id[:8])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"run {run_id}" in out
    assert re.search(r"auc\s+0\.8300\s+3", out)  # latest value, three points
    assert re.search(r"C\s+1\.0", out)
    assert re.search(r"team\s+growth", out)
    assert "raw.customers@3" in out
    assert "evaluation.json" in out


def test_show_unknown_and_ambiguous(invoke: Invoke, runs: dict[str, str]) -> None:
    assert_one_error(invoke("runs", "show", "ffffffff"), "no run id starts with 'ffffffff'")
    shared = next(
        (a[:1] for a in runs.values() for b in runs.values() if a != b and a[0] == b[0]), None
    )
    if shared is not None:
        assert_one_error(
            invoke("runs", "show", shared), f"more than one run id starts with {shared!r}"
        )


def test_compare_one_column_per_run(invoke: Invoke, runs: dict[str, str]) -> None:
    result = invoke("runs", "compare", runs["lr-small"], runs["lr-big"][:10])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if runs["lr-small"][:8] in line)
    assert header.index(runs["lr-small"][:8]) < header.index(runs["lr-big"][:8])
    assert re.search(r"params\.C \*\s+0\.1\s+10\.0", result.stdout)  # differs: marked
    assert re.search(r"params\.model\s+logreg\s+logreg", result.stdout)  # same: plain
    assert re.search(r"metrics\.auc\s+0\.7100\s+0\.7900", result.stdout)
    assert lines.index(next(x for x in lines if "params.model" in x)) < lines.index(
        next(x for x in lines if "metrics.auc" in x)
    )


def test_runs_against_a_server(invoke: Invoke, live_server: LiveServer, project_name: str) -> None:
    ids = _log_runs(live_server.installation, project_name)
    key = live_server.key(project_name, "reader")
    remote = ("--url", live_server.url, "--api-key", key)

    listed = invoke("runs", "list", *remote, "-o", "metrics.auc DESC")
    assert listed.exit_code == 0, listed.output
    assert f"project {project_name!r}" in listed.stdout
    assert _names_in_order(listed.stdout, ids) == ["lr-mid", "lr-big", "lr-small"]

    shown = invoke("runs", "show", ids["lr-big"][:8], *remote)
    assert shown.exit_code == 0, shown.output
    assert f"run {ids['lr-big']}" in shown.stdout

    compared = invoke("runs", "compare", ids["lr-big"], ids["lr-mid"], *remote)
    assert compared.exit_code == 0, compared.output
    assert "params.C *" in compared.stdout


def test_server_url_from_the_environment_and_a_bad_key(
    invoke: Invoke, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_URL", live_server.url)
    monkeypatch.setenv("PODIUM_API_KEY", "pdm_000000000000_wrong")
    assert_one_error(invoke("runs", "list"), "the API key is unknown or revoked, or has expired")


def test_server_that_does_not_answer(invoke: Invoke, home: Path) -> None:
    result = invoke("runs", "list", "--url", "http://127.0.0.1:9", "--api-key", "pdm_x_y")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the podium server at http://127.0.0.1:9 does not")
    assert len(result.stderr.splitlines()) == 2


def test_list_fits_80_columns_with_one_line_per_run(
    invoke: Invoke, embedded: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many metrics, long params and a long name: each run still takes one line of 80."""
    tracking = embedded.platform().tracking
    ids = []
    for name in ("gradient-boosting-with-a-very-long-name", "logreg"):
        with tracking.start_run(
            "churn", name=name, params={f"param_{i}": "x" * 30 for i in range(6)}
        ) as run:
            for key in ("accuracy", "auc", "f1", "log_loss", "train_loss", "precision", "recall"):
                run.log_metric(key, 0.5)
            ids.append(run.id)
    monkeypatch.setenv("COLUMNS", "80")

    result = invoke("runs", "list", "-o", "metrics.recall DESC")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "run id" in line).split()
    assert header[4:6] == ["recall", "accuracy"]  # the sort key first, then by name
    for run_id in ids:
        (row,) = [line for line in lines if run_id[:8] in line]
        assert "FINISHED" in row and "0.5000" in row
    assert re.search(r"\d more metrics \(.*precision.*\): --wide shows every one", result.stdout)

    monkeypatch.setenv("COLUMNS", "300")  # --wide is for a wide terminal
    wide = invoke("runs", "list", "--wide")
    assert "precision" in wide.stdout and f"param_5={'x' * 30}" in wide.stdout
