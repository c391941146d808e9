"""Data layer, podium vs raw deltalake + DuckDB: same machine, same run, same data.

    python benchmarks/data.py            # 1,000,000 rows x 20 columns (a few minutes)
    python benchmarks/data.py --quick    # 100,000 rows
    python benchmarks/data.py --json results.json

Both sides run in this interpreter on the same deltalake and DuckDB, each repetition in a
fresh temporary folder. Every figure is checked: row counts are read back, the old
version read is compared with the data written, and the group-by results must agree.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import deltalake
import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from _machine import machine_info
from deltalake import DeltaTable, write_deltalake
from rich.console import Console
from rich.table import Table

import podium

NAME = "raw.events"
QUERY = "SELECT cat, count(*) AS n, avg(x) AS avg_x FROM {} GROUP BY cat"
console = Console(stderr=True)


@dataclass(frozen=True)
class Sizes:
    rows: int = 1_000_000
    appends: int = 100  # small appends per repetition
    append_rows: int = 100
    versions: int = 10  # versions of the table whose version 1 is read
    write_reps: int = 5
    append_reps: int = 3
    read_reps: int = 9
    sql_reps: int = 15
    other_tables: int = 20  # small tables added to the project for the last row


QUICK = Sizes(rows=100_000, write_reps=2, append_reps=1, read_reps=3, sql_reps=5)

# The table: key, label, target text, kind ("ratio": podium/raw <= 1.15; "ms": the
# per-call overhead podium - raw <= 2 ms; "info": no target).
ROWS: list[tuple[str, str, str, str]] = [
    ("write", "bulk write, ms", "<= 1.15x", "ratio"),
    ("append", "small append, ms/call", "<= +2 ms/call", "ms"),
    ("read_v1", "read version 1, ms", "<= 1.15x", "ratio"),
    ("sql", "group-by SQL, ms", "<= 1.15x", "ratio"),
    ("sql_many", "group-by SQL, 20 more tables, ms", "-", "info"),
]


def make_table(rows: int, seed: int = 42) -> pa.Table:
    """``rows`` rows of 20 columns: 7 int64, 7 float64, 3 string, 3 timestamp."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i:04d}" for i in range(1_000)], dtype=object)
    t0 = np.datetime64("2026-01-01T00:00:00", "us")
    cols: dict[str, Any] = {"id": np.arange(rows, dtype=np.int64)}
    cols["cat"] = pa.array(np.array([f"c{i:02d}" for i in range(20)])[rng.integers(0, 20, rows)])
    cols["x"] = rng.normal(size=rows)
    for i in range(6):
        cols[f"i{i}"] = rng.integers(-(10**9), 10**9, rows, dtype=np.int64)
    for i in range(6):
        cols[f"f{i}"] = rng.random(rows) * 10**i
    for i in range(2):
        cols[f"s{i}"] = pa.array(words[rng.integers(0, len(words), rows)], pa.string())
    for i in range(3):
        offsets = rng.integers(0, 365 * 86_400 * 10**6, rows).astype("timedelta64[us]")
        cols[f"t{i}"] = pa.array(t0 + offsets, pa.timestamp("us", tz="UTC"))
    return pa.table(cols)


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def pair(raw: Callable[[], Any], pod: Callable[[], Any], rep: int) -> tuple[Any, Any]:
    """Time both sides, raw first on even ``rep``s and podium first on odd ones (drift)."""
    if rep % 2:
        pod_timed = timed(pod)
        return timed(raw), pod_timed
    raw_timed = timed(raw)
    return raw_timed, timed(pod)


def rows_of(path: Path) -> int:
    return int(DeltaTable(str(path)).to_pyarrow_dataset().count_rows())


def bench(data: pa.Table, sizes: Sizes, tmp: Path) -> dict[str, Any]:
    """All four measurements on both sides; raw timings in seconds plus what was read."""
    raw: dict[str, list[float]] = {key: [] for key, *_ in ROWS}
    pod: dict[str, list[float]] = {key: [] for key, *_ in ROWS}
    folders = (tmp / f"run{i}" for i in range(10_000))
    for var in ("PODIUM_URL", "PODIUM_DATABASE_URL", "PODIUM_STORAGE_URL"):
        os.environ.pop(var, None)  # embedded, on local files, whatever the shell says

    def fresh() -> tuple[Path, podium.Platform]:
        folder = next(folders)
        return folder / "raw", podium.connect(home=folder / "podium")

    # Warm-up: imports, code paths and the catalog database of each side.
    path, p = fresh()
    write_deltalake(str(path), data.slice(0, 10))
    p.data.write("raw.warm", data.slice(0, 10))
    p.data.sql("SELECT count(*) FROM raw.warm")

    # 1. Bulk write of the whole table into a new table.
    for rep in range(sizes.write_reps):
        path, p = fresh()
        (raw_s, _), (pod_s, _) = pair(
            partial(write_deltalake, str(path), data), partial(p.data.write, NAME, data), rep
        )
        raw["write"].append(raw_s)
        pod["write"].append(pod_s)
        if rows_of(path) != data.num_rows or p.data.read(NAME, columns=["id"]).num_rows != (
            data.num_rows
        ):
            sys.exit("bulk write: a side did not store every row")
    sql_path, sql_p = path, p  # the SQL test reads the last bulk-written tables

    # 2. Small appends to an existing table, one commit each.
    batches = [data.slice(i * sizes.append_rows, sizes.append_rows) for i in range(sizes.appends)]
    for rep in range(sizes.append_reps):
        path, p = fresh()
        write_deltalake(str(path), batches[0])
        p.data.write(NAME, batches[0])
        raw_total = pod_total = 0.0
        for i, batch in enumerate(batches):  # interleaved call by call, so drift hits both
            (raw_s, _), (pod_s, _) = pair(
                partial(write_deltalake, str(path), batch, mode="append"),
                partial(p.data.write, NAME, batch, mode="append"),
                rep + i,
            )
            raw_total, pod_total = raw_total + raw_s, pod_total + pod_s
        raw["append"].append(raw_total / sizes.appends)
        pod["append"].append(pod_total / sizes.appends)
        want = (sizes.appends + 1) * sizes.append_rows
        if rows_of(path) != want or p.data.read(NAME, columns=["id"]).num_rows != want:
            sys.exit("appends: a side did not store every row")

    # 3. Version 1 of a table with `versions` versions: v0 + v1 hold all rows, then small
    # appends. Built the same way on both sides, untimed.
    half = data.num_rows // 2
    path, p = fresh()
    for i, part in enumerate([data.slice(0, half), data.slice(half), *batches[2 : sizes.versions]]):
        write_deltalake(str(path), part, mode="append")
        p.data.write(NAME, part, mode="append")
        assert i == DeltaTable(str(path)).version() == p.data.version(NAME)
    for rep in range(-1, sizes.read_reps):  # -1: a warm-up, not recorded
        (raw_s, raw_v1), (pod_s, pod_v1) = pair(
            lambda: DeltaTable(str(path), version=1).to_pyarrow_table(),
            lambda: p.data.read(NAME, version=1),
            rep,
        )
        if rep >= 0:
            raw["read_v1"].append(raw_s)
            pod["read_v1"].append(pod_s)
    for side in (raw_v1, pod_v1):
        if not side.sort_by("id").equals(data):
            sys.exit("read version 1: a side did not return the data written as v0 + v1")

    # 4. A group-by over the bulk-written table: raw DuckDB over the Delta table's Arrow
    # dataset (opened per query, as podium does) vs p.data.sql.
    def raw_sql() -> pa.Table:
        con = duckdb.connect(":memory:")
        con.register("events_ds", DeltaTable(str(sql_path)).to_pyarrow_dataset())
        con.execute("CREATE VIEW events AS SELECT * FROM events_ds")
        result = con.sql(QUERY.format("events")).to_arrow_table()
        con.close()
        return result

    # Then again once the project holds other small tables (10 versions each), which
    # the query does not name; raw still opens only its one table.
    for key in ("sql", "sql_many"):
        if key == "sql_many":
            for i, version in itertools.product(range(sizes.other_tables), range(10)):
                sql_p.data.write(f"raw.other{i}", batches[version], mode="append")
        for rep in range(-1, sizes.sql_reps):  # -1: a warm-up, not recorded
            (raw_s, raw_groups), (pod_s, pod_groups) = pair(
                raw_sql, lambda: sql_p.data.sql(QUERY.format(NAME)), rep
            )
            if rep >= 0:
                raw[key].append(raw_s)
                pod[key].append(pod_s)
        check_groups(data, raw_groups, pod_groups)
    return {"raw": raw, "podium": pod}


def check_groups(data: pa.Table, *results: pa.Table) -> None:
    """Exit unless every group-by result matches the one computed with pyarrow."""
    want = data.group_by("cat").aggregate([("x", "count"), ("x", "mean")])
    want = want.select(["cat", "x_count", "x_mean"]).sort_by("cat")
    expected = [tuple(row.values()) for row in want.to_pylist()]
    for result in results:
        got = result.sort_by("cat")
        rows = [tuple(row.values()) for row in got.select(["cat", "n", "avg_x"]).to_pylist()]
        same = len(rows) == len(expected) and all(
            g[:2] == e[:2] and math.isclose(g[2], e[2], rel_tol=1e-9, abs_tol=1e-12)
            for g, e in zip(rows, expected, strict=True)
        )
        if not same:
            sys.exit(f"group-by: got {rows[:3]}..., expected {expected[:3]}...")


def report(raw: dict[str, float], pod: dict[str, float], title: str) -> list[Any]:
    """Print the table; return its rows (label, raw, podium, ratio, overhead, target, ok)."""
    table = Table(title=title, caption="ms: median; ratio: podium/raw")
    for col in ("measurement", "raw", "podium", "ratio", "target", "result"):
        table.add_column(col, justify="left" if col in ("measurement", "target") else "right")
    rows = []
    for key, label, target, kind in ROWS:
        ratio, extra = pod[key] / raw[key], pod[key] - raw[key]
        ok = None if kind == "info" else ratio <= 1.15 if kind == "ratio" else extra <= 2.0
        shown = f"{ratio:.2f}x" + (f", {extra:+.2f} ms" if kind == "ms" else "")
        fmt = "{:,.2f}" if kind == "ms" else "{:,.0f}"
        result = "-" if ok is None else "[green]pass" if ok else "[red]FAIL"
        table.add_row(label, fmt.format(raw[key]), fmt.format(pod[key]), shown, target, result)
        rows.append([label, raw[key], pod[key], ratio, extra, target, ok])
    Console(width=110).print(table)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows (a smoke test)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    console.print(f"generating {sizes.rows:,} rows x 20 columns; {sizes}")
    data = make_table(sizes.rows)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="podium-bench-data-") as tmp:
        timings = bench(data, sizes, Path(tmp))
    info = machine_info(
        load_before,
        deltalake=deltalake.__version__,
        duckdb=duckdb.__version__,
        pyarrow=pa.__version__,
    )
    summary = {
        side: {key: statistics.median(values) * 1000 for key, values in sides.items()}
        for side, sides in timings.items()
    }
    Console().print(", ".join(f"{k}: {v}" for k, v in info.items()))
    title = f"Data layer: podium vs deltalake {deltalake.__version__} + DuckDB {duckdb.__version__}"
    rows = report(summary["raw"], summary["podium"], f"{title}, {sizes.rows:,} rows")
    if args.json:
        doc = {"machine": info, "sizes": asdict(sizes), "summary_ms": summary, "rows": rows}
        args.json.write_text(json.dumps({**doc, "raw_seconds": timings}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
