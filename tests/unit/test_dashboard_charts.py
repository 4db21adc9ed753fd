"""Time buckets, breakdowns and chart geometry for the organiser dashboard (no database)."""

from __future__ import annotations

import datetime as dt

from gathering.organiser.charts import column_chart, describe, nice_step
from gathering.organiser.tallies import (
    ARRIVAL_STEPS,
    REGISTRATION_STEPS,
    bucket_times,
    constituency_breakdown,
)

UTC = dt.UTC
LONDON = "Europe/London"


def test_buckets_use_local_days_and_keep_empty_days() -> None:
    moments = [
        dt.datetime(2027, 9, 1, 22, 30, tzinfo=UTC),  # 23:30 BST, still the 1st
        dt.datetime(2027, 9, 1, 23, 30, tzinfo=UTC),  # 00:30 BST on the 2nd
        dt.datetime(2027, 9, 4, 8, 0, tzinfo=UTC),
    ]
    series = bucket_times(moments, LONDON, REGISTRATION_STEPS)
    assert [(b.label, b.count, b.cumulative) for b in series.buckets] == [
        ("1 Sep", 1, 1),
        ("2 Sep", 1, 2),
        ("3 Sep", 0, 2),
        ("4 Sep", 1, 3),
    ]
    assert series.step == "day"
    assert series.total == 3
    assert series.span == "Wednesday 1 September 2027 to Saturday 4 September 2027"


def test_a_long_registration_period_is_counted_in_weeks_from_monday() -> None:
    start = dt.datetime(2027, 6, 2, 12, tzinfo=UTC)  # a Wednesday
    moments = [start + dt.timedelta(days=day) for day in range(0, 100, 3)]
    series = bucket_times(moments, LONDON, REGISTRATION_STEPS)
    assert series.step == "week"
    assert all(b.start.weekday() == 0 for b in series.buckets)
    assert series.buckets[0].long_label == "Week from Monday 31 May 2027"
    assert sum(b.count for b in series.buckets) == len(moments) == series.buckets[-1].cumulative
    assert len(series.buckets) <= 48


def test_arrivals_in_the_repeated_hour_when_the_clocks_go_back_are_all_counted() -> None:
    # British Summer Time ends at 01:00 UTC on 31 October 2027: 01:00-02:00 happens twice.
    moments = [
        dt.datetime(2027, 10, 31, 0, 40, tzinfo=UTC),  # 01:40 BST
        dt.datetime(2027, 10, 31, 1, 5, tzinfo=UTC),  # 01:05 GMT
    ]
    series = bucket_times(moments, LONDON, ARRIVAL_STEPS)
    # Buckets follow the wall clock people saw, so the repeated hour is drawn once.
    assert [(b.label, b.count) for b in series.buckets] == [
        ("01:00", 1),
        ("01:15", 0),
        ("01:30", 1),
    ]


def test_session_window_widens_the_arrival_buckets() -> None:
    start = dt.datetime(2027, 9, 27, 17, 30, tzinfo=UTC)  # 18:30 BST
    arrived = [dt.datetime(2027, 9, 27, 17, 10, tzinfo=UTC)]
    window = (start - dt.timedelta(hours=1), start + dt.timedelta(minutes=89))
    series = bucket_times(arrived, LONDON, ARRIVAL_STEPS, around=window)
    assert [b.label for b in series.buckets][:3] == ["17:30", "17:45", "18:00"]
    assert len(series.buckets) == 10
    assert series.span == "Mon 27 Sep, 17:30 to 20:00"
    assert describe(series, "arrivals") == (
        "1 arrival, Mon 27 Sep, 17:30 to 20:00, by 15 minutes; "
        "busiest: Mon 27 Sep, 18:00–18:15 (1)."
    )


def test_a_spread_of_arrivals_gets_coarser_steps() -> None:
    first = dt.datetime(2027, 9, 21, 8, tzinfo=UTC)
    moments = [first + dt.timedelta(hours=hour) for hour in range(0, 100, 5)]
    series = bucket_times(moments, LONDON, ARRIVAL_STEPS)
    assert series.step == "3 hours"
    assert len(series.buckets) <= 48
    assert series.buckets[0].label == "Tue 09:00"


def test_no_moments_no_buckets() -> None:
    series = bucket_times([], LONDON, ARRIVAL_STEPS)
    assert series.buckets == ()
    assert describe(series, "arrivals") == "No arrivals yet."


def test_constituencies_merge_spellings_and_fold_the_tail() -> None:
    answers = ["Hove", " hove ", "HOVE", "Brighton Kemptown", None, ""]
    answers += [f"Place {n:02}" for n in range(14)]
    breakdown = constituency_breakdown(answers)
    labels = [(s.label, s.count) for s in breakdown.slices]
    assert labels[0] == ("Hove", 3)
    assert labels[1] == ("Brighton Kemptown", 1)
    assert len(breakdown.slices) == 12 + 2
    assert labels[-2] == ("4 other constituencies", 4)
    assert labels[-1] == ("Not given", 2)
    assert breakdown.total == len(answers)


def test_nice_steps() -> None:
    assert [nice_step(n) for n in (1, 4, 5, 6, 9, 10, 11, 24, 99, 1234)] == [
        1,
        1,
        1,
        2,
        2,
        2,
        5,
        5,
        20,
        500,
    ]


def test_column_heights_are_proportional_and_inside_the_plot() -> None:
    moments = [dt.datetime(2027, 9, 1, 9, tzinfo=UTC)] * 4 + [
        dt.datetime(2027, 9, 3, 9, tzinfo=UTC)
    ] * 2
    series = bucket_times(moments, LONDON, REGISTRATION_STEPS)
    chart = column_chart(
        series, noun="registrations", x_title="Day", y_title="Registrations", description=""
    )
    heights = [c.height for c in chart.columns]
    assert heights[0] == 2 * heights[2] > 0 == heights[1]
    for column in chart.columns:
        assert chart.left <= column.x < column.x + column.width <= chart.right
        assert chart.top <= column.y <= chart.bottom
        assert abs(column.y + column.height - chart.bottom) < 0.01
    assert [t.label for t in chart.ticks] == ["0", "1", "2", "3", "4"]
    assert chart.columns[0].title == "Wednesday 1 September 2027: 4 registrations"
