"""An XGBoost model served and batch-scored natively vs as ONNX: same machine, same run.

    python benchmarks/flavors.py            # full sizes (a few minutes)
    python benchmarks/flavors.py --quick    # smoke sizes
    python benchmarks/flavors.py --json results.json

One XGBClassifier (synthetic data, 20 features, 200 trees of depth 6) is registered as
``xgb/1`` (the ``xgboost`` flavor, XGBoost JSON) and converted by ``optimize`` into
``xgb/2`` (ONNX through onnxmltools, run by onnxruntime). Each is deployed with the
cache off, and both are measured through podium's own paths, alternating round by round
so a change in the machine's load hits both:

- serving: ``p.predict(deployment, features=row)`` one row at a time, the embedded form of
  ``POST /v1/predictions`` (validation, routing, inference log), requests per second;
- batch: ``p.batch.predict`` over a lake table, rows per second.

The ratio is ONNX over native (above 1: ONNX is faster). Every answer is checked: the
ONNX version's predictions must agree with the source model's on the held-out rows, and
each batch output must hold one prediction per source row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _machine import machine_info
from rich.console import Console
from rich.table import Table

import podium
from podium.registry.optimization import optimize_version

console = Console(stderr=True)
FEATURES = [f"x{i}" for i in range(20)]


@dataclass(frozen=True)
class Sizes:
    train_rows: int = 20_000
    trees: int = 200
    requests: int = 1_000  # single-row predictions per round and model
    batch_rows: int = 200_000
    rounds: int = 3


QUICK = Sizes(train_rows=3_000, trees=50, requests=200, batch_rows=20_000, rounds=1)


def synthetic(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)
    signal = frame["x0"] * frame["x1"] + np.sin(frame["x2"] * 3) + frame["x3"] ** 2 - 1
    return frame, (signal + rng.normal(0, 0.5, rows) > 0).astype(np.int64).to_numpy()


def serve_rate(p: podium.Platform, deployment: str, rows: list[dict[str, float]]) -> float:
    """Single-row predictions a second through the deployment."""
    p.predict(deployment, features=rows[0])  # warm: first calls load the model
    started = time.perf_counter()
    for row in rows:
        p.predict(deployment, features=row)
    return len(rows) / (time.perf_counter() - started)


def batch_rate(p: podium.Platform, ref: str, output: str, expected_rows: int) -> float:
    """Rows a second scored by a batch job from the lake table into ``output``."""
    started = time.perf_counter()
    job = p.batch.predict(ref, source="bench.rows", output=output, key="row_id")
    seconds = time.perf_counter() - started
    if job.status != "succeeded" or job.rows != expected_rows:
        raise SystemExit(f"batch job of {ref} failed: {job.status} {job.rows} {job.error}")
    return expected_rows / seconds


def run(sizes: Sizes) -> dict[str, Any]:
    import xgboost

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="podium-bench-flavors-") as home:
        p = podium.connect(home=Path(home))
        X, y = synthetic(sizes.train_rows, seed=0)
        held_out, held_labels = synthetic(2_000, seed=1)
        console.print(f"training {sizes.trees} trees on {sizes.train_rows:,} rows")
        model = xgboost.XGBClassifier(n_estimators=sizes.trees, max_depth=6, n_jobs=1)
        model.fit(X, y)
        native = p.registry.register("xgb", model, input_example=X[:5])
        onnx, comparison = optimize_version(
            p.registry, native.ref, sample=held_out, labels=held_labels
        )
        p.deployments.create("xgb-native", model=native.ref, cache={"enabled": False})
        p.deployments.create("xgb-onnx", model=onnx.ref, cache={"enabled": False})
        source, _ = synthetic(sizes.batch_rows, seed=2)
        p.data.write("bench.rows", source.assign(row_id=np.arange(len(source))))
        requests = [
            {k: float(v) for k, v in row.items()}
            for row in synthetic(sizes.requests, seed=3)[0].to_dict("records")
        ]
        figures: dict[str, list[float]] = {
            "serve_native": [],
            "serve_onnx": [],
            "batch_native": [],
            "batch_onnx": [],
        }
        for round_ in range(sizes.rounds):
            console.print(f"round {round_ + 1}/{sizes.rounds}")
            figures["serve_native"].append(serve_rate(p, "xgb-native", requests))
            figures["serve_onnx"].append(serve_rate(p, "xgb-onnx", requests))
            figures["batch_native"].append(
                batch_rate(p, native.ref, f"bench.native_{round_}", sizes.batch_rows)
            )
            figures["batch_onnx"].append(
                batch_rate(p, onnx.ref, f"bench.onnx_{round_}", sizes.batch_rows)
            )
        native_out = p.data.read("bench.native_0").to_pandas().sort_values("row_id")
        onnx_out = p.data.read("bench.onnx_0").to_pandas().sort_values("row_id")
        batch_agreement = float(
            np.mean(native_out["prediction"].to_numpy() == onnx_out["prediction"].to_numpy())
        )
        p.close()
    medians = {name: statistics.median(values) for name, values in figures.items()}
    return {
        "sizes": asdict(sizes),
        "agreement_held_out": comparison.agreement,
        "agreement_batch": batch_agreement,
        "size_bytes_native": comparison.size_bytes_source,
        "size_bytes_onnx": comparison.size_bytes_candidate,
        "serve_native_per_s": medians["serve_native"],
        "serve_onnx_per_s": medians["serve_onnx"],
        "serve_ratio": medians["serve_onnx"] / medians["serve_native"],
        "batch_native_rows_per_s": medians["batch_native"],
        "batch_onnx_rows_per_s": medians["batch_onnx"],
        "batch_ratio": medians["batch_onnx"] / medians["batch_native"],
        "rounds": figures,
        "machine": machine_info(
            load_before, xgboost=version("xgboost"), onnxruntime=version("onnxruntime")
        ),
    }


def report(result: dict[str, Any]) -> None:
    table = Table(title="XGBoost natively vs as ONNX (medians of the rounds)")
    for column in ("path", "native", "ONNX", "ratio ONNX / native"):
        table.add_column(column, justify="right" if column != "path" else "left")
    table.add_row(
        "serving, single rows (req/s)",
        f"{result['serve_native_per_s']:,.0f}",
        f"{result['serve_onnx_per_s']:,.0f}",
        f"{result['serve_ratio']:.2f}x",
    )
    table.add_row(
        f"batch, {result['sizes']['batch_rows']:,} rows (rows/s)",
        f"{result['batch_native_rows_per_s']:,.0f}",
        f"{result['batch_onnx_rows_per_s']:,.0f}",
        f"{result['batch_ratio']:.2f}x",
    )
    table.add_row(
        "model file (bytes)",
        f"{result['size_bytes_native']:,}",
        f"{result['size_bytes_onnx']:,}",
        f"{result['size_bytes_onnx'] / result['size_bytes_native']:.2f}x",
    )
    Console().print(table)
    print(
        f"agreement: held-out {result['agreement_held_out']:.2%}, "
        f"batch {result['agreement_batch']:.2%}; machine: {json.dumps(result['machine'])}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke sizes")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    args = parser.parse_args(argv)
    result = run(QUICK if args.quick else Sizes())
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
