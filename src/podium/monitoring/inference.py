"""Reading the inference log and the feedback labels: windows, features, aggregates.

The serving runtime appends every prediction to the Delta table ``monitoring.inference_log``
(request_id, ts, deployment, model, version, served_by, cached, latency_ms, features and
prediction as JSON text, probability, status ``ok``/``degraded``/``error``; see
:mod:`podium.serving.log.writer`). Shadow predictions (``served_by = 'shadow'``) were
never returned to anyone and are left out of everything here; feedback labels go to
``monitoring.feedback`` (request_id, label as JSON text, ts). Everything here is one DuckDB
query through ``p.data.sql``: the features JSON is parsed into typed columns by DuckDB
(``json_extract``), latency percentiles and error rates are aggregated there, and only the
window's result comes back as Arrow. Nothing loads the whole log.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pyarrow as pa  # type: ignore[import-untyped]

from podium.data.protocol import Data
from podium.errors import InvalidInputError

__all__ = [
    "FEEDBACK_TABLE",
    "INFERENCE_LOG_TABLE",
    "PRIMARY",
    "ColumnKind",
    "InferenceLogReader",
    "TimeWindow",
    "Window",
    "sql_text",
]

_log = logging.getLogger(__name__)

INFERENCE_LOG_TABLE = "monitoring.inference_log"
FEEDBACK_TABLE = "monitoring.feedback"
PRIMARY = "primary"
"""``served_by`` of an answer from the deployment's own model; anything else is degraded."""
SHADOW = "shadow"
"""``served_by`` of a mirrored prediction that was never returned: not live traffic."""

Window = timedelta | tuple[datetime, datetime]
"""A window of the log: the last ``timedelta`` up to now, or ``(start, end)`` (end excluded)."""

ColumnKind = Literal["numeric", "categorical", "boolean"]

# Feature names become JSON paths and SQL aliases; anything else is skipped, never spliced.
_FEATURE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\- ]{0,127}$")
_MAX_WINDOW = timedelta(days=366)


def sql_text(value: str) -> str:
    """``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class TimeWindow:
    """A half-open time range ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def resolve(cls, window: Window | None, *, now: datetime | None = None) -> TimeWindow:
        """The window ``window`` means; ``None`` is the last hour."""
        now = now or datetime.now(UTC)
        if window is None:
            window = timedelta(hours=1)
        if isinstance(window, timedelta):
            if not timedelta(0) < window <= _MAX_WINDOW:
                raise InvalidInputError(
                    f"the window must be longer than 0 and at most 366 days; got {window} instead",
                    field="window",
                    remedy="pass e.g. timedelta(hours=1)",
                )
            return cls(now - window, now)
        if (
            not isinstance(window, tuple)
            or len(window) != 2
            or not all(isinstance(t, datetime) for t in window)
        ):
            raise InvalidInputError(
                f"the window must be a timedelta or a (start, end) pair of datetimes; got "
                f"{window!r} instead",
                field="window",
                remedy="pass timedelta(hours=1) or (start, end)",
            )
        start, end = (_aware(t) for t in window)
        if start >= end:
            raise InvalidInputError(
                f"the window's start must be before its end; got {start} to {end}",
                field="window",
                remedy="swap start and end",
            )
        return cls(start, end)

    @property
    def seconds(self) -> float:
        """The length of the window in seconds."""
        return (self.end - self.start).total_seconds()

    def previous(self) -> TimeWindow:
        """The window of the same length just before this one."""
        return TimeWindow(self.start - (self.end - self.start), self.start)

    def sql(self, column: str = "ts") -> str:
        """A SQL predicate selecting the window on ``column``."""
        return (
            f"{column} >= {sql_text(self.start.isoformat())}::TIMESTAMPTZ "
            f"AND {column} < {sql_text(self.end.isoformat())}::TIMESTAMPTZ"
        )


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_path(name: str) -> str:
    return sql_text('$."' + name + '"')


def _typed(name: str, kind: ColumnKind) -> str:
    value = f"json_extract_string(features, {_json_path(name)})"
    if kind == "numeric":
        return f"TRY_CAST({value} AS DOUBLE) AS {_ident(name)}"
    if kind == "boolean":
        return f"TRY_CAST({value} AS BOOLEAN) AS {_ident(name)}"
    return f"{value} AS {_ident(name)}"


class InferenceLogReader:
    """Queries over one project's inference log and feedback labels.

    ``refresh`` is called (at most once a second) before the log is read: the platform
    passes the commit of what ``podium serve`` replicas parked in the inference spool, so
    a report sees their predictions without waiting for the server's periodic commit.
    """

    def __init__(self, data: Data, *, refresh: Callable[[], object] | None = None) -> None:
        self._data = data
        self._refresh = refresh
        self._refreshed = 0.0

    def exists(self) -> bool:
        """Whether any prediction was logged in this project yet."""
        self.refresh()
        return INFERENCE_LOG_TABLE in self._data.tables()

    def refresh(self) -> None:
        """Bring in what serving replicas parked (a no-op without a ``refresh`` hook).

        Every query starts with :meth:`exists`, which calls this. A commit that fails is
        logged and the read goes on with what the table holds: the parked batches stay
        parked, and the server's loop (or the next read) retries them.
        """
        if self._refresh is None or time.monotonic() - self._refreshed < 1.0:
            return
        self._refreshed = time.monotonic()
        try:
            self._refresh()
        except Exception:
            _log.exception("committing parked inference batches failed; reading without them")

    def has_feedback(self) -> bool:
        """Whether any feedback label was recorded in this project yet."""
        return FEEDBACK_TABLE in self._data.tables()

    def _where(self, deployment: str, window: TimeWindow, version: str | None = None) -> str:
        clause = (
            f"deployment = {sql_text(deployment)} AND served_by <> {sql_text(SHADOW)} "
            f"AND {window.sql()}"
        )
        if version is not None:
            clause += f" AND version = {sql_text(version)}"
        return clause

    def logged(self, deployment: str) -> bool:
        """Whether ``deployment`` ever logged a prediction (shadow ones included): one
        query that stops at the first row."""
        if not self.exists():
            return False
        query = (
            f"SELECT 1 AS found FROM {INFERENCE_LOG_TABLE} "
            f"WHERE deployment = {sql_text(deployment)} LIMIT 1"
        )
        return bool(self._data.sql(query).num_rows)

    def count(self, deployment: str, window: TimeWindow) -> int:
        """How many predictions ``deployment`` logged in ``window``."""
        if not self.exists():
            return 0
        where = self._where(deployment, window)
        query = f"SELECT count(*) AS n FROM {INFERENCE_LOG_TABLE} WHERE {where}"
        return int(self._data.sql(query).column("n")[0].as_py())

    def versions(self, deployment: str, window: TimeWindow) -> list[tuple[str, str, int]]:
        """``(model, version, requests)`` served in ``window``, most requests first."""
        if not self.exists():
            return []
        query = (
            f"SELECT model, version, count(*) AS n FROM {INFERENCE_LOG_TABLE} "
            f"WHERE {self._where(deployment, window)} GROUP BY model, version "
            "ORDER BY n DESC, version DESC"
        )
        rows = self._data.sql(query).to_pylist()
        return [(str(r["model"]), str(r["version"]), int(r["n"])) for r in rows]

    def feature_kinds(self, deployment: str, window: TimeWindow) -> dict[str, ColumnKind]:
        """The feature names seen in ``window`` and their kind, from the JSON value types."""
        if not self.exists():
            return {}
        query = (
            "WITH keys AS (SELECT unnest(json_keys(features)) AS name, features "
            f"FROM {INFERENCE_LOG_TABLE} WHERE {self._where(deployment, window)}) "
            "SELECT name, list(DISTINCT json_type(features, '$.\"' || name || '\"')) AS types "
            "FROM keys GROUP BY name ORDER BY name"
        )
        kinds: dict[str, ColumnKind] = {}
        for row in self._data.sql(query).to_pylist():
            name, types = str(row["name"]), {t for t in row["types"] if t and t != "NULL"}
            if not _FEATURE_NAME.match(name):
                continue
            if types and types <= {"BIGINT", "UBIGINT", "DOUBLE"}:
                kinds[name] = "numeric"
            elif types == {"BOOLEAN"}:
                kinds[name] = "boolean"
            else:
                kinds[name] = "categorical"
        return kinds

    def features(
        self,
        deployment: str,
        window: TimeWindow,
        columns: Mapping[str, ColumnKind],
        *,
        version: str | None = None,
        with_prediction: bool = False,
    ) -> pa.Table:
        """The window's features as typed columns (a value of the wrong type is null)."""
        wanted = {name: kind for name, kind in columns.items() if _FEATURE_NAME.match(name)}
        selects = [_typed(name, kind) for name, kind in wanted.items()]
        if with_prediction:
            selects.append("json_extract_string(prediction, '$') AS __prediction")
            selects.append("json_type(prediction) AS __prediction_type")
        if not selects:
            selects = ["request_id"]
        if not self.exists():
            return pa.table({name: pa.array([], pa.float64()) for name in wanted})
        query = (
            f"SELECT {', '.join(selects)} FROM {INFERENCE_LOG_TABLE} "
            f"WHERE {self._where(deployment, window, version)}"
        )
        return self._data.sql(query)

    def predictions(self, deployment: str, window: TimeWindow) -> pa.Table:
        """The window's predictions: a numeric ``prediction`` column when all are numbers."""
        if not self.exists():
            return pa.table({"prediction": pa.array([], pa.float64())})
        where = self._where(deployment, window)
        numeric = (
            self._data.sql(
                f"SELECT bool_and(json_type(prediction) IN ('BIGINT', 'UBIGINT', 'DOUBLE')) AS ok "
                f"FROM {INFERENCE_LOG_TABLE} WHERE {where} AND status <> 'error'"
            )
            .column("ok")[0]
            .as_py()
        )
        value = "json_extract_string(prediction, '$')"
        cast = f"TRY_CAST({value} AS DOUBLE)" if numeric else value
        query = (
            f"SELECT {cast} AS prediction FROM {INFERENCE_LOG_TABLE} "
            f"WHERE {where} AND status <> 'error'"
        )
        return self._data.sql(query)

    def performance(self, deployment: str, window: TimeWindow) -> list[dict[str, Any]]:
        """Per version (and ``version = None`` for all): requests, errors, latency quantiles."""
        if not self.exists():
            return []
        query = (
            "SELECT version, count(*) AS requests, "
            "count(*) FILTER (WHERE status = 'error') AS errors, "
            f"count(*) FILTER (WHERE served_by <> {sql_text(PRIMARY)} OR status = 'degraded') "
            "AS degraded, "
            "count(*) FILTER (WHERE cached) AS cached, "
            "quantile_cont(latency_ms, 0.5) AS p50_ms, quantile_cont(latency_ms, 0.9) AS p90_ms, "
            "quantile_cont(latency_ms, 0.95) AS p95_ms, quantile_cont(latency_ms, 0.99) AS p99_ms, "
            "max(latency_ms) AS max_ms "
            f"FROM {INFERENCE_LOG_TABLE} WHERE {self._where(deployment, window)} "
            "GROUP BY GROUPING SETS ((version), ()) ORDER BY version NULLS FIRST"
        )
        return list(self._data.sql(query).to_pylist())

    def timeline(
        self, deployment: str, window: TimeWindow, *, buckets: int = 24
    ) -> list[dict[str, Any]]:
        """Requests, errors and p99 latency per time bucket (``buckets`` over the window)."""
        if not self.exists():
            return []
        seconds = max(1, int(window.seconds // buckets))
        start = sql_text(window.start.isoformat())
        query = (
            f"SELECT CAST(floor((epoch(ts) - epoch({start}::TIMESTAMPTZ)) / {seconds}) AS BIGINT) "
            "AS bucket, "
            "count(*) AS requests, count(*) FILTER (WHERE status = 'error') AS errors, "
            "quantile_cont(latency_ms, 0.99) AS p99_ms "
            f"FROM {INFERENCE_LOG_TABLE} WHERE {self._where(deployment, window)} "
            "GROUP BY bucket ORDER BY bucket"
        )
        rows = []
        for row in self._data.sql(query).to_pylist():
            at = window.start + timedelta(seconds=int(row["bucket"]) * seconds)
            rows.append({**row, "start": at, "bucket_seconds": seconds})
        return rows

    def labeled(
        self, deployment: str, window: TimeWindow, *, attribute: str | None = None
    ) -> pa.Table:
        """Predictions of the window joined with their latest feedback label on request id.

        Columns: version, prediction and label (text), their JSON types, probability, and
        the ``attribute`` feature as text when one is asked for.
        """
        extra = ""
        if attribute is not None:
            if not _FEATURE_NAME.match(attribute):
                raise InvalidInputError(
                    f"{attribute!r} is not a feature name",
                    field="attribute",
                    remedy="name a feature the deployment receives",
                )
            extra = f", json_extract_string(l.features, {_json_path(attribute)}) AS attribute"
        if not self.exists() or not self.has_feedback():
            return pa.table({"version": pa.array([], pa.string())})
        query = (
            "WITH latest AS (SELECT request_id, arg_max(label, ts) AS label "
            f"FROM {FEEDBACK_TABLE} GROUP BY request_id) "
            "SELECT l.version, json_extract_string(l.prediction, '$') AS prediction, "
            "json_type(l.prediction) AS prediction_type, "
            "json_extract_string(f.label, '$') AS label, json_type(f.label) AS label_type, "
            f"l.probability{extra} "
            f"FROM {INFERENCE_LOG_TABLE} l JOIN latest f ON f.request_id = l.request_id "
            f"WHERE l.deployment = {sql_text(deployment)} AND {window.sql('l.ts')} "
            f"AND l.served_by <> {sql_text(SHADOW)} AND l.status <> 'error'"
        )
        return self._data.sql(query)

    def prediction_types(self, request_ids: Sequence[str]) -> dict[str, str]:
        """The JSON type of the logged prediction of each known request id."""
        if not self.exists() or not request_ids:
            return {}
        ids = ", ".join(sql_text(r) for r in request_ids)
        query = (
            "SELECT request_id, any_value(json_type(prediction)) AS type "
            f"FROM {INFERENCE_LOG_TABLE} WHERE request_id IN ({ids}) "
            f"AND served_by <> {sql_text(SHADOW)} GROUP BY request_id"
        )
        return {str(r["request_id"]): str(r["type"]) for r in self._data.sql(query).to_pylist()}
