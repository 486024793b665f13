"""Small, dependency-free SVG charts for reports: no script, no external reference.

Every text that can come from outside (labels, versions) is XML-escaped here, so a chart
is safe to place in a page as it is. Sizes are fixed and small: a chart is a few kB
whatever the run size (a 40-bin histogram, a label-by-label matrix, at most a few
hundred points).
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

FONT = "font-family='Helvetica, Arial, sans-serif' font-size='11'"
BLUE, GREY, TEXT = "#2f6fb3", "#c9ced6", "#333333"
PALETTE = ("#2f6fb3", "#d9822b", "#2e9e5b", "#b8433c", "#7a5cb8", "#5c8a8a")


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title)}'>"
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _tick(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.2g}"


def confusion_heatmap(labels: list[str], matrix: list[list[int]]) -> str:
    """Rows expected, columns predicted; darker means more rows; counts written in cells."""
    n = len(labels)
    cell = max(22, min(48, 420 // max(n, 1)))
    left, top = 110, 90
    width, height = left + cell * n + 10, top + cell * n + 30
    peak = max((v for row in matrix for v in row), default=0) or 1
    body = [f"<text x='{left}' y='14' {FONT} fill='{TEXT}'>predicted →</text>",
            f"<text x='4' y='{top - 6}' {FONT} fill='{TEXT}'>expected ↓</text>"]
    for j, label in enumerate(labels):
        x = left + j * cell + cell / 2
        body.append(f"<text x='{_num(x)}' y='{top - 8}' {FONT} fill='{TEXT}' "
                    f"transform='rotate(-45 {_num(x)} {top - 8})'>{escape(label[:18])}</text>")
    for i, label in enumerate(labels):
        y = top + i * cell
        body.append(f"<text x='{left - 6}' y='{_num(y + cell / 2 + 4)}' {FONT} fill='{TEXT}' "
                    f"text-anchor='end'>{escape(label[:16])}</text>")
        for j in range(n):
            value = matrix[i][j]
            share = value / peak
            fill = f"rgb({int(255 - 208 * share)},{int(255 - 144 * share)},{int(255 - 76 * share)})"
            ink = "#ffffff" if share > 0.55 else TEXT
            body.append(f"<rect x='{left + j * cell}' y='{y}' width='{cell}' height='{cell}' "
                        f"fill='{fill}' stroke='#ffffff'/>")
            body.append(f"<text x='{_num(left + j * cell + cell / 2)}' "
                        f"y='{_num(y + cell / 2 + 4)}' {FONT} fill='{ink}' "
                        f"text-anchor='middle'>{value}</text>")
    return _svg(width, height, body, "Confusion matrix")


def histogram(edges: list[float], counts: list[int], marks: dict[str, float | None],
              *, x_label: str = "latency (ms)") -> str:
    """Bars over equal bins, with dashed lines for the marks (e.g. p50, p95)."""
    width, height, left, bottom, top, right = 560, 220, 50, 36, 14, 14
    plot_w, plot_h = width - left - right, height - top - bottom
    body = [f"<rect x='{left}' y='{top}' width='{plot_w}' height='{plot_h}' fill='none' "
            f"stroke='{GREY}'/>"]
    if not counts:
        body.append(f"<text x='{left + 10}' y='{top + 20}' {FONT} fill='{TEXT}'>"
                    "no latencies (every row was cached or failed)</text>")
        return _svg(width, height, body, "Latency histogram")
    low, high = edges[0], edges[-1]
    span = (high - low) or 1.0
    peak = max(counts) or 1
    bar_w = plot_w / len(counts)
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        body.append(f"<rect x='{_num(left + i * bar_w)}' y='{_num(top + plot_h - h)}' "
                    f"width='{_num(max(bar_w - 1, 1))}' height='{_num(h)}' fill='{BLUE}' "
                    "fill-opacity='0.75'/>")
    for n, (name, value) in enumerate(marks.items()):
        if value is None or not low <= value <= high:
            continue
        x = left + plot_w * (value - low) / span
        body.append(f"<line x1='{_num(x)}' y1='{top}' x2='{_num(x)}' y2='{top + plot_h}' "
                    f"stroke='{TEXT}' stroke-dasharray='4 3'/>")
        # Near the right edge the label goes on the line's left, so it stays inside.
        anchor, dx = ("end", -3) if x > left + plot_w * 0.7 else ("start", 3)
        body.append(f"<text x='{_num(x + dx)}' y='{top + 12 + 13 * n}' {FONT} fill='{TEXT}' "
                    f"text-anchor='{anchor}'>{escape(name)} {_tick(value)}</text>")
    for value in (low, low + span / 2, high):
        x = left + plot_w * (value - low) / span
        body.append(f"<text x='{_num(x)}' y='{height - 20}' {FONT} fill='{TEXT}' "
                    f"text-anchor='middle'>{_tick(value)}</text>")
    body.append(f"<text x='{left + plot_w / 2}' y='{height - 4}' {FONT} fill='{TEXT}' "
                f"text-anchor='middle'>{escape(x_label)}</text>")
    body.append(f"<text x='{left - 6}' y='{top + 10}' {FONT} fill='{TEXT}' "
                f"text-anchor='end'>{peak}</text>")
    body.append(f"<text x='{left - 6}' y='{top + plot_h}' {FONT} fill='{TEXT}' "
                "text-anchor='end'>0</text>")
    return _svg(width, height, body, "Latency histogram")


def line_chart(points: list[dict[str, Any]], key: str, *, group: str, y_label: str,
               percent: bool = False) -> str:
    """One line per ``group`` value (e.g. dataset) of ``key`` against time ``x`` (epoch s)."""
    width, height, left, bottom, top, right = 560, 240, 56, 40, 14, 120
    plot_w, plot_h = width - left - right, height - top - bottom
    usable = [p for p in points if _finite(p.get(key)) and _finite(p.get("x"))]
    body = [f"<rect x='{left}' y='{top}' width='{plot_w}' height='{plot_h}' fill='none' "
            f"stroke='{GREY}'/>"]
    if not usable:
        body.append(f"<text x='{left + 10}' y='{top + 20}' {FONT} fill='{TEXT}'>"
                    "no completed runs with this metric</text>")
        return _svg(width, height, body, f"{y_label} over time")
    xs = [p["x"] for p in usable]
    ys = [p[key] for p in usable]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 0.5 * (abs(y0) or 1), y1 + 0.5 * (abs(y1) or 1)
    x_span = (x1 - x0) or 1.0

    def at(p: dict[str, Any]) -> tuple[float, float]:
        return (left + plot_w * (p["x"] - x0) / x_span if x1 > x0 else left + plot_w / 2,
                top + plot_h * (1 - (p[key] - y0) / (y1 - y0)))

    groups: dict[str, list[dict[str, Any]]] = {}
    for p in usable:
        groups.setdefault(str(p.get(group)), []).append(p)
    for n, (name, members) in enumerate(sorted(groups.items())[: len(PALETTE)]):
        color = PALETTE[n]
        coords = [at(p) for p in members]
        path = " ".join(f"{_num(x)},{_num(y)}" for x, y in coords)
        body.append(f"<polyline points='{path}' fill='none' stroke='{color}' "
                    "stroke-width='1.5'/>")
        for (x, y), p in zip(coords, members, strict=True):
            body.append(f"<circle cx='{_num(x)}' cy='{_num(y)}' r='2.5' fill='{color}'>"
                        f"<title>v{escape(str(p.get('version')))}</title></circle>")
        body.append(f"<rect x='{left + plot_w + 10}' y='{top + 4 + n * 16}' width='10' "
                    f"height='10' fill='{color}'/>")
        body.append(f"<text x='{left + plot_w + 24}' y='{top + 13 + n * 16}' {FONT} "
                    f"fill='{TEXT}'>{escape(name[:16])}</text>")
    for value in (y0, y1):
        y = top + plot_h * (1 - (value - y0) / (y1 - y0))
        text = f"{value:.1%}" if percent else _tick(value)
        body.append(f"<text x='{left - 4}' y='{_num(y + 4)}' {FONT} fill='{TEXT}' "
                    f"text-anchor='end'>{text}</text>")
    for value in (x0, x1):
        x = left + plot_w * (value - x0) / x_span if x1 > x0 else left + plot_w / 2
        day = _day(value)
        body.append(f"<text x='{_num(x)}' y='{height - 22}' {FONT} fill='{TEXT}' "
                    f"text-anchor='middle'>{day}</text>")
    body.append(f"<text x='{left + plot_w / 2}' y='{height - 4}' {FONT} fill='{TEXT}' "
                f"text-anchor='middle'>{escape(y_label)} per run (UTC date)</text>")
    return _svg(width, height, body, f"{y_label} over time")


def _day(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
