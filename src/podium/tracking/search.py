"""Run search: parsed filter clauses compiled to one SQL query, then the page loaded.

Metric clauses and sorts use ``latest_metrics`` (one row per run and key), so searching
thousands of runs is a couple of indexed queries, not a scan of every logged point.

A search answers the same on SQLite and PostgreSQL: ``LIKE`` is case-sensitive (SQLite's
is not, so it becomes ``GLOB`` there), ``\\`` escapes ``%``, ``_`` and itself in ``LIKE``
and ``ILIKE`` patterns (PostgreSQL's default), and strings sort by code point whatever
the database's collation.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Row,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    not_,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import BindParameter

from podium.errors import InvalidInputError
from podium.tracking.filter import Clause, OrderKey, parse_filter, parse_order_by
from podium.tracking.tables import (
    ExperimentRow,
    LatestMetricRow,
    ParamRow,
    RunInputRow,
    RunRow,
    TagRow,
)
from podium.tracking.types import Run

__all__ = ["load_runs", "search_runs"]

MAX_RESULTS = 10_000

_ATTRIBUTES: dict[str, Any] = {
    "run_id": RunRow.id,
    "run_name": RunRow.name,
    "status": RunRow.status,
    "start_time": RunRow.start_time,
    "end_time": RunRow.end_time,
    "experiment_id": RunRow.experiment_id,
    "parent_run_id": RunRow.parent_run_id,
    "user": RunRow.user,
}


def search_runs(
    session: Session,
    *,
    project_id: int,
    experiment_ids: Sequence[str],
    filter: str | None,
    order_by: Sequence[str] | None,
    max_results: int,
    page_token: str | None,
) -> tuple[list[Run], str | None]:
    """One page of matching runs, and the token of the next page (if any)."""
    if not 1 <= max_results <= MAX_RESULTS:
        raise InvalidInputError(
            f"max_results must be between 1 and {MAX_RESULTS}; got {max_results} instead",
            field="max_results",
            remedy="page through larger results with page_token",
        )
    offset = _decode_token(page_token)
    query = _search_query(
        session.get_bind().dialect.name == "sqlite",
        project_id,
        tuple(experiment_ids),
        filter or "",
        tuple(order_by or ()),
    )
    page = query.offset(offset).limit(max_results + 1)
    rows = session.connection().execute(page).all()
    next_token = _encode_token(offset + max_results) if len(rows) > max_results else None
    return _build_runs(session, rows[:max_results]), next_token


_RUN_COLUMNS = (*RunRow.__table__.c, ExperimentRow.name.label("experiment_name"))


@functools.lru_cache(maxsize=512)
def _search_query(
    sqlite: bool,
    project_id: int,
    experiment_ids: tuple[str, ...],
    filter: str,
    order_by: tuple[str, ...],
) -> Select[Any]:
    """The search statement, built once per distinct search (parsing and building cost
    more than running it); values are bound, so SQLAlchemy's compiled cache applies too."""
    clauses, keys = parse_filter(filter), parse_order_by(order_by)
    query = select(*_RUN_COLUMNS).join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
    drive = next(
        (
            c
            for c in clauses
            if keys
            and keys[0].entity == "metrics"
            and c.entity == "metrics"
            and c.key == keys[0].key
            and c.comparator != "NOT IN"
        ),
        None,
    )
    if drive is not None:  # walk ix_latest_metrics_key_value in order; stop at the limit
        lm = aliased(LatestMetricRow)
        query = (
            select(*_RUN_COLUMNS)
            .select_from(lm)
            .join(RunRow, RunRow.id == lm.run_id)
            .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
            .where(lm.key == drive.key, _compare(lm.value, drive, sqlite=sqlite))
        )
        clauses = tuple(c for c in clauses if c is not drive)
        query = query.order_by(lm.value.desc() if keys[0].descending else lm.value.asc())
        keys = keys[1:]
    query = query.where(RunRow.project_id == project_id)
    if experiment_ids:
        query = query.where(RunRow.experiment_id.in_(experiment_ids))
    for clause in clauses:
        query = query.where(_condition(clause, sqlite=sqlite))
    for key in keys:
        query = _order(query, key, sqlite=sqlite)
    query = query.order_by(RunRow.start_time.desc(), RunRow.id)
    return query


_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)
_RUNS_Q = (
    select(*_RUN_COLUMNS)
    .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
    .where(RunRow.id.in_(_IDS))
)
_NO_TEXT = cast(null(), Text)
_NO_NUMBER = cast(null(), Float)
# Everything logged to the page's runs in one round trip: (kind, run_id, key, text, number).
# The id list is bound once, outside the union; both databases push it down into each part.
_LOGGED = union_all(
    select(literal("p").label("kind"), ParamRow.run_id, ParamRow.key, ParamRow.value, _NO_NUMBER),
    select(literal("t"), TagRow.run_id, TagRow.key, TagRow.value, _NO_NUMBER),
    select(
        literal("m"), LatestMetricRow.run_id, LatestMetricRow.key, _NO_TEXT, LatestMetricRow.value
    ),
    select(literal("i"), RunInputRow.run_id, RunInputRow.ref, _NO_TEXT, _NO_NUMBER),
).subquery("logged")
_LOGGED_Q = select(_LOGGED).where(_LOGGED.c.run_id.in_(_IDS))


def load_runs(session: Session, run_ids: Sequence[str]) -> list[Run]:
    """Full :class:`Run` objects for ``run_ids``, in that order (two queries in all)."""
    if not run_ids:
        return []
    rows = {
        row.id: row for row in session.connection().execute(_RUNS_Q, {"ids": list(run_ids)}).all()
    }
    return _build_runs(session, [rows[run_id] for run_id in run_ids])


def _build_runs(session: Session, rows: Sequence[Row[Any]]) -> list[Run]:
    """Runs from their rows plus everything logged to them (one more query)."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    logged: dict[str, dict[str, Any]] = {
        run_id: {"p": {}, "t": {}, "m": {}, "i": []} for run_id in ids
    }
    for kind, run_id, key, text_value, number in (
        session.connection().execute(_LOGGED_Q, {"ids": ids}).all()
    ):
        bucket = logged[run_id][kind]
        if kind == "i":
            bucket.append(key)
        else:
            bucket[key] = number if kind == "m" else text_value
    out = []
    for row in rows:
        data = logged[row.id]
        out.append(
            Run(
                id=row.id,
                experiment_id=row.experiment_id,
                experiment=row.experiment_name,
                name=row.name,
                status=row.status,
                start_time=row.start_time,
                end_time=row.end_time,
                parent_run_id=row.parent_run_id,
                user=row.user,
                params=data["p"],
                metrics=data["m"],
                tags=data["t"],
                inputs=sorted(data["i"]),
                environment=dict(row.environment or {}),
            )
        )
    return out


def _condition(clause: Clause, *, sqlite: bool) -> ColumnElement[bool]:
    if clause.entity == "attributes":
        return _compare(_ATTRIBUTES[clause.key], clause, sqlite=sqlite)
    table: Any = {"metrics": LatestMetricRow, "params": ParamRow, "tags": TagRow}[clause.entity]
    if clause.comparator == "!=" and clause.entity != "metrics":
        # A run without the key also differs from the value (as in MLflow).
        matching = select(table.run_id).where(table.key == clause.key, table.value == clause.value)
        return not_(RunRow.id.in_(matching))
    if clause.comparator == "NOT IN":
        matching = select(table.run_id).where(
            table.key == clause.key, table.value.in_(_as_tuple(clause.value))
        )
        return not_(RunRow.id.in_(matching))
    if clause.entity != "metrics":  # a primary-key lookup per candidate run
        return exists().where(
            table.run_id == RunRow.id,
            table.key == clause.key,
            _compare(table.value, clause, sqlite=sqlite),
        )
    matching = select(table.run_id).where(
        table.key == clause.key, _compare(table.value, clause, sqlite=sqlite)
    )
    return RunRow.id.in_(matching)


def _compare(column: Any, clause: Clause, *, sqlite: bool) -> ColumnElement[bool]:
    value = clause.value
    condition: ColumnElement[bool]
    match clause.comparator:
        case "=":
            condition = column == value
        case "!=":
            condition = column != value
        case "<":
            condition = column < value
        case "<=":
            condition = column <= value
        case ">":
            condition = column > value
        case ">=":
            condition = column >= value
        case "LIKE":
            pattern = _like_pattern(value)
            condition = column.op("GLOB")(_glob(pattern)) if sqlite else column.like(pattern)
        case "ILIKE":
            pattern = _like_pattern(value)
            if sqlite:  # lower() on both sides: SQLite folds ASCII only, so fold alike
                condition = func.lower(column).op("GLOB")(func.lower(_glob(pattern)))
            else:
                condition = column.ilike(pattern)
        case "IN":
            condition = column.in_(_as_tuple(value))
        case "NOT IN":
            condition = not_(column.in_(_as_tuple(value)))
        case _:  # parse_filter admits nothing else
            raise AssertionError(clause.comparator)
    return condition


def _like_pattern(value: object) -> str:
    pattern = str(value)
    if (len(pattern) - len(pattern.rstrip("\\"))) % 2 == 1:
        raise InvalidInputError(
            f"the LIKE pattern {pattern!r} ends with a lone '\\', which escapes nothing",
            field="filter",
            remedy="write '\\\\' for a backslash, '\\%' for a percent sign, '\\_' for '_'",
        )
    return pattern


def _glob(like: str) -> str:
    """A LIKE pattern as the case-sensitive GLOB pattern matching the same strings."""
    out: list[str] = []
    chars = iter(like)
    for char in chars:
        if char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        else:
            if char == "\\":
                char = next(chars)  # _like_pattern made sure one follows
            out.append(f"[{char}]" if char in "*?[" else char)
    return "".join(out)


def _as_tuple(value: object) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _order(query: Select[Any], key: OrderKey, *, sqlite: bool) -> Select[Any]:
    numeric = key.entity == "metrics" or (
        key.entity == "attributes" and key.key in ("start_time", "end_time")
    )
    if key.entity == "attributes":
        column: Any = _ATTRIBUTES[key.key]
    else:
        table: Any = {"metrics": LatestMetricRow, "params": ParamRow, "tags": TagRow}[key.entity]
        alias = aliased(table)
        query = query.outerjoin(alias, and_(alias.run_id == RunRow.id, alias.key == key.key))
        column = alias.value
    if not numeric and not sqlite:
        column = column.collate("C")  # code point order, as on SQLite, whatever the locale
    ordered = column.desc() if key.descending else column.asc()
    return query.order_by(ordered.nulls_last())


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        offset = int(number)
        if kind != "o" or offset < 0:
            raise ValueError(token)
    except ValueError:
        raise InvalidInputError(
            f"the page token {token!r} is not one this server issued",
            field="page_token",
            remedy="pass the next_page_token of the previous page unchanged",
        ) from None
    return offset
