"""Autolog overhead, podium vs MLflow: the same 100-candidate grid search, same data.

    python benchmarks/autolog.py              # 100 candidates x 3 folds, 3 repetitions
    python benchmarks/autolog.py --quick      # 12 candidates, 2 repetitions
    python benchmarks/autolog.py --json results.json

Each library runs in a fresh interpreter of this venv (so neither's patches see the
other's): ``podium.autolog(p)`` on an embedded platform, and
``mlflow.sklearn.autolog(max_tuning_runs=None)`` on a SQLite tracking store in a temp
folder, so both log a parent, one child run per candidate and the best model. Each first
fits a small search untimed (imports, store creation and migrations), then times the grid
search ``reps`` times with its autolog off and on, alternately, so that the two figures
of a pair see the same load on a shared machine. Added time = fastest on minus fastest
off. The runs are counted afterwards: a parent and one child per candidate per timed
search, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _machine import machine_info
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
VARIANTS = ("podium", "mlflow")
TARGET = 0.2  # podium's added time at most 1/5 of MLflow's


def _data(rows: int = 600) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    x = pd.DataFrame(rng.normal(size=(rows, 8)), columns=[f"f{i}" for i in range(8)])
    y = ((x["f0"] + 0.5 * x["f1"] - x["f2"] + rng.normal(scale=0.5, size=rows)) > 0).astype(int)
    return x, y


def _grid(quick: bool) -> dict[str, list[Any]]:
    if quick:
        return {"max_depth": [1, 2, 3, 4], "min_samples_leaf": [1, 5, 20]}
    return {
        "max_depth": list(range(1, 11)),
        "min_samples_leaf": [1, 2, 3, 5, 8, 13, 21, 34, 55, 89],
    }


def _search(grid: dict[str, list[Any]]) -> Any:
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    return GridSearchCV(DecisionTreeClassifier(random_state=0), grid, cv=3, n_jobs=1)


def _runs_logged(variant: str, handle: Any) -> int:
    if variant == "podium":
        return len(handle.tracking.search_runs("bench", max_results=10_000).runs)
    if variant == "mlflow":
        import mlflow

        return len(mlflow.search_runs(experiment_names=["bench"], max_results=10_000))
    return 0


def _switch(variant: str, on: bool, handle: Any) -> None:
    if variant == "podium":
        import podium

        if on:
            podium.autolog(handle, experiment="bench")
        else:
            podium.autolog(disable=True)
    else:
        import mlflow

        mlflow.sklearn.autolog(max_tuning_runs=None, silent=True, disable=not on)


def run_variant(variant: str, quick: bool, reps: int) -> dict[str, Any]:
    """Time the grid search with ``variant``'s autolog off and on, alternately, in this
    process (the child's side): pairs taken moments apart see the same machine load."""
    x, y = _data()
    grid = _grid(quick)
    folder = Path(tempfile.mkdtemp(prefix=f"autolog-bench-{variant}-"))
    handle: Any = None
    if variant == "podium":
        import podium

        handle = podium.connect(home=folder / "home")
    else:
        import mlflow

        mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
        mlflow.set_experiment("bench")
    _switch(variant, True, handle)
    _search({"max_depth": [1, 2]}).fit(x, y)  # warm-up, untimed
    warm_runs = _runs_logged(variant, handle)
    off: list[float] = []
    on: list[float] = []
    for _ in range(reps):
        for enabled, times in ((False, off), (True, on)):
            _switch(variant, enabled, handle)
            start = time.perf_counter()
            _search(grid).fit(x, y)
            times.append(time.perf_counter() - start)
    candidates = len(grid["max_depth"]) * len(grid["min_samples_leaf"])
    logged = _runs_logged(variant, handle) - warm_runs
    expected = reps * (candidates + 1)
    if logged != expected:
        raise SystemExit(f"{variant}: {logged} runs logged, expected {expected}")
    return {
        "variant": variant,
        "off_s": off,
        "on_s": on,
        "added_s": min(on) - min(off),
        "runs": logged,
    }


def _child(variant: str, quick: bool, reps: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--variant", variant, "--reps", str(reps)]
    if quick:
        command.append("--quick")
    env = {**os.environ, "MLFLOW_ENABLE_ASYNC_LOGGING": "false"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--variant", choices=VARIANTS, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    reps = args.reps or (2 if args.quick else 3)
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.quick, reps)))
        return
    load_before = os.getloadavg()[0]
    results = {}
    for variant in VARIANTS:
        console.print(f"[bold]{variant}[/bold] ...")
        results[variant] = _child(variant, args.quick, reps)
    podium_added = results["podium"]["added_s"]
    mlflow_added = results["mlflow"]["added_s"]
    ratio = podium_added / mlflow_added if mlflow_added > 0 else float("nan")
    import sklearn

    import mlflow

    grid = _grid(args.quick)
    versions = {"mlflow": mlflow.__version__, "sklearn": sklearn.__version__}
    summary = {
        "candidates": len(grid["max_depth"]) * len(grid["min_samples_leaf"]),
        "folds": 3,
        "reps": reps,
        "results": results,
        "podium_added_s": podium_added,
        "mlflow_added_s": mlflow_added,
        "ratio": ratio,
        "target": f"<= {TARGET}",
        "machine": machine_info(load_before, **versions),
    }
    table = Table(title=f"autolog overhead, {summary['candidates']}-candidate grid search")
    for column in ("autolog", "off: fastest s", "on: fastest s", "added s"):
        table.add_column(column, justify="right")
    for variant in VARIANTS:
        done = results[variant]
        table.add_row(
            variant,
            f"{min(done['off_s']):.2f}",
            f"{min(done['on_s']):.2f}",
            f"{done['added_s']:.2f}",
        )
    Console().print(table)
    print(f"podium added / MLflow added = {ratio:.3f} (target <= {TARGET})")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
