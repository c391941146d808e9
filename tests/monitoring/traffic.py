"""Test helpers: a trained, registered churn model and inference-log rows written as the
serving runtime writes them (the Delta table ``monitoring.inference_log``)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from podium.platform import Platform

INFERENCE_LOG_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("deployment", pa.string()),
        ("model", pa.string()),
        ("version", pa.string()),
        ("served_by", pa.string()),
        ("cached", pa.bool_()),
        ("latency_ms", pa.float64()),
        ("features", pa.string()),
        ("prediction", pa.string()),
        ("probability", pa.float64()),
        ("status", pa.string()),
    ]
)
"""The inference log's columns, as the serving runtime's contract states them."""

PLANS = ["basic", "plus", "pro"]


def training_frame(rows: int = 600, *, seed: int = 0) -> pd.DataFrame:
    """Churn training data: tenure ~ N(24, 6), charges ~ N(70, 10), plan in 3 classes."""
    rng = np.random.default_rng(seed)
    tenure = rng.normal(24, 6, rows)
    charges = rng.normal(70, 10, rows)
    plan = rng.choice(PLANS, rows, p=[0.5, 0.3, 0.2])
    label = (charges - 3 * tenure + rng.normal(0, 5, rows) > 0).astype(np.int64)
    return pd.DataFrame({"tenure": tenure, "charges": charges, "plan": plan, "label": label})


@dataclass
class Churn:
    """A registered churn model (version 1) trained from ``raw.churn``."""

    platform: Platform
    model: Pipeline
    name: str = "churn"

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        X = frame[["tenure", "charges", "plan"]]
        return self.model.predict(X), self.model.predict_proba(X)[:, 1]


def register_churn(platform: Platform) -> Churn:
    """Write ``raw.churn``, train on it in a tracked run, register ``churn`` version 1."""
    frame = training_frame()
    platform.data.write("raw.churn", frame)
    inputs = frame[["tenure", "charges", "plan"]]
    encode = ColumnTransformer(
        [("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"])], remainder="passthrough"
    )
    model = Pipeline([("encode", encode), ("fit", LogisticRegression())])
    model.fit(inputs, frame["label"])
    with platform.tracking.start_run(experiment="churn") as run:
        run.log_input("raw.churn")

    registered = platform.registry.register(
        "churn", model, run_id=run.id, input_example=inputs.head(5)
    )
    assert registered.version == 1
    return Churn(platform, model)


def traffic(
    churn: Churn,
    rows: int,
    *,
    at: datetime,
    shift: float = 0.0,
    seed: int = 1,
    deployment: str = "churn",
    version: str = "1",
    error_every: int = 0,
    latency_ms: float = 5.0,
    plan: str | None = None,
    served_by: str = "primary",
) -> list[tuple[str, int]]:
    """Write ``rows`` predictions logged within the 10 minutes before ``at``.

    Returns ``(request_id, prediction)`` of each row.

    ``shift`` moves tenure by that many standard deviations (drift is injected there).
    """
    frame = training_frame(rows, seed=seed).drop(columns="label")
    frame["tenure"] = frame["tenure"] + shift * 6
    if plan is not None:
        frame["plan"] = plan
    predictions, probabilities = churn.predict(frame)
    ids = [uuid.uuid4().hex for _ in range(rows)]
    records: list[dict[str, Any]] = []
    for i, (row, prediction, probability) in enumerate(
        zip(frame.to_dict("records"), predictions, probabilities, strict=True)
    ):
        failed = bool(error_every) and i % error_every == 0
        records.append(
            {
                "request_id": ids[i],
                "ts": at - timedelta(seconds=600 * (i + 1) / (rows + 1)),
                "deployment": deployment,
                "model": churn.name,
                "version": version,
                "served_by": served_by,
                "cached": False,
                "latency_ms": latency_ms + (i % 10),
                "features": json.dumps(row),
                "prediction": json.dumps(int(prediction)),
                "probability": float(probability),
                "status": "error" if failed else ("ok" if served_by == "primary" else "degraded"),
            }
        )
    table = pa.Table.from_pylist(records, schema=INFERENCE_LOG_SCHEMA)
    churn.platform.data.write("monitoring.inference_log", table)
    return [(request_id, int(p)) for request_id, p in zip(ids, predictions, strict=True)]


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)
