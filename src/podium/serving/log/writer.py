"""The inference log: every prediction appended to the Delta table ``monitoring.inference_log``.

The request path only appends a record (a tuple) to an in-memory deque, O(1) and without a
lock; a background thread encodes the queued records to Arrow (features and predictions
to JSON) in bulk and writes them to the lake in batches (``p.data.write(..., mode="append")``) every
``flush_seconds`` or when ``batch_size`` records wait, and :meth:`InferenceLogWriter.close`
flushes what is left. When the lake cannot be written the batch is kept and retried; the
queue is bounded (``max_queued``), and records beyond it are dropped and counted in
``dropped`` rather than slowing predictions down. A log that holds records when the
interpreter exits is closed (so flushed) by an :mod:`atexit` hook: a script that predicts
and ends without closing its platform keeps every logged prediction. With a ``journal``
(:mod:`podium.serving.log.journal`, which servers use), each record is also appended to a
write-ahead file as it is logged, so a process killed outright loses nothing either: its
successor replays the journal (:func:`replay_journals`).

The schema is a contract (monitoring reads it); columns only ever get added:

=============  ==========================  ============================================
column         type                        meaning
=============  ==========================  ============================================
request_id     string                      the request's id (``X-Request-ID``); a batch
                                           request's rows share it, suffixed ``/i``
ts             timestamp[us, UTC]          when the answer was produced
deployment     string                      the deployment (``model_id``)
model          string                      the registered model name
version        string                      the model version the route chose
served_by      string                      ``primary``, ``fallback``, ``rules``,
                                           ``default``, or ``shadow`` (mirrored, never
                                           returned)
cached         bool                        answered from the response cache
latency_ms     float64                     request latency in milliseconds
features       string                      the row's features, JSON
prediction     string                      the prediction, JSON
probability    float64 (nullable)          the probability, when the model gives one
status         string                      ``ok``, ``degraded`` or ``error``
=============  ==========================  ============================================
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import orjson
import pyarrow as pa  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from podium.data.protocol import Data
    from podium.serving.log.journal import InferenceJournal

__all__ = [
    "INFERENCE_LOG_TABLE",
    "SCHEMA",
    "InferenceLogWriter",
    "InferenceRecord",
    "encode",
    "logged_keys",
    "read_json_lines",
    "record_keys",
    "replay_journals",
    "to_json_line",
    "to_json_lines",
    "to_table",
]

INFERENCE_LOG_TABLE = "monitoring.inference_log"

SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("deployment", pa.string(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("version", pa.string(), nullable=False),
        pa.field("served_by", pa.string(), nullable=False),
        pa.field("cached", pa.bool_(), nullable=False),
        pa.field("latency_ms", pa.float64(), nullable=False),
        pa.field("features", pa.string(), nullable=False),
        pa.field("prediction", pa.string(), nullable=False),
        pa.field("probability", pa.float64(), nullable=True),
        pa.field("status", pa.string(), nullable=False),
    ]
)
"""The columns of ``monitoring.inference_log``, in order."""

_log = logging.getLogger(__name__)
_FEATURES = SCHEMA.names.index("features")
_PREDICTION = SCHEMA.names.index("prediction")
_EXIT_TIMEOUT = 30.0

Writer = Callable[[Any], object]
"""Takes one batch: a :class:`pyarrow.Table` of :data:`SCHEMA`, or with ``json_lines`` the
batch's JSON lines (bytes, see :func:`to_json_line`)."""


class InferenceRecord(NamedTuple):
    """One logged prediction (one row of the table).

    A plain tuple, so the request path pays one allocation per record. ``ts`` is an
    aware datetime, or seconds since the epoch (``time.time()``), converted when written;
    ``features`` a dict, or its JSON from :func:`encode`.
    """

    request_id: str
    ts: datetime | float
    deployment: str
    model: str
    version: str
    served_by: str
    cached: bool
    latency_ms: float
    features: dict[str, Any] | bytes
    prediction: Any
    probability: float | None
    status: str


class InferenceLogWriter:
    """Buffers records and hands them to ``write`` in batches from a background thread.

    With ``json_lines`` (a ``podium serve`` replica), each record becomes its JSON line
    when appended, and ``write`` gets a batch's lines as bytes; otherwise it gets a table.
    With a ``journal``, each record's line is appended to it before :meth:`append`
    returns, and its segments are deleted once their records are written.
    """

    def __init__(
        self,
        write: Writer,
        *,
        batch_size: int = 2_000,
        flush_seconds: float = 1.0,
        max_queued: int = 200_000,
        json_lines: bool = False,
        journal: InferenceJournal | None = None,
    ) -> None:
        self._write = write
        self._json_lines = json_lines
        self._journal = journal
        # With a journal the queue holds JSON lines (the journal's), made into a table
        # when written unless ``write`` takes lines.
        self._lines = json_lines or journal is not None
        self._append_lock = threading.Lock()
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._max_queued = max_queued
        self._queue: deque[Any] = deque()  # records, or their JSON lines
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.dropped = 0
        """Records dropped because the queue was full."""
        self.written = 0
        """Records written to the lake so far."""

    def append(self, record: InferenceRecord) -> None:
        """Queue ``record``; never blocks and never touches the lake."""
        if len(self._queue) >= self._max_queued:
            self.dropped += 1
            return
        if self._journal is None:
            self._queue.append(to_json_line(record) if self._lines else record)
        else:
            line = to_json_line(record)
            with self._append_lock:  # the journal and the queue hold the same records
                self._journal.append(line)
                self._queue.append(line)
        if self._thread is None:
            self._start()
        if len(self._queue) >= self._batch_size and not self._wake.is_set():
            self._wake.set()

    def flush(self) -> int:
        """Write what is queued now (in this thread); the number of records written.

        Records queued while it writes wait for the next flush: under steady load a
        drain-until-empty loop would never end and would commit a sliver at a time.
        """
        with self._flush_lock:
            total = 0
            sealed: list[Path] = []
            if self._journal is None:
                remaining = len(self._queue)
            else:
                with self._append_lock:  # the sealed segments hold exactly these records
                    remaining = len(self._queue)
                    sealed = self._journal.seal() if remaining else []
            while remaining > 0 and self._queue:
                batch: list[Any] = []
                while self._queue and len(batch) < min(self._batch_size * 5, remaining):
                    batch.append(self._queue.popleft())
                remaining -= len(batch)
                try:
                    self._write(self._encoded(batch))
                except Exception:
                    # The lake may be briefly unavailable; keep the batch for the next round
                    # rather than lose it, and let the caller's loop back off.
                    _log.exception("writing %d inference records failed; will retry", len(batch))
                    self._queue.extendleft(reversed(batch))
                    raise
                total += len(batch)
                self.written += len(batch)
            if self._journal is not None and sealed:
                self._journal.discard(sealed)
            return total

    def _encoded(self, batch: list[Any]) -> Any:
        if not self._lines:
            return to_table(batch)
        lines = b"".join(batch)
        return lines if self._json_lines else read_json_lines(lines)

    def close(self, *, timeout: float = 30.0) -> None:
        """Stop the background thread and write what is still queued."""
        _open_logs.discard(self)
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=timeout)
        try:
            self.flush()
        except Exception:
            _log.exception("the last inference records could not be written")
        if self._journal is not None:
            # What could not be written stays journaled, for the next process to replay.
            self._journal.close(committed=not self._queue)

    @property
    def pending(self) -> int:
        """Records queued and not yet written."""
        return len(self._queue)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                _open_logs.add(self)
                self._thread = threading.Thread(
                    target=self._run, name="podium-inference-log", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.flush()
            except Exception:  # logged in flush; back off before the retry
                self._stop.wait(self._flush_seconds)


# Logs that have queued records and are not closed yet; weak, so a log nobody holds any
# more is not kept alive for the exit hook (its thread holds it while it runs).
_open_logs: weakref.WeakSet[InferenceLogWriter] = weakref.WeakSet()


def _close_open_logs() -> None:
    """At interpreter exit: close (so flush) every log still open."""
    for log in list(_open_logs):
        log.close(timeout=_EXIT_TIMEOUT)


atexit.register(_close_open_logs)


def to_table(batch: Sequence[Sequence[Any]]) -> pa.Table:
    """Records (or sequences in their field order) as a table of :data:`SCHEMA`."""
    # Column-wise, in the writer thread: one pass per column instead of one per record.
    columns: list[Any] = list(zip(*batch, strict=True))
    columns[1] = _timestamps(columns[1])
    for index in (_FEATURES, _PREDICTION):
        columns[index] = [_json(value) for value in columns[index]]
    arrays = [
        pa.array(values, type=column.type) if not isinstance(values, pa.Array) else values
        for values, column in zip(columns, SCHEMA, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _timestamps(values: tuple[datetime | float, ...]) -> pa.Array:
    if all(type(value) is float for value in values):
        micros = (np.asarray(values, dtype=np.float64) * 1e6).round().astype(np.int64)
        return pa.array(micros, type=pa.int64()).cast(SCHEMA.field("ts").type)
    return pa.array(
        [
            value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
            for value in values
        ],
        type=SCHEMA.field("ts").type,
    )


# Date-times and dataclasses go through ``default=str``, as with the standard encoder.
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def encode(value: Any) -> bytes:
    """``value`` as the JSON the log stores. A record may carry its features encoded so
    (bytes): a few hundred bytes wait in the queue instead of a dict of boxed numbers."""
    try:
        return orjson.dumps(value, default=str, option=_PASSTHROUGH)
    except TypeError:  # e.g. an integer over 64 bits, which the standard encoder takes
        return json.dumps(value, default=str).encode()


def _json(value: Any) -> str:
    # JSON input never holds bytes, so bytes here are JSON encoded already.
    return value.decode() if type(value) is bytes else encode(value).decode()


def to_json_line(record: InferenceRecord) -> bytes:
    """One record as a JSON array in :data:`SCHEMA` order and a newline (``ts`` in epoch
    seconds, ``features`` as its JSON text): the line a ``podium serve`` replica parks.
    :func:`read_json_lines` reads lines back into a table."""
    fields = list(record)
    ts = fields[1]
    fields[1] = ts.timestamp() if isinstance(ts, datetime) else ts
    fields[_FEATURES] = _json(fields[_FEATURES])
    try:
        return orjson.dumps(fields, default=str, option=_PASSTHROUGH) + b"\n"
    except TypeError:  # e.g. an integer over 64 bits, which the standard encoder takes
        return json.dumps(fields, default=str).encode() + b"\n"


def to_json_lines(batch: Sequence[InferenceRecord]) -> bytes:
    """:func:`to_json_line` of every record, joined."""
    return b"".join(to_json_line(record) for record in batch)


def read_json_lines(data: bytes, *, skip_invalid: bool = False) -> pa.Table:
    """The table of records :func:`to_json_lines` wrote. With ``skip_invalid``, a line
    that is not a record (a journal's torn line) is logged and skipped, not an error."""
    rows = []
    for line in data.splitlines():
        if line:
            try:
                fields = (
                    json.loads(line)
                    if b"NaN" in line or b"Infinity" in line
                    else orjson.loads(line)
                )
                fields[_FEATURES] = fields[_FEATURES].encode()  # JSON already: stored as is
                if len(fields) != len(SCHEMA):
                    raise ValueError(f"{len(fields)} fields, not {len(SCHEMA)}")
            except (ValueError, TypeError, AttributeError, IndexError):
                if not skip_invalid:
                    raise
                _log.warning("skipping a journal line that is not an inference record")
                continue
            rows.append(fields)
    return to_table(rows)


def replay_journals(
    root: Path, write: Callable[[pa.Table], object], committed: Callable[[pa.Table], set[str]]
) -> int:
    """Commit the records of dead processes' journals under ``root``; the rows written.

    ``committed`` gets a journal's records and answers which of their ``request_id/
    served_by`` keys (see :func:`record_keys`) the log holds already: a process killed
    between a commit and deleting its sealed segments left them journaled, and they are
    not written twice. ``write`` gets the rest as a table of :data:`SCHEMA`.
    """
    from podium.serving.log.journal import adopt_orphans

    written = 0

    def replay(lines: bytes) -> None:
        nonlocal written
        table = read_json_lines(lines, skip_invalid=True)
        if table.num_rows == 0:
            return
        seen = committed(table)
        keys = record_keys(table)
        keep = [key not in seen for key in keys]
        # A record journaled twice (it cannot be, but a replayed journal must not write
        # one twice either) is kept once.
        first: set[str] = set()
        for index, key in enumerate(keys):
            if keep[index]:
                keep[index] = key not in first
                first.add(key)
        fresh = table.filter(pa.array(keep, type=pa.bool_()))
        if fresh.num_rows:
            write(fresh)
            written += fresh.num_rows

    adopt_orphans(root, replay)
    return written


def logged_keys(data: Data, table: pa.Table) -> set[str]:
    """Which of ``table``'s record keys (:func:`record_keys`) the inference log of
    ``data`` holds already: one query over the rows at or after their earliest time."""
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    if table.num_rows == 0 or INFERENCE_LOG_TABLE not in data.tables():
        return set()
    earliest = pc.min(table.column("ts")).as_py()
    query = (
        f"SELECT request_id, served_by FROM {INFERENCE_LOG_TABLE} "
        f"WHERE ts >= TIMESTAMPTZ '{earliest.isoformat()}'"
    )
    return set(record_keys(data.sql(query))) & set(record_keys(table))


def record_keys(table: pa.Table) -> list[str]:
    """Each row's identity in the log: ``request_id`` and ``served_by`` (a shadow's row
    shares its request's id)."""
    ids = table.column("request_id").to_pylist()
    served = table.column("served_by").to_pylist()
    return [f"{request_id}\x00{by}" for request_id, by in zip(ids, served, strict=True)]
