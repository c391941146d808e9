"""Online features for a deployment: fetched per request and merged under the request's.

A deployment that names ``features`` (``customer_stats:tenure_months``) and
``entity_keys`` (``customer_id``) gets, for each request row, the latest values of those
features for the row's entity keys from the feature store's online store; values the
request sends itself win. A row that already carries every one of those features needs
no lookup (and no entity key); any other row must carry the entity keys. The feature
store is used only through its public ``get_online_features``; a platform without one
(not yet configured) serves requests as they come.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from podium.errors import InvalidInputError
from podium.serving.control.spec import DeploymentSpec

__all__ = ["OnlineFeatureMerge"]


class OnlineFeatureMerge:
    """Merges online feature values into request rows (request values win)."""

    def __init__(self, store: object) -> None:
        self._store = store

    def merge(
        self, spec: DeploymentSpec, rows: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """``rows`` with the deployment's online features filled in."""
        merged = [dict(row) for row in rows]
        fetch = getattr(self._store, "get_online_features", None)
        if fetch is None or not spec.features:
            return merged
        names = [ref.split(":", 1)[1] for ref in spec.features]
        needing = [i for i, row in enumerate(rows) if any(name not in row for name in names)]
        if not needing:
            return merged
        entity_rows: list[dict[str, Any]] = []
        for index in needing:
            row = rows[index]
            keys: dict[str, Any] = {}
            for key in spec.entity_keys:
                if key not in row:
                    raise InvalidInputError(
                        f"entity key {key!r} is missing from row {index}; deployment "
                        f"{spec.name!r} fetches its online features by it",
                        field=key,
                        remedy=f"send {key!r} with the features",
                    )
                keys[key] = row[key]
            entity_rows.append(keys)
        found = fetch(entity_rows=entity_rows, features=list(spec.features))
        values: dict[str, list[Any]] = getattr(found, "values", None) or found.to_dict()
        for position, index in enumerate(needing):
            online = {
                name: column[position]
                for name, column in values.items()
                if name not in spec.entity_keys and column[position] is not None
            }
            merged[index] = {**online, **rows[index]}
        return merged
