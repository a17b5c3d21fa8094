"""Line charts as inline SVG, drawn on the server so the admin pages need no script and no CDN.

A series is a list of (x, y) points where y None is a gap: the line breaks there, and an isolated
point is drawn as a dot. Gap markers are drawn as red ticks on the x axis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

Point = tuple[float, float | None]


@dataclass(frozen=True)
class Series:
    """One line of a chart; `css_class` styles it (stroke colour, dashes)."""

    name: str
    points: Sequence[Point]
    css_class: str


@dataclass(frozen=True)
class Chart:
    """The chart's size and axes; labels are (x, text) pairs."""

    width: int = 860
    height: int = 260
    margin_left: int = 70
    margin_right: int = 12
    margin_top: int = 12
    margin_bottom: int = 28
    x_range: tuple[float, float] | None = None  # default: the data's
    x_labels: Sequence[tuple[float, str]] = ()
    gap_marks: Sequence[tuple[float, str]] = field(default_factory=tuple)
    y_format: Callable[[float], str] = lambda y: f"{y:,.0f}"
    y_ticks: int = 4


def _segments(points: Sequence[Point]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points with a value."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, y))
    return [run for run in runs if run]


def line_chart(series: Sequence[Series], chart: Chart = Chart(), title: str = "") -> str:
    """The SVG markup of the chart (an empty-state text when no series has a value)."""
    values = [(x, y) for s in series for x, y in s.points if y is not None]
    xs = [x for s in series for x, _ in s.points] + [x for x, _ in chart.gap_marks]
    head = (
        f'<svg class="price-chart" viewBox="0 0 {chart.width} {chart.height}" role="img"'
        f' aria-label="{escape(title)}">'
    )
    if not values:
        middle = chart.height // 2
        return f'{head}<text x="{chart.width // 2}" y="{middle}" text-anchor="middle">No data</text></svg>'
    x_low, x_high = chart.x_range or (min(xs), max(xs))
    y_low, y_high = min(y for _, y in values), max(y for _, y in values)
    pad = (y_high - y_low) * 0.05 or abs(y_high) * 0.01 or 1.0
    y_low, y_high = y_low - pad, y_high + pad
    plot_w = chart.width - chart.margin_left - chart.margin_right
    plot_h = chart.height - chart.margin_top - chart.margin_bottom

    def sx(x: float) -> float:
        span = x_high - x_low
        return chart.margin_left + (plot_w * (x - x_low) / span if span else plot_w / 2)

    def sy(y: float) -> float:
        return chart.margin_top + plot_h * (y_high - y) / (y_high - y_low)

    parts = [head, f"<title>{escape(title)}</title>"]
    bottom = chart.margin_top + plot_h
    for i in range(chart.y_ticks + 1):
        y = y_low + (y_high - y_low) * i / chart.y_ticks
        parts.append(
            f'<line class="grid" x1="{chart.margin_left}" x2="{chart.width - chart.margin_right}"'
            f' y1="{sy(y):.1f}" y2="{sy(y):.1f}"/>'
            f'<text class="axis" x="{chart.margin_left - 6}" y="{sy(y) + 4:.1f}"'
            f' text-anchor="end">{escape(chart.y_format(y))}</text>'
        )
    for x, label in chart.x_labels:
        parts.append(
            f'<text class="axis" x="{sx(x):.1f}" y="{bottom + 18}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    for x, label in chart.gap_marks:
        parts.append(
            f'<line class="gap" x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{bottom - 10}"'
            f' y2="{bottom}"><title>{escape(label)}</title></line>'
        )
    for line in series:
        for run in _segments(line.points):
            if len(run) == 1:
                x, y = run[0]
                parts.append(
                    f'<circle class="{line.css_class}" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5">'
                    f"<title>{escape(line.name)}</title></circle>"
                )
            else:
                coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in run)
                parts.append(
                    f'<polyline class="{line.css_class}" fill="none" points="{coords}">'
                    f"<title>{escape(line.name)}</title></polyline>"
                )
    parts.append("</svg>")
    return "".join(parts)
