"""Online features joined to source batches, for a deployment that names them.

As serving does for a request row (:mod:`podium.serving.requests.online`), a deployment's
``features`` (``customer_stats:tenure_months``) are looked up in the online store by its
``entity_keys`` (``customer_id``), one call per batch; a feature the source table has as a
column is taken from the source (source values win, as request values do).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa  # type: ignore[import-untyped]

from podium.errors import InvalidInputError

if TYPE_CHECKING:  # the feature store loads its online stores; used only when joining
    from podium.features.protocol import Features

__all__ = ["OnlineJoin"]


class OnlineJoin:
    """Adds the online features a source lacks to each batch."""

    def __init__(
        self, features: Features, *, refs: Sequence[str], entity_keys: Sequence[str]
    ) -> None:
        self._features = features
        self.refs = list(refs)
        self.entity_keys = list(entity_keys)

    def missing(self, columns: Sequence[str]) -> list[str]:
        """The feature references whose column ``columns`` lacks (the ones to fetch)."""
        return [ref for ref in self.refs if ref.split(":", 1)[1] not in columns]

    def check(self, columns: Sequence[str], deployment: str) -> None:
        """Refuse a source that lacks an entity key needed to fetch a missing feature."""
        if not self.missing(columns):
            return
        absent = [key for key in self.entity_keys if key not in columns]
        if absent:
            raise InvalidInputError(
                f"the source has no column {absent[0]!r}; deployment {deployment!r} fetches "
                "its online features by it",
                field="source",
                remedy=f"score a table with the entity keys {self.entity_keys}, or with the "
                f"features {[ref.split(':', 1)[1] for ref in self.refs]} as columns",
            )

    def join(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """``batch`` with the missing features' latest online values as columns."""
        wanted = self.missing(batch.schema.names)
        if not wanted or batch.num_rows == 0:
            return batch
        keys = batch.select(self.entity_keys).to_pylist()
        found = self._features.get_online_features(entity_rows=keys, features=wanted)
        names, arrays = list(batch.schema.names), list(batch.columns)
        for ref in wanted:
            name = ref.split(":", 1)[1]
            names.append(name)
            arrays.append(pa.array(found.values[name]))
        return pa.RecordBatch.from_arrays(arrays, names=names)
