"""Fixtures of the batch tests: a churn-like source table and a model registered on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from podium.platform import Platform


@dataclass
class Scored:
    """A source table in the lake and the model registered to score it."""

    frame: pd.DataFrame
    model: LogisticRegression
    ref: str


def churn_frame(rows: int, *, seed: int = 0, start: int = 0) -> pd.DataFrame:
    """``rows`` customers: an id, two numeric features and a label."""
    rng = np.random.default_rng(seed)
    tenure = rng.uniform(0, 72, rows)
    spend = rng.uniform(10, 120, rows)
    churned = (spend / 120 - tenure / 72 + rng.normal(0, 0.3, rows) > 0).astype(np.int64)
    return pd.DataFrame(
        {
            "customer_id": np.arange(start, start + rows, dtype=np.int64),
            "tenure": tenure,
            "spend": spend,
            "churned": churned,
        }
    )


def register_churn_model(platform: Platform, frame: pd.DataFrame) -> LogisticRegression:
    """A logistic regression on ``tenure`` and ``spend``, registered as ``churn``."""
    model = LogisticRegression().fit(frame[["tenure", "spend"]].to_numpy(), frame["churned"])
    platform.registry.register("churn", model, input_example=frame[["tenure", "spend"]][:5])
    return model


@pytest.fixture
def scored(platform: Platform) -> Scored:
    """``curated.customers`` in three appends (three files) and ``churn/1``."""
    frame = churn_frame(3_000)
    for start in range(0, 3_000, 1_000):
        platform.data.write("curated.customers", frame[start : start + 1_000])
    model = register_churn_model(platform, frame)
    return Scored(frame=frame, model=model, ref="churn/1")
