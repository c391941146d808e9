"""Streaming appends: micro-batches committed when a row or a time bound is reached.

Incoming batches are pulled from the source on a helper thread, so a source that goes
quiet (a consumer waiting on a queue) cannot hold rows back beyond ``max_seconds``: the
rows buffered so far are committed when the window closes. Each micro-batch is one atomic
append, so a reader sees either all of it or none of it. A micro-batch holds at most
``max_rows`` rows; a larger incoming batch is split.

When the source or a commit fails the error is raised; micro-batches committed before it
stay committed (``on_commit`` has seen each), rows still buffered are not committed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]

from podium.data.inputs import to_arrow
from podium.data.types import TableVersion
from podium.errors import InvalidInputError

__all__ = ["StreamBatch", "append_stream"]

StreamBatch: TypeAlias = pa.RecordBatch | pa.Table | pd.DataFrame
_QUEUE_BATCHES = 64
_END = object()


@dataclass(frozen=True)
class _SourceFailed:
    error: Exception


class _Pump:
    """Pulls from the source on a daemon thread into a bounded queue (back pressure)."""

    def __init__(self, batches: Iterable[StreamBatch]) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_BATCHES)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(iter(batches),), name="podium-append-stream", daemon=True
        )
        self._thread.start()

    def _run(self, source: Iterator[StreamBatch]) -> None:
        try:
            for batch in source:
                if not self._put(batch):
                    return
        except Exception as exc:  # handed to the consuming thread, which raises it
            self._put(_SourceFailed(exc))
            return
        self._put(_END)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def get(self, timeout: float | None) -> object:
        """The next item; raises :class:`queue.Empty` after ``timeout`` seconds."""
        return self._queue.get(timeout=timeout)

    def close(self) -> None:
        self._stop.set()


def _check_bounds(max_rows: int, max_seconds: float) -> None:
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise InvalidInputError(
            f"max_rows must be a positive whole number; got {max_rows!r} instead",
            field="max_rows",
        )
    valid_number = isinstance(max_seconds, int | float) and not isinstance(max_seconds, bool)
    if not valid_number or not max_seconds > 0:
        raise InvalidInputError(
            f"max_seconds must be a positive number of seconds; got {max_seconds!r} instead",
            field="max_seconds",
        )


class _Buffer:
    """Rows waiting for their micro-batch, and when their time window closes."""

    def __init__(self) -> None:
        self.tables: list[pa.Table] = []
        self.rows = 0
        self.deadline: float | None = None

    def add(self, table: pa.Table, deadline: float) -> None:
        self.tables.append(table)
        self.rows += table.num_rows
        if self.deadline is None:
            self.deadline = deadline

    def take(self, rows: int | None = None) -> pa.Table:
        """Remove and return the first ``rows`` rows (all when ``None``)."""
        try:
            combined = pa.concat_tables(self.tables, promote_options="default")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInputError(
                f"the batches of one micro-batch have different schemas: {exc}",
                field="batches",
                remedy="give every batch of the stream the table's columns and types",
            ) from exc
        rows = combined.num_rows if rows is None else rows
        rest = combined.slice(rows)
        self.tables = [rest] if rest.num_rows else []
        self.rows = rest.num_rows
        if not self.rows:
            self.deadline = None
        return combined.slice(0, rows)


def append_stream(
    commit: Callable[[pa.Table], TableVersion],
    batches: Iterable[StreamBatch],
    *,
    max_rows: int = 10_000,
    max_seconds: float = 5.0,
    on_commit: Callable[[TableVersion], None] | None = None,
) -> list[TableVersion]:
    """Commit ``batches`` through ``commit`` in micro-batches; the versions, in order."""
    _check_bounds(max_rows, max_seconds)
    committed: list[TableVersion] = []
    buffer = _Buffer()

    def flush(rows: int | None = None) -> None:
        version = commit(buffer.take(rows))
        committed.append(version)
        if on_commit is not None:
            on_commit(version)

    pump = _Pump(batches)
    try:
        while True:
            timeout = None if buffer.deadline is None else buffer.deadline - time.monotonic()
            try:
                item = pump.get(max(timeout, 0.0) if timeout is not None else None)
            except queue.Empty:
                flush()
                continue
            if item is _END:
                break
            if isinstance(item, _SourceFailed):
                raise item.error
            table = to_arrow(item)
            if table.num_rows:
                buffer.add(table, time.monotonic() + max_seconds)
            while buffer.rows >= max_rows:
                flush(max_rows)
                if buffer.rows:
                    buffer.deadline = time.monotonic() + max_seconds
            if buffer.deadline is not None and time.monotonic() >= buffer.deadline:
                flush()
        if buffer.rows:
            flush()
    finally:
        pump.close()
    return committed
