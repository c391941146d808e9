"""Charts drawn on the server as SVG: no script, no library, no request to anywhere.

Each function returns an ``<svg>`` element as :class:`markupsafe.Markup`, ready for a
Jinja2 template or a notebook's ``_repr_html_``. Colours and strokes are presentation
attributes, not ``style``, so the UI's Content-Security-Policy (no inline styles) holds;
every mark carries a ``<title>``, which browsers show on hover. Text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from markupsafe import Markup, escape

__all__ = [
    "PALETTE",
    "bar_chart",
    "graph",
    "line_chart",
    "paired_histogram",
    "parallel_coordinates",
]

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'
_MAX_LEGEND = 12


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str = "",
    x_label: str = "step",
    width: int = 640,
    height: int = 260,
    x_range: tuple[float, float] | None = None,
) -> Markup:
    """One line per series of ``(x, y)`` points (a single point is drawn as a dot).

    ``x_range`` widens the x axis to cover it (e.g. a whole time window with data in part
    of it)."""
    points = [p for pts in series.values() for p in pts if _finite(p[1])]
    if not points:
        return _empty(title, width)
    left, right, top, bottom = 56, 16, 24, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [p[0] for p in points] + list(x_range or ())
    x_ticks = _ticks(min(xs), max(xs))
    y_ticks = _ticks(min(p[1] for p in points), max(p[1] for p in points))

    def sx(x: float) -> float:
        return left + _scale(x, x_ticks[0], x_ticks[-1]) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - _scale(y, y_ticks[0], y_ticks[-1]) * plot_h

    parts = [_axes(left, top, plot_w, plot_h, x_ticks, y_ticks, sx, sy, x_label)]
    for i, (name, pts) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        good = sorted((x, y) for x, y in pts if _finite(y))
        label = escape(name)
        if len(good) > 1:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in good)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5">'
                f"<title>{label}</title></polyline>"
            )
        for x, y in good if len(good) <= 60 else good[-1:]:
            parts.append(
                f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}">'
                f"<title>{label}: {y:.6g} at {x:g}</title></circle>"
            )
    if 1 < len(series) <= _MAX_LEGEND:
        parts.append(_legend(list(series), left + 8, top + 4))
    return _svg(width, height, title, parts)


def bar_chart(
    bars: Sequence[tuple[str, float | None]],
    *,
    title: str = "",
    threshold: float | None = None,
    flagged: Sequence[str] = (),
    width: int = 640,
) -> Markup:
    """Horizontal bars, one per label; ``flagged`` labels are red, a None value is n/a.

    ``threshold`` draws a dashed line (e.g. a drift test's threshold).
    """
    if not bars:
        return _empty(title, width)
    left, right, top, row = 160, 60, 24, 22
    height = top + row * len(bars) + 28
    plot_w = width - left - right
    values = [v for _, v in bars if v is not None and _finite(v)]
    ticks = _ticks(min(0.0, *values) if values else 0.0, max([*values, threshold or 0.0, 1e-9]))

    def sx(x: float) -> float:
        return left + _scale(x, ticks[0], ticks[-1]) * plot_w

    parts = []
    for i, (label, value) in enumerate(bars):
        y = top + i * row
        text = escape(_clip(label, 24))
        parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" {_FONT}>{text}</text>')
        if value is None or not _finite(value):
            parts.append(f'<text x="{left + 4}" y="{y + 15}" fill="#777" {_FONT}>n/a</text>')
            continue
        colour = "#d62728" if label in flagged else "#1f77b4"
        x0, x1 = sorted((sx(0.0), sx(value)))
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 2):.1f}" height="{row - 8}" '
            f'fill="{colour}"><title>{escape(label)}: {value:.4g}</title></rect>'
            f'<text x="{x1 + 4:.1f}" y="{y + 15}" {_FONT}>{value:.3g}</text>'
        )
    bottom = top + row * len(bars)
    for t in ticks:
        parts.append(
            f'<text x="{sx(t):.1f}" y="{bottom + 16}" text-anchor="middle" {_FONT}>{t:g}</text>'
        )
    if threshold is not None:
        x = sx(threshold)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#d62728" '
            f'stroke-dasharray="4 3"><title>threshold {threshold:g}</title></line>'
        )
    return _svg(width, height, title, parts)


def paired_histogram(
    labels: Sequence[str],
    first: Sequence[float],
    second: Sequence[float],
    *,
    names: tuple[str, str] = ("reference", "current"),
    title: str = "",
    width: int = 320,
    height: int = 170,
) -> Markup:
    """Two bars per label (e.g. a bin or category): ``first`` beside ``second``, both as
    shares, on one scale, so two distributions can be compared at a glance."""
    if not labels or len(first) != len(labels) or len(second) != len(labels):
        return _empty(title, width)
    left, right, top, bottom = 36, 8, 34, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for v in (*first, *second) if _finite(v)] + [1e-12])
    slot = plot_w / len(labels)
    bar = max(slot / 2 - 1, 1.0)
    colours = (PALETTE[7], PALETTE[1])
    parts = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#bbb"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" {_FONT}>{peak:.2g}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" {_FONT}>0</text>',
    ]
    for i, label in enumerate(labels):
        for j, (value, colour) in enumerate(((first[i], colours[0]), (second[i], colours[1]))):
            shown = value if _finite(value) else 0.0
            h = plot_h * max(shown, 0.0) / peak
            parts.append(
                f'<rect x="{left + i * slot + j * bar:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}"><title>'
                f"{escape(label)}: {escape(names[j])} {shown:.3f}</title></rect>"
            )
    parts.append(
        f'<text x="{left}" y="{height - 12}" {_FONT}>{escape(_clip(labels[0], 14))}</text>'
        f'<text x="{left + plot_w}" y="{height - 12}" text-anchor="end" {_FONT}>'
        f"{escape(_clip(labels[-1], 14))}</text>"
    )
    for j, name in enumerate(names):
        x = left + j * 90
        parts.append(
            f'<rect x="{x}" y="{top - 14}" width="10" height="10" fill="{colours[j]}"/>'
            f'<text x="{x + 14}" y="{top - 5}" {_FONT}>{escape(name)}</text>'
        )
    return _svg(width, height, title, parts)


def parallel_coordinates(
    axes: Sequence[str],
    rows: Mapping[str, Mapping[str, float | str | None]],
    *,
    title: str = "",
    height: int = 320,
) -> Markup:
    """One polyline per row (e.g. a run) across ``axes`` (e.g. params then metrics).

    Numeric axes are scaled from their minimum to their maximum; an axis with any text
    value places the distinct values evenly. Missing values break the line. The chart
    is 120 pixels wide per axis.
    """
    width = max(400, 80 + 120 * len(axes))
    if not axes or not rows:
        return _empty(title, width)
    left, right, top, bottom = 50, 70, 28, 50
    plot_h = height - top - bottom
    step = (width - left - right) / max(len(axes) - 1, 1)
    position = {axis: _axis_positions([r.get(axis) for r in rows.values()]) for axis in axes}
    parts = []
    for i, (name, row) in enumerate(rows.items()):
        colour = PALETTE[i % len(PALETTE)]
        segment: list[str] = []
        lines: list[list[str]] = [segment]
        for j, axis in enumerate(axes):
            where = position[axis].get(_key(row.get(axis)))
            if where is None:
                segment = []
                lines.append(segment)
                continue
            segment.append(f"{left + j * step:.1f},{top + plot_h - where * plot_h:.1f}")
        for seg in lines:
            if len(seg) > 1:
                parts.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                    f'stroke-opacity="0.6" stroke-width="1.2"><title>{escape(name)}</title>'
                    "</polyline>"
                )
    for j, axis in enumerate(axes):
        x = left + j * step
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" '
                     'stroke="#333"/>')  # fmt: skip
        # Alternate rows, so long names on neighbouring axes do not overlap.
        parts.append(
            f'<text x="{x:.1f}" y="{height - 30 + 14 * (j % 2)}" text-anchor="middle" '
            f"{_FONT}><title>{escape(axis)}</title>{escape(_clip(axis, 20))}</text>"
        )
        labels = position[axis]
        ends = [k for k, v in labels.items() if v in (0.0, 1.0)]
        for label in ends[:2]:
            y = top + plot_h - labels[label] * plot_h
            number = _number(label)
            shown = f"{number:.4g}" if number is not None else _clip(label, 12)
            parts.append(
                f'<text x="{x + 3:.1f}" y="{y + 4:.1f}" fill="#555" {_FONT}>{escape(shown)}</text>'
            )
    return _svg(width, height, title, parts)


def graph(
    nodes: Sequence[tuple[str, str, str]],
    edges: Sequence[tuple[str, str, str]],
    *,
    title: str = "",
    highlight: str | None = None,
) -> Markup:
    """A left-to-right layered graph; ``nodes`` are ``(id, kind, label)``, ``edges``
    ``(source, target, kind)``. Each node sits one column right of its furthest source."""
    if not nodes:
        return _empty(title, 400)
    ids = [n[0] for n in nodes]
    layer = dict.fromkeys(ids, 0)
    for _ in range(len(ids)):  # longest path from a source; a cycle stops at len(ids)
        changed = False
        for source, target, _kind in edges:
            if source in layer and target in layer and layer[target] < layer[source] + 1:
                layer[target] = min(layer[source] + 1, len(ids))
                changed = True
        if not changed:
            break
    columns: dict[int, list[str]] = {}
    for node_id in ids:
        columns.setdefault(layer[node_id], []).append(node_id)
    box_w, box_h, gap_x, gap_y, pad = 170, 34, 50, 14, 10
    where = {
        node_id: (pad + col * (box_w + gap_x), pad + 20 + row * (box_h + gap_y))
        for col, members in columns.items()
        for row, node_id in enumerate(members)
    }
    width = pad * 2 + (max(columns) + 1) * (box_w + gap_x)
    height = pad * 2 + 20 + max(len(m) for m in columns.values()) * (box_h + gap_y)
    parts = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>'
    ]
    for source, target, kind in edges:
        if source not in where or target not in where:
            continue
        (x0, y0), (x1, y1) = where[source], where[target]
        parts.append(
            f'<line x1="{x0 + box_w}" y1="{y0 + box_h / 2}" x2="{x1}" y2="{y1 + box_h / 2}" '
            f'stroke="#555" marker-end="url(#arrow)"><title>{escape(kind)}</title></line>'
        )
    kinds = sorted({n[1] for n in nodes})
    for node_id, kind, label in nodes:
        x, y = where[node_id]
        colour = PALETTE[kinds.index(kind) % len(PALETTE)]
        border = ' stroke-width="3"' if node_id == highlight else ""
        parts.append(
            f'<g><title>{escape(node_id)}</title><rect x="{x}" y="{y}" width="{box_w}" '
            f'height="{box_h}" rx="5" fill="#fff" stroke="{colour}"{border}/>'
            f'<text x="{x + 6}" y="{y + 14}" fill="{colour}" {_FONT}>{escape(kind)}</text>'
            f'<text x="{x + 6}" y="{y + 28}" {_FONT}>{escape(_clip(label, 26))}</text></g>'
        )
    return _svg(width, height, title, parts)


def _svg(width: int, height: int, title: str, parts: list[str]) -> Markup:
    heading = (
        f'<text x="8" y="15" font-weight="bold" {_FONT}>{escape(title)}</text>' if title else ""
    )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">{heading}{"".join(parts)}</svg>'
    )


def _empty(title: str, width: int) -> Markup:
    return _svg(width, 48, title, [f'<text x="8" y="36" fill="#777" {_FONT}>no data</text>'])


def _axes(
    left: float, top: float, plot_w: float, plot_h: float,
    x_ticks: list[float], y_ticks: list[float],
    sx: Callable[[float], float], sy: Callable[[float], float], x_label: str,
) -> str:  # fmt: skip
    out = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
           'stroke="#bbb"/>']  # fmt: skip
    for t in y_ticks:
        y = sy(t)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{t:.4g}</text>'
        )
    for t in x_ticks:
        out.append(
            f'<text x="{sx(t):.1f}" y="{top + plot_h + 14}" text-anchor="middle" {_FONT}>'
            f"{t:.4g}</text>"
        )
    out.append(
        f'<text x="{left + plot_w / 2}" y="{top + plot_h + 30}" text-anchor="middle" '
        f'fill="#555" {_FONT}>{escape(x_label)}</text>'
    )
    return "".join(out)


def _legend(names: list[str], x: float, y: float) -> str:
    out = []
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{x}" y="{y + i * 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y + 9 + i * 14}" {_FONT}>{escape(_clip(name, 30))}</text>'
        )
    return "".join(out)


def _axis_positions(values: Sequence[float | str | None]) -> dict[str, float]:
    present = [v for v in values if v is not None]
    numbers = [_number(v) for v in present]
    if present and all(n is not None for n in numbers):
        known = [n for n in numbers if n is not None]
        low, high = min(known), max(known)
        return {_key(v): _scale(float(v), low, high) for v in present}
    distinct = sorted({_key(v) for v in present})
    span = max(len(distinct) - 1, 1)
    return {v: (i / span if len(distinct) > 1 else 0.5) for i, v in enumerate(distinct)}


def _key(value: float | str | None) -> str:
    return "" if value is None else str(value)


def _number(value: float | str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if _finite(number) else None


def _scale(value: float, low: float, high: float) -> float:
    return 0.5 if high <= low else (value - low) / (high - low)


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``low..high``."""
    if not (_finite(low) and _finite(high)):
        return [0.0, 1.0]
    if high <= low:
        low, high = low - 0.5, high + 0.5
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = [start]
    while ticks[-1] < high - 1e-12 * abs(high):
        ticks.append(round(ticks[-1] + step, 12))
    return ticks
