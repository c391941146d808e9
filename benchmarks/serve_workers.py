"""``podium serve --workers 2`` vs ``--workers 1``: requests/s at 32 connections, wrk.

One scikit-learn churn model (LogisticRegression on 10 numeric features) is deployed on
the embedded default (cache off, so every request runs the model) and served twice:
``podium serve churn --workers 1`` and ``--workers 2`` (each worker a full replica, the
port shared with SO_REUSEPORT). wrk drives each with 32 connections for ``--seconds``,
the two servers alternating for ``--rounds`` rounds; the median requests/s per server
and their ratio are printed.

How the load generator shares the cores: wrk runs one thread (``-t1``, at most one core
of work; it needs a small share of one, as a Python server's request costs far more than
wrk's) and is not pinned (``taskset -c 0-N`` over every core), so the scheduler places it
and the workers like any other processes. With ``--pin-wrk CPU`` it is pinned to one CPU
instead. Run: ``python benchmarks/serve_workers.py`` (``--seconds 3 --rounds 1`` for a
quick look).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from _machine import machine_info

FEATURES = [f"f{i}" for i in range(10)]
ROW = {name: round(0.1 * i + 0.5, 3) for i, name in enumerate(FEATURES)}
VENV_BIN = Path(sys.executable).parent
CONNECTIONS = 32

SETUP = """
import numpy as np, pandas as pd, podium
from sklearn.linear_model import LogisticRegression
from podium.access.roles import Role
from podium.config import Settings
from podium.platform import Installation
names = {names!r}
rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(size=(2000, 10)), columns=names)
labels = (frame["f0"] + 0.5 * frame["f1"] - frame["f2"] > 0).astype(int)
model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
p = podium.connect(project="bench")
v1 = p.registry.register("churn", model, input_example=frame[:5])
p.deployments.create("churn", model=v1.ref, cache={{"enabled": False}})
inst = Installation(Settings(project="bench"))
_, secret = inst.keys.create("bench", Role.READER, name="bench")
print(secret)
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body!r}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {secret}"
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_bench_home(tmp: Path) -> tuple[dict[str, str], str, Path]:
    """A home under ``tmp`` with the churn deployment (:data:`SETUP`): the environment
    that points at it, a reader key, and the wrk script that predicts with that key."""
    env = {**os.environ, "PODIUM_HOME": str(tmp / "home"), "PODIUM_PROJECT": "bench"}
    for key in ("PODIUM_URL", "PODIUM_DATABASE_URL", "PODIUM_STORAGE_URL"):
        env.pop(key, None)
    setup = textwrap.dedent(SETUP.format(names=FEATURES))
    done = subprocess.run(
        [sys.executable, "-c", setup], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    secret = done.stdout.strip().splitlines()[-1]
    script = tmp / "predict.lua"
    body = json.dumps({"model_id": "churn", "features": ROW})
    script.write_text(WRK_SCRIPT.format(body=body, secret=secret))
    return env, secret, script


def wait_ready(url: str, secret: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    """Wait until a prediction succeeds (every worker listens once its model is warm)."""
    import httpx

    deadline = time.monotonic() + timeout
    body = {"model_id": "churn", "features": ROW}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            answer = httpx.post(url, json=body, headers={"authorization": f"Bearer {secret}"})
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server did not start")


def workers_listening(port: int) -> int:
    done = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
    return len([line for line in done.stdout.splitlines() if line.strip()])


def wrk(url: str, script: Path, seconds: int, pin: str | None) -> dict[str, float]:
    cpus = pin if pin is not None else f"0-{(os.cpu_count() or 1) - 1}"
    command = ["taskset", "-c", cpus, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    done = subprocess.run(
        [*command, "--latency", "-s", str(script), url], capture_output=True, text=True, check=True
    )
    text = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    p99_ms = float("nan")
    if p99:
        value, unit = float(p99.group(1)), p99.group(2)
        p99_ms = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return {"rps": rps, "non_2xx": float(errors.group(1)) if errors else 0.0, "p99_ms": p99_ms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pin-wrk", default=None, help="pin wrk to these CPUs (taskset -c)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="podium-workers-bench-") as scratch:
        tmp = Path(scratch)
        env, secret, script = prepare_bench_home(tmp)
        servers: dict[int, dict[str, Any]] = {}
        try:
            for workers in (1, 2):
                port = free_port()
                proc = subprocess.Popen(
                    [str(VENV_BIN / "podium"), "serve", "churn", "--port", str(port),
                     "--workers", str(workers)],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                )  # fmt: skip
                servers[workers] = {"proc": proc, "port": port}
            for workers, server in servers.items():
                url = f"http://127.0.0.1:{server['port']}/v1/predictions"
                wait_ready(url, secret, server["proc"])
                deadline = time.monotonic() + 300
                while workers_listening(server["port"]) < workers:
                    assert time.monotonic() < deadline, "the workers did not all start"
                    time.sleep(0.3)
            runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
            order = [1, 2]
            for _ in range(args.rounds):
                for workers in order:
                    url = f"http://127.0.0.1:{servers[workers]['port']}/v1/predictions"
                    figures = wrk(url, script, args.seconds, args.pin_wrk)
                    runs[workers].append(figures)
                    print(f"--workers {workers}: {figures}", file=sys.stderr)
                order.reverse()
        finally:
            for server in servers.values():
                server["proc"].send_signal(signal.SIGTERM)
                server["proc"].wait(timeout=60)
    info = machine_info(load_before, wrk="wrk -t1 -c32, " + (args.pin_wrk or "not pinned"))
    median = {w: statistics.median(r["rps"] for r in runs[w]) for w in runs}
    print(f"\npodium serve --workers N, {CONNECTIONS} connections, {args.seconds} s x "
          f"{args.rounds} rounds (median requests/s)")  # fmt: skip
    print(f"{'server':14s} {'req/s':>9s} {'p99 ms':>8s} {'non-2xx':>8s}")
    for workers in runs:
        p99 = statistics.median(r["p99_ms"] for r in runs[workers])
        non_2xx = sum(r["non_2xx"] for r in runs[workers])
        print(f"--workers {workers:<4d} {median[workers]:9.0f} {p99:8.1f} {non_2xx:8.0f}")
    ratio = median[2] / median[1]
    print(f"ratio --workers 2 / --workers 1: {ratio:.2f}x")
    print(json.dumps(info))
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "ratio": ratio, "machine": info}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
