"""The MLflow client, one script, pointed at an MLflow server and at ``podium up``.

    python benchmarks/tracking.py --mlflow-client            # full sizes (a few minutes)
    python benchmarks/tracking.py --mlflow-client --quick    # smoke sizes

Both servers run here as processes of their own, on SQLite under one temporary folder:
``mlflow server`` (full MLflow, from a cached venv, ``~/.cache/podium-bench/mlflow-server-venv``)
and ``podium up``. The same client script (MLflow's ``MlflowClient``, from that venv)
runs against each, one after the other: ``log_batch`` throughput (1,000 metrics a request,
MLflow's limit) and ``search_runs`` latency over runs it populated. Every figure is
checked: the points logged are read back and the search result is compared with the
answer computed from the data.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _anchor_venv import AnchorVenvError, anchor_python, default_venv_dir
from _machine import machine_info, p95
from rich.console import Console
from rich.table import Table

__all__ = ["main"]

SERVER_REQUIREMENTS = ["mlflow==3.17.2"]
FILTER = "metrics.auc > 0.5 and params.C = '0.5'"
ORDER_BY = ["metrics.auc DESC"]
C_VALUES = ["0.01", "0.1", "0.5", "1.0", "10.0"]
console = Console(stderr=True)


@dataclass(frozen=True)
class Sizes:
    batch_total: int = 20_000  # points per repetition, sent 1,000 per log_batch
    batch_size: int = 1_000
    runs: int = 1_000  # runs the search runs over
    search_reps: int = 30
    reps: int = 3


QUICK = Sizes(batch_total=5_000, runs=150, search_reps=5, reps=1)

# Run by the venv's Python against MLFLOW_TRACKING_URI (and MLFLOW_TRACKING_TOKEN);
# prints one line "RESULT <json>".
CLIENT_SCRIPT = r"""
import json, logging, random, sys, time
import mlflow
logging.getLogger("mlflow").setLevel(logging.WARNING)
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

cfg = json.loads(open(sys.argv[1]).read())
client = MlflowClient()
now = lambda: int(time.time() * 1000)
out = {"batch": [], "search": []}

exp = client.create_experiment("logging")
warm = client.create_run(exp).info.run_id
client.log_batch(warm, metrics=[Metric("warm", i, now(), i) for i in range(100)])
size = cfg["batch_size"]
for _ in range(cfg["reps"]):
    run = client.create_run(exp).info.run_id
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
        params=[Param("C", r["C"])],
    )
    client.set_terminated(run)
    if n % 250 == 0:
        print(f"  populated {n}/{len(cfg['runs'])} runs", file=sys.stderr, flush=True)

def search():
    return client.search_runs(
        [exp], filter_string=cfg["filter"], order_by=cfg["order_by"], max_results=100
    )

search()
for _ in range(cfg["search_reps"]):
    t = time.perf_counter()
    found = search()
    out["search"].append(time.perf_counter() - t)
out["found"] = [[r.data.params["C"], r.data.metrics["auc"]] for r in found]
out["version"] = mlflow.__version__
print("RESULT " + json.dumps(out))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"{what} did not answer {url} within 120 s")


@contextmanager
def _server(cmd: list[str], env: dict[str, str], health: str, what: str, log: Path) -> Any:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(health, proc, what)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env = {k: v for k, v in env.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    return env


def run_client(python: Path, url: str, token: str | None, cfg: Path, tmp: Path) -> Any:
    """The client script against ``url``; its raw results."""
    script = tmp / "mlflow_client_bench.py"
    script.write_text(CLIENT_SCRIPT)
    env = _clean_env()
    env["MLFLOW_TRACKING_URI"] = url
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    done = subprocess.run(
        [str(python), str(script), str(cfg)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        sys.exit(f"the client script failed against {url} (exit {done.returncode})")
    return json.loads(lines[-1].removeprefix("RESULT "))


def bench_mlflow_server(python: Path, cfg: Path, tmp: Path) -> Any:
    port = _free_port()
    mlflow_bin = python.parent / "mlflow"
    cmd = [
        str(mlflow_bin), "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
        "--artifacts-destination", str(tmp / "mlflow-artifacts"),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    console.print(f"MLflow server at {url}")
    with _server(cmd, _clean_env(), f"{url}/health", "mlflow server", tmp / "mlflow.log"):
        return run_client(python, url, None, cfg, tmp)


def bench_podium(python: Path, cfg: Path, tmp: Path) -> Any:
    from podium.access.roles import Role
    from podium.config import Settings
    from podium.platform import Installation

    home = tmp / "podium"
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'podium.db'}")
    inst = Installation(settings)
    inst.projects.ensure("bench")
    _, key = inst.keys.create("bench", Role.WRITER, name="bench")
    inst.close()
    port = _free_port()
    env = _clean_env()
    env.update(PODIUM_HOME=str(home), PODIUM_DATABASE_URL=settings.database_url or "")
    podium_bin = Path(sys.executable).parent / "podium"
    cmd = [str(podium_bin), "up", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    console.print(f"podium up at {url}")
    with _server(cmd, env, f"{url}/healthz", "podium up", tmp / "podium.log"):
        return run_client(python, url, key, cfg, tmp)


def verify(name: str, raw: dict[str, Any], sizes: Sizes, expected: list[list[Any]]) -> None:
    problems = []
    if raw["batch_stored"] != sizes.batch_total:
        problems.append(f"batches stored {raw['batch_stored']} points, not {sizes.batch_total}")
    if raw["found"] != expected:
        problems.append(
            f"search returned {len(raw['found'])} runs, not the expected {len(expected)}"
        )
    if problems:
        sys.exit(f"{name} failed verification: " + "; ".join(problems))


def main(argv: list[str]) -> int:
    import random

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    parser.add_argument("--venv", type=Path, default=default_venv_dir("mlflow-server"))
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    try:
        python = anchor_python(args.venv, SERVER_REQUIREMENTS)
    except AnchorVenvError as exc:
        console.print(f"[red]cannot set up the MLflow server:[/] {exc}")
        return 2
    rng = random.Random(7)
    runs = [
        {"name": f"run-{i:05d}", "C": rng.choice(C_VALUES), "auc": rng.random(),
         "accuracy": rng.random()}
        for i in range(sizes.runs)
    ]  # fmt: skip
    hits = sorted((r["auc"] for r in runs if r["auc"] > 0.5 and r["C"] == "0.5"), reverse=True)
    expected = [["0.5", auc] for auc in hits[:100]]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp_name:
        tmp = Path(tmp_name)
        cfg = tmp / "client.json"
        cfg.write_text(
            json.dumps({**asdict(sizes), "runs": runs, "filter": FILTER, "order_by": ORDER_BY})
        )
        ml_raw = bench_mlflow_server(python, cfg, tmp)
        po_raw = bench_podium(python, cfg, tmp)
    verify("MLflow server", ml_raw, sizes, expected)
    verify("podium up", po_raw, sizes, expected)
    info = machine_info(load_before, mlflow=ml_raw["version"])
    summary = {
        side: {
            "log_batch_points_per_s": sizes.batch_total / statistics.median(raw["batch"]),
            "search_median_ms": statistics.median(raw["search"]) * 1000,
            "search_p95_ms": p95(raw["search"]) * 1000,
        }
        for side, raw in (("mlflow", ml_raw), ("podium", po_raw))
    }
    table = Table(
        title=f"The MLflow client {info['mlflow']}: MLflow server vs podium up",
        caption="speed-up: podium/MLflow for throughput, MLflow/podium for latency",
    )
    for col in ("metric", "MLflow server", "podium up", "speed-up", "target"):
        table.add_column(col, justify="left" if col in ("metric", "target") else "right")
    rows = []
    for key, label, higher, target in (
        ("log_batch_points_per_s", "log_batch points/s", True, ">= 3x"),
        ("search_median_ms", "search_runs median ms", False, ">= 3x"),
        ("search_p95_ms", "search_runs p95 ms", False, "-"),
    ):
        ml, po = summary["mlflow"][key], summary["podium"][key]
        speedup = po / ml if higher else ml / po
        fmt = "{:,.0f}" if higher else "{:,.1f}"
        table.add_row(label, fmt.format(ml), fmt.format(po), f"{speedup:,.1f}x", target)
        rows.append([label, ml, po, speedup, target])
    Console().print(", ".join(f"{k}: {v}" for k, v in info.items()))
    Console().print(f"sizes: {asdict(sizes)}")
    Console().print(table)
    if args.json:
        args.json.write_text(
            json.dumps({"machine": info, "sizes": asdict(sizes), "rows": rows}, indent=2)
        )
    return 0
