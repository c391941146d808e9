"""``podium models``: list, show, stages with approvals, aliases, lineage and optimize."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from podium.access.roles import Role
from podium.platform import Installation
from tests.cli.assertions import Invoke, assert_one_error
from tests.conftest import LiveServer

FEATURES = ["tenure_months", "monthly_charges"]


def _register_churn(installation: Installation, project: str | None = None) -> str:
    """``churn/1``, trained by a run that read ``raw.churn@0`` (target ``churned``)."""
    platform = installation.platform(project)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"tenure_months": rng.integers(1, 72, 600), "monthly_charges": rng.uniform(18, 120, 600)}
    )
    frame["churned"] = ((frame["tenure_months"] < 12) | (frame["monthly_charges"] > 100)).astype(
        int
    )
    written = platform.data.write("raw.churn", frame)
    with platform.tracking.start_run(
        "churn", name="lr", tags={"target": "churned"}, capture_env=False
    ) as run:
        run.log_input(written.ref)
        model = LogisticRegression(max_iter=1000).fit(frame[FEATURES], frame["churned"])
        run.log_metric("auc", 0.91)
    platform.registry.register(
        "churn", model, run_id=run.id, input_example=frame[FEATURES].iloc[:5]
    )
    return run.id


def test_ls_and_show(invoke: Invoke, embedded: Installation) -> None:
    run_id = _register_churn(embedded)
    embedded.platform().registry.set_alias("churn", "champion", 1)

    listed = invoke("models", "ls")
    assert listed.exit_code == 0, listed.output
    assert re.search(r"churn\s+1\s+-\s+champion=1", listed.stdout)  # no stage yet

    shown = invoke("models", "show", "churn@champion")
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert "model version churn/1" in out
    assert re.search(r"stage\s+none", out) and re.search(r"aliases\s+champion", out)
    assert re.search(r"flavor\s+sklearn", out) and run_id[:8] in out
    assert re.search(r"auc\s+0\.91", out)
    assert "raw.churn@0" in out
    assert re.search(r"inputs\s+tenure_months\s+int64", out)
    assert f"lineage: trained by run {run_id}; read raw.churn@0" in out


def test_ls_without_models(invoke: Invoke, embedded: Installation) -> None:
    result = invoke("models", "ls")
    assert result.exit_code == 0, result.output
    assert "no registered models" in result.stdout


def test_transition_approve_and_requests(invoke: Invoke, embedded: Installation) -> None:
    _register_churn(embedded)
    requester = embedded.platform(user="local:requester", role=Role.WRITER).registry
    request = requester.request_transition("churn", 1, "production", comment="auc 0.91")

    pending = invoke("models", "requests", "--status", "pending")
    assert pending.exit_code == 0, pending.output
    assert request.id in pending.stdout and "local:requester" in pending.stdout

    approved = invoke("models", "approve", request.id, "--comment", "looks good")
    assert approved.exit_code == 0, approved.output
    assert f"request {request.id}: churn/1 none → production is applied" in approved.stdout
    assert "approve by local:" in approved.stdout
    assert embedded.platform().registry.get_version("churn/1").stage == "production"


def test_ls_shows_the_versions_in_each_stage(invoke: Invoke, embedded: Installation) -> None:
    _register_churn(embedded)
    _register_churn(embedded)  # churn/2
    requester = embedded.platform(user="local:requester", role=Role.WRITER).registry
    approver = embedded.platform().registry
    for version, stage in ((1, "production"), (2, "staging")):
        request = requester.request_transition("churn", version, stage)
        if request.status == "pending":  # the default policy lets staging through
            approver.approve(request.id)

    listed = invoke("models", "ls")
    assert listed.exit_code == 0, listed.output
    assert re.search(r"stages", listed.stdout)
    assert re.search(r"churn\s+2\s+production=1, staging=2\s", listed.stdout)


def test_hints_name_no_sdk_call(invoke: Invoke, embedded: Installation) -> None:
    """A CLI user is told what to do, not which Python method to call."""
    _register_churn(embedded)
    for ref, hint in (
        ("nope/1", "check the name against the project's registered models"),
        ("churn/9", "choose one of versions 1 to 1"),
        ("churn@champion", "point the alias 'champion' at one of its versions first"),
        ("churn@production", "request a transition of one of its versions to production"),
    ):
        result = invoke("models", "show", ref)
        assert result.exit_code == 1
        shown = result.stderr.splitlines()[1]
        assert hint in shown
        assert not re.search(r"\w\(", shown), shown


def test_self_approval_is_refused(invoke: Invoke, embedded: Installation) -> None:
    _register_churn(embedded)
    requested = invoke("models", "transition", "churn", "1", "production")
    assert requested.exit_code == 0, requested.output
    assert "is pending" in requested.stdout
    request_id = re.search(r"request (\S+):", requested.stdout).group(1)  # type: ignore[union-attr]

    result = invoke("models", "approve", request_id)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output

    rejected = invoke("models", "reject", request_id, "--comment", "withdrawn")
    assert rejected.exit_code == 0, rejected.output
    assert "is rejected" in rejected.stdout


def test_alias_and_lineage(invoke: Invoke, embedded: Installation) -> None:
    run_id = _register_churn(embedded)
    moved = invoke("models", "alias", "churn", "challenger", "1")
    assert moved.exit_code == 0, moved.output
    assert "churn@challenger → churn/1" in moved.stdout

    tree = invoke("models", "lineage", "churn@challenger")
    assert tree.exit_code == 0, tree.output
    lines = tree.stdout.splitlines()
    assert "model_version churn/1" in lines[0]
    assert f"run {run_id}  (produced)" in lines[1]
    assert "table raw.churn@0  (read by)" in lines[2]


def test_optimize_registers_the_onnx_version_with_a_report(
    invoke: Invoke, embedded: Installation
) -> None:
    pytest.importorskip("skl2onnx")
    _register_churn(embedded)

    result = invoke("models", "optimize", "churn", "1", "--to", "onnx")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "churn/2 vs churn/1 on 600 sample rows" in out
    for row in ("size", "latency, 1 row", "latency, 1,000 rows"):
        assert re.search(rf"{re.escape(row)}\s+\S", out)
    assert re.search(r"agreement\s+100\.00%", out)
    assert re.search(r"accuracy delta\s+[+-]0\.00%", out)  # labels from the run's target
    assert "registered churn/2 (onnx), derived from churn/1" in out

    optimized = embedded.platform().registry.get_version("churn/2")
    assert optimized.flavor == "onnx" and optimized.derived_from == "churn/1"

    tree = invoke("models", "lineage", "churn/2")
    assert "model_version churn/1" in tree.stdout and "(derived from)" in tree.stdout


def test_optimize_needs_a_sample_with_the_model_columns(
    invoke: Invoke, embedded: Installation
) -> None:
    pytest.importorskip("skl2onnx")
    _register_churn(embedded)
    embedded.platform().data.write("raw.other", pd.DataFrame({"x": [1, 2, 3]}))

    result = invoke("models", "optimize", "churn", "1", "--sample", "raw.other")
    assert_one_error(
        result, "the sample table raw.other has no column 'tenure_months', which churn/1 reads"
    )


def test_show_an_unknown_version(invoke: Invoke, embedded: Installation) -> None:
    result = invoke("models", "show", "nope/1")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")


def test_models_against_a_server(
    invoke: Invoke, live_server: LiveServer, project_name: str
) -> None:
    pytest.importorskip("skl2onnx")
    _register_churn(live_server.installation, project_name)
    remote = ("--url", live_server.url, "--api-key", live_server.key(project_name, "writer"))

    optimized = invoke("models", "optimize", "churn", "1", "--quantize", "int8", *remote)
    assert optimized.exit_code == 0, optimized.output
    assert "registered churn/2 (onnx-int8), derived from churn/1" in optimized.stdout

    shown = invoke("models", "show", "churn/2", *remote)
    assert shown.exit_code == 0, shown.output
    assert re.search(r"derived from\s+churn/1", shown.stdout)
    requested = invoke("models", "transition", "churn", "1", "production", *remote)
    assert requested.exit_code == 0, requested.output
    assert "is pending" in requested.stdout


def test_optimize_refuses_a_version_that_is_not_scikit_learn(
    invoke: Invoke, embedded: Installation
) -> None:
    pytest.importorskip("skl2onnx")
    _register_churn(embedded)
    assert invoke("models", "optimize", "churn", "1").exit_code == 0

    result = invoke("models", "optimize", "churn", "2")
    assert_one_error(
        result,
        "only scikit-learn, XGBoost and LightGBM versions can be optimized; "
        "churn/2 is a 'onnx' model",
    )


def test_optimize_keeps_onnxruntime_advice_out_of_the_output(
    home: Path, embedded: Installation
) -> None:
    """onnxruntime's quantizer logs "consider to run pre-processing" on the root logger,
    which a real process prints on stderr (in process, pytest's log capture hides it)."""
    pytest.importorskip("skl2onnx")
    _register_churn(embedded)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "podium.cli.app",
            *("models", "optimize", "churn", "1"),
            "--quantize",
            "int8",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PODIUM_HOME": str(home)},
    )
    assert done.returncode == 0, done.stderr
    assert "registered churn/2 (onnx-int8)" in done.stdout
    assert done.stderr == ""
