"""How the CLI shows things: Rich consoles, tables, and one format per kind of value.

Times are shown in UTC, run ids shortened to their first 8 characters (every command that
takes a run id also takes such a prefix), metric values with four decimals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime

from rich import box
from rich.console import Console
from rich.table import Table

__all__ = [
    "SHORT_ID",
    "console",
    "format_datetime",
    "format_mapping",
    "format_ms",
    "format_number",
    "short_id",
    "table",
]

SHORT_ID = 8


def console(*, stderr: bool = False) -> Console:
    """A console on the current stdout (or stderr); built per use so tests can capture it."""
    return Console(stderr=stderr, highlight=False)


def table(title: str | None, *columns: str) -> Table:
    """A table in the house style, with ``columns`` as headers."""
    out = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", title_style="bold")
    for name in columns:
        out.add_column(name, overflow="fold")
    return out


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
