"""The SQL text of a point-in-time join: one DuckDB ``ASOF LEFT JOIN`` per feature view.

The entity side is a narrow table with positional column names (``__row``, ``__ts``,
``__k0``, ``__k1``, ...), so nothing a user names can collide with what the query adds.
Each view becomes a CTE with the same positional names (its join keys as ``__k<i>`` of the
entity key they match, its timestamp as ``__ts``, its features as ``__f<view>_<n>``),
deduplicated so that one row is left per (keys, timestamp): the latest created timestamp,
then the greatest feature values, which makes the result independent of file layout and
thread scheduling. Timestamps are compared as integer microseconds since the epoch in UTC
(``epoch_us``), so tz-aware and naive columns of any unit meet on one scale.

TTL is applied after the ASOF match: the latest row at or before the entity timestamp is
the only candidate, and if it is older than ``ttl`` nothing qualifies (an older-still row
never takes its place).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ENTITY_RELATION",
    "ROW",
    "Ties",
    "ViewPlan",
    "feature_alias",
    "join_query",
    "micros",
    "quote",
    "ties_query",
]

ENTITY_RELATION = "__podium_entity"
"""The name the narrow entity table is registered under."""

ROW = "__row"
"""The entity row number column: the result is put in its order, then it is dropped."""


def quote(name: str) -> str:
    """``name`` as a DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def micros(expression: str, type_id: str) -> str:
    """SQL for the UTC microseconds since the epoch of a timestamp, floored.

    ``type_id`` is the DuckDB type id of ``expression``; tz-aware nanoseconds have no
    ``epoch_us`` overload, and casting them would round or depend on the time zone.
    """
    if type_id == "timestamptz_ns":
        ns = f"epoch_ns({expression})"
        return f"(({ns} - (({ns} % 1000) + 1000) % 1000) // 1000)"
    return f"epoch_us({expression})"


def feature_alias(view_index: int, feature_index: int) -> str:
    """The positional name of a feature column inside the query and its result."""
    return f"__f{view_index}_{feature_index}"


@dataclass(frozen=True)
class ViewPlan:
    """One view as the query needs it: validated names and the entity keys it joins on.

    ``key_slots`` gives, for each of the view's join keys, the index ``i`` of the entity
    column ``__k<i>`` it is compared with.
    """

    relation: str
    join_keys: tuple[str, ...]
    key_slots: tuple[int, ...]
    timestamp_field: str
    timestamp_type: str
    created_timestamp_field: str | None
    ttl_us: int | None
    features: tuple[str, ...]
    ties: Ties = "full"


Ties = Literal["none", "created", "full"]
"""How much of the tie-break a view's rows need (see :func:`ties_query`): ``"none"`` when
no two rows share keys and timestamp, ``"created"`` when the created timestamp tells every
such pair apart, ``"full"`` otherwise (feature values break what is left)."""


def ties_query(view: ViewPlan, *, with_created: bool) -> str:
    """SQL answering one row when two source rows share keys and timestamp (and created)."""
    ts = micros(quote(view.timestamp_field), view.timestamp_type)
    group = [*(quote(k) for k in view.join_keys), ts]
    if with_created and view.created_timestamp_field is not None:
        group.append(quote(view.created_timestamp_field))
    return (
        f"SELECT 1 FROM ({view.relation}) AS __source "
        f"WHERE {quote(view.timestamp_field)} IS NOT NULL "
        f"GROUP BY {', '.join(group)} HAVING count(*) > 1 LIMIT 1"
    )


def _view_cte(index: int, view: ViewPlan) -> str:
    ts = micros(quote(view.timestamp_field), view.timestamp_type)
    keys = [
        f"{quote(k)} AS __k{slot}" for k, slot in zip(view.join_keys, view.key_slots, strict=True)
    ]
    feats = [f"{quote(f)} AS {feature_alias(index, n)}" for n, f in enumerate(view.features)]
    partition = ", ".join([*(quote(k) for k in view.join_keys), ts])
    order = [f"{quote(f)} DESC NULLS LAST" for f in view.features] if view.ties == "full" else []
    if view.created_timestamp_field is not None:
        order.insert(0, f"{quote(view.created_timestamp_field)} DESC NULLS LAST")
    # The dedup sort is the costliest step of the join: skipped when no rows tie.
    qualify = (
        f"  QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {', '.join(order)}) = 1\n"
        if view.ties != "none"
        else ""
    )
    return (
        f"__v{index} AS (\n"
        f"  SELECT {', '.join([*keys, f'{ts} AS __ts', *feats])}\n"
        f"  FROM ({view.relation}) AS __source\n"
        f"  WHERE {quote(view.timestamp_field)} IS NOT NULL\n"
        f"{qualify}"
        ")"
    )


def _view_columns(index: int, view: ViewPlan) -> list[str]:
    columns = []
    for n in range(len(view.features)):
        alias = feature_alias(index, n)
        value = f"__v{index}.{alias}"
        if view.ttl_us is not None:
            value = f"CASE WHEN __v{index}.__ts >= __e.__ts - {view.ttl_us} THEN {value} END"
        columns.append(f"{value} AS {alias}")
    return columns


def _view_join(index: int, view: ViewPlan) -> str:
    conditions = [f"__e.__k{slot} = __v{index}.__k{slot}" for slot in view.key_slots]
    conditions.append(f"__e.__ts >= __v{index}.__ts")
    return f"ASOF LEFT JOIN __v{index} ON {' AND '.join(conditions)}"


def join_query(views: Sequence[ViewPlan], key_count: int, timestamp_type: str) -> str:
    """The query returning ``__row`` and every view's features, one row per entity row.

    The entity relation has ``__row``, ``__ts`` (any timestamp type) and ``__k0`` ...
    ``__k<key_count - 1>``; ``timestamp_type`` is the DuckDB type id of ``__ts``. The
    result comes in any order (the caller puts it back in ``__row`` order: cheaper than a
    SQL sort).
    """
    entity_keys = "".join(f", __k{i}" for i in range(key_count))
    ctes = [
        f"__e AS (SELECT {ROW}, {micros('__ts', timestamp_type)} AS __ts{entity_keys} "
        f"FROM {ENTITY_RELATION})",
        *(_view_cte(i, view) for i, view in enumerate(views)),
    ]
    columns = [f"__e.{ROW}"]
    for i, view in enumerate(views):
        columns.extend(_view_columns(i, view))
    joins = "\n".join(_view_join(i, view) for i, view in enumerate(views))
    with_clause = ",\n".join(ctes)
    return f"WITH {with_clause}\nSELECT {', '.join(columns)}\nFROM __e\n{joins}"
