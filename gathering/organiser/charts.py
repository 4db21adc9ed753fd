"""Geometry for the dashboard's column charts, drawn as inline SVG by the templates.

The strict CSP forbids inline styles and scripts, so every position and size is an SVG attribute
computed here; colours and fonts come from static/css/dashboard.css. The viewBox is about as wide
as a phone screen, so text stays readable at 360 px, and the SVG scales up on wider screens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gathering.core.i18n import gettext, ngettext
from gathering.organiser import words
from gathering.organiser.tallies import TimeSeries

WIDTH = 400
HEIGHT = 230
LEFT = 54  # y tick labels ("1,000") and the rotated y-axis title
RIGHT = 10
TOP = 12
BOTTOM = 56  # x labels and the x-axis title
CHAR_WIDTH = 7.5  # average width of a 13-unit label character, for spacing the x labels
MAX_TICKS = 5


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    title: str  # tooltip: "Sun 22 Sep, 17:30–17:45: 3 arrivals"


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    text: str


@dataclass(frozen=True)
class ColumnChart:
    width: int
    height: int
    left: float
    right: float  # x of the plot's right edge
    top: float
    bottom: float  # y of the baseline
    columns: tuple[Column, ...]
    ticks: tuple[Tick, ...]
    x_labels: tuple[XLabel, ...]
    x_title: str
    y_title: str
    description: str  # the chart's numbers in one sentence, for its <desc>


def nice_step(largest: int, max_ticks: int = MAX_TICKS) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 ... that reaches ``largest`` in ``max_ticks`` steps."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if math.ceil(largest / step) <= max_ticks:
                return step
        magnitude *= 10


def _r(value: float) -> float:
    return round(value, 2)


def column_chart(
    series: TimeSeries, *, noun: str, x_title: str, y_title: str, description: str
) -> ColumnChart:
    """A column per bucket of ``series``; ``noun`` names what is counted ("arrivals")."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_height
    largest = max((b.count for b in series.buckets), default=0)
    step = nice_step(max(largest, 1))
    top_value = step * max(math.ceil(largest / step), 1)
    ticks = tuple(
        Tick(_r(bottom - plot_height * value / top_value), f"{value:,}")
        for value in range(0, top_value + 1, step)
    )
    count = max(len(series.buckets), 1)
    slot = plot_width / count
    bar = min(slot * 0.75, 48.0)
    columns = []
    for index, bucket in enumerate(series.buckets):
        height = plot_height * bucket.count / top_value
        columns.append(
            Column(
                x=_r(LEFT + index * slot + (slot - bar) / 2),
                y=_r(bottom - height),
                width=_r(max(bar, 1.0)),
                height=_r(height),
                title=f"{bucket.long_label}: {counted(noun, bucket.count)}",
            )
        )
    longest = max((len(b.label) for b in series.buckets), default=1)
    fits = max(int(plot_width // (longest * CHAR_WIDTH + 10)), 1)
    every = math.ceil(count / fits)
    x_labels = tuple(
        XLabel(_r(LEFT + index * slot + slot / 2), bucket.label)
        for index, bucket in enumerate(series.buckets)
        if index % every == 0
    )
    return ColumnChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=bottom,
        columns=tuple(columns),
        ticks=ticks,
        x_labels=x_labels,
        x_title=x_title,
        y_title=y_title,
        description=description,
    )


def counted(noun: str, count: int) -> str:
    """'1 arrival', '12 registrations', in the reader's language; ``noun`` is what the charts
    count: "registrations", "bookings" or "arrivals"."""
    if noun == "arrivals":
        said = ngettext("{n} arrival", "{n} arrivals", count)
    elif noun == "bookings":
        said = ngettext("{n} booking", "{n} bookings", count)
    else:
        said = ngettext("{n} registration", "{n} registrations", count)
    return said.format(n=f"{count:,}")


def describe(series: TimeSeries, noun: str) -> str:
    """'12 registrations, Sunday 1 September 2019 to Friday 20 September 2019, by day; busiest:
    Sunday 15 September 2019 (4).' The busiest bucket is named only when one stands out.
    ``noun`` is "registrations", "bookings" or "arrivals"."""
    if not series.buckets:
        return gettext(words.NOTHING_YET.get(noun, words.NOTHING_YET["registrations"]))
    text = gettext("{counted}, {span}, by {step}").format(
        counted=counted(noun, series.total), span=series.span, step=series.step_words
    )
    peak = series.peak
    if peak is not None and len(series.buckets) > 1:
        text += gettext("; busiest: {label} ({count})").format(
            label=peak.long_label, count=f"{peak.count:,}"
        )
    return text + "."
