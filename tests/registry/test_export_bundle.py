"""``podium models export``: a bundle predicting like the registry with only onnxruntime
and numpy, in a fresh virtual environment that cannot import podium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from filelock import FileLock
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sklearn.linear_model import LinearRegression, LogisticRegression
from typer.testing import CliRunner

from podium.cli.app import app
from podium.config import Settings
from podium.errors import InvalidInputError
from podium.platform import Installation, Platform
from podium.registry.export import BUNDLE_FILES, export_bundle, export_sidecar
from podium.registry.optimization import optimize_version
from tests.conftest import free_port

EDGE_PACKAGES = ["onnxruntime", "numpy"]

# An export reads the registry's public service only, which is tested on both metadata
# backends already: one is enough here, where every test starts Python processes.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Constant:
    """A pyfunc model: arbitrary Python, which a bundle cannot hold."""

    def predict(self, frame: pd.DataFrame) -> list[int]:
        return [1] * len(frame)


@pytest.fixture(scope="session")
def edge_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only onnxruntime and numpy (and what they require), shared by
    the xdist workers of a test run.

    The distributions are installed by linking the files of the copies installed here
    (each distribution's RECORD, its metadata included): well under a second, where
    ``pip install`` from the index takes 17 s on a quiet machine and over 60 s on a busy
    one. ``PODIUM_TEST_EDGE_PIP=1`` installs them with pip instead.
    """
    root = tmp_path_factory.getbasetemp().parent  # shared by every xdist worker
    venv = root / "podium-edge-venv"
    python = venv / "bin" / "python"
    with FileLock(str(root / "podium-edge-venv.lock")):
        if not (venv / "ready").exists():
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
            if os.environ.get("PODIUM_TEST_EDGE_PIP") == "1":
                subprocess.run(
                    [sys.executable, "-m", "pip", "--python", str(python), "install",
                     "--quiet", "--disable-pip-version-check", *EDGE_PACKAGES],
                    check=True, capture_output=True, timeout=600,
                )  # fmt: skip
            else:
                install_by_linking(EDGE_PACKAGES, venv)
            (venv / "ready").write_text("")
    found = subprocess.run(
        [str(python), "-c", "import podium"], capture_output=True, text=True, check=False
    )
    assert found.returncode != 0, "the edge venv must not see podium"
    return python


def install_by_linking(names: list[str], venv: Path) -> None:
    """Install ``names`` and their requirements into ``venv`` from this environment's
    installed files (hard links, or copies across file systems)."""
    (site,) = venv.glob("lib/python*/site-packages")
    todo, done = list(names), set()
    while todo:
        dist = metadata.distribution(todo.pop())
        key = canonicalize_name(dist.metadata["Name"])
        if key in done:
            continue
        done.add(key)
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
        for file in dist.files or []:
            source = Path(str(dist.locate_file(file)))
            target = site / file
            if not source.is_file() or ".." in file.parts:
                continue  # console scripts live outside site-packages; not needed
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)
    assert {canonicalize_name(n) for n in names} <= done


def churn_data(rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 72, rows),
            "monthly_charges": rng.uniform(20, 120, rows).round(2),
            "has_support": rng.integers(0, 2, rows).astype(bool),
        }
    )


@pytest.fixture
def classifier(platform: Platform) -> pd.DataFrame:
    """``churn/1``: a scikit-learn classifier with string classes; returns its rows."""
    frame = churn_data()
    labels = np.where(
        (frame["tenure_months"] < 24) & (frame["monthly_charges"] > 60), "churn", "stay"
    )
    model = LogisticRegression(max_iter=1000).fit(frame.to_numpy(dtype=float), labels)
    platform.registry.register("churn", model, input_example=frame[:5])
    return frame


def run_predict(python: Path, bundle: Path, rows: object, tmp_path: Path) -> list[Any]:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    done = subprocess.run(
        [str(python), str(bundle / "predict.py"), str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: list[Any] = json.loads(done.stdout)
    return found


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


@SQLITE_ONLY
def test_a_scikit_learn_bundle_predicts_like_the_registry_in_a_bare_venv(
    platform: Platform, classifier: pd.DataFrame, edge_python: Path, tmp_path: Path
) -> None:
    bundle = export_bundle(platform.registry, "churn/1", tmp_path / "bundle")
    assert sorted(p.name for p in bundle.path.iterdir()) == sorted(BUNDLE_FILES)
    expected = platform.registry.load("churn/1").predict(classifier).tolist()
    assert set(expected) == {"churn", "stay"}  # both classes are exercised
    assert run_predict(edge_python, bundle.path, rows_of(classifier), tmp_path) == expected
    signature = json.loads((bundle.path / "signature.json").read_text())
    assert signature["classes"] == ["churn", "stay"] and signature["ref"] == "churn/1"
    # The module too, with rows as lists in the signature's order, and probabilities.
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import predict; "
        "rows = json.loads(sys.argv[2]); "
        "print(json.dumps([predict.predict(rows), predict.predict_proba(rows)]))"
    )
    as_lists = classifier.to_numpy(dtype=float).tolist()
    done = subprocess.run(
        [str(edge_python), "-c", script, str(bundle.path), json.dumps(as_lists)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    labels, probabilities = json.loads(done.stdout)
    assert labels == expected
    reference = platform.registry.load("churn/1").predict_proba(classifier)
    got = np.array([[p["churn"], p["stay"]] for p in probabilities])
    np.testing.assert_allclose(got, reference, atol=1e-5)


@SQLITE_ONLY
def test_an_onnx_version_is_exported_as_registered(
    platform: Platform, classifier: pd.DataFrame, edge_python: Path, tmp_path: Path
) -> None:
    onnx, _ = optimize_version(platform.registry, "churn/1", sample=classifier)
    platform.registry.set_alias("churn", "edge", onnx.version)
    bundle = export_bundle(platform.registry, "churn@edge", tmp_path / "bundle")
    assert bundle.ref == onnx.ref and bundle.source_flavor == "onnx"
    registered = platform.registry.load(onnx.ref)
    assert (bundle.path / "model.onnx").read_bytes() == registered.model.data
    expected = registered.predict(classifier).tolist()
    assert run_predict(edge_python, bundle.path, rows_of(classifier), tmp_path) == expected


@SQLITE_ONLY
def test_a_regressor_predicts_numbers(
    platform: Platform, edge_python: Path, tmp_path: Path
) -> None:
    frame = churn_data()[["tenure_months", "monthly_charges"]]
    model = LinearRegression().fit(frame.to_numpy(dtype=float), frame["monthly_charges"] * 2)
    platform.registry.register("spend", model, input_example=frame[:5])
    bundle = export_bundle(platform.registry, "spend/1", tmp_path / "bundle")
    got = run_predict(edge_python, bundle.path, rows_of(frame[:10]), tmp_path)
    expected = platform.registry.load("spend/1").predict(frame[:10])
    np.testing.assert_allclose(got, expected, rtol=1e-4)


@SQLITE_ONLY
def test_bad_rows_and_a_damaged_model_are_one_line_errors(
    platform: Platform, classifier: pd.DataFrame, edge_python: Path, tmp_path: Path
) -> None:
    bundle = export_bundle(platform.registry, "churn/1", tmp_path / "bundle")
    cases = [
        ([{"tenure_months": 3}], "lacks the columns"),
        ([{"tenure_months": "x", "monthly_charges": 1, "has_support": True}], "finite number"),
        ({"not": "a list"}, "rows must be a list"),
    ]
    for rows, message in cases:
        (tmp_path / "bad.json").write_text(json.dumps(rows))
        done = subprocess.run(
            [str(edge_python), str(bundle.path / "predict.py"), str(tmp_path / "bad.json")],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    model = bundle.path / "model.onnx"
    model.write_bytes(model.read_bytes()[:-1] + b"\0")
    (tmp_path / "ok.json").write_text(json.dumps(rows_of(classifier[:1])))
    done = subprocess.run(
        [str(edge_python), str(bundle.path / "predict.py"), str(tmp_path / "ok.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "damaged" in done.stderr and "Traceback" not in done.stderr


@SQLITE_ONLY
def test_other_flavors_and_a_used_folder_are_refused_with_a_remedy(
    platform: Platform, classifier: pd.DataFrame, tmp_path: Path
) -> None:
    platform.registry.register(
        "rules", Constant(), signature=platform.registry.get_version("churn/1").signature
    )
    with pytest.raises(InvalidInputError, match="only scikit-learn and ONNX") as refused:
        export_bundle(platform.registry, "rules/1", tmp_path / "rules")
    assert refused.value.remedy and "pyfunc" in refused.value.remedy
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="not empty") as occupied:
        export_bundle(platform.registry, "churn/1", used)
    assert occupied.value.remedy and "--force" in occupied.value.remedy
    assert (used / "notes.txt").read_text() == "mine"
    export_bundle(platform.registry, "churn/1", used, force=True)
    assert (used / "model.onnx").exists()


@SQLITE_ONLY
def test_the_sidecar_serves_the_bundle_on_localhost(
    platform: Platform, classifier: pd.DataFrame, edge_python: Path, tmp_path: Path
) -> None:
    bundle = export_sidecar(platform.registry, "churn/1", tmp_path / "sidecar")
    container = yaml.safe_load((bundle.path / "sidecar.yaml").read_text())
    assert container["name"] == "podium-churn"
    assert "--host 127.0.0.1" in container["args"][0] and "/serve.py" in container["args"][0]
    assert container["readinessProbe"]["exec"]["command"][0] == "python"
    assert container["securityContext"]["runAsNonRoot"] is True
    sums = (bundle.path / "SHA256SUMS").read_text()
    assert "serve.py" in sums and "model.onnx" in sums
    port = free_port()
    server = subprocess.Popen(
        [str(edge_python), str(bundle.path / "serve.py"), "--port", str(port)],
        cwd=bundle.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, server.communicate()
                try:
                    assert http.get("/healthz").json() == {"status": "ok"}
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the sidecar did not start"
                    time.sleep(0.1)
            answer = http.post("/predict", json={"rows": rows_of(classifier)})
            assert answer.status_code == 200
            expected = platform.registry.load("churn/1").predict(classifier).tolist()
            assert answer.json() == {"predictions": expected}
            bad = http.post("/predict", json=[{"tenure_months": 1}])
            assert bad.status_code == 400 and "lacks the columns" in bad.json()["error"]
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """An embedded home the CLI sees (``PODIUM_HOME``), with ``churn/1`` registered."""
    for name in [n for n in os.environ if n.startswith("PODIUM_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path / "home"))
    installation = Installation(Settings())
    platform = installation.platform()
    frame = churn_data()
    model = LogisticRegression(max_iter=1000).fit(
        frame.to_numpy(dtype=float), frame["tenure_months"] < 24
    )
    platform.registry.register("churn", model, input_example=frame[:5])
    yield platform
    installation.close()


def test_the_command_writes_a_bundle_or_says_what_is_wrong(
    cli_home: Platform, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "edge"
    done = runner.invoke(app, ["models", "export", "churn/1", "--to", "bundle", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "exported churn/1" in done.stdout and (out / "predict.py").exists()
    again = runner.invoke(app, ["models", "export", "churn/1", "--to", "bundle", "--out", str(out)])
    assert again.exit_code == 1 and "not empty" in again.stderr and "--force" in again.stderr
    assert again.exception is None or isinstance(again.exception, SystemExit)
    sidecar = tmp_path / "side"
    done = runner.invoke(
        app, ["models", "export", "churn/1", "--to", "sidecar", "--out", str(sidecar)]
    )
    assert done.exit_code == 0, done.output
    assert (sidecar / "sidecar.yaml").exists() and (sidecar / "serve.py").exists()
    wrong = runner.invoke(app, ["models", "export", "churn/1", "--to", "wasm", "--out", str(out)])
    assert wrong.exit_code == 2 and "wasm" in wrong.stderr
