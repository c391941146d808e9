"""The monitoring report's page template and its charts, as inline SVG (no JavaScript).

Every function returns markup with all text escaped; the page needs no network, fonts or
scripts, so it can be mailed or archived as one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["PAGE", "bar_pairs", "line_chart", "score_bars"]

REFERENCE_COLOUR = "#7a8ca3"
CURRENT_COLOUR = "#e0823d"
DRIFT_COLOUR = "#c0392b"
OK_COLOUR = "#2e8b57"
NOTE_COLOUR = "#5b6b7c"
STATUS_COLOURS = {"drift": DRIFT_COLOUR, "ok": OK_COLOUR, "n/a": NOTE_COLOUR}
"""The colour of each drift status (:mod:`podium.monitoring.drift.status`)."""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem;
        color: #1d2733; max-width: 1100px; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.2rem; margin-top: 2rem;
        border-bottom: 1px solid #dde3ea; padding-bottom: .3rem; }}
table {{ border-collapse: collapse; margin: .5rem 0; }}
th, td {{ text-align: left; padding: .25rem .8rem; border-bottom: 1px solid #eef1f4; }}
.drift {{ color: {drift}; font-weight: 600; }} .ok {{ color: {ok}; }}
.note {{ color: #5b6b7c; }} .charts {{ display: flex; flex-wrap: wrap; gap: 1rem; }}
.legend span {{ display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; }}
</style></head><body>
<h1>{title}</h1>
<p class="note">{subtitle}</p>
{body}
</body></html>
"""


def _frame(width: int, height: int, inner: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f'<text x="4" y="14" font-size="12" font-weight="600">{escape(title)}</text>'
        f"{inner}</svg>"
    )


def bar_pairs(
    title: str,
    labels: Sequence[str],
    reference: Sequence[float],
    current: Sequence[float],
    *,
    width: int = 340,
    height: int = 170,
) -> str:
    """Two bars per label: reference share beside current share."""
    top, bottom, left = 22, 28, 4
    plot_h = height - top - bottom
    peak = max([*reference, *current, 1e-12])
    slot = (width - left * 2) / max(len(labels), 1)
    bar = max(slot / 2 - 1, 1)
    parts = []
    for i, label in enumerate(labels):
        x = left + i * slot
        for j, (value, colour) in enumerate(
            ((reference[i], REFERENCE_COLOUR), (current[i], CURRENT_COLOUR))
        ):
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(label)}: '
                f"{'reference' if j == 0 else 'current'} {value:.3f}</title></rect>"
            )
    if labels:
        parts.append(
            f'<text x="{left}" y="{height - 10}" font-size="10">{escape(labels[0])}</text>'
            f'<text x="{width - left}" y="{height - 10}" font-size="10" text-anchor="end">'
            f"{escape(labels[-1])}</text>"
        )
    return _frame(width, height, "".join(parts), title)


def score_bars(
    title: str, rows: Sequence[tuple[str, float, float, str]], *, width: int = 700
) -> str:
    """One horizontal bar per column: score against threshold, coloured by the column's
    drift status (``drift`` red, ``ok`` green, ``n/a`` grey)."""
    row_h, top, label_w = 20, 24, 180
    height = top + row_h * max(len(rows), 1) + 8
    peak = max([max(score, threshold) for _, score, threshold, _ in rows] + [1e-12])
    plot_w = width - label_w - 90
    parts = []
    for i, (name, score, threshold, status) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * score / peak
        tx = label_w + plot_w * threshold / peak
        colour = STATUS_COLOURS.get(status, NOTE_COLOUR)
        parts.append(
            f'<text x="4" y="{y + 13}" font-size="11">{escape(name[:28])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="12" fill="{colour}">'
            f"<title>{escape(name)}: {escape(status)}</title></rect>"
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y}" y2="{y + row_h}" stroke="#1d2733" '
            'stroke-dasharray="3,2"/>'
            f'<text x="{label_w + plot_w + 6}" y="{y + 13}" font-size="11">{score:.3g}</text>'
        )
    return _frame(width, height, "".join(parts), title)


def line_chart(
    title: str, xs: Sequence[str], ys: Sequence[float | None], *, unit: str = "", width: int = 520
) -> str:
    """A polyline of ``ys`` over evenly spaced points labelled by ``xs``."""
    height, top, bottom, left = 170, 22, 26, 44
    plot_h, plot_w = height - top - bottom, width - left - 8
    known = [y for y in ys if y is not None]
    peak = max([*known, 1e-12])
    step = plot_w / max(len(ys) - 1, 1)
    points = [
        f"{left + i * step:.1f},{top + plot_h - plot_h * y / peak:.1f}"
        for i, y in enumerate(ys)
        if y is not None
    ]
    parts = [
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#aab4bf"/>',
        f'<line x1="{left}" x2="{width - 8}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#aab4bf"/>',
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">'
        f"{peak:.3g}{escape(unit)}</text>",
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    if points:
        parts.append(
            f'<polyline fill="none" stroke="{CURRENT_COLOUR}" stroke-width="2" '
            f'points="{" ".join(points)}"/>'
        )
    if xs:
        parts.append(
            f'<text x="{left}" y="{height - 8}" font-size="10">{escape(xs[0])}</text>'
            f'<text x="{width - 8}" y="{height - 8}" font-size="10" text-anchor="end">'
            f"{escape(xs[-1])}</text>"
        )
    return _frame(width, height, "".join(parts), title)
