"""A full disk under PODIUM_HOME: clear errors, no corrupt table, recovery without restart.

PODIUM_HOME (lake, artifacts, SQLite metadata database) lives on a 6 MB tmpfs mounted
for the test (the suite runs as root; elsewhere it fails loudly, it never skips). A
``podium up`` server takes table writes until the disk is full. Guarantees checked:

* the write that finds the disk full is a 507 (or 503) problem+json with a remedy,
  never a 500 and never a hang;
* the table still reads, at a version holding every acknowledged write whole (at most
  the failed write's own commit besides: its Delta commit can land before the metadata
  database refuses the catalog update), and the SQLite database passes its integrity
  check;
* once space is freed, the same server takes writes again.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from tests.faults.conftest import podium_up, server_environment

ROWS = 20_000  # ~330 kB of random floats per write: incompressible


@contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (needs root: the CI container has it)."""
    where.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.fail("the full-disk test mounts a tmpfs and must run as root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    assert mounted.returncode == 0, f"cannot mount a tmpfs here: {mounted.stderr}"
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _batch(i: int) -> bytes:
    values = np.random.default_rng(i).random(ROWS)
    sink = io.BytesIO()
    pq.write_table(pa.table({"batch": np.full(ROWS, i), "x": values}), sink)
    return sink.getvalue()


@pytest.mark.parametrize("database_on", ["the-full-disk", "another-disk"])
def test_a_full_disk_is_a_clear_error_and_leaves_no_corrupt_table(
    tmp_path: Path, database_on: str
) -> None:
    with small_disk(tmp_path / "disk", "6m") as disk:
        home = disk / "home"
        # On the full disk SQLite fills up first; elsewhere the lake's own write does.
        database = (home if database_on == "the-full-disk" else tmp_path) / "podium.db"
        env = server_environment(home, database_url=f"sqlite:///{database}", scheduler="off")
        with (
            podium_up(env) as server,
            httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as client,
        ):
            reserve = disk / "reserve"  # freed later, to show recovery
            reserve.write_bytes(b"\0" * 1_500_000)
            upload = {"Content-Type": "application/vnd.apache.parquet"}
            acknowledged: list[int] = []
            refused: httpx.Response | None = None
            for i in range(40):
                answer = client.post("/v1/tables/raw.events/rows", content=_batch(i),
                                     headers=upload)  # fmt: skip
                if answer.status_code != 201:
                    refused = answer
                    break
                acknowledged.append(i)
            assert refused is not None, "the disk never filled up"
            assert acknowledged, f"not one write fitted: {refused.status_code} {refused.text}"
            assert refused.status_code == 507, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            problem = refused.json()
            assert problem["remedy"] and "disk" in (problem["detail"] + problem["remedy"])

            # The table reads, every acknowledged write whole, at most the failed one more.
            rows = client.get(
                "/v1/tables/raw.events/rows", params={"format": "arrow", "columns": "batch"}
            )
            assert rows.status_code == 200, rows.text
            read = pa.ipc.open_stream(rows.content).read_all().column("batch").to_pylist()
            batches = sorted(set(read))
            assert batches[: len(acknowledged)] == acknowledged
            assert batches in (acknowledged, [*acknowledged, len(acknowledged)])
            assert len(read) == ROWS * len(batches)

            with sqlite3.connect(database) as db:
                assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

            # Space freed: the same server writes again.
            reserve.unlink()
            again = client.post("/v1/tables/raw.events/rows", content=_batch(99),
                                headers={**upload})  # fmt: skip
            assert again.status_code == 201, again.text
