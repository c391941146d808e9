"""Pyfunc models that misbehave on purpose, for the fallback chain and breaker tests.

They are registered through the registry (pickled), so they live in an importable module.
``SWITCH`` lets a test make :class:`FlakyModel` fail or recover while it is being served.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

SWITCH: dict[str, bool] = {"fail": False}
LOAD_GATE = threading.Event()
"""Loading a :class:`GatedModel` waits until this is set (it is, unless a test clears it)."""
LOAD_GATE.set()


class ConstantModel:
    """Predicts ``value`` for every row."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, rows: Any) -> np.ndarray[Any, Any]:
        return np.full(len(rows), self.value)


class RaisingModel:
    """Raises on every call."""

    def predict(self, rows: Any) -> np.ndarray[Any, Any]:
        raise RuntimeError("the model crashed")


class HangingModel:
    """Sleeps ``seconds`` before answering (longer than the deployment's timeout)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def predict(self, rows: Any) -> np.ndarray[Any, Any]:
        time.sleep(self.seconds)
        return np.zeros(len(rows))


class GarbageModel:
    """Returns NaN for every row."""

    def predict(self, rows: Any) -> np.ndarray[Any, Any]:
        return np.full(len(rows), np.nan)


class FlakyModel:
    """Raises while ``SWITCH["fail"]`` is set, else predicts 1.0."""

    def predict(self, rows: Any) -> np.ndarray[Any, Any]:
        if SWITCH["fail"]:
            raise RuntimeError("flaky model is down")
        return np.ones(len(rows))


class GatedModel:
    """Predicts 1.0; loading it (unpickling) waits for ``LOAD_GATE``, so a test can hold
    a server in its warm-up."""

    def __init__(self) -> None:
        self.value = 1.0  # some state, so unpickling calls __setstate__

    def __setstate__(self, state: dict[str, Any]) -> None:
        LOAD_GATE.wait(timeout=60)
        self.__dict__.update(state)

    def predict(self, rows: Any) -> np.ndarray[Any, Any]:
        return np.full(len(rows), self.value)


def rules(features: dict[str, Any]) -> dict[str, Any]:
    """A rule-based fallback: short tenure means churn."""
    churn = features["tenure_months"] < 12
    return {"prediction": int(churn), "probability": 0.8 if churn else 0.2}
