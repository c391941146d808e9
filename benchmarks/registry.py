"""Model registry, podium vs MLflow: same machine, same run, both on SQLite.

    python benchmarks/registry.py            # full sizes (about a minute)
    python benchmarks/registry.py --quick    # smoke sizes
    python benchmarks/registry.py --json results.json

The same fitted scikit-learn LogisticRegression (synthetic data, 10 features) is logged
and registered as new versions, then loaded by alias, on both sides. MLflow runs in a
cached venv (see ``_anchor_venv``) with scikit-learn and skops (MLflow's default sklearn
format, as podium's) at the versions of this interpreter, as a process taking one
command a line; podium runs embedded here; the two sides alternate call by call. The
version numbers are checked, and the model loaded by alias must predict what the source
model predicts on every row of the data.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from _anchor_venv import AnchorVenvError, anchor_python, default_venv_dir
from _machine import machine_info, p95
from rich.console import Console
from rich.table import Table
from sklearn.linear_model import LogisticRegression

import podium

PINNED = ["scikit-learn", "numpy", "pandas", "cloudpickle", "skops"]  # as in this venv
MLFLOW_REQUIREMENTS = [
    "mlflow-skinny==3.17.2",
    "sqlalchemy",
    "alembic",
    *(f"{name}=={version(name)}" for name in PINNED),
]
NAME = "churn"
KINDS = ("lean", "new", "example")  # register paths timed on both sides
Array = np.ndarray[Any, Any]

console = Console(stderr=True)

# The table: summary key, label, target, minimum speed-up (MLflow / podium).
ROWS: list[tuple[str, str, str, float | None]] = [
    ("register_lean_ms", "register (lean)", ">= 3x", 3.0),
    ("register_new_ms", "register (lean), new models", "-", None),
    ("register_example_ms", "register (lean + input_example)", "-", None),
    ("register_default_ms", "register (default), one call", "-", None),
    ("load_median_ms", "load by alias, median", ">= 5x", 5.0),
    ("load_p95_ms", "load by alias, p95", "-", None),
]


@dataclass(frozen=True)
class Sizes:
    registers: int = 12  # timed versions per register path (after one warm-up version)
    loads: int = 30  # timed loads by alias (after one warm-up load)
    default: bool = True  # time MLflow's default path (requirement inference) once
    rows: int = 2_000  # rows of synthetic training data


QUICK = Sizes(registers=3, loads=5, default=False, rows=500)

# The MLflow side: a server run by the venv's Python with the path of a JSON config. It
# reads one command a line ("lean 3": register models[3] the lean way, "alias 2", "load",
# "check") and answers "RESULT [seconds, result]", so the two sides alternate call by
# call and a change in the machine's load hits both.
MLFLOW_SCRIPT = r"""
import json, logging, pickle, sys, time, warnings
import numpy as np
import mlflow, mlflow.pyfunc, mlflow.sklearn
logging.getLogger("mlflow").setLevel(logging.ERROR)  # after import: mlflow sets it
warnings.filterwarnings("ignore")

cfg = json.loads(open(sys.argv[1]).read())
models = pickle.loads(open(cfg["models"], "rb").read())  # written by the parent process
X, expected = np.load(cfg["X"]), np.load(cfg["expected"])
mlflow.set_tracking_uri("sqlite:///" + cfg["db"])
mlflow.set_experiment("bench")
client, uri = mlflow.MlflowClient(), f"models:/{cfg['name']}@champion"
lean = {"pip_requirements": ["scikit-learn"]}
kinds = {"lean": lean, "new": lean, "example": {"input_example": X[:5], **lean}, "default": {}}

def run(cmd, arg):
    global loaded
    if cmd == "alias":
        return client.set_registered_model_alias(cfg["name"], "champion", arg)
    if cmd == "load":
        loaded = mlflow.pyfunc.load_model(uri)
        return None
    if cmd == "check":
        return bool(np.array_equal(np.asarray(loaded.predict(X)), expected))
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            models[arg], name="model", registered_model_name=cfg["name"], **kinds[cmd]
        )
    return int(info.registered_model_version)

print("RESULT " + json.dumps(mlflow.__version__), flush=True)
for line in sys.stdin:
    cmd, arg = line.split()
    t = time.perf_counter()
    result = run(cmd, int(arg))
    print("RESULT " + json.dumps([time.perf_counter() - t, result]), flush=True)
"""


def make_models(sizes: Sizes, seed: int = 7) -> tuple[list[LogisticRegression], Array]:
    """A LogisticRegression fitted on synthetic data with 10 features, variants of it
    (other ``C``: other bytes, so no store can deduplicate them), and the data."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(sizes.rows, 10))
    y = (X @ rng.normal(size=10) + rng.normal(scale=0.5, size=sizes.rows) > 0).astype(int)
    Cs = [1.0] + [0.5 + i / 100 for i in range(sizes.registers)]
    return [LogisticRegression(C=C, max_iter=1_000).fit(X, y) for C in Cs], X


class MlflowSide:
    """The MLflow server process: ``call("lean", 0)`` returns (seconds, result)."""

    def __init__(self, python: Path, models: list[LogisticRegression], X: Array, work: Path):
        work.mkdir()
        paths = {"models": work / "models.pkl", "X": work / "X.npy", "expected": work / "y.npy"}
        paths["models"].write_bytes(pickle.dumps(models))
        np.save(paths["X"], X)
        np.save(paths["expected"], models[0].predict(X))
        (work / "mlflow_bench.py").write_text(MLFLOW_SCRIPT)
        cfg = {k: str(v) for k, v in paths.items()}
        (work / "config.json").write_text(
            json.dumps({**cfg, "db": str(work / "mlflow.db"), "name": NAME})
        )
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")  # no calls home
        self.stderr = (work / "stderr.txt").open("w")  # a line per version registered
        self.proc = subprocess.Popen(
            [str(python), "mlflow_bench.py", "config.json"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
            cwd=work,  # MLflow's artifacts go to ./mlruns
        )
        self.version: str = self._answer()

    def call(self, cmd: str, arg: int = 0) -> tuple[float, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{cmd} {arg}\n")
        self.proc.stdin.flush()
        seconds, result = self._answer()
        return seconds, result

    def _answer(self) -> Any:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("RESULT "):
                return json.loads(line.removeprefix("RESULT "))
        tail = "\n".join(Path(self.stderr.name).read_text().splitlines()[-15:])
        sys.exit(f"the MLflow side failed (exit {self.proc.wait()}):\n{tail}")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.stderr.close()


def bench(
    ml: MlflowSide, sizes: Sizes, models: list[LogisticRegression], X: Array, tmp: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides, call by call: raw timings (seconds), versions and prediction checks."""
    raw: tuple[dict[str, Any], dict[str, Any]] = ({"versions": []}, {"versions": []})
    for var in ("PODIUM_URL", "PODIUM_DATABASE_URL", "PODIUM_STORAGE_URL"):
        os.environ.pop(var, None)  # embedded, on SQLite, whatever the shell says
    with podium.connect(home=tmp / "podium") as p:

        def po_register(index: int) -> tuple[float, int]:
            t = time.perf_counter()
            with p.tracking.start_run(experiment="bench") as run:
                v = p.registry.register(NAME, models[index], run_id=run.id, input_example=X[:5])
            return time.perf_counter() - t, v.version

        def po_load() -> tuple[float, None]:
            t = time.perf_counter()
            raw[1]["loaded"] = p.registry.load(f"{NAME}@champion")
            return time.perf_counter() - t, None

        def both(key: str, arg: int, po: Callable[[], tuple[float, Any]]) -> None:
            for side, (seconds, result) in zip(raw, (ml.call(key, arg), po()), strict=True):
                side.setdefault(key, []).append(seconds)
                if key != "load":
                    side["versions"].append(result)

        warm = (ml.call("lean", 0)[1], po_register(0)[1])  # DB, tables, model, code paths
        for side, version in zip(raw, warm, strict=True):
            side["versions"].append(version)
        plan = [("lean", 0)] * sizes.registers + [("new", i + 1) for i in range(sizes.registers)]
        for key, index in plan + [("example", 0)] * sizes.registers:
            both(key, index, partial(po_register, index))
        if sizes.default:
            seconds, version = ml.call("default", 0)  # pip requirement inference: seconds
            raw[0].update(default=[seconds], versions=[*raw[0]["versions"], version])
        ml.call("alias", 2)  # version 2: the source model, the first timed registration
        p.registry.set_alias(NAME, "champion", 2)
        ml.call("load")  # warm-up
        po_load()
        for _ in range(sizes.loads):
            both("load", 0, po_load)
        raw[0]["same_predictions"] = ml.call("check")[1]
        loaded = raw[1].pop("loaded")
        raw[1]["same_predictions"] = bool(np.array_equal(loaded.predict(X), models[0].predict(X)))
    return raw


def verify(name: str, raw: dict[str, Any], expected_versions: int) -> None:
    """Exit with a message unless ``raw`` registered and loaded what it should have."""
    problems = []
    if raw["versions"] != list(range(1, expected_versions + 1)):
        problems.append(f"versions {raw['versions']}, not 1..{expected_versions}")
    if not raw["same_predictions"]:
        problems.append("the model loaded by alias does not predict what the source does")
    if problems:
        sys.exit(f"{name} failed verification: " + "; ".join(problems))


def summarise(ml: dict[str, Any], po: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Latencies (ms) per row of the table, for both sides; podium has no default path."""
    out: dict[str, dict[str, float | None]] = {}
    for name, raw in (("mlflow", ml), ("podium", {**po, "default": po["lean"]})):
        out[name] = {f"register_{k}_ms": statistics.median(raw[k]) * 1000 for k in KINDS}
        out[name]["register_default_ms"] = (
            statistics.median(raw["default"]) * 1000 if "default" in raw else None
        )
        out[name].update(load_median_ms=statistics.median(raw["load"]) * 1000)
        out[name].update(load_p95_ms=p95(raw["load"]) * 1000)
    return out


def report(summary: dict[str, dict[str, float | None]], info: dict[str, Any]) -> list[Any]:
    """Print the table; return its rows (metric, mlflow, podium, speed-up, target, ok)."""
    table = Table(
        title=f"Model registry: podium vs MLflow {info['mlflow']} (ms)",
        caption="speed-up: MLflow/podium. podium makes the same call on every register "
        "row (it always infers a signature from the example and needs no requirement "
        "list), timed alternately with MLflow's; the default row repeats its lean figure",
    )
    for col in ("measurement", "MLflow", "podium", "speed-up", "target", "result"):
        table.add_column(col, justify="left" if col in ("measurement", "target") else "right")
    rows = []
    for key, label, target, min_x in ROWS:
        ml, po = summary["mlflow"][key], summary["podium"][key]
        if ml is None or po is None:
            continue
        speedup = ml / po
        ok = None if min_x is None else speedup >= min_x
        result = "-" if ok is None else ("[green]pass" if ok else "[red]FAIL")
        table.add_row(label, f"{ml:,.1f}", f"{po:,.1f}", f"{speedup:,.1f}x", target, result)
        rows.append([label, ml, po, speedup, target, ok])
    Console().print(table)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    parser.add_argument(
        "--venv",
        type=Path,
        default=default_venv_dir("mlflow-sklearn"),
        help="where the MLflow venv is cached (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    try:
        python = anchor_python(args.venv, MLFLOW_REQUIREMENTS)
    except AnchorVenvError as exc:
        console.print(f"[red]cannot set up MLflow:[/] {exc}")
        return 2
    models, X = make_models(sizes)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        console.print(f"MLflow and podium, call by call: {sizes}")
        ml = MlflowSide(python, models, X, Path(tmp) / "mlflow")
        try:
            ml_raw, po_raw = bench(ml, sizes, models, X, Path(tmp))
        finally:
            ml.close()
    verify("MLflow", ml_raw, 1 + 3 * sizes.registers + int(sizes.default))
    verify("podium", po_raw, 1 + 3 * sizes.registers)
    info = machine_info(load_before, mlflow=ml.version)
    Console().print(", ".join(f"{k}: {v}" for k, v in info.items()))
    summary = summarise(ml_raw, po_raw)
    rows = report(summary, info)
    if args.json:
        doc = {"machine": info, "sizes": asdict(sizes), "summary": summary, "rows": rows}
        args.json.write_text(json.dumps({**doc, "raw": {"mlflow": ml_raw, "podium": po_raw}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
