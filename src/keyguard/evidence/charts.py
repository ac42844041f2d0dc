"""Static inline SVG charts: a UTC date axis, a unit on the value axis, the attack window marked, and labels
that cannot overlap (every label is placed against the width it needs; legends sit outside the plot).

Hand-drawn rather than a plotting library: these charts need two kinds (time series, event lanes), and
the label placement below is checked by tests, which a library's layout would not let us assert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

FONT = 11
CHAR_EM = 0.62  # a conservative average advance for DejaVu Sans / Arial / Helvetica at this size
GAP = 10
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
TIME_STEPS = [
    MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR,
    12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 56 * DAY, 91 * DAY, 182 * DAY, 364 * DAY,
]  # fmt: skip
RED, BLUE, GREY, BAND = "#c62828", "#1f5fa8", "#8a8a8a", "#fbd5d5"
PALETTE = ["#1f5fa8", "#c62828", "#8a8a8a", "#6a3d9a", "#e07b00", "#2e7d32"]
STYLE = (
    f'font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="{FONT}"'
    ' style="max-width:100%;height:auto" role="img"'
)


def text_width(text: str, size: float = FONT) -> float:
    return len(text) * size * CHAR_EM


@dataclass
class Label:
    x: float  # anchor point
    y: float
    text: str
    anchor: str = "middle"  # start | middle | end
    size: float = FONT

    def box(self) -> tuple[float, float, float, float]:
        width = text_width(self.text, self.size)
        left = {"start": self.x, "middle": self.x - width / 2, "end": self.x - width}[self.anchor]
        return left, self.y - self.size, left + width, self.y + self.size * 0.25

    def svg(self, colour: str = "#333", weight: str = "normal") -> str:
        return (
            f'<text x="{self.x:.1f}" y="{self.y:.1f}" text-anchor="{self.anchor}" font-size="{self.size}" '
            f'fill="{colour}" font-weight="{weight}">{escape(self.text)}</text>'
        )


def overlaps(a: Label, b: Label) -> bool:
    ax0, ay0, ax1, ay1 = a.box()
    bx0, by0, bx1, by1 = b.box()
    return ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _aligned(t0: int, t1: int, step: int) -> list[int]:
    first = -(-t0 // step) * step
    return list(range(first, t1 + 1, step))


def time_ticks(
    t0: int, t1: int, plot_width: float, bounds: tuple[float, float] | None = None
) -> list[tuple[int, Label]]:
    """Tick times and their labels (x relative to the plot's left edge, kept within `bounds`): the finest
    step whose labels fit side by side without touching. Labels are dates ("25 Nov") for steps of a day or
    more, else hours, with the date where the day changes."""
    t1 = max(t1, t0 + MINUTE)
    lo, hi = bounds or (-math.inf, math.inf)
    years = _utc(t0).year != _utc(t1).year
    scale = plot_width / (t1 - t0)

    def place(ticks: list[int], texts: list[str]) -> list[tuple[int, Label]]:
        placed = []
        for tick, text in zip(ticks, texts, strict=True):
            label = Label((tick - t0) * scale, 0, text)
            x0, _, x1, _ = label.box()
            label.x += max(0.0, lo - x0) - max(0.0, x1 - hi)
            placed.append((tick, label))
        return placed

    for step in TIME_STEPS:
        ticks = _aligned(t0, t1, step)
        if len(ticks) > plot_width / 30:
            continue
        texts, last_day = [], None
        for tick in ticks:
            moment = _utc(tick)
            day = moment.strftime("%d %b %Y" if years else "%d %b").lstrip("0")
            clock = moment.strftime("%H:%M")
            texts.append(day if step >= DAY else clock if day == last_day else f"{day} {clock}")
            last_day = day
        placed = place(ticks, texts)
        if all(b.box()[0] - a.box()[2] >= GAP for (_, a), (_, b) in zip(placed, placed[1:], strict=False)):
            return placed
    return place([t0], [_utc(t0).strftime("%d %b %Y %H:%M").lstrip("0")])


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    value = start
    while value < hi + step * 0.999:
        ticks.append(round(value, 12))
        value += step
    return ticks


def format_value(value: float, step: float) -> str:
    """As many decimals as the tick step needs, with thousands separators."""
    exponent = math.floor(math.log10(step))
    mantissa = round(step / 10**exponent, 3)
    decimals = max(0, -exponent + (1 if mantissa == 2.5 else 0))
    return f"{value:,.{decimals}f}"


@dataclass
class Series:
    name: str
    points: list[tuple[int, float]]
    colour: str = BLUE
    style: str = "line"  # line | dots | hollow
    mark_last: bool = False  # the last point is "now": drawn larger
    max_gap: int | None = None  # a line breaks where points are further apart (hours without a trade)


@dataclass
class Chart:
    series: list[Series]
    unit: str  # what the value axis counts, e.g. "BTC" or "USDT per KGT"
    window: tuple[int, int] | None = None  # the attack, shaded
    span: tuple[int, int] | None = None  # the time range shown (default: the data's)
    zero_based: bool = True
    width: int = 720
    height: int = 230
    labels: list[Label] = field(default_factory=list)  # every label drawn, for the overlap tests

    def svg(self) -> str:
        points = [p for s in self.series for p in s.points]
        if not points:
            return "<p>No data to chart.</p>"
        t0, t1 = self.span or (min(p[0] for p in points), max(p[0] for p in points))
        if self.window:
            t0, t1 = min(t0, self.window[0]), max(t1, self.window[1])
        if t1 - t0 < 10 * MINUTE:
            t0, t1 = t0 - 5 * MINUTE, t1 + 5 * MINUTE
        values = [v for t, v in points if t0 <= t <= t1] or [p[1] for p in points]
        lo, hi = (min(0.0, min(values)) if self.zero_based else min(values)), max(values)
        if not self.zero_based and hi > lo:
            lo, hi = lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05
        yticks = nice_ticks(lo, hi)
        step = yticks[1] - yticks[0] if len(yticks) > 1 else 1.0
        ytexts = [format_value(v, step) for v in yticks]
        left = 12 + max(text_width(t) for t in ytexts)
        right = self.width - 16
        legend, legend_height = self._legend(left, right)
        top = 8 + legend_height + FONT + 6  # legend rows, then the unit above the axis
        bottom = self.height - 2 * FONT - 19  # tick labels and the axis title below
        ybottom, ytop = yticks[0], yticks[-1]

        def x(t: float) -> float:
            return left + (t - t0) / (t1 - t0) * (right - left)

        def y(v: float) -> float:
            return bottom - (v - ybottom) / ((ytop - ybottom) or 1) * (bottom - top)

        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'width="{self.width}" {STYLE}>'
        ]
        if self.window:
            a, b = x(self.window[0]), x(self.window[1])
            parts.append(
                f'<rect x="{min(a, b - 4):.1f}" y="{top}" width="{max(4.0, b - a):.1f}" '
                f'height="{bottom - top:.1f}" fill="{BAND}"/>'
            )
        for value, text in zip(yticks, ytexts, strict=True):
            parts.append(f'<line x1="{left}" x2="{right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#e4e4e4"/>')
            self.labels.append(Label(left - 6, y(value) + FONT * 0.35, text, "end"))
        self.labels.append(Label(left, top - 6, self.unit, "start"))
        for tick, label in time_ticks(t0, t1, right - left, (2 - left, self.width - 2 - left)):
            parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#666"/>')
            self.labels.append(Label(left + label.x, bottom + FONT + 9, label.text))
        self.labels.append(Label(right, self.height - 4, "time (UTC)", "end"))
        parts.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#666"/>')
        parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="#666"/>')
        for series in self.series:
            shown = sorted((t, v) for t, v in series.points if t0 <= t <= t1)
            if series.style == "line":
                for run in _runs(shown, series.max_gap):
                    if len(run) == 1:
                        parts.append(
                            f'<circle cx="{x(run[0][0]):.1f}" cy="{y(run[0][1]):.1f}" r="2.6" fill="{series.colour}"/>'
                        )
                        continue
                    path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
                    parts.append(f'<polyline fill="none" stroke="{series.colour}" stroke-width="1.6" points="{path}"/>')
            else:
                fill = "white" if series.style == "hollow" else series.colour
                parts += [
                    f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="3.2" fill="{fill}" stroke="{series.colour}"/>'
                    for t, v in shown
                ]
            if series.mark_last and shown:
                t, v = shown[-1]
                parts.append(
                    f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="4.5" fill="{series.colour}" '
                    'stroke="white" stroke-width="1.5"/>'
                )
        parts += legend
        parts += [label.svg() for label in self.labels]
        return "".join(parts) + "</svg>"

    def _legend(self, left: float, right: float) -> tuple[list[str], float]:
        entries = [(s.name, s.colour, s.style) for s in self.series]
        if self.window:
            span = f"{_utc(self.window[0]):%d %b %H:%M}–{_utc(self.window[1]):%H:%M}".lstrip("0")
            entries.append((f"attack window {span}", BAND, "band"))
        parts, cx, row = [], left, 0
        for name, colour, style in entries:
            width = 16 + text_width(name) + 18
            if cx + width > right and cx > left:
                cx, row = left, row + 1
            cy = 8 + row * (FONT + 8) + FONT
            if style == "band":
                parts.append(f'<rect x="{cx:.1f}" y="{cy - 9}" width="12" height="10" fill="{colour}"/>')
            elif style == "line":
                parts.append(
                    f'<line x1="{cx:.1f}" x2="{cx + 12:.1f}" y1="{cy - 4}" y2="{cy - 4}" '
                    f'stroke="{colour}" stroke-width="2"/>'
                )
            else:
                fill = "white" if style == "hollow" else colour
                parts.append(f'<circle cx="{cx + 6:.1f}" cy="{cy - 4}" r="3.2" fill="{fill}" stroke="{colour}"/>')
            self.labels.append(Label(cx + 16, cy, name, "start"))
            cx += width
        return parts, (row + 1) * (FONT + 8)


def _runs(points: list[tuple[int, float]], max_gap: int | None) -> list[list[tuple[int, float]]]:
    runs: list[list[tuple[int, float]]] = []
    for point in points:
        if runs and (max_gap is None or point[0] - runs[-1][-1][0] <= max_gap):
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def lanes(events: list[dict[str, Any]], width: int = 720, limit: int = 40) -> str:
    """One row per event: its UTC time and name on the left, a dot on a shared time axis on the right
    (flags red, keyguard's own actions blue). Rows never share a line, so no label meets another."""
    shown = events[:limit]
    if not shown:
        return "<p>No events.</p>"
    times = [int(datetime.fromisoformat(e["time_utc"]).timestamp() * 1000) for e in shown]
    t0, t1 = min(times), max(times)
    if t1 - t0 < 10 * MINUTE:
        t0, t1 = t0 - 5 * MINUTE, t1 + 5 * MINUTE
    text_col = 400
    left, right, top, row_h = text_col + 10, width - 40, 28, 16
    height = top + row_h * len(shown) + (20 if len(events) > limit else 8)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" {STYLE}>']

    def x(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * (right - left)

    for tick, label in time_ticks(t0, t1, right - left, (left - 40 - left, width - 2 - left)):
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" y2="{height - 8}" stroke="#eee"/>')
        parts.append(Label(left + label.x, 14, label.text).svg("#555"))
    budget = int((text_col - 8) / (FONT * CHAR_EM))
    last_day = None
    for row, (event, when) in enumerate(zip(shown, times, strict=True)):
        cy = top + row * row_h + row_h / 2
        flagged = event["event"].startswith("flagged ")
        colour = RED if flagged else BLUE
        day = _utc(when).strftime("%d %b").lstrip("0")
        name = event["event"].removeprefix("flagged ").removeprefix("keyguard: ")
        text = f"{day + ' ' if day != last_day else ''}{_utc(when):%H:%M:%S} {name}"
        last_day = day
        text = text if len(text) <= budget else text[: budget - 1] + "…"
        parts.append(Label(4, cy + FONT * 0.35, text, "start").svg(colour))
        parts.append(f'<line x1="{left}" x2="{right}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="#f3f3f3"/>')
        parts.append(f'<circle cx="{x(when):.1f}" cy="{cy:.1f}" r="4" fill="{colour}"/>')
    if len(events) > limit:
        parts.append(Label(4, height - 6, f"… and {len(events) - limit} more events in the table below", "start").svg())
    return "".join(parts) + "</svg>"
