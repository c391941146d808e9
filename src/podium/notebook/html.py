"""Building blocks of the notebook displays: a titled card, tables, facts and charts.

Inline styles only (a notebook allows them; the web UI's pages do not need these), no
script and no URL. :func:`text` escapes; everything else takes already escaped HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from markupsafe import Markup, escape

__all__ = [
    "MAX_ROWS", "card", "chart", "charts", "facts", "number", "section", "status", "table",
    "text", "when",
]  # fmt: skip

MAX_ROWS = 50
"""Rows a table shows before it says how many more there are."""

_BOX = (
    'style="font-family: system-ui, sans-serif; font-size: 13px; border: 1px solid #dde3ea; '
    'border-radius: 6px; padding: 8px 12px; margin: 4px 0; max-width: 100%; overflow-x: auto"'
)
_CELL = 'style="border-bottom: 1px solid #eef1f4; padding: 2px 8px; text-align: left"'
_HEAD = (
    'style="border-bottom: 1px solid #ccd3db; padding: 2px 8px; text-align: left; font-weight: 600"'
)
_NOTE = 'style="color: #5b6b7c"'
_STATUS_COLOURS = {"drift": "#c0392b", "ok": "#2e8b57", "n/a": "#5b6b7c"}


def text(value: object) -> str:
    """``value`` as escaped text (None as empty)."""
    return "" if value is None else str(escape(str(value)))


def number(value: float | None) -> str:
    """A number as the UI shows it (6 significant digits), None as empty."""
    return "" if value is None else f"{value:.6g}"


def when(value: datetime | None) -> str:
    """A time in UTC to the second."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def status(value: str) -> str:
    """A drift status (``drift``, ``ok``, ``n/a``) as a coloured word."""
    colour = _STATUS_COLOURS.get(value, "#1d2733")
    return f'<b style="color: {colour}">{text(value)}</b>'


def card(kind: str, title: str, *sections: str) -> str:
    """A box headed ``kind`` (e.g. ``run``) and ``title`` (escaped), then ``sections``."""
    heading = f"<div><span {_NOTE}>{text(kind)}</span> <b>{text(title)}</b></div>"
    body = "".join(f'<div style="margin-top: 6px">{s}</div>' for s in sections if s)
    return f"<div {_BOX}>{heading}{body}</div>"


def facts(pairs: Iterable[tuple[str, str]]) -> str:
    """``label: value`` pairs on one wrapping line; values are HTML (escape them first)."""
    shown = [f"<span {_NOTE}>{text(k)}</span> {v}" for k, v in pairs if v != ""]
    return " &nbsp;·&nbsp; ".join(shown)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, total: int | None = None
) -> str:
    """A table of already escaped cells; past :data:`MAX_ROWS` rows, a note of how many
    more there are (``total`` when the rows are a sample of more)."""
    if not rows:
        return f"<span {_NOTE}>none</span>"
    head = "".join(f"<th {_HEAD}>{text(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in row) + "</tr>" for row in rows[:MAX_ROWS]
    )
    more = (total if total is not None else len(rows)) - min(len(rows), MAX_ROWS)
    note = f"<div {_NOTE}>… and {more:,} more</div>" if more > 0 else ""
    return (
        f'<table style="border-collapse: collapse; margin: 2px 0"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>{note}"
    )


def chart(svg: Markup) -> str:
    """A chart of :mod:`podium.ui.charts` for a notebook: the same SVG, inline in the
    page's HTML, where the SVG namespace is implied, so the output holds no URL at all."""
    return str(svg).replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)


def charts(svgs: Iterable[Markup]) -> str:
    """Several charts side by side, wrapping."""
    inner = "".join(f'<div style="display: inline-block; vertical-align: top">{chart(s)}</div>'
                    for s in svgs)  # fmt: skip
    return f"<div>{inner}</div>" if inner else ""


def section(title: str, body: str) -> str:
    """A small heading (escaped) over ``body``; nothing when ``body`` is empty."""
    return (
        f'<div style="font-weight: 600; margin-top: 4px">{text(title)}</div>{body}' if body else ""
    )
