"""Server-side SVG charts and the calendar layout of the series page."""

from __future__ import annotations

import re
from datetime import date, timedelta

from prices.charts import Chart, Series, line_chart
from prices.overview import calendar_weeks
from prices.selectors import DayStatus, SeriesDay


def test_lines_break_at_gaps_and_lone_points_become_dots() -> None:
    points = [(0, 1.0), (1, 2.0), (2, None), (3, 4.0), (4, None), (5, 5.0), (6, 6.0)]
    svg = line_chart([Series("a", points, "onchain")], title="t")
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 1
    first = re.search(r'points="([^"]+)"', svg).group(1).split()
    # y from 0.75 to 6.25 (5 % padding) over 220 px below a 12 px margin; x over 778 px from 70
    assert first == ["70.0,222.0", "199.7,182.0"]


def test_labels_are_escaped_and_gap_marks_drawn() -> None:
    chart = Chart(x_labels=[(0, "<b>")], gap_marks=[(1, "2025-01-01: missing")])
    svg = line_chart([Series("x&y", [(0, 1.0), (2, 1.0)], "onchain")], chart, title='"q"')
    assert "&lt;b&gt;" in svg and "x&amp;y" in svg and "&quot;q&quot;" in svg
    assert svg.count('class="gap"') == 1
    assert "<b>" not in svg


def test_a_chart_without_values_says_so() -> None:
    svg = line_chart([Series("a", [(0, None)], "onchain")], title="empty")
    assert "No data" in svg and "<polyline" not in svg


def test_a_fixed_x_range_places_points_inside_it() -> None:
    chart = Chart(width=124, margin_left=12, margin_right=12, x_range=(0, 24))
    svg = line_chart([Series("a", [(12, 5.0)], "onchain")], chart)
    assert 'cx="62.0"' in svg


def test_calendar_weeks_start_on_monday() -> None:
    wednesday = date(2025, 1, 1)
    days = [SeriesDay(wednesday + timedelta(days=i), DayStatus.VALID, None) for i in range(10)]
    weeks = calendar_weeks(days)
    assert [len(w) for w in weeks] == [7, 7]
    assert weeks[0][:2] == [None, None] and weeks[0][2] == days[0]
    assert weeks[1][4] == days[-1] and weeks[1][5:] == [None, None]
    assert calendar_weeks([]) == []
