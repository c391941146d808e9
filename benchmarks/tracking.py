"""Experiment tracking, podium vs MLflow: same machine, same run, both on SQLite.

    python benchmarks/tracking.py            # full sizes (a few minutes)
    python benchmarks/tracking.py --quick    # smoke sizes
    python benchmarks/tracking.py --json results.json
    python benchmarks/tracking.py --mlflow-client [--quick]   # the MLflow client vs 2 servers

MLflow runs in a cached venv (see ``_anchor_venv``) as a subprocess that prints JSON;
podium runs embedded in this interpreter. Every figure is checked: the points logged are
read back and the search result is compared with the answer computed from the data.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _anchor_venv import AnchorVenvError, anchor_python, default_venv_dir
from _machine import machine_info, p95
from rich.console import Console
from rich.table import Table

import podium
from podium.tracking.types import MetricPoint

MLFLOW_REQUIREMENTS = ["mlflow-skinny==3.17.2", "sqlalchemy", "alembic"]
FILTER = "metrics.auc > 0.5 and params.C = '0.5'"
ORDER_BY = ["metrics.auc DESC"]
C_VALUES = ["0.01", "0.1", "0.5", "1.0", "10.0"]
MODELS = ["logreg", "forest", "boosting"]

console = Console(stderr=True)

# The table: summary key, label, higher is better, target, minimum speed-up, podium max.
ROWS: list[tuple[str, str, bool, str, float | None, float | None]] = [
    ("single_calls_per_s", "log_metric calls/s", True, ">= 20x", 20, None),
    ("batched_points_per_s", "batched points/s", True, ">= 5x", 5, None),
    ("search_median_ms", "search median ms", False, "< 20 ms, >= 10x", 10, 20),
    ("search_p95_ms", "search p95 ms", False, "-", None, None),
]


@dataclass(frozen=True)
class Sizes:
    single: int = 5_000  # single log_metric calls per repetition
    batch_total: int = 10_000  # points per repetition of the batched test
    batch_size: int = 1_000
    runs: int = 2_000  # runs the search runs over
    search_reps: int = 30
    reps: int = 3  # repetitions of the logging tests


QUICK = Sizes(single=500, batch_total=2_000, runs=200, search_reps=5, reps=1)

# The MLflow side: run by the venv's Python with the path of a JSON config; prints one
# line "RESULT <json>" with raw timings (seconds) and what it read back.
MLFLOW_SCRIPT = r"""
import json, logging, sys, time
import mlflow
logging.getLogger("mlflow").setLevel(logging.WARNING)  # after import: mlflow sets it
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

cfg = json.loads(open(sys.argv[1]).read())
mlflow.set_tracking_uri("sqlite:///" + cfg["db"])
client = MlflowClient()
now = lambda: int(time.time() * 1000)
out = {"version": mlflow.__version__, "single": [], "batch": [], "search": []}

exp = client.create_experiment("logging")
warm = client.create_run(exp).info.run_id  # warm-up: DB, tables and code paths
for i in range(20):
    client.log_metric(warm, "warm", i, step=i)
client.log_batch(warm, metrics=[Metric("warm2", i, now(), i) for i in range(100)])

for _ in range(cfg["reps"]):
    run = client.create_run(exp).info.run_id
    t = time.perf_counter()
    for i in range(cfg["single"]):
        client.log_metric(run, "loss", i * 0.001, step=i)
    out["single"].append(time.perf_counter() - t)
    out["single_stored"] = len(client.get_metric_history(run, "loss"))

for _ in range(cfg["reps"]):
    run = client.create_run(exp).info.run_id
    size = cfg["batch_size"]
    t = time.perf_counter()
    for b in range(cfg["batch_total"] // size):
        ts = now()
        batch = [Metric("loss", i * 0.001, ts, b * size + i) for i in range(size)]
        client.log_batch(run, metrics=batch)
    out["batch"].append(time.perf_counter() - t)
    out["batch_stored"] = len(client.get_metric_history(run, "loss"))

exp = client.create_experiment("search")
for n, r in enumerate(cfg["runs"], 1):
    run = client.create_run(exp, run_name=r["name"]).info.run_id
    ts = now()
    client.log_batch(
        run,
        metrics=[Metric("auc", r["auc"], ts, 0), Metric("accuracy", r["accuracy"], ts, 0)],
        params=[Param("C", r["C"]), Param("model", r["model"])],
    )
    client.set_terminated(run)
    if n % 250 == 0:
        print(f"  mlflow: populated {n}/{len(cfg['runs'])} runs", file=sys.stderr, flush=True)

def search():
    return client.search_runs(
        [exp], filter_string=cfg["filter"], order_by=cfg["order_by"], max_results=100
    )

search()  # warm-up
for _ in range(cfg["search_reps"]):
    t = time.perf_counter()
    found = search()
    out["search"].append(time.perf_counter() - t)
out["found"] = [[r.data.params["C"], r.data.metrics["auc"]] for r in found]
print("RESULT " + json.dumps(out))
"""


def make_runs(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """The runs both sides store for the search test (same data on both)."""
    rng = random.Random(seed)
    return [
        {
            "name": f"run-{i:05d}",
            "C": rng.choice(C_VALUES),
            "model": rng.choice(MODELS),
            "auc": rng.random(),
            "accuracy": rng.random(),
        }
        for i in range(n)
    ]


def expected_search(runs: list[dict[str, Any]]) -> list[list[Any]]:
    """What the search must return: [C, auc] of the top 100 matching runs."""
    hits = sorted((r["auc"] for r in runs if r["auc"] > 0.5 and r["C"] == "0.5"), reverse=True)
    return [["0.5", auc] for auc in hits[:100]]


def bench_mlflow(python: Path, sizes: Sizes, runs: list[dict[str, Any]], tmp: Path) -> Any:
    """Run the MLflow side in its venv; its raw results as parsed JSON."""
    script, config = tmp / "mlflow_bench.py", tmp / "mlflow_config.json"
    script.write_text(MLFLOW_SCRIPT)
    cfg = {**asdict(sizes), "runs": runs, "db": str(tmp / "mlflow.db")}
    config.write_text(json.dumps({**cfg, "filter": FILTER, "order_by": ORDER_BY}))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")  # no calls home
    done = subprocess.run(
        [str(python), str(script), str(config)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        sys.exit(f"the MLflow side failed (exit {done.returncode}); see its output above")
    return json.loads(lines[-1].removeprefix("RESULT "))


def bench_podium(sizes: Sizes, runs: list[dict[str, Any]], tmp: Path) -> dict[str, Any]:
    """The same three measurements on podium, embedded on SQLite under ``tmp``."""
    out: dict[str, Any] = {"version": podium.__version__, "single": [], "batch": [], "search": []}
    for var in ("PODIUM_URL", "PODIUM_DATABASE_URL", "PODIUM_STORAGE_URL"):
        os.environ.pop(var, None)  # embedded, on SQLite, whatever the shell says
    with podium.connect(home=tmp / "podium") as p:
        tr = p.tracking
        with tr.start_run("logging") as warm:  # warm-up: DB, tables and code paths
            for i in range(20):
                warm.log_metric("warm", i, step=i)
            tr.log_metric_points(warm.id, [MetricPoint(key="w", value=1, timestamp=0)] * 100)
        for _ in range(sizes.reps):
            with tr.start_run("logging") as run:
                t = time.perf_counter()
                for i in range(sizes.single):
                    run.log_metric("loss", i * 0.001, step=i)
                run.flush()  # durable in the DB: part of the figure
                out["single"].append(time.perf_counter() - t)
            out["single_stored"] = len(tr.metric_history(run.id, "loss"))
        for _ in range(sizes.reps):
            with tr.start_run("logging") as run:
                size = sizes.batch_size
                t = time.perf_counter()
                for b in range(sizes.batch_total // size):
                    ts = int(time.time() * 1000)
                    batch = [
                        MetricPoint(key="loss", value=i * 0.001, step=b * size + i, timestamp=ts)
                        for i in range(size)
                    ]
                    tr.log_metric_points(run.id, batch)
                out["batch"].append(time.perf_counter() - t)
            out["batch_stored"] = len(tr.metric_history(run.id, "loss"))

        tr.create_experiment("search")
        for n, r in enumerate(runs, 1):
            run_id = tr.create_run("search", name=r["name"]).id
            ts = int(time.time() * 1000)
            tr.log_params(run_id, {"C": r["C"], "model": r["model"]})
            tr.log_metric_points(
                run_id,
                [
                    MetricPoint(key="auc", value=r["auc"], timestamp=ts),
                    MetricPoint(key="accuracy", value=r["accuracy"], timestamp=ts),
                ],
            )
            tr.end_run(run_id)
            if n % 250 == 0:
                console.print(f"  podium: populated {n}/{len(runs)} runs")
        tr.search_runs("search", filter=FILTER, order_by=ORDER_BY)  # warm-up
        for _ in range(sizes.search_reps):
            t = time.perf_counter()
            page = tr.search_runs("search", filter=FILTER, order_by=ORDER_BY, max_results=100)
            out["search"].append(time.perf_counter() - t)
        out["found"] = [[r.params["C"], r.metrics["auc"]] for r in page.runs]
    return out


def verify(name: str, raw: dict[str, Any], sizes: Sizes, expected: list[list[Any]]) -> None:
    """Exit with a message unless ``raw`` stored and found what it should have."""
    problems = []
    if raw["single_stored"] != sizes.single:
        problems.append(f"single calls stored {raw['single_stored']} points, not {sizes.single}")
    if raw["batch_stored"] != sizes.batch_total:
        problems.append(f"batches stored {raw['batch_stored']} points, not {sizes.batch_total}")
    if raw["found"] != expected:
        got = [auc for _, auc in raw["found"]][:3]
        problems.append(
            f"search returned {len(raw['found'])} runs (top: {got}), not the "
            f"expected {len(expected)} (top: {[a for _, a in expected][:3]})"
        )
    if problems:
        sys.exit(f"{name} failed verification: " + "; ".join(problems))


def summarise(raw: dict[str, Any], sizes: Sizes) -> dict[str, float]:
    """Throughputs (per second) and search latencies (ms) from raw timings."""
    return {
        "single_calls_per_s": sizes.single / statistics.median(raw["single"]),
        "batched_points_per_s": sizes.batch_total / statistics.median(raw["batch"]),
        "search_median_ms": statistics.median(raw["search"]) * 1000,
        "search_p95_ms": p95(raw["search"]) * 1000,
    }


def report(ml: dict[str, float], po: dict[str, float], info: dict[str, Any]) -> list[Any]:
    """Print the table; return its rows (metric, mlflow, podium, speed-up, target, ok)."""
    table = Table(
        title=f"Experiment tracking: podium vs MLflow {info['mlflow']}",
        caption="speed-up: podium/MLflow for throughput, MLflow/podium for latency",
    )
    for col in ("metric", "MLflow", "podium", "speed-up", "target", "result"):
        table.add_column(col, justify="left" if col in ("metric", "target") else "right")
    rows = []
    for key, label, higher, target, min_x, max_ms in ROWS:
        speedup = po[key] / ml[key] if higher else ml[key] / po[key]
        ok = None if min_x is None else speedup >= min_x and po[key] < (max_ms or math.inf)
        result = "-" if ok is None else ("[green]pass" if ok else "[red]FAIL")
        fmt = "{:,.0f}" if higher else "{:,.1f}"
        cells = [fmt.format(ml[key]), fmt.format(po[key]), f"{speedup:,.1f}x"]
        table.add_row(label, *cells, target, result)
        rows.append([label, ml[key], po[key], speedup, target, ok])
    Console().print(table)
    return rows


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if "--mlflow-client" in argv:
        from tracking_mlflow_client import main as client_main

        return client_main([a for a in argv if a != "--mlflow-client"])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    parser.add_argument(
        "--venv",
        type=Path,
        default=default_venv_dir("mlflow"),
        help="where the MLflow venv is cached (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    try:
        python = anchor_python(args.venv, MLFLOW_REQUIREMENTS)
    except AnchorVenvError as exc:
        console.print(f"[red]cannot set up MLflow:[/] {exc}")
        return 2
    runs = make_runs(sizes.runs)
    load_before = os.getloadavg()[0]
    expected = expected_search(runs)
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        console.print(f"MLflow: {sizes}")
        ml_raw = bench_mlflow(python, sizes, runs, Path(tmp))
        console.print("podium: same measurements")
        po_raw = bench_podium(sizes, runs, Path(tmp))
    verify("MLflow", ml_raw, sizes, expected)
    verify("podium", po_raw, sizes, expected)
    info = machine_info(load_before, mlflow=ml_raw["version"])
    ml, po = summarise(ml_raw, sizes), summarise(po_raw, sizes)
    Console().print(", ".join(f"{k}: {v}" for k, v in info.items()))
    rows = report(ml, po, info)
    if args.json:
        raw = {"mlflow": ml_raw, "podium": po_raw}
        for side in raw.values():
            side.pop("found")
        doc = {"machine": info, "sizes": asdict(sizes), "summary": {"mlflow": ml, "podium": po}}
        args.json.write_text(json.dumps({**doc, "rows": rows, "raw": raw}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
