"""How the CLI shows things: Rich consoles, tables, and one format per kind of value.

Times are shown in UTC, run ids shortened to their first 8 characters (every command that
takes a run id also takes such a prefix), metric values with four decimals, durations in
words (``90 days``, ``1 h 30 min``).

A table fits the terminal with one line per row: when it is too wide, its widest columns
shrink first and values that no longer fit end in ``…``. Commands that list things offer
``--wide`` (every value in full, folded onto more lines) and ``--json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

__all__ = [
    "SHORT_ID",
    "JsonOption",
    "WideOption",
    "console",
    "format_age",
    "format_datetime",
    "format_duration",
    "format_mapping",
    "format_ms",
    "format_number",
    "print_json",
    "short_id",
    "table",
    "working",
]

SHORT_ID = 8

WideOption = Annotated[
    bool, typer.Option("--wide", help="Every column and every value in full, on more lines.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON: every field, in full.")]


def console(*, stderr: bool = False) -> Console:
    """A console on the current stdout (or stderr); built per use so tests can capture it."""
    return Console(stderr=stderr, highlight=False)


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout, never wrapped to the terminal."""
    typer.echo(json.dumps(value, indent=2, default=str))


def working(message: str) -> AbstractContextManager[Any]:
    """A spinner with ``message`` on stderr while a long step runs (nothing when stderr is
    not a terminal)."""
    return console(stderr=True).status(message)


def table(
    title: str | None, *columns: str, wide: bool = False, long_text: Collection[str] = ()
) -> Table:
    """A table in the house style, with ``columns`` as headers.

    Each row stays on one line, cut with ``…`` where the terminal is too narrow: the
    ``long_text`` columns (messages, explanations) shrink first, then every column, widest
    first. ``wide`` shows every value in full instead, on more lines (``--wide``, and the
    tables that show one thing in detail): ``long_text`` wraps at spaces, and the other
    columns stay whole as long as the terminal leaves the long text some room.
    """
    out = _FittedTable(
        title=title,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        title_style="bold",
        one_line=not wide,
        long_text=[i for i, name in enumerate(columns) if name in long_text],
    )
    for name in columns:
        out.add_column(name, overflow="fold" if wide else "ellipsis")
    return out


_LONG_TEXT_ROOM = 20
"""Fewest characters a long-text column is left before the other columns shrink too."""


class _FittedTable(Table):
    """A table that fits the terminal by choosing which columns may shrink.

    Rich shrinks the columns that may wrap (widest first) and only when that is not
    enough all of them. So when the other columns leave the ``long_text`` ones some room,
    only those may wrap; otherwise every column may. In a ``one_line`` table the cells
    themselves never wrap, whatever their column allows: they end in ``…``. A table that
    shows every value in full but cannot leave its long text that room shows each row as
    a block of ``column value`` lines instead.
    """

    def __init__(self, *, one_line: bool, long_text: Collection[int], **options: Any) -> None:
        super().__init__(**options)
        self._one_line = one_line
        self._long_text = set(long_text)

    def add_row(self, *renderables: Any, style: Any = None, end_section: bool = False) -> None:
        cells = [_one_line(cell) for cell in renderables] if self._one_line else renderables
        super().add_row(*cells, style=style, end_section=end_section)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        fits = True
        if self._long_text:
            others = [c for i, c in enumerate(self.columns) if i not in self._long_text]
            needed = sum(_natural_width(console, options, column) + 2 for column in others) + 2
            fits = options.max_width - needed >= _LONG_TEXT_ROOM * len(self._long_text)
            for column in others:
                column.no_wrap = fits
        if not fits and not self._one_line:
            yield from self._records(console)
            return
        # The title gets a line of its own, as wide as the terminal: Rich would wrap it to
        # the width of the table, however narrow.
        title, self.title = self.title, None
        try:
            if title:
                yield console.render_str(str(title), style="bold")
            yield from super().__rich_console__(console, options)
        finally:
            self.title = title

    def _records(self, console: Console) -> RenderResult:
        """Each row as a block of ``column value`` lines: a wide table in a narrow terminal."""
        if self.title:
            yield console.render_str(str(self.title), style="bold")
        headers = [str(column.header) for column in self.columns]
        for row in zip(*(column.cells for column in self.columns), strict=True):
            record = Table.grid(padding=(0, 2), pad_edge=True)
            record.add_column(style="bold", no_wrap=True)
            record.add_column(overflow="fold")
            for header, cell in zip(headers, row, strict=True):
                record.add_row(header, cell)
            yield record
            yield Text()


def _natural_width(console: Console, options: ConsoleOptions, column: Column) -> int:
    cells = [column.header, *column.cells]
    return max(Measurement.get(console, options, cell).maximum for cell in cells)


def _one_line(cell: Any) -> Any:
    if isinstance(cell, str):
        cell = Text.from_markup(cell)
    if isinstance(cell, Text):
        cell.no_wrap = True
        cell.overflow = "ellipsis"
    return cell


def short_id(run_id: str) -> str:
    """The first characters of an id, enough to tell runs apart."""
    return run_id[:SHORT_ID]


def format_ms(ms: int | None) -> str:
    """Milliseconds since the epoch as ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    if ms is None:
        return "-"
    return format_datetime(datetime.fromtimestamp(ms / 1000, tz=UTC))


def format_datetime(value: datetime | None) -> str:
    """A datetime in UTC (naive ones are taken to be UTC already)."""
    if value is None:
        return "-"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | timedelta | None) -> str:
    """A duration in words: ``90 days``, ``1 h 30 min``, ``45 s``, ``250 ms``."""
    if seconds is None:
        return "-"
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    if seconds == 0:
        return "0 s"
    if seconds < 1:
        return f"{seconds * 1000:g} ms"
    if seconds < 60:
        return f"{seconds:g} s"
    parts = []
    rest = round(seconds)
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {'day' if unit == 'days' and count == 1 else unit}")
    return " ".join(parts)


def format_age(value: datetime, *, now: datetime | None = None) -> str:
    """How long ago ``value`` was, in its largest unit: ``45 s``, ``12 min``, ``3 h``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = max(0.0, ((now or datetime.now(UTC)) - value).total_seconds())
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {'day' if unit == 'days' and count == 1 else unit}"
    return f"{int(seconds)} s"


def format_number(value: float) -> str:
    """A metric value: integers as integers, others with four decimals."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if abs(value) >= 1e5 or abs(value) < 1e-4:
        return f"{value:.4g}"
    return f"{value:.4f}"


def format_mapping(values: Mapping[str, str] | Mapping[str, float]) -> str:
    """``key=value`` pairs, sorted by key, numbers formatted like metrics."""
    parts = []
    for key in sorted(values):
        value = values[key]
        shown = format_number(value) if isinstance(value, float) else value
        parts.append(f"{key}={shown}")
    return ", ".join(parts)
