"""Encryption at rest: model load time with artifacts sealed (AES-256-GCM) vs in clear.

    python benchmarks/encryption.py              # a ~10 MB model, 15 loads each way
    python benchmarks/encryption.py --mb 50 --loads 9

The anchor is podium itself with ``PODIUM_ENCRYPTION=off``: the same fitted scikit-learn
model, padded with a float64 array to the size asked for, registered once in each of two
embedded installations, then loaded by ``p.registry.load`` alternately, so both sides see
the same machine load. Prints the median and p95 of each and the ratio (sealed / clear).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import machine_info, p95
from sklearn.linear_model import LogisticRegression

from podium.config import Settings
from podium.platform import Installation


def _model(megabytes: float) -> LogisticRegression:
    rng = np.random.default_rng(0)
    x = rng.random((200, 4))
    model = LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))
    model.padding_ = rng.random(int(megabytes * 1024 * 1024 / 8))  # the bulk of the artifact
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=10.0, help="artifact size in MB")
    parser.add_argument("--loads", type=int, default=15, help="loads per side")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    model = _model(args.mb)
    example = pd.DataFrame(np.zeros((2, 4)), columns=["a", "b", "c", "d"])
    with tempfile.TemporaryDirectory() as work:
        sides = {}
        for name, mode in (("clear", "off"), ("sealed", "on")):
            inst = Installation(Settings(home=Path(work) / name, encryption=mode))
            p = inst.platform("bench", user="local:bench")
            started = time.perf_counter()
            mv = p.registry.register("big", model, input_example=example)
            register_s = time.perf_counter() - started
            sides[name] = (inst, p, f"big/{mv.version}", register_s, [])
        for _ in range(args.loads):
            for name in ("clear", "sealed"):
                _, p, ref, _, times = sides[name]
                started = time.perf_counter()
                p.registry.load(ref)
                times.append(time.perf_counter() - started)
        blob = next((Path(work) / "sealed").rglob("blobs/??/*"))
        print(f"machine: {machine_info(load_before, cryptography=version('cryptography'))}")
        print(f"artifact: {blob.stat().st_size / 1e6:.1f} MB sealed, {args.loads} loads each")
        print(f"{'':8} {'register':>10} {'load median':>12} {'load p95':>10}")
        for name in ("clear", "sealed"):
            _, _, _, register_s, times = sides[name]
            print(
                f"{name:8} {register_s * 1000:8.0f} ms {statistics.median(times) * 1000:9.1f} ms "
                f"{p95(times) * 1000:7.1f} ms"
            )
        ratio = statistics.median(sides["sealed"][4]) / statistics.median(sides["clear"][4])
        print(f"ratio (sealed / clear load median): {ratio:.2f}x")
        for inst, *_ in sides.values():
            inst.close()


if __name__ == "__main__":
    main()
