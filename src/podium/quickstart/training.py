"""The quickstart's training: a small grid of churn models, each one a tracked run.

Every run logs its params, a held-out evaluation (``auc``, ``accuracy``, ``f1``,
``log_loss``), the table it read, and ``evaluation.json`` (confusion matrix, feature
importances or coefficients). Ensembles also log how the held-out ``auc`` and
``log_loss`` evolve with the number of trees (and gradient boosting its ``train_loss``),
so ``metric_history`` has curves to show; the last step is the finished model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from podium.quickstart.data import SEED
from podium.tracking.protocol import Tracking
from podium.tracking.run import ActiveRun

__all__ = [
    "FEATURES",
    "FEATURES_SQL",
    "GRID",
    "TARGET",
    "TEST_SIZE",
    "Candidate",
    "Dataset",
    "Trained",
    "as_frame",
    "split",
    "train",
]

TEST_SIZE = 0.25
FEATURES = (
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "contract_one_year",
    "contract_two_year",
)
TARGET = "churned"
_HISTORY_EVERY = 20  # trees between two points of an ensemble's curves


@dataclass(frozen=True)
class Candidate:
    """One point of the grid: a model family and its hyperparameters."""

    name: str
    model: str
    hyperparameters: dict[str, float | int]

    def build(self) -> Any:
        """A fresh, unfitted scikit-learn estimator."""
        h = self.hyperparameters
        if self.model == "logistic_regression":
            return make_pipeline(StandardScaler(), LogisticRegression(C=h["C"], max_iter=1000))
        if self.model == "gradient_boosting":
            return GradientBoostingClassifier(
                n_estimators=int(h["n_estimators"]),
                max_depth=int(h["max_depth"]),
                learning_rate=h["learning_rate"],
                random_state=SEED,
            )
        return RandomForestClassifier(
            n_estimators=int(h["n_estimators"]),
            max_depth=int(h["max_depth"]),
            random_state=SEED,
            n_jobs=1,
        )


GRID: tuple[Candidate, ...] = (
    Candidate("logreg-C0.1", "logistic_regression", {"C": 0.1}),
    Candidate("logreg-C1", "logistic_regression", {"C": 1.0}),
    Candidate("logreg-C10", "logistic_regression", {"C": 10.0}),
    Candidate(
        "gbm-100x2",
        "gradient_boosting",
        {"n_estimators": 100, "max_depth": 2, "learning_rate": 0.1},
    ),
    Candidate(
        "gbm-150x3",
        "gradient_boosting",
        {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.05},
    ),
    Candidate("rf-100x8", "random_forest", {"n_estimators": 100, "max_depth": 8}),
)


@dataclass(frozen=True)
class Dataset:
    """The customers as features and labels, split into training and held-out parts."""

    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    rows: int


FEATURES_SQL = """
SELECT customer_id,
       event_ts,
       CAST(tenure_months AS DOUBLE) AS tenure_months,
       monthly_charges,
       total_charges,
       CAST(support_calls AS DOUBLE) AS support_calls,
       CAST(contract = 'one-year' AS DOUBLE) AS contract_one_year,
       CAST(contract = 'two-year' AS DOUBLE) AS contract_two_year
FROM raw.customers
ORDER BY customer_id
"""
"""The churn features as warehouse SQL (contract one-hot, month-to-month the baseline)."""


def split(features: pd.DataFrame) -> Dataset:
    """The feature table as arrays, with a stratified training/held-out split."""
    x = features[list(FEATURES)].to_numpy(dtype=float)
    y = features[TARGET].to_numpy(dtype=int)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=SEED, stratify=y
    )
    return Dataset(x_train, x_test, y_train, y_test, rows=len(features))


def as_frame(x: np.ndarray) -> pd.DataFrame:
    """Feature rows with their names, as a registered model's signature wants them."""
    return pd.DataFrame(x, columns=list(FEATURES))


@dataclass(frozen=True)
class Trained:
    """A finished run and the model it fitted (kept for registering the best one)."""

    run_id: str
    model: Any


def train(
    tracking: Tracking, candidate: Candidate, data: Dataset, *, experiment: str, input_ref: str
) -> Trained:
    """Fit ``candidate`` on ``data`` inside a run of ``experiment``."""
    params: dict[str, Any] = {
        "model": candidate.model,
        **candidate.hyperparameters,
        "rows": data.rows,
        "test_size": TEST_SIZE,
        "seed": SEED,
    }
    tags = {"source": "quickstart", "model_family": candidate.model, "target": TARGET}
    with tracking.start_run(experiment, name=candidate.name, params=params, tags=tags) as run:
        run.log_input(input_ref)
        model = candidate.build()
        model.fit(data.x_train, data.y_train)
        final_step = _log_history(run, model, data)
        churn_probability = model.predict_proba(data.x_test)[:, 1]
        predicted = (churn_probability >= 0.5).astype(int)
        run.log_metrics(
            {
                "auc": float(roc_auc_score(data.y_test, churn_probability)),
                "accuracy": float(accuracy_score(data.y_test, predicted)),
                "f1": float(f1_score(data.y_test, predicted)),
                "log_loss": float(log_loss(data.y_test, churn_probability)),
            },
            step=final_step,
        )
        run.log_dict(_evaluation(candidate, model, data.y_test, predicted), "evaluation.json")
        return Trained(run.id, model)


def _log_history(run: ActiveRun, model: Any, data: Dataset) -> int:
    """Log an ensemble's curves; the step the final metrics belong at (trees, or 0)."""
    if isinstance(model, GradientBoostingClassifier):
        for step, loss in enumerate(model.train_score_, start=1):
            run.log_metric("train_loss", float(loss), step=step)
        stages = model.staged_predict_proba(data.x_test)
        for step, probability in enumerate(stages, start=1):
            if step % _HISTORY_EVERY == 0 and step < model.n_estimators:
                _log_held_out(run, data.y_test, probability[:, 1], step)
        return int(model.n_estimators)
    if isinstance(model, RandomForestClassifier):
        summed = np.zeros(len(data.y_test))
        for step, tree in enumerate(model.estimators_, start=1):
            summed += tree.predict_proba(data.x_test)[:, 1]
            if step % _HISTORY_EVERY == 0 and step < model.n_estimators:
                _log_held_out(run, data.y_test, summed / step, step)
        return int(model.n_estimators)
    return 0


def _log_held_out(run: ActiveRun, y_true: np.ndarray, probability: np.ndarray, step: int) -> None:
    run.log_metrics(
        {
            "auc": float(roc_auc_score(y_true, probability)),
            "log_loss": float(log_loss(y_true, np.clip(probability, 1e-7, 1 - 1e-7))),
        },
        step=step,
    )


def _evaluation(
    candidate: Candidate, model: Any, y_true: np.ndarray, predicted: np.ndarray
) -> dict[str, Any]:
    matrix = confusion_matrix(y_true, predicted, labels=[0, 1])
    report: dict[str, Any] = {
        "model": candidate.model,
        "hyperparameters": candidate.hyperparameters,
        "threshold": 0.5,
        "confusion_matrix": {
            "labels": ["stayed", "churned"],
            "rows_are": "actual",
            "columns_are": "predicted",
            "matrix": matrix.tolist(),
        },
    }
    if candidate.model == "logistic_regression":
        linear = model[-1]
        report["coefficients_standardized"] = dict(
            zip(FEATURES, (float(c) for c in linear.coef_[0]), strict=True)
        )
        report["intercept"] = float(linear.intercept_[0])
    else:
        report["feature_importances"] = dict(
            zip(FEATURES, (float(v) for v in model.feature_importances_), strict=True)
        )
    return report
