"""Steps and pipelines the pipeline tests run (importable, so a server can run them too).

Module-level switches let a test make a step fail, then resume; ``CALLS`` records every
step body that ran, so a test can prove a cached or reused step did not run.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd

import podium
from podium.platform import Platform

CALLS: list[str] = []
FAIL: dict[str, bool] = {"featurize": False}
PLATFORM: dict[str, Platform] = {}
BARRIER: dict[str, threading.Barrier] = {}


def reset() -> None:
    CALLS.clear()
    FAIL["featurize"] = False
    PLATFORM.clear()
    BARRIER["pair"] = threading.Barrier(2, timeout=20)


@podium.step
def prepare(n: int) -> pd.DataFrame:
    CALLS.append("prepare")
    print(f"preparing {n} rows")
    return pd.DataFrame({"x": list(range(n))})


@podium.step(cpus=1, memory="10MB")
def featurize(df: pd.DataFrame, power: int = 2) -> pd.DataFrame:
    CALLS.append("featurize")
    if FAIL["featurize"]:
        raise RuntimeError("featurize was told to fail")
    return df.assign(y=df["x"] ** power)


@podium.step
def train(df: pd.DataFrame, scale: float = 1.0) -> float:
    CALLS.append("train")
    return float(df["y"].sum()) * scale


@podium.pipeline("three")
def three(n: int = 4, scale: float = 1.0) -> Any:
    return train(featurize(prepare(n)), scale=scale)


@podium.step(cpus=0.5, cache=False)
def meet(side: str) -> str:
    """Waits until the other side is running too: only parallel steps ever both return."""
    BARRIER["pair"].wait()
    return side


@podium.step(cache=False)
def join(left: str, right: str) -> str:
    return left + right


@podium.pipeline("pair")
def pair() -> Any:
    return join(meet("left"), meet("right"))


@podium.step
def square(x: int) -> int:
    CALLS.append(f"square({x})")
    return x * x


@podium.step
def total(parts: list[int]) -> int:
    return sum(parts)


@podium.pipeline("fan-out")
def fan_out(items: list[int]) -> Any:
    squares = podium.map(square, items)
    return {"squares": squares, "total": total(squares)}


@podium.step
def count_rows(table: str) -> int:
    CALLS.append("count_rows")
    version = getattr(table, "version", None)
    return int(PLATFORM["p"].data.read(table, version=version).num_rows)


@podium.pipeline("lake")
def lake(table: str = "raw.nums") -> Any:
    return count_rows(table)
