"""Batch inference, podium vs the one-process Arrow-scan limit and vs Ray Data.

    python benchmarks/batch.py            # 5,000,000 rows (a few minutes)
    python benchmarks/batch.py --quick    # 200,000 rows
    python benchmarks/batch.py --json results.json

One Delta table of ``rows`` customers (an id and six float features, written in five
appends: five files) is scored by one logistic regression, four ways, each in a process
of its own whose whole process tree's resident memory is sampled every 50 ms:

- ``limit``: the plain script a careful engineer writes: an Arrow scan of the table's
  version, ``predict_proba`` per batch, one streaming Delta write (no podium);
- ``podium local``: ``p.batch.predict(..., runner="local")``;
- ``ray data``: ``ray.data.read_delta`` + ``map_batches`` + ``write_parquet``;
- ``podium ray``: ``p.batch.predict(..., runner="ray")``.

Each contender runs ``--repeat`` times (3), interleaved with the others, and its best run
counts (the machine is shared: the other runs show the spread); peak memory is the
highest of its runs. Ray and podium's area start before the clock (Ray's start-up is
reported in a column of its own). podium's time is the job's own (``job.seconds``: every
part scanned, scored, written, committed and recorded); what the call does before it (the
checks, and loading the model through the registry, verified and with skops, whose first
import in a process takes seconds) is the ``start`` column. Every output is
checked: row counts, podium's predictions against ``model.predict`` on the same rows,
and the Ray runner's table against the local one's after sorting by key.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from _machine import machine_info
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)

FEATURES = [f"f{i}" for i in range(6)]
SOURCE = "curated.customers"
PROJECT = "bench"
_BATCH = 65_536


# -- the data and the model ---------------------------------------------------------------
def make_part(rows: int, start: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {"customer_id": np.arange(start, start + rows, dtype=np.int64)}
    for name in FEATURES:
        columns[name] = rng.normal(size=rows)
    return pa.table(columns)


def setup(home: Path, rows: int) -> None:
    """The source table (five appends) and ``churn/1`` in a fresh podium home."""
    from sklearn.linear_model import LogisticRegression

    import podium

    os.environ["PODIUM_HOME"] = str(home)
    with podium.connect(project=PROJECT) as p:
        step = rows // 5
        for index in range(5):
            p.data.write(SOURCE, make_part(step, index * step, index))
        train = make_part(50_000, 0, 99).to_pandas()[FEATURES]
        labels = (train["f0"] + 0.5 * train["f1"] - train["f2"] > 0).astype(int)
        model = LogisticRegression().fit(train.to_numpy(), labels)
        p.registry.register("churn", model, input_example=train[:5])
        (home / "model.pkl").write_bytes(pickle.dumps(model))
        (home / "source_uri").write_text(
            f"{p.data.lake.root_url}/curated/customers"  # type: ignore[attr-defined]
        )


# -- the contenders (each runs in a process of its own) ---------------------------------
def run_limit(home: Path, rep: int) -> dict[str, Any]:
    from deltalake import DeltaTable, write_deltalake

    model = pickle.loads((home / "model.pkl").read_bytes())
    uri = (home / "source_uri").read_text()
    out = str(home / f"limit_out_{rep}")
    started = time.perf_counter()
    dataset = DeltaTable(uri).to_pyarrow_dataset()
    schema = pa.schema(
        [
            ("customer_id", pa.int64()),
            ("prediction", pa.int64()),
            ("probability", pa.float64()),
            ("model_version", pa.string()),
        ]
    )
    classes = model.classes_

    def batches() -> Any:
        # Little read-ahead: on this 2-core machine the default (16 batches, 4 files)
        # made this script 1.6-2.6x slower, so the limit gets the faster setting.
        scan = dataset.to_batches(
            columns=["customer_id", *FEATURES],
            batch_size=_BATCH,
            batch_readahead=2,
            fragment_readahead=1,
        )
        for batch in scan:
            matrix = np.column_stack([batch.column(n).to_numpy() for n in FEATURES])
            probabilities = model.predict_proba(matrix)
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column("customer_id"),
                    pa.array(classes[probabilities.argmax(axis=1)]),
                    pa.array(probabilities[:, 1]),
                    pa.repeat(pa.scalar("churn/1"), batch.num_rows),
                ],
                schema=schema,
            )

    write_deltalake(out, pa.RecordBatchReader.from_batches(schema, batches()), mode="append")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": DeltaTable(out).count()}


def run_podium(home: Path, runner: str, rep: int) -> dict[str, Any]:
    import podium

    os.environ["PODIUM_HOME"] = str(home)
    ray_start = None
    if runner == "ray":
        from podium.pipelines.ray_runner import connect

        clock = time.perf_counter()
        connect(None)
        ray_start = time.perf_counter() - clock
    with podium.connect(project=PROJECT) as p:
        p.batch  # noqa: B018 - the area's start-up (imports, services) is not scoring
        started = time.perf_counter()
        job = p.batch.predict(
            "churn/1",
            source=SOURCE,
            output=f"scores.{runner}_{rep}",
            key="customer_id",
            runner=runner,
            batch_size=_BATCH,
        )
        seconds = time.perf_counter() - started
        assert job.status == "succeeded", job.error
        # The job's own clock: its parts scanned, scored, written and recorded. Before it,
        # the call checks the job and loads the model once (skops's first import of every
        # scikit-learn module it trusts is most of that): reported as "start".
        assert job.seconds is not None
        return {
            "seconds": job.seconds,
            "start": seconds - job.seconds,
            "rows": job.rows,
            "ray_start": ray_start,
            "job": job.id,
        }


def run_ray_data(home: Path, rep: int) -> dict[str, Any]:
    from podium.pipelines.ray_runner import connect

    clock = time.perf_counter()
    ray = connect(None)
    ray_start = time.perf_counter() - clock
    model = pickle.loads((home / "model.pkl").read_bytes())
    uri = (home / "source_uri").read_text()
    out = str(home / f"ray_data_out_{rep}")
    classes = model.classes_

    def score(batch: pa.Table) -> pa.Table:
        matrix = np.column_stack([batch.column(n).to_numpy() for n in FEATURES])
        probabilities = model.predict_proba(matrix)
        return pa.table(
            {
                "customer_id": batch.column("customer_id"),
                "prediction": classes[probabilities.argmax(axis=1)],
                "probability": probabilities[:, 1],
                "model_version": pa.repeat(pa.scalar("churn/1"), batch.num_rows),
            }
        )

    started = time.perf_counter()
    data = ray.data.read_delta(uri, columns=["customer_id", *FEATURES])
    data.map_batches(score, batch_format="pyarrow", batch_size=_BATCH).write_parquet(out)
    seconds = time.perf_counter() - started
    rows = ray.data.read_parquet(out).count()
    return {"seconds": seconds, "rows": rows, "ray_start": ray_start}


CONTENDERS = {
    "limit": run_limit,
    "podium local": lambda home, rep: run_podium(home, "local", rep),
    "ray data": run_ray_data,
    "podium ray": lambda home, rep: run_podium(home, "ray", rep),
}


# -- measuring ------------------------------------------------------------------------------
def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and every process under it (from /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree)


def measure(name: str, home: Path, rep: int) -> dict[str, Any]:
    """Run contender ``name`` in a child process; its result and peak tree RSS."""
    result_file = home / f"{name.replace(' ', '_')}_{rep}.json"
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--contender",
            name,
            "--home",
            str(home),
            "--rep",
            str(rep),
            "--out",
            str(result_file),
        ],
        env={**os.environ, "PODIUM_HOME": str(home)},
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(child.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = child.wait()
    done.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"{name} failed with exit code {code}")
    result = json.loads(result_file.read_text())
    result["peak_rss_mb"] = round(peak / 2**20)
    result["rows_per_s"] = round(result["rows"] / result["seconds"])
    return result


def check(home: Path, rows: int) -> None:
    """podium's predictions equal ``model.predict`` on the same rows; ray == local."""
    import podium

    os.environ["PODIUM_HOME"] = str(home)
    model = pickle.loads((home / "model.pkl").read_bytes())
    with podium.connect(project=PROJECT) as p:
        source = p.data.read(SOURCE).sort_by("customer_id")
        local = p.data.read("scores.local_0").sort_by("customer_id")
        assert local.num_rows == rows
        assert local.column("customer_id").equals(source.column("customer_id"))
        matrix = np.column_stack([source.column(n).to_numpy() for n in FEATURES])
        np.testing.assert_array_equal(local.column("prediction").to_numpy(), model.predict(matrix))
        on_ray = p.data.read("scores.ray_0").sort_by("customer_id")
        assert on_ray.equals(local), "the Ray runner's table differs from the local one"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 rows (a smoke test)")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    parser.add_argument("--contender", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rep", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each contender, interleaved (best kept)"
    )
    args = parser.parse_args(argv)
    if args.contender:
        args.out.write_text(json.dumps(CONTENDERS[args.contender](args.home, args.rep)))
        return 0
    rows = args.rows or (200_000 if args.quick else 5_000_000)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="podium-bench-batch-") as scratch:
        home = Path(scratch) / "home"
        console.print(f"writing {rows:,} rows and registering the model ...")
        setup(home, rows)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
        for rep in range(args.repeat):
            for name in CONTENDERS:
                console.print(f"scoring with {name} (run {rep + 1} of {args.repeat}) ...")
                runs[name].append(measure(name, home, rep))
        check(home, rows)
    results = {}
    for name, found in runs.items():
        best = dict(min(found, key=lambda r: r["seconds"]))
        best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in found)
        best["all_seconds"] = [round(r["seconds"], 2) for r in found]
        results[name] = best
    import ray

    limit = results["limit"]["rows_per_s"]
    report = {
        "machine": machine_info(load_before, ray=ray.__version__),
        "rows": rows,
        "results": results,
        "local_vs_limit": round(results["podium local"]["rows_per_s"] / limit, 2),
        "ray_vs_ray_data": round(
            results["podium ray"]["rows_per_s"] / results["ray data"]["rows_per_s"], 2
        ),
    }
    out = Table(title=f"batch inference, {rows:,} rows")
    columns = (
        "contender",
        "best s",
        "runs s",
        "rows/s",
        "vs limit",
        "peak RSS MB",
        "start s",
        "Ray start s",
    )
    for column in columns:
        out.add_column(column, justify="right" if column != "contender" else "left")
    for name, found in results.items():
        out.add_row(
            name,
            f"{found['seconds']:.2f}",
            " ".join(f"{x:.1f}" for x in found["all_seconds"]),
            f"{found['rows_per_s']:,}",
            f"{found['rows_per_s'] / limit:.2f}x",
            str(found["peak_rss_mb"]),
            "-" if found.get("start") is None else f"{found['start']:.1f}",
            "-" if found.get("ray_start") is None else f"{found['ray_start']:.1f}",
        )
    Console().print(out)
    local, on_ray = results["podium local"], results["podium ray"]
    console.print(
        f"targets: local >= 0.8x limit: {report['local_vs_limit']}x "
        f"({'met' if report['local_vs_limit'] >= 0.8 else 'NOT met'}); "
        f"local peak RSS <= 1536 MB: {local['peak_rss_mb']} "
        f"({'met' if local['peak_rss_mb'] <= 1536 else 'NOT met'}); "
        f"ray >= ray data: {report['ray_vs_ray_data']}x "
        f"({'met' if on_ray['rows_per_s'] >= results['ray data']['rows_per_s'] else 'NOT met'})"
    )
    console.print(report["machine"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
