"""Delayed labels: feedback on logged predictions, stored in ``monitoring.feedback``.

A label names the request it belongs to by ``request_id`` (as the prediction answer gave
it). Each call is checked as a whole before anything is written: every request id must be
in the inference log, and every label must be of the prediction's kind (a number for a
model that predicts numbers, text for one that predicts text). Then all labels are one
append to the Delta table (request_id, label as JSON text, ts). A later label for the same
request replaces the earlier one in accuracy (the latest wins).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict

from podium.data.protocol import Data
from podium.errors import InvalidInputError, NotFoundError
from podium.monitoring.inference import FEEDBACK_TABLE, InferenceLogReader

__all__ = ["FEEDBACK_SCHEMA", "FeedbackReceipt", "FeedbackStore", "Label"]

Label = bool | int | float | str
"""A label: a class (number or text) or a regression target."""

FEEDBACK_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("label", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
    ]
)

_NUMERIC_TYPES = {"BIGINT", "UBIGINT", "DOUBLE", "BOOLEAN"}
_MAX_BATCH = 100_000
_MAX_ID = 128


class FeedbackReceipt(BaseModel):
    """What was recorded: how many labels, for which request ids (the first 100)."""

    model_config = ConfigDict(frozen=True)

    recorded: int
    request_ids: list[str]


def _label_kind(label: object, *, field: str) -> str:
    if isinstance(label, bool | int):
        return "number"
    if isinstance(label, float):
        if not math.isfinite(label):
            raise InvalidInputError(
                f"a label must be a finite number or text; got {label!r} instead",
                field=field,
                remedy="send the observed outcome, e.g. 1 or 'churned'",
            )
        return "number"
    if isinstance(label, str):
        if not label or len(label) > 256:
            raise InvalidInputError(
                f"a text label must be 1 to 256 characters; got {len(label)} instead",
                field=field,
                remedy="send the class name the model predicts",
            )
        return "text"
    raise InvalidInputError(
        f"a label must be a number or text; got {type(label).__name__} instead",
        field=field,
        remedy="send the observed outcome, e.g. 1 or 'churned'",
    )


def _check_id(request_id: object, *, field: str) -> str:
    if not isinstance(request_id, str) or not 0 < len(request_id) <= _MAX_ID:
        raise InvalidInputError(
            f"a request id must be text of 1 to {_MAX_ID} characters; got {request_id!r} instead",
            field=field,
            remedy="use the request_id of the prediction's answer",
        )
    return request_id


class FeedbackStore:
    """Check and store the labels of one project's logged predictions."""

    def __init__(self, data: Data, log: InferenceLogReader) -> None:
        self._data = data
        self._log = log

    def record(self, request_id: str, label: Label) -> FeedbackReceipt:
        """Record ``label`` as the true outcome of request ``request_id``."""
        return self.record_many([(request_id, label)], single=True)

    def record_many(
        self,
        labels: Mapping[str, Label] | Iterable[tuple[str, Label]],
        *,
        single: bool = False,
    ) -> FeedbackReceipt:
        """Record many labels in one append; nothing is written if any one is refused."""
        items = list(labels.items() if isinstance(labels, Mapping) else labels)
        if not items:
            raise InvalidInputError(
                "there are no labels to record",
                field="labels",
                remedy="pass at least one (request_id, label) pair",
            )
        if len(items) > _MAX_BATCH:
            raise InvalidInputError(
                f"at most {_MAX_BATCH} labels go in one call; got {len(items)}",
                field="labels",
                remedy="send them in several calls",
            )
        checked: list[tuple[str, str, str]] = []
        for index, item in enumerate(items):
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise InvalidInputError(
                    f"labels[{index}] must be a (request_id, label) pair; got {item!r} instead",
                    field=f"labels[{index}]",
                )
            prefix = "" if single else f"labels[{index}]."
            request_id = _check_id(item[0], field=f"{prefix}request_id")
            label = item[1].item() if isinstance(item[1], np.generic) else item[1]
            kind = _label_kind(label, field=f"{prefix}label")
            checked.append((request_id, kind, json.dumps(label)))
        types = self._log.prediction_types(sorted({r for r, _, _ in checked}))
        for index, (request_id, kind, _) in enumerate(checked):
            prefix = "" if single else f"labels[{index}]."
            logged = types.get(request_id)
            if logged is None:
                raise NotFoundError(
                    f"no prediction with request id {request_id!r} is in the inference log",
                    field=f"{prefix}request_id",
                    remedy="use the request_id of a prediction's answer; predictions reach "
                    "the log within seconds of being served",
                )
            expected = "number" if logged in _NUMERIC_TYPES else "text"
            if kind != expected:
                raise InvalidInputError(
                    f"the label of request {request_id!r} must be a {expected}, as the model's "
                    f"prediction is; got a {kind} instead",
                    field=f"{prefix}label",
                    remedy=f"send the label as a {expected}, the way the model predicts it",
                )
        now = datetime.now(UTC)
        table = pa.table(
            {
                "request_id": [r for r, _, _ in checked],
                "label": [label for _, _, label in checked],
                "ts": pa.array([now] * len(checked), pa.timestamp("us", tz="UTC")),
            },
            schema=FEEDBACK_SCHEMA,
        )
        self._data.write(FEEDBACK_TABLE, table, mode="append")
        return FeedbackReceipt(recorded=len(checked), request_ids=[r for r, _, _ in checked][:100])
