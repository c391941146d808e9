"""Data drift, podium vs Evidently vs bare numpy/scipy: same machine, same run, same data.

    python benchmarks/monitoring.py            # 200k+200k and 1M+1M rows (Evidently: minutes)
    python benchmarks/monitoring.py --quick    # 20k+20k rows
    python benchmarks/monitoring.py --rows 200000 --json results.json

The data: 20 numeric + 5 categorical columns, reference and current, with exactly 5
columns drifted in current (3 numeric, 2 categorical), written once to Parquet. Each side
runs in its own fresh process that reads the Parquet files into pandas DataFrames, times
only the drift computation, and reports its peak resident memory (``ru_maxrss``, which
includes the loaded data, the same for all three):

- Evidently 0.7 (a cached venv, see ``_anchor_venv``): ``Report([DataDriftPreset()])``
  with the columns declared numerical/categorical, run once (it is slow);
- podium: ``detect_drift(reference, current)`` with its defaults (Evidently's);
- bare: the same tests written directly with numpy/scipy, one column after another
  (Wasserstein-1 of ``np.sort``-ed samples / reference std, scipy's ``jensenshannon``
  over category shares): the limit a hand-written script reaches.

All three run with one BLAS thread (``OPENBLAS_NUM_THREADS=1``), which only helps the
scipy-based sides. Times are wall-clock; CPU seconds are reported beside them, since
podium spreads columns over threads.

Every side must flag exactly the injected columns, or the run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from _anchor_venv import AnchorVenvError, anchor_python, default_venv_dir
from _machine import machine_info
from rich.console import Console
from rich.table import Table

EVIDENTLY_REQUIREMENTS = ["evidently==0.7.23", "pandas<3", "pyarrow"]  # 0.7.23 breaks on pandas 3
NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
DRIFTED = ["num_03", "num_08", "num_15", "cat_1", "cat_4"]
FULL_ROWS = (200_000, 1_000_000)
QUICK_ROWS = (20_000,)
REPS = 3  # podium and bare: median of this many runs in one process

console = Console(stderr=True)


def make_frames(rows: int, seed: int = 7) -> tuple[pa.Table, pa.Table]:
    """Reference and current tables; current has exactly the ``DRIFTED`` columns shifted."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i:02d}" for i in range(12)], dtype=object)
    base_shares = np.linspace(2.0, 1.0, 12)
    base_shares /= base_shares.sum()

    def side(current: bool) -> pa.Table:
        cols: dict[str, Any] = {}
        for i, name in enumerate(NUMERIC):
            shift = 0.35 if current and name in DRIFTED else 0.0
            kind = i % 4
            values: np.ndarray[Any, Any]
            if kind == 0:
                values = rng.normal(100 + i + shift * 5, 5, rows)
            elif kind == 1:
                values = rng.lognormal(1 + shift * 0.8, 0.8, rows)
            elif kind == 2:
                values = rng.uniform(0 + shift * 10, 10 + shift * 10, rows)
            else:
                values = rng.integers(0, 1000, rows) + shift * 300.0
            cols[name] = values.astype(np.float64)
        for name in CATEGORICAL:
            shares = base_shares[::-1] if current and name in DRIFTED else base_shares
            cols[name] = pa.array(words[rng.choice(12, size=rows, p=shares)], pa.string())
        return pa.table(cols)

    return side(False), side(True)


# ---------------------------------------------------------------- the three sides
EVIDENTLY_SCRIPT = r"""
import json, resource, sys, time
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently import __version__ as version
from evidently.presets import DataDriftPreset

folder, numeric, categorical = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
ref = pd.read_parquet(folder + "/reference.parquet")
cur = pd.read_parquet(folder + "/current.parquet")
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start, cpu = time.perf_counter(), time.process_time()
definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
ref_ds = Dataset.from_pandas(ref, data_definition=definition)
cur_ds = Dataset.from_pandas(cur, data_definition=definition)
snapshot = Report([DataDriftPreset()]).run(cur_ds, ref_ds)
result = snapshot.dict()
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
scores = {}
for metric in result["metrics"]:
    config = metric.get("config", {})
    if config.get("type", "").endswith("ValueDrift"):
        scores[config["column"]] = {
            "score": metric["value"],
            "method": config.get("method"),
            "threshold": config.get("threshold"),
        }
print("RESULT " + json.dumps({
    "version": version, "seconds": [seconds], "cpu_seconds": [cpu], "scores": scores,
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "loaded_kb": loaded,
}))
"""


def bare_drift(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, float | None]:
    """The default tests written directly with numpy/scipy, column by column.

    Wasserstein-1 is scipy's algorithm (CDFs of both samples over all values) on arrays
    sorted with ``np.sort``, which is faster than ``scipy.stats.wasserstein_distance``
    (it argsorts); categories are counted by pandas and compared with scipy's
    ``jensenshannon``.
    """
    from scipy.spatial import distance

    scores: dict[str, float | None] = {}
    for name in NUMERIC:
        r = ref[name].to_numpy(dtype=np.float64)
        c = cur[name].to_numpy(dtype=np.float64)
        r, c = np.sort(r[~np.isnan(r)]), np.sort(c[~np.isnan(c)])
        both = np.sort(np.concatenate([r, c]))
        r_cdf = np.searchsorted(r, both[:-1], side="right") / r.size
        c_cdf = np.searchsorted(c, both[:-1], side="right") / c.size
        wasserstein = float(np.sum(np.abs(r_cdf - c_cdf) * np.diff(both)))
        scores[name] = wasserstein / max(float(np.std(r)), 0.001)
    for name in CATEGORICAL:
        r_counts, c_counts = ref[name].value_counts(), cur[name].value_counts()
        keys = r_counts.index.union(c_counts.index)
        p = r_counts.reindex(keys, fill_value=0).to_numpy(dtype=np.float64)
        q = c_counts.reindex(keys, fill_value=0).to_numpy(dtype=np.float64)
        scores[name] = float(distance.jensenshannon(p / p.sum(), q / q.sum()))
    return scores


def run_side(side: str, folder: Path, reps: int) -> dict[str, Any]:
    """One side in this (fresh) process: load, time ``reps`` runs, report memory."""
    ref = pd.read_parquet(folder / "reference.parquet")
    cur = pd.read_parquet(folder / "current.parquet")
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if side == "podium":  # imported here so the other sides' memory is not charged for it
        import podium
        from podium.monitoring.drift.detect import detect_drift

        def run() -> dict[str, float | None]:
            return {c.column: c.score for c in detect_drift(ref, cur).columns}

        version = podium.__version__
    else:

        def run() -> dict[str, float | None]:
            return bare_drift(ref, cur)

        version = np.__version__
    # imports are not part of the timing
    import scipy.spatial.distance
    import scipy.stats  # noqa: F401

    seconds, cpu_seconds = [], []
    scores: dict[str, float | None] = {}
    for _ in range(reps):
        start, cpu = time.perf_counter(), time.process_time()
        scores = run()
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu)
    flagged = [name for name, score in scores.items() if score is not None and score >= 0.1]
    return {
        "version": version,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "flagged": flagged,
        "scores": scores,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "loaded_kb": loaded,
    }


def evidently_flagged(scores: dict[str, Any]) -> list[str]:
    """Columns Evidently flags: p-value tests below, distances at or above the threshold."""
    out = []
    for name in NUMERIC + CATEGORICAL:
        item = scores.get(name)
        if item is None:
            sys.exit(f"Evidently reported no drift score for column {name}")
        method = str(item["method"]).lower()
        p_value = "p_value" in method or "p-value" in method
        threshold = float(item["threshold"])
        drifted = item["score"] < threshold if p_value else item["score"] >= threshold
        if drifted:
            out.append(name)
    return out


def subprocess_result(cmd: list[str], what: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(DO_NOT_TRACK="1", EVIDENTLY_DISABLE_TELEMETRY="1")
    # One BLAS thread for every side: scipy's wasserstein_distance (bare, Evidently) calls
    # a BLAS dot product whose thread pool only adds overhead on a shared machine.
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        sys.exit(f"the {what} side failed (exit {done.returncode}); see its output above")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return result


@dataclass(frozen=True)
class SizeResult:
    rows: int
    evidently: dict[str, Any] | None
    podium: dict[str, Any]
    bare: dict[str, Any]


def bench_size(rows: int, evidently: Path | None, tmp: Path) -> SizeResult:
    folder = tmp / f"rows{rows}"
    folder.mkdir()
    ref, cur = make_frames(rows)
    pq.write_table(ref, folder / "reference.parquet")
    pq.write_table(cur, folder / "current.parquet")
    del ref, cur
    me = [sys.executable, str(Path(__file__).resolve()), "--side"]
    console.print(f"{rows:,} rows: bare numpy/scipy")
    bare = subprocess_result([*me, "bare", str(folder)], "bare")
    console.print(f"{rows:,} rows: podium")
    pod = subprocess_result([*me, "podium", str(folder)], "podium")
    ev = None
    if evidently is not None:
        console.print(f"{rows:,} rows: Evidently (slow)")
        script = tmp / "evidently_bench.py"
        script.write_text(EVIDENTLY_SCRIPT)
        cmd = [str(evidently), str(script), str(folder), json.dumps(NUMERIC)]
        ev = subprocess_result([*cmd, json.dumps(CATEGORICAL)], "Evidently")
        ev["flagged"] = evidently_flagged(ev["scores"])
    if ev is not None:  # the same tests give the same numbers
        gaps = [abs(pod["scores"][n] - ev["scores"][n]["score"]) for n in NUMERIC + CATEGORICAL]
        pod["max_score_gap_vs_evidently"] = max(gaps)
    for name, side in (("bare", bare), ("podium", pod), ("Evidently", ev)):
        if side is not None and sorted(side["flagged"]) != sorted(DRIFTED):
            sys.exit(f"{name} flagged {side['flagged']} at {rows} rows, not {DRIFTED}")
    return SizeResult(rows, ev, pod, bare)


def report(results: list[SizeResult], info: dict[str, Any]) -> list[list[Any]]:
    """Print the table; return its rows."""
    table = Table(
        title=f"Data drift (20 numeric + 5 categorical columns): podium vs Evidently "
        f"{info.get('evidently', '-')} vs bare numpy/scipy",
        caption="seconds: median of the drift computation (Evidently: one run); peak MB: "
        "peak RSS of the process, data included; all three flagged the 5 injected columns",
    )
    for col in ("rows/side", "metric", "Evidently", "podium", "bare", "podium vs", "target", "ok"):
        table.add_column(col, justify="left" if col in ("metric", "target") else "right")
    rows: list[list[Any]] = []
    for r in results:
        ev, po, ba = r.evidently, r.podium, r.bare
        ev_s = statistics.median(ev["seconds"]) if ev else None
        po_s, ba_s = statistics.median(po["seconds"]), statistics.median(ba["seconds"])
        ev_cpu = statistics.median(ev["cpu_seconds"]) if ev else None
        po_cpu, ba_cpu = statistics.median(po["cpu_seconds"]), statistics.median(ba["cpu_seconds"])
        ev_mb = ev["maxrss_kb"] / 1024 if ev else None
        po_mb, ba_mb = po["maxrss_kb"] / 1024, ba["maxrss_kb"] / 1024
        big = r.rows >= 1_000_000
        speedup = ev_s / po_s if ev_s else None
        mem_ratio = po_mb / ev_mb if ev_mb else None
        checks: list[tuple[str, Any, Any, Any, float | None, str, str, bool | None]] = [
            (
                "wall s",
                ev_s,
                po_s,
                ba_s,
                speedup,
                "Evidently/podium",
                ">= 20x" if big else "-",
                (speedup >= 20) if big and speedup else None,
            ),
            ("wall s", None, None, None, po_s / ba_s, "podium/bare", "<= 1.5x", po_s / ba_s <= 1.5),
            ("CPU s", ev_cpu, po_cpu, ba_cpu, po_cpu / ba_cpu, "podium/bare", "-", None),
            (
                "peak MB",
                ev_mb,
                po_mb,
                ba_mb,
                mem_ratio,
                "podium/Evidently",
                "<= 0.5x",
                (mem_ratio <= 0.5) if mem_ratio else None,
            ),
        ]
        for metric, e, p, b, ratio, label, target, ok in checks:
            cells = ["-" if v is None else f"{v:,.2f}" for v in (e, p, b)]
            ratio_cell = "-" if ratio is None else f"{ratio:,.2f}x {label}"
            verdict = "-" if ok is None else ("[green]pass" if ok else "[red]FAIL")
            table.add_row(f"{r.rows:,}", metric, *cells, ratio_cell, target, verdict)
            rows.append([r.rows, metric, e, p, b, ratio, label, target, ok])
    Console(width=140).print(table)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows per side")
    parser.add_argument("--rows", type=int, nargs="+", help="rows per side (default 200k 1M)")
    parser.add_argument("--no-evidently", action="store_true", help="podium and bare only")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    parser.add_argument(
        "--venv",
        type=Path,
        default=default_venv_dir("evidently"),
        help="where the Evidently venv is cached (default: %(default)s)",
    )
    parser.add_argument("--side", nargs=2, metavar=("SIDE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:  # a worker process: one side on one data folder
        side, folder = args.side
        print("RESULT " + json.dumps(run_side(side, Path(folder), REPS)))
        return 0
    sizes = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    evidently = None
    if not args.no_evidently:
        try:
            evidently = anchor_python(args.venv, EVIDENTLY_REQUIREMENTS)
        except AnchorVenvError as exc:
            console.print(f"[red]cannot set up Evidently:[/] {exc}")
            return 2
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        results = [bench_size(rows, evidently, Path(tmp)) for rows in sizes]
    ev_version = next((r.evidently["version"] for r in results if r.evidently), "-")
    info = machine_info(load_before, evidently=ev_version)
    Console().print(", ".join(f"{k}: {v}" for k, v in info.items()))
    rows = report(results, info)
    if args.json:
        raw = [
            {"rows": r.rows, "evidently": r.evidently, "podium": r.podium, "bare": r.bare}
            for r in results
        ]
        args.json.write_text(json.dumps({"machine": info, "rows": rows, "raw": raw}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
