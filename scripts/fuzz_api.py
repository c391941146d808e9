"""Fuzz the whole API longer than CI does: the schemathesis test with more examples.

    python scripts/fuzz_api.py --examples 50 --seed 7

Runs ``tests/api/test_fuzz_api.py`` (all four phases, every check, an admin key, loopback
uvicorn) with ``PODIUM_FUZZ_EXAMPLES``/``PODIUM_FUZZ_SEED``/``PODIUM_FUZZ_STATEFUL_STEPS``
set; exits with pytest's status. See docs/adr/0037-api-fuzzing.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50, help="examples per operation")
    parser.add_argument("--seed", type=int, default=18, help="the schemathesis seed")
    parser.add_argument("--stateful-steps", type=int, default=20, help="steps per scenario")
    parser.add_argument(
        "--phases", default="examples,coverage,fuzzing,stateful", help="comma-separated"
    )
    args = parser.parse_args()
    env = dict(
        os.environ,
        PODIUM_FUZZ_EXAMPLES=str(args.examples),
        PODIUM_FUZZ_SEED=str(args.seed),
        PODIUM_FUZZ_STATEFUL_STEPS=str(args.stateful_steps),
        PODIUM_FUZZ_PHASES=args.phases,
    )
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    command.append(str(ROOT / "tests" / "api" / "test_fuzz_api.py"))
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
