"""Issue 15's benchmark in one run: batch inference, streaming inference, the event bus.

Runs, one after the other on the same machine, the three parts that each stand alone:

* ``benchmarks/batch.py``: 5M rows scored by podium (local and Ray) vs the one-process
  Arrow-scan limit and vs Ray Data;
* ``benchmarks/streaming.py``: micro-batched ``podium stream`` vs one predict per message,
  on Redis Streams and NATS JetStream, and end-to-end p99 at 1k msg/s offered;
* ``benchmarks/event_bus.py``: a replica's version switch after the event, per bus backend.

    python benchmarks/batch_streaming.py [--quick] [--json results.json]

With ``--json`` each part writes ``results.<part>.json`` beside the given path.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

PARTS = ("batch", "streaming", "event_bus")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each part's smoke-test size")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parent
    failed = []
    for part in PARTS:
        command = [sys.executable, str(here / f"{part}.py")]
        if args.quick:
            command.append("--quick")
        if args.json:
            command += ["--json", str(args.json.with_suffix(f".{part}.json"))]
        print(f"\n== {part} ==", flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(part)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
