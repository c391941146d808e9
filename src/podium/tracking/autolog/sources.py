"""Knowing which lake table versions a training frame came from.

While autolog is on, ``p.data.read(...)`` (embedded and over HTTP) pins the version it
reads and stamps it on the Arrow table as pandas attributes, so that ``.to_pandas()``
hands back a DataFrame whose ``attrs["podium.inputs"]`` is ``["raw.customers@3"]``;
a training set's ``to_pandas()`` carries the versions it was joined from. pandas keeps
``attrs`` through column selection, ``iloc``, ``drop`` and ``train_test_split``, so the
frames handed to ``fit`` still know their source. :func:`input_refs` reads them back.

A frame built another way (``p.data.sql``, a CSV, numpy arrays) carries nothing, and the
run records no input for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from podium.client.data import HttpData
from podium.data.service import DataService
from podium.features.historical import HistoricalFeatures
from podium.tracking.autolog.patches import patch

__all__ = ["INPUTS_ATTR", "input_refs", "install", "stamp"]

INPUTS_ATTR = "podium.inputs"
"""The ``DataFrame.attrs`` key holding the lake references a frame was read from."""

_PANDAS = b"pandas"


def stamp(table: pa.Table, refs: Sequence[str]) -> pa.Table:
    """``table`` whose ``to_pandas()`` frame has ``attrs["podium.inputs"] == refs``."""
    metadata = dict(table.schema.metadata or {})
    raw = metadata.get(_PANDAS)
    described: dict[str, Any] = (
        json.loads(raw) if raw else {"index_columns": [], "column_indexes": [], "columns": []}
    )
    described.setdefault("attributes", {})[INPUTS_ATTR] = list(refs)
    metadata[_PANDAS] = json.dumps(described).encode()
    return table.replace_schema_metadata(metadata)


def input_refs(*frames: object) -> list[str]:
    """The lake references stamped on any of ``frames``, in order, without repeats."""
    found: dict[str, None] = {}
    for frame in frames:
        attrs = getattr(frame, "attrs", None)
        refs = attrs.get(INPUTS_ATTR) if isinstance(attrs, dict) else None
        if isinstance(refs, list):
            found.update((str(ref), None) for ref in refs)
    return list(found)


def _read_pinned(
    original: Any,
    data: Any,
    name: str,
    *,
    version: int | None = None,
    as_of: datetime | None = None,
    columns: list[str] | None = None,
) -> pa.Table:
    if version is None and as_of is None:
        version = data.version(name)  # pinned first, so the stamp names what was read
    table = original(data, name, version=version, as_of=as_of, columns=columns)
    if version is None:  # as_of: the version it resolved to is not reported
        return table
    return stamp(table, [f"{name}@{version}"])


def _training_set_frame(original: Any, features: HistoricalFeatures) -> Any:
    frame = original(features)
    frame.attrs[INPUTS_ATTR] = list(features.inputs)
    return frame


def install() -> None:
    """Stamp what the lake and training sets hand out (undone by ``restore_all``)."""
    patch(DataService, "read", _read_pinned)
    patch(HttpData, "read", _read_pinned)
    patch(HistoricalFeatures, "to_pandas", _training_set_frame)
    patch(HistoricalFeatures, "to_df", _training_set_frame)
