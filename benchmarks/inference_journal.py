"""The inference-log journal's cost (ADR 0046): journal on vs off, one replica each.

Two measures, in one run on the same machine:

1. **Served**: ``podium serve churn`` twice on the embedded default, one with
   ``PODIUM_INFERENCE_JOURNAL=on`` (the default) and one with ``off``; wrk drives each with
   32 connections for ``--seconds``, alternating for ``--rounds`` rounds. Prints the
   median requests/s and p99 of each and the ratio on/off.
2. **Appended**: ``InferenceLogWriter.append`` in this process, with and without a
   journal (a folder in a temporary directory), over ``--records`` records: microseconds
   per record (the part of the prediction path the journal adds to).

Run: ``python benchmarks/inference_journal.py`` (``--seconds 3 --rounds 1`` for a quick look).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _machine import machine_info
from serve_workers import ROW, VENV_BIN, free_port, prepare_bench_home, wait_ready, wrk


def appended(records: int, journal: Path | None) -> float:
    """Microseconds per ``append`` of ``records`` records (nothing is flushed meanwhile)."""
    from podium.serving.log.journal import InferenceJournal
    from podium.serving.log.writer import InferenceLogWriter, InferenceRecord

    log = InferenceLogWriter(
        lambda batch: None,
        flush_seconds=3600,
        batch_size=records + 1,
        max_queued=records + 1,
        journal=None if journal is None else InferenceJournal(journal),
    )
    now = datetime.now(UTC).timestamp()
    rows = [
        InferenceRecord(
            f"r{i}", now, "churn", "churn", "1", "primary", False, 1.5, ROW, 1, 0.73, "ok"
        )
        for i in range(records)
    ]
    started = time.perf_counter()
    for row in rows:
        log.append(row)
    elapsed = time.perf_counter() - started
    log.close()
    return elapsed / records * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="podium-journal-bench-") as scratch:
        tmp = Path(scratch)
        per_append = {
            "off": statistics.median(appended(args.records, None) for _ in range(3)),
            "on": statistics.median(
                appended(args.records, tmp / "journal" / str(i)) for i in range(3)
            ),
        }
        env, secret, script = prepare_bench_home(tmp)
        servers: dict[str, dict[str, Any]] = {}
        runs: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
        try:
            for mode in runs:
                port = free_port()
                proc = subprocess.Popen(
                    [str(VENV_BIN / "podium"), "serve", "churn", "--port", str(port)],
                    env={**env, "PODIUM_INFERENCE_JOURNAL": mode},
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                )  # fmt: skip
                servers[mode] = {"proc": proc, "port": port}
            for server in servers.values():
                wait_ready(
                    f"http://127.0.0.1:{server['port']}/v1/predictions", secret, server["proc"]
                )
            order = ["on", "off"]
            for _ in range(args.rounds):
                for mode in order:
                    url = f"http://127.0.0.1:{servers[mode]['port']}/v1/predictions"
                    figures = wrk(url, script, args.seconds, None)
                    runs[mode].append(figures)
                    print(f"journal {mode}: {figures}", file=sys.stderr)
                order.reverse()
        finally:
            for server in servers.values():
                server["proc"].send_signal(signal.SIGTERM)
                server["proc"].wait(timeout=60)
    info = machine_info(load_before, wrk="wrk -t1 -c32, not pinned")
    median = {mode: statistics.median(r["rps"] for r in runs[mode]) for mode in runs}
    p99 = {mode: statistics.median(r["p99_ms"] for r in runs[mode]) for mode in runs}
    print(f"\npodium serve, journal on vs off, 32 connections, {args.seconds} s x {args.rounds}")
    print(f"{'journal':8s} {'req/s':>9s} {'p99 ms':>8s} {'append us':>10s}")
    for mode in ("on", "off"):
        print(f"{mode:8s} {median[mode]:9.0f} {p99[mode]:8.1f} {per_append[mode]:10.2f}")
    ratio = median["on"] / median["off"]
    slower = per_append["on"] / per_append["off"]
    print(f"requests/s on/off: {ratio:.3f}x; append on/off: {slower:.2f}x")
    print(json.dumps(info))
    if args.json:
        payload = {"runs": runs, "append_us": per_append, "ratio": ratio, "machine": info}
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
