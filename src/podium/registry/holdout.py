"""Splitting an optimization sample into rows to fit on and held-out rows to judge on.

Distillation trains a student and pruning chooses trees on the first part; the agreement
gate (:func:`~podium.registry.conversion.check_agreement`) is measured on the second, so
the figure it reports is never one the optimizer could tune itself to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from podium.errors import InvalidInputError
from podium.registry.conversion import Comparison, check_agreement

__all__ = ["HOLDOUT_SHARE", "MIN_SAMPLE_ROWS", "Split", "check_threshold", "gate", "split_sample"]

HOLDOUT_SHARE = 0.3
"""The share of sample rows held out for the agreement gate."""
MIN_SAMPLE_ROWS = 20
"""Fewer rows than this give an agreement figure too coarse to gate on."""


@dataclass(frozen=True)
class Split:
    """Rows to fit on, held-out rows to compare on, and the held-out labels if known."""

    fit: pd.DataFrame
    held_out: pd.DataFrame
    held_out_labels: np.ndarray[Any, Any] | None


def split_sample(
    sample: pd.DataFrame,
    labels: Sequence[Any] | np.ndarray[Any, Any] | pd.Series[Any] | None = None,
    *,
    purpose: str,
) -> Split:
    """``sample`` shuffled (seed 0) and split: :data:`HOLDOUT_SHARE` held out."""
    if len(sample) < MIN_SAMPLE_ROWS:
        raise InvalidInputError(
            f"{purpose} needs a sample of at least {MIN_SAMPLE_ROWS} rows; "
            f"got {len(sample)} instead",
            field="sample",
            remedy="pass a larger sample table, ideally a few hundred rows or more",
        )
    if labels is not None and len(labels) != len(sample):
        raise InvalidInputError(
            f"the labels must have one value per sample row; got {len(labels)} labels "
            f"for {len(sample)} rows instead",
            field="labels",
            remedy="pass the sample's label column, or no labels",
        )
    order = np.random.default_rng(0).permutation(len(sample))
    cut = len(sample) - max(1, round(len(sample) * HOLDOUT_SHARE))
    fit, held = order[:cut], order[cut:]
    held_labels = None if labels is None else np.asarray(labels)[held]
    return Split(
        fit=sample.iloc[fit].reset_index(drop=True),
        held_out=sample.iloc[held].reset_index(drop=True),
        held_out_labels=held_labels,
    )


def gate(comparison: Comparison, threshold: float, *, remedy: str) -> None:
    """:func:`check_agreement`, with a remedy that fits the optimization refused."""
    try:
        check_agreement(comparison, threshold)
    except InvalidInputError as exc:
        raise InvalidInputError(
            exc.message, code=exc.code, field=exc.field, remedy=remedy
        ) from None


def check_threshold(threshold: float) -> None:
    """Refuse a threshold outside (0, 1]."""
    if not 0.0 < threshold <= 1.0:
        raise InvalidInputError(
            f"the threshold must be in (0, 1]; got {threshold!r} instead",
            field="threshold",
            remedy="pass a share of agreeing rows, e.g. 0.99",
        )
