"""Online reads: the latest values of features for a few entities, with a status each.

This is on the serving hot path: views come from the in-memory resolver, keys are built
and checked in Python, each view is one ``read`` of the online store, and payloads are
decoded with ``json.loads``. A value is ``present``, ``missing`` (never materialized or
pushed) or ``outside_ttl`` (older than the view's TTL; its value is then ``None``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pandas as pd

from podium.errors import InvalidInputError
from podium.features.keys import encode_key
from podium.features.on_demand import run_on_demand
from podium.features.online.protocol import OnlineStore
from podium.features.refs import FeatureRef
from podium.features.resolve import ResolvedOnDemand, ResolvedView, ViewResolver

__all__ = ["MISSING", "OUTSIDE_TTL", "PRESENT", "OnlineFeatures", "read_online"]

PRESENT = "present"
MISSING = "missing"
OUTSIDE_TTL = "outside_ttl"


@dataclass
class OnlineFeatures:
    """Values per feature (one per entity row, in order) and their statuses."""

    values: dict[str, list[Any]]
    statuses: dict[str, list[str]]
    entity_rows: list[dict[str, Any]] = field(repr=False)
    versions: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, list[Any]]:
        """Feast's shape: the entity rows' columns, then one list per feature."""
        columns: dict[str, list[Any]] = {}
        for row in self.entity_rows:
            for key in row:
                columns.setdefault(key, [])
        for key in columns:
            columns[key] = [row.get(key) for row in self.entity_rows]
        columns.update(self.values)
        return columns

    def rows(self) -> list[dict[str, Any]]:
        """One dict of feature values per entity row."""
        return [
            {name: values[i] for name, values in self.values.items()}
            for i in range(len(self.entity_rows))
        ]

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self.to_dict())

    def to_json(self) -> dict[str, Any]:
        """The API's body: values, statuses and the view versions read."""
        return {
            "features": {name: [_jsonable(v) for v in vs] for name, vs in self.values.items()},
            "statuses": self.statuses,
            "versions": self.versions,
        }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _decode(value: Any, dtype: str) -> Any:
    if value is None:
        return None
    if dtype == "timestamp":
        parsed = datetime.fromisoformat(str(value))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if dtype == "float64":
        return float(value)
    return value


def _read_view(
    store: OnlineStore,
    view: ResolvedView,
    names: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    now_us: int,
    out: dict[str, tuple[list[Any], list[str]]],
) -> None:
    keys = [encode_key(row, view.join_keys, view.key_types) for row in rows]
    found = store.read(view.online_table, keys)
    ttl_us = None if view.ttl is None else int(view.ttl.total_seconds() * 1_000_000)
    statuses: list[str] = []
    payloads: list[str] = []
    for hit in found:
        if hit is None:
            statuses.append(MISSING)
        elif ttl_us is not None and now_us - hit[0] > ttl_us:
            statuses.append(OUTSIDE_TTL)
        else:
            statuses.append(PRESENT)
            payloads.append(hit[1])
    # One parse for every payload: the parser is fast, its per-call overhead is not.
    decoded = iter(orjson.loads("[" + ",".join(payloads) + "]") if payloads else [])
    records = [next(decoded) if status is PRESENT else None for status in statuses]
    for name in names:
        dtype = view.features[name]
        values = [None if record is None else record.get(name) for record in records]
        if dtype == "timestamp":
            values = [_decode(value, dtype) for value in values]
        out[name] = (values, list(statuses))


def read_online(
    entity_rows: Sequence[Mapping[str, Any]],
    refs: Sequence[FeatureRef],
    *,
    resolver: ViewResolver,
    store: OnlineStore,
    now: datetime | None = None,
) -> OnlineFeatures:
    """The features ``refs`` of every entity row, read from ``store``."""
    if not isinstance(entity_rows, Sequence) or not all(
        isinstance(row, Mapping) for row in entity_rows
    ):
        raise InvalidInputError(
            "entity_rows must be a list of objects, e.g. [{'customer_id': 7}]",
            field="entity_rows",
        )
    rows = [dict(row) for row in entity_rows]
    now_us = int((now.timestamp() if now else time.time()) * 1_000_000)
    plain: dict[str, tuple[ResolvedView, list[str]]] = {}
    on_demand: list[tuple[ResolvedOnDemand, list[str]]] = []
    requested: list[tuple[str, str]] = []
    for ref in refs:
        resolved = resolver.resolve(ref.view, ref.version)
        names = resolved.feature_names(ref)
        if isinstance(resolved, ResolvedView):
            _, wanted = plain.setdefault(resolved.name, (resolved, []))
            wanted.extend(name for name in names if name not in wanted)
        else:
            on_demand.append((resolved, names))
        requested.extend((resolved.name, name) for name in names)
    for odfv, _ in on_demand:
        for ref in odfv.inputs:
            view = resolver.view(ref.view, ref.version)
            _, wanted = plain.setdefault(view.name, (view, []))
            for name in view.feature_names(ref):
                if name not in wanted:
                    wanted.append(name)
    counts: dict[str, int] = {}
    for _, name in requested:
        counts[name] = counts.get(name, 0) + 1
    read: dict[tuple[str, str], tuple[list[Any], list[str]]] = {}
    versions: dict[str, int] = {}
    for view, wanted in plain.values():
        versions[view.name] = view.version
        out: dict[str, tuple[list[Any], list[str]]] = {}
        _read_view(store, view, wanted, rows, now_us, out)
        for name, column in out.items():
            read[(view.name, name)] = column
    for odfv, names in on_demand:
        versions[odfv.name] = odfv.version
        frame = pd.DataFrame({ref.feature: read[(ref.view, ref.feature)][0] for ref in odfv.inputs})
        for request_field in odfv.request_fields:
            if any(request_field not in row for row in rows):
                raise InvalidInputError(
                    f"on-demand feature view '{odfv.name}' needs request field "
                    f"'{request_field}' in every entity row",
                    field=request_field,
                )
            frame[request_field] = [row[request_field] for row in rows]
        computed = run_on_demand(odfv, frame)
        for name in names:
            values = [None if pd.isna(v) else _plain(v) for v in computed[name].tolist()]
            read[(odfv.name, name)] = (values, [PRESENT] * len(rows))
    values_out: dict[str, list[Any]] = {}
    statuses_out: dict[str, list[str]] = {}
    for view_name, name in requested:
        label = name if counts[name] == 1 else f"{view_name}__{name}"
        values, statuses = read[(view_name, name)]
        values_out[label] = values
        statuses_out[label] = statuses
    return OnlineFeatures(values_out, statuses_out, rows, versions)


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones (for JSON)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value
