"""Feature store, podium vs Feast 0.67: same machine, same run, same data.

    python benchmarks/features.py            # 100k entities x 10 rows of history (1M rows)
    python benchmarks/features.py --quick    # 10k entities (100k rows), a smoke test
    python benchmarks/features.py --json results.json

The history (10 float and int features, a created timestamp, 10 rows per entity) is
written once as a Delta table (podium reads it) and as a Parquet file with the same row
groups (Feast's DuckDB offline store and the bare join read it). Historical retrieval is
measured for two entity frames, each run in a fresh subprocess that reports its own time
and peak RSS (``VmHWM``): podium's ``point_in_time_join`` over the Delta table, a bare
DuckDB ASOF join with the same semantics over the Parquet file (the raw limit), and Feast's
``get_historical_features(...).to_df()`` in its cached venv (see ``_anchor_venv``). The
Feast worker also times ``materialize`` of the history into its SQLite online store and
``get_online_features`` for 1 and 100 entities; podium does the same in-process, with its
SQLite and its Redis online store (``PODIUM_BENCH_REDIS_URL``, default db 14 on loopback);
a bare SQLite primary-key select is the raw online limit. Every figure is checked: podium
and the bare join must agree exactly, Feast on row count, non-NULL count and an integer
feature's sum, and online reads must return the latest values.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FEAST_REQUIREMENTS = ["feast[duckdb]==0.67.0"]
FEATURES = [f"f{i}" for i in range(10)]  # f0..f4 float64, f5..f9 int64
TTL_DAYS = 3
DAY_US = 86_400_000_000
T0_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


@dataclass(frozen=True)
class Sizes:
    entities: int = 100_000
    history: int = 10  # rows per entity, one a day
    entity_rows: tuple[int, ...] = (100_000, 1_000_000)
    reps: int = 5  # repetitions of podium's and the bare join's historical retrieval
    online_reps: int = 1_000  # online reads per measurement
    row_group: int = 131_072


QUICK = Sizes(entities=10_000, entity_rows=(10_000, 100_000), reps=1, online_reps=200)


# --- data -------------------------------------------------------------------------------


def write_data(sizes: Sizes, folder: Path) -> dict[str, Any]:
    """The history as a Delta table and a Parquet file, and the entity frames as Parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import WriterProperties, write_deltalake

    rng = np.random.default_rng(5)
    n = sizes.entities * sizes.history
    ids = np.repeat(np.arange(sizes.entities, dtype=np.int64), sizes.history)
    days = np.tile(np.arange(sizes.history, dtype=np.int64), sizes.entities)
    ts = T0_US + days * DAY_US + rng.integers(0, DAY_US // 2, n)
    utc = pa.timestamp("us", tz="UTC")
    columns: dict[str, Any] = {
        "entity_id": ids,
        "event_ts": pa.array(ts, utc),
        "created_ts": pa.array(ts + rng.integers(0, 1_000_000, n), utc),
    }
    for i, name in enumerate(FEATURES):
        columns[name] = rng.normal(size=n) if i < 5 else rng.integers(0, 1_000_000, n)
    history = pa.table(columns)
    delta, parquet = folder / "stats_delta", folder / "stats.parquet"
    props = WriterProperties(max_row_group_size=sizes.row_group, compression="SNAPPY")
    write_deltalake(str(delta), history, writer_properties=props)
    pq.write_table(history, parquet, row_group_size=sizes.row_group, compression="snappy")
    frames = {}
    for rows in sizes.entity_rows:
        path = folder / f"entity_{rows}.parquet"
        # ~1% unknown ids; times from a day before the history to 3 days after it.
        span = (sizes.history + 4) * DAY_US
        frame = pa.table(
            {
                "entity_id": rng.integers(0, int(sizes.entities * 1.01), rows),
                "event_timestamp": pa.array(T0_US - DAY_US + rng.integers(0, span, rows), utc),
            }
        )
        pq.write_table(frame, path)
        frames[rows] = str(path)
    latest = history.sort_by([("entity_id", "ascending"), ("event_ts", "descending")])
    first = np.r_[0, np.flatnonzero(np.diff(latest.column("entity_id").to_numpy())) + 1]
    return {
        "delta": str(delta),
        "parquet": str(parquet),
        "frames": frames,
        "latest": latest.take(first).select(["entity_id", *FEATURES]),
    }


# --- workers (each in a fresh process; heavy imports stay inside) ------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork+exec.
    with open("/proc/self/status") as status:
        line = next(ln for ln in status if ln.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _checks(table: Any) -> dict[str, Any]:
    import pyarrow.compute as pc

    return {
        "rows": table.num_rows,
        "f0_not_null": table.num_rows - table.column("f0").null_count,
        "f5_sum": pc.sum(table.column("f5")).as_py(),
        "f0_sum": pc.sum(table.column("f0")).as_py(),
    }


def worker_podium(cfg: dict[str, Any]) -> dict[str, Any]:
    """podium's point-in-time join over the Delta table's current files."""
    from datetime import timedelta

    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    from podium.features.offline import ViewSource, parquet_connection, point_in_time_join

    entity = pq.read_table(cfg["entity"])
    before, cpu = _rss_mb(), _cpu_seconds()
    start = time.perf_counter()
    view = ViewSource(
        "stats",
        "SELECT * FROM stats",
        ("entity_id",),
        "event_ts",
        "created_ts",
        timedelta(days=TTL_DAYS),
        tuple(FEATURES),
    )
    # As get_historical_features does for a local lake table: the Delta version's Parquet
    # files, read natively by DuckDB in a connection sealed to those files.
    files = [uri.removeprefix("file://") for uri in DeltaTable(cfg["delta"]).file_uris()]
    con = parquet_connection({"stats": files})
    out = point_in_time_join(entity, [view], sources={}, con=con)
    con.close()
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    timing = {"seconds": seconds, "cpu_seconds": cpu, "rss_before_mb": before}
    return {**timing, "peak_mb": _peak_mb(), **_checks(out)}


BARE_SQL = """
WITH v AS (
  SELECT entity_id, epoch_us(event_ts) AS ts, {features}
  FROM read_parquet('{parquet}')
  QUALIFY row_number() OVER (PARTITION BY entity_id, epoch_us(event_ts)
                             ORDER BY created_ts DESC) = 1
),
e AS (SELECT __row, entity_id, epoch_us(event_timestamp) AS ts FROM entity)
SELECT {ttl_features}
FROM e ASOF LEFT JOIN v ON e.entity_id = v.entity_id AND e.ts >= v.ts
ORDER BY e.__row
"""


def worker_bare(cfg: dict[str, Any]) -> dict[str, Any]:
    """The raw limit: one hand-written DuckDB ASOF join over the Parquet file."""
    import duckdb
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    entity = pq.read_table(cfg["entity"])
    before, cpu = _rss_mb(), _cpu_seconds()
    start = time.perf_counter()
    con = duckdb.connect(config={"threads": 2, "memory_limit": "4GB", "temp_directory": ""})
    rows = pa.array(np.arange(entity.num_rows, dtype=np.int64))
    con.register("entity", entity.append_column("__row", rows))
    ttl_us = TTL_DAYS * DAY_US
    query = BARE_SQL.format(
        features=", ".join(FEATURES),
        parquet=cfg["parquet"],
        ttl_features=", ".join(
            f"CASE WHEN v.ts >= e.ts - {ttl_us} THEN v.{f} END AS {f}" for f in FEATURES
        ),
    )
    features = con.sql(query).to_arrow_table()
    out = entity
    for name in FEATURES:
        out = out.append_column(name, features.column(name))
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    con.close()
    timing = {"seconds": seconds, "cpu_seconds": cpu, "rss_before_mb": before}
    return {**timing, "peak_mb": _peak_mb(), **_checks(out)}


def worker_sqlite(cfg: dict[str, Any]) -> dict[str, Any]:
    """The raw online limit: primary-key selects from a SQLite table of the latest values."""
    import random

    con = sqlite3.connect(cfg["sqlite"])
    rng = random.Random(3)
    ids = rng.sample(range(cfg["entities"]), 100)
    one = "SELECT * FROM latest WHERE entity_id = ?"
    many = f"SELECT * FROM latest WHERE entity_id IN ({','.join('?' * 100)})"
    out: dict[str, Any] = {}
    for label, query, args in (("one", one, lambda: [rng.choice(ids)]), ("hundred", many, None)):
        samples = []
        for _ in range(cfg["online_reps"]):
            params = args() if args else ids
            start = time.perf_counter()
            found = con.execute(query, params).fetchall()
            samples.append(time.perf_counter() - start)
        out[label] = samples
        out[f"{label}_rows"] = len(found)
    out["hundred_f5_sum"] = sum(row[6] for row in con.execute(many, ids).fetchall())
    out["ids"] = ids
    return out


def worker_podium_online(cfg: dict[str, Any]) -> dict[str, Any]:
    """podium's materialization of the whole history and its in-process online reads."""
    import random
    from datetime import UTC, datetime

    import redis
    from deltalake import DeltaTable

    from podium.config import Settings
    from podium.features.definitions import Entity, Feature, FeatureView
    from podium.platform import Installation

    home = Path(cfg["home"])
    settings = Settings(home=home, online_store_url=cfg["online_url"])
    installation = Installation(settings)
    p = installation.platform("bench")
    p.data.write("raw.stats", DeltaTable(cfg["delta"]).to_pyarrow_table(), mode="overwrite")
    entity = Entity("entity", join_keys=["entity_id"])
    dtypes = ["float64" if i < 5 else "int64" for i in range(len(FEATURES))]
    view = FeatureView(
        "stats",
        entities=[entity],
        source="raw.stats",
        timestamp_field="event_ts",
        created_timestamp_field="created_ts",
        features=[Feature(f, t) for f, t in zip(FEATURES, dtypes, strict=True)],
    )
    p.features.apply([entity, view])
    start = time.perf_counter()
    p.features.materialize(
        start=datetime(2025, 12, 1, tzinfo=UTC), end=datetime(2026, 3, 1, tzinfo=UTC)
    )
    out: dict[str, Any] = {"materialize_seconds": time.perf_counter() - start}
    refs = [f"stats:{f}" for f in FEATURES]
    ids = cfg["ids"]
    rng = random.Random(3)
    read = p.features.get_online_features
    for _ in range(20):
        read([{"entity_id": ids[0]}], refs)
    for label, batch in (("one", None), ("hundred", [{"entity_id": i} for i in ids])):
        samples = []
        for _ in range(cfg["online_reps"]):
            rows = batch or [{"entity_id": rng.choice(ids)}]
            t = time.perf_counter()
            read(rows, refs)
            samples.append(time.perf_counter() - t)
        out[label] = samples
    found = read([{"entity_id": i} for i in ids], refs)
    out["hundred_f5_sum"] = sum(v for v in found.values["f5"] if v is not None)
    if cfg["online_url"].startswith("redis"):
        p.features.online_store.drop("bench/stats/v1")
        redis.Redis.from_url(cfg["online_url"]).close()
    installation.close()
    return out


WORKERS = {
    "podium": worker_podium,
    "podium_online": worker_podium_online,
    "bare": worker_bare,
    "sqlite": worker_sqlite,
}


# --- the Feast side (run by the Feast venv's Python; prints "RESULT <json>") ------------

FEAST_SCRIPT = r"""
import json, os, resource, sys, time, warnings
from datetime import datetime, timedelta, timezone
warnings.filterwarnings("ignore")
import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64

cfg = json.loads(open(sys.argv[1]).read())
repo = cfg["repo"]
features = [f"f{i}" for i in range(10)]
refs = [f"stats:{f}" for f in features]

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def peak_mb():
    with open("/proc/self/status") as status:
        return int(next(ln for ln in status if ln.startswith("VmHWM:")).split()[1]) / 1024

def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

if cfg["mode"] == "apply":
    os.makedirs(repo, exist_ok=True)
    with open(os.path.join(repo, "feature_store.yaml"), "w") as f:
        f.write(
            "project: bench\n"
            f"registry: {repo}/registry.db\n"
            "provider: local\n"
            f"online_store:\n  type: sqlite\n  path: {repo}/online.db\n"
            "offline_store:\n  type: duckdb\n"
        )
    store = FeatureStore(repo_path=repo)
    entity = Entity(name="entity", join_keys=["entity_id"], value_type=ValueType.INT64)
    source = FileSource(
        path=cfg["parquet"], timestamp_field="event_ts", created_timestamp_column="created_ts"
    )
    schema = [Field(name=f, dtype=Float64 if i < 5 else Int64) for i, f in enumerate(features)]
    view = FeatureView(
        name="stats", entities=[entity], ttl=timedelta(days=cfg["ttl_days"]),
        schema=schema, source=source, online=True,
    )
    store.apply([entity, view])
    import feast
    out = {"version": feast.__version__}
elif cfg["mode"] == "historical":
    store = FeatureStore(repo_path=cfg["repo"])
    entity_df = pd.read_parquet(cfg["entity"])
    before, cpu = rss_mb(), cpu_seconds()
    start = time.perf_counter()
    df = store.get_historical_features(entity_df=entity_df, features=refs).to_df()
    seconds = time.perf_counter() - start
    out = {
        "seconds": seconds, "cpu_seconds": cpu_seconds() - cpu, "rss_before_mb": before,
        "peak_mb": peak_mb(), "rows": len(df),
        "f0_not_null": int(df["f0"].notna().sum()), "f5_sum": int(df["f5"].sum()),
        "f0_sum": float(df["f0"].sum()),
    }
else:  # online: materialize everything, then read it back
    store = FeatureStore(repo_path=cfg["repo"])
    utc = timezone.utc
    start = time.perf_counter()
    store.materialize(
        start_date=datetime(2025, 12, 1, tzinfo=utc), end_date=datetime(2026, 3, 1, tzinfo=utc)
    )
    out = {"materialize_seconds": time.perf_counter() - start}
    ids = cfg["ids"]
    def read(rows):
        return store.get_online_features(features=refs, entity_rows=rows).to_dict()
    for _ in range(20):
        read([{"entity_id": ids[0]}])
    for label, batch in (("one", None), ("hundred", [{"entity_id": i} for i in ids])):
        samples = []
        for n in range(cfg["online_reps"]):
            rows = batch or [{"entity_id": ids[n % len(ids)]}]
            t = time.perf_counter()
            found = read(rows)
            samples.append(time.perf_counter() - t)
        out[label] = samples
    found = read([{"entity_id": i} for i in ids])
    out["hundred_f5_sum"] = sum(v for v in found["f5"] if v is not None)
    out["peak_mb"] = peak_mb()
print("RESULT " + json.dumps(out))
"""


def run_json(cmd: list[str], cfg: dict[str, Any], tmp: Path, what: str) -> Any:
    """Run a worker with ``cfg`` as a JSON file; its ``RESULT`` line, parsed."""
    config = tmp / "worker.json"
    config.write_text(json.dumps(cfg))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(FEAST_USAGE="False", DO_NOT_TRACK="true")  # no calls home
    done = subprocess.run(
        [*cmd, str(config)], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp, check=False
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        sys.exit(f"{what} failed (exit {done.returncode}); see its output above")
    return json.loads(lines[-1].removeprefix("RESULT "))


def ours(worker: str, cfg: dict[str, Any], tmp: Path) -> Any:
    """Run one of this file's workers in a fresh interpreter."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", worker]
    return run_json(cmd, cfg, tmp, f"the {worker} worker")


def feast(python: Path, cfg: dict[str, Any], tmp: Path) -> Any:
    script = tmp / "feast_bench.py"
    script.write_text(FEAST_SCRIPT)
    return run_json([str(python), str(script)], cfg, tmp, f"Feast ({cfg['mode']})")


# --- measurements, checks and the table --------------------------------------------------


def bench_historical(
    sizes: Sizes, data: dict[str, Any], python: Path, repo: Path, tmp: Path
) -> dict[str, Any]:
    """Time and peak memory of each side per entity frame; exits if the answers differ."""
    from rich.console import Console

    console = Console(stderr=True)
    results: dict[str, Any] = {}
    for rows, path in data["frames"].items():
        cfg = {"entity": path, "delta": data["delta"], "parquet": data["parquet"]}
        runs: dict[str, list[Any]] = {"bare": [], "podium": []}
        for rep in range(sizes.reps):
            for side in ("bare", "podium"):
                console.print(f"historical {rows:,} rows: {side} (rep {rep + 1})")
                runs[side].append(ours(side, cfg, tmp))
        console.print(f"historical {rows:,} rows: Feast")
        runs["feast"] = [feast(python, {**cfg, "mode": "historical", "repo": str(repo)}, tmp)]
        verify_historical(rows, runs)
        results[str(rows)] = {
            side: {
                "seconds": statistics.median(r["seconds"] for r in reps),
                "cpu_seconds": statistics.median(r["cpu_seconds"] for r in reps),
                "peak_mb": max(r["peak_mb"] for r in reps),
                "join_mb": max(r["peak_mb"] - r["rss_before_mb"] for r in reps),
                "raw": reps,
            }
            for side, reps in runs.items()
        }
    return results


def verify_historical(rows: int, runs: dict[str, list[Any]]) -> None:
    keys = ("rows", "f0_not_null", "f5_sum")
    expected = {k: runs["bare"][0][k] for k in keys}
    problems = []
    for side, reps in runs.items():
        for rep in reps:
            got = {k: rep[k] for k in keys}
            if got != expected:
                problems.append(f"{side} returned {got}, the bare join {expected}")
            if abs(rep["f0_sum"] - runs["bare"][0]["f0_sum"]) > 1e-6 * max(1, rows):
                problems.append(f"{side}'s f0 sum {rep['f0_sum']} differs from the bare join's")
    if expected["rows"] != rows or not 0 < expected["f0_not_null"] < rows:
        problems.append(f"implausible answer {expected} for {rows} entity rows")
    if problems:
        sys.exit(f"historical retrieval, {rows:,} rows, failed verification: {problems}")


def bench_online(
    sizes: Sizes, data: dict[str, Any], python: Path, repo: Path, tmp: Path
) -> dict[str, Any]:
    """Feast's materialization and online reads, and the bare SQLite limit."""
    db = tmp / "latest.db"
    latest = data["latest"]
    with sqlite3.connect(db) as con:
        columns = ", ".join(f"{f} {'REAL' if i < 5 else 'INTEGER'}" for i, f in enumerate(FEATURES))
        con.execute(f"CREATE TABLE latest (entity_id INTEGER PRIMARY KEY, {columns})")
        con.executemany(
            f"INSERT INTO latest VALUES ({','.join('?' * 11)})",
            zip(*(latest.column(c).to_pylist() for c in latest.column_names), strict=True),
        )
    cfg = {"sqlite": str(db), "entities": sizes.entities, "online_reps": sizes.online_reps}
    raw = ours("sqlite", cfg, tmp)
    fe = feast(python, {**cfg, "mode": "online", "repo": str(repo), "ids": raw["ids"]}, tmp)
    ours_online = {}
    for backend, url in (
        ("sqlite", f"sqlite:///{tmp / 'podium-online.db'}"),
        ("redis", os.environ.get("PODIUM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")),
    ):
        podium_cfg = {
            **cfg,
            "delta": data["delta"],
            "home": str(tmp / f"podium-home-{backend}"),
            "online_url": url,
            "ids": raw["ids"],
        }
        ours_online[backend] = ours("podium_online", podium_cfg, tmp)
    by_id = dict(
        zip(latest.column("entity_id").to_pylist(), latest.column("f5").to_pylist(), strict=True)
    )
    expected = sum(by_id[i] for i in raw["ids"])
    sums = {
        "SQLite": raw["hundred_f5_sum"],
        "Feast": fe["hundred_f5_sum"],
        **{f"podium ({b})": r["hundred_f5_sum"] for b, r in ours_online.items()},
    }
    if any(total != expected for total in sums.values()):
        sys.exit(f"online reads returned f5 sums {sums}, not the latest values' {expected}")
    return {"raw": raw, "feast": fe, "podium": ours_online}


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(hist: dict[str, Any], online: dict[str, Any], info: dict[str, Any]) -> list[Any]:
    """Print the table; return its rows (metric, Feast, raw limit, podium, ratios, ok)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"Feature store: podium vs Feast {info['feast']}",
        caption="vs raw: podium / raw limit (lower is better); vs Feast: Feast / podium",
    )
    for col in ("metric", "Feast", "raw limit", "podium", "vs raw", "vs Feast", "target", "ok"):
        table.add_column(col, justify="left" if col in ("metric", "target") else "right")
    rows: list[Any] = []

    def add(label: str, f: float | None, r: float | None, p: float | None, target: str,
            ok: bool | None, fmt: str = "{:,.2f}") -> None:  # fmt: skip
        vs_raw = p / r if p is not None and r else None
        vs_feast = f / p if p and f is not None else None
        cells = ["-" if v is None else fmt.format(v) for v in (f, r, p)] + [
            "-" if v is None else f"{v:,.2f}x" for v in (vs_raw, vs_feast)
        ]
        verdict = "-" if ok is None else ("[green]pass" if ok else "[red]FAIL")
        table.add_row(label, *cells, target, verdict)
        rows.append([label, f, r, p, vs_raw, vs_feast, target, ok])

    last = list(hist)[-1]
    for size, sides in hist.items():
        f, r, p = (sides[s]["seconds"] for s in ("feast", "bare", "podium"))
        big = size == last
        ok = (p / r <= 1.3 and f / p >= 3) if big else None
        add(f"historical {int(size):,} rows, s", f, r, p, "<=1.3x raw, >=3x" if big else "-", ok)
        f, r, p = (sides[s]["cpu_seconds"] for s in ("feast", "bare", "podium"))
        add("  CPU time (user+sys), s", f, r, p, "-", None)
        f, r, p = (sides[s]["peak_mb"] for s in ("feast", "bare", "podium"))
        add("  peak RSS of the process, MB", f, r, p, "<= 1.3x raw" if big else "-",
            p / r <= 1.3 if big else None, "{:,.0f}")  # fmt: skip
        f, r, p = (sides[s]["join_mb"] for s in ("feast", "bare", "podium"))
        add("  peak RSS above the pre-call RSS, MB", f, r, p, "<= 1.3x raw" if big else "-",
            p / r <= 1.3 if big else None, "{:,.0f}")  # fmt: skip
    raw, fe = online["raw"], online["feast"]
    for backend, ours_online in online["podium"].items():
        for label, key, q, target, limit in ONLINE_ROWS:
            p = quantile(ours_online[key], q)
            ok = None if limit is None else p <= limit
            add(f"{label} ({backend})", quantile(fe[key], q), quantile(raw[key], q), p, target,
                ok, "{:,.3f}")  # fmt: skip
        f, p = fe["materialize_seconds"], ours_online["materialize_seconds"]
        add(f"materialize the history ({backend}), s", f, None, p, ">= 10x", f / p >= 10)
    Console(width=130).print(table)
    return rows


# The online rows: label, which read, quantile, target, podium's limit in ms.
ONLINE_ROWS: list[tuple[str, str, float, str, float | None]] = [
    ("online 1 entity p50, ms", "one", 0.50, "-", None),
    ("online 1 entity p99, ms", "one", 0.99, "<= 0.5 ms", 0.5),
    ("online 100 entities p50, ms", "hundred", 0.50, "<= 2.5 ms", 2.5),
    ("online 100 entities p99, ms", "hundred", 0.99, "-", None),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("config", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--venv", type=Path, default=None, help="the Feast venv folder")
    args = parser.parse_args(argv)
    if args.worker:
        result = WORKERS[args.worker](json.loads(args.config.read_text()))
        print("RESULT " + json.dumps(result))
        return 0

    from _anchor_venv import AnchorVenvError, anchor_python, default_venv_dir
    from _machine import machine_info
    from rich.console import Console

    console = Console(stderr=True)
    sizes = QUICK if args.quick else Sizes()
    try:
        python = anchor_python(args.venv or default_venv_dir("feast"), FEAST_REQUIREMENTS)
    except AnchorVenvError as exc:
        console.print(f"[red]cannot set up Feast:[/] {exc}")
        return 2
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as name:
        tmp = Path(name)
        console.print(f"writing the data: {sizes}")
        data = write_data(sizes, tmp)
        repo = tmp / "feast_repo"
        version = feast(python, {"mode": "apply", "repo": str(repo), "parquet": data["parquet"],
                                 "ttl_days": TTL_DAYS}, tmp)["version"]  # fmt: skip
        hist = bench_historical(sizes, data, python, repo, tmp)
        console.print("online reads and materialization: Feast and bare SQLite")
        online = bench_online(sizes, data, python, repo, tmp)
    info = machine_info(load_before, feast=version)
    Console().print(", ".join(f"{k}: {v}" for k, v in info.items()))
    rows = report(hist, online, info)
    if args.json:
        doc = {"machine": info, "sizes": asdict(sizes), "rows": rows}
        args.json.write_text(json.dumps({**doc, "historical": hist, "online": online}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
