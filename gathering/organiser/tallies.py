"""Counts made fit to show: time buckets for the charts, breakdowns, and small counts withheld.

Pure functions over plain values (no database); ``organiser.dashboard`` feeds them.

Small counts. A breakdown of a small session can pick people out ("the one solidarity ticket",
"the two from Hove"), and co-hosts are owed only what their contact consent covers. So a
session's breakdowns are shown in full only to the admin, organisers of the session's *hosts*
(``session_host.role == "host"``) and organisers of the gathering's host organisation. Anyone
else who may open the session's dashboard (a co-host's organisers) sees them limited
(``limit_small_counts``):

- a breakdown of fewer than SMALL_COUNT (5) people is not shown at all;
- any count under 5 (zero included) reads "Fewer than 5" instead of its number;
- if that leaves exactly one count withheld, the smallest other count reads "5 or more", so the
  withheld one cannot be worked out by taking the others from the session's registered total;
- constituencies, whose names come from the answers themselves, are named only when 5 or more
  people gave them; the rest are counted together as "Other constituencies" (no number of
  constituencies given), so a name on the page never says that someone from there is coming.

The place counts, charts over time and the gathering's own dashboard are unchanged by this.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gathering.core.i18n import gettext, ngettext
from gathering.organiser import words
from gathering.organiser.queries import TicketTypeName
from gathering.organiser.when import when

MAX_BUCKETS = 48
TOP_CONSTITUENCIES = 12
SMALL_COUNT = 5  # counts under this are withheld from those who do not host the session
# What a withheld count reads in English (a page says it in the reader's language).
FEWER = words.FEWER_THAN.format(n=SMALL_COUNT)
OR_MORE = words.OR_MORE.format(n=SMALL_COUNT)
MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)
# Arrival charts: the smallest step that fits the span in MAX_BUCKETS columns.
ARRIVAL_STEPS = (
    dt.timedelta(minutes=15),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=1),
    dt.timedelta(hours=3),
    dt.timedelta(hours=6),
    DAY,
    WEEK,
)
REGISTRATION_STEPS = (DAY, WEEK)


@dataclass(frozen=True)
class Bucket:
    label: str  # short, under a column: "22 Sep", "17:30"
    long_label: str  # in the table: "Sunday 22 September 2019", "Sun 22 Sep, 17:30–17:45"
    count: int
    cumulative: int
    start: dt.datetime  # local wall-clock time (naive), inclusive
    end: dt.datetime  # exclusive


@dataclass(frozen=True)
class TimeSeries:
    buckets: tuple[Bucket, ...]
    step: str  # "15 minutes", "hour", "day", "week" ... (English: the code reads it)
    total: int

    @property
    def step_words(self) -> str:
        """The step as the reader says it: 'day', 'diwrnod'."""
        return step_words(self.step)

    @property
    def peak(self) -> Bucket | None:
        """The bucket with the most, if one has more than every other."""
        ranked = sorted(self.buckets, key=lambda b: b.count, reverse=True)
        if not ranked or (len(ranked) > 1 and ranked[0].count == ranked[1].count):
            return None
        return ranked[0]

    @property
    def span(self) -> str:
        """'Sunday 1 September 2019 to Friday 20 September 2019', 'Wed 25 Sep, 14:00 to 16:30'."""
        if not self.buckets:
            return ""
        first, last = self.buckets[0], self.buckets[-1]
        span = gettext(words.SPAN)
        if self.step in ("day", "week"):
            if first is last:
                return first.long_label
            return span.format(start=first.long_label, end=last.long_label)
        start, end = first.start, last.end
        day = f"{when(start, 'EEE d MMM')}, {start:%H:%M}"
        if start.date() == (end - MINUTE).date():
            return span.format(start=day, end=f"{end:%H:%M}")
        return span.format(start=day, end=f"{when(end, 'EEE d MMM')}, {end:%H:%M}")


@dataclass(frozen=True)
class Slice:
    label: str
    count: int | None  # None: withheld, ``withheld`` says what may be said instead
    is_other: bool = False  # "not given", "no ticket type", "other constituencies"
    withheld: str = ""  # FEWER or OR_MORE when the count is withheld


@dataclass(frozen=True)
class Breakdown:
    slices: tuple[Slice, ...]
    total: int | None  # None: too few people to show at all (a limited view)
    is_limited: bool = False  # small counts withheld (see the module docstring)

    @property
    def largest(self) -> int:
        return max((s.count for s in self.slices if s.count is not None), default=0)


# --- time buckets -------------------------------------------------------------------------------


def _floor(local: dt.datetime, step: dt.timedelta) -> dt.datetime:
    """Start of the bucket holding ``local`` (naive local time): on the clock for steps within a
    day, midnight for a day, Monday midnight for a week."""
    if step >= DAY:
        day = local.date()
        if step >= WEEK:
            day -= dt.timedelta(days=day.weekday())
        return dt.datetime.combine(day, dt.time())
    minutes = step // MINUTE
    of_day = (local.hour * 60 + local.minute) // minutes * minutes
    return local.replace(hour=of_day // 60, minute=of_day % 60, second=0, microsecond=0)


def _step_name(step: dt.timedelta) -> str:
    if step >= WEEK:
        return "week"
    if step >= DAY:
        return "day"
    if step >= dt.timedelta(hours=1):
        hours = step // dt.timedelta(hours=1)
        return words.ONE_HOUR if hours == 1 else words.HOURS.format(n=hours)
    return f"{step // MINUTE} minutes"


def step_words(step: str) -> str:
    """A step's name (``TimeSeries.step``) in the reader's language."""
    named = {"week": words.WEEK, "day": words.DAY, "hour": words.ONE_HOUR}
    if step in named:
        return gettext(named[step])
    number, _, unit = step.partition(" ")
    said = words.HOURS if unit == "hours" else words.MINUTES
    return gettext(said).format(n=number)


def _labels(start: dt.datetime, step: dt.timedelta, spans_days: bool) -> tuple[str, str]:
    """A bucket's short label (under its column) and long one (in the table), in the reader's
    language: '22 Sep' and 'Sunday 22 September 2019', '17:30' and 'Sun 22 Sep, 17:30–17:45'."""
    if step >= WEEK:
        long_day = when(start, "EEEE d MMMM y")
        return when(start, "d MMM"), gettext(words.WEEK_FROM).format(day=long_day)
    if step >= DAY:
        return when(start, "d MMM"), when(start, "EEEE d MMMM y")
    end = start + step
    clock = f"{start:%H:%M}"
    long = f"{when(start, 'EEE d MMM')}, {clock}–{end:%H:%M}"
    return (f"{when(start, 'EEE')} {clock}" if spans_days else clock), long


def bucket_times(
    moments: Iterable[dt.datetime],
    timezone: str,
    steps: Sequence[dt.timedelta],
    *,
    around: tuple[dt.datetime, dt.datetime] | None = None,
) -> TimeSeries:
    """Count ``moments`` in consecutive buckets of the gathering's local time.

    The buckets run from the first to the last moment (widened to cover ``around``, e.g. the
    hour before a session to its end, when given), with the smallest of ``steps`` that needs no
    more than MAX_BUCKETS columns. Empty buckets in between are kept, so gaps show.
    """
    zone = zoneinfo.ZoneInfo(timezone)
    local = sorted(m.astimezone(zone).replace(tzinfo=None) for m in moments)
    if not local:
        return TimeSeries((), _step_name(steps[0]), 0)
    first, last = local[0], local[-1]
    if around is not None:
        first = min(first, around[0].astimezone(zone).replace(tzinfo=None))
        last = max(last, around[1].astimezone(zone).replace(tzinfo=None))
    step = steps[-1]
    for candidate in steps:
        if (_floor(last, candidate) - _floor(first, candidate)) // candidate < MAX_BUCKETS:
            step = candidate
            break
    counts = Counter(_floor(m, step) for m in local)
    start, end = _floor(first, step), _floor(last, step)
    spans_days = start.date() != (end + step - MINUTE).date()
    buckets, running, cursor = [], 0, start
    while cursor <= end:
        running += counts.get(cursor, 0)
        short, long = _labels(cursor, step, spans_days)
        following = _floor(cursor + step, step)  # re-floored: weeks and days stay on their grid
        buckets.append(Bucket(short, long, counts.get(cursor, 0), running, cursor, following))
        cursor = following
    return TimeSeries(tuple(buckets), _step_name(step), len(local))


# --- breakdowns ---------------------------------------------------------------------------------


def ticket_breakdown(
    types: Sequence[TicketTypeName], counts: dict[int | None, int]
) -> Breakdown | None:
    if not types:
        return None
    slices = [Slice(t.name, counts.get(t.id, 0)) for t in types]
    missing = sum(n for type_id, n in counts.items() if type_id not in {t.id for t in types})
    if missing:
        slices.append(Slice(gettext(words.NO_TICKET_TYPE), missing, is_other=True))
    return Breakdown(tuple(slices), sum(counts.values()))


def constituency_breakdown(answers: Iterable[str | None], *, smallest_named: int = 1) -> Breakdown:
    """Count answers case- and spacing-blind ("Brighton  kemptown" = "Brighton Kemptown"),
    labelled with their most common spelling; the largest TOP_CONSTITUENCIES by name, the rest
    as one "other" slice, and "not given" last.

    With ``smallest_named`` above 1 (a limited view), a constituency given by fewer people is
    never named: it joins "Other constituencies", which then does not say how many it holds."""
    spellings: dict[str, Counter[str]] = {}
    not_given = 0
    for answer in answers:
        text = " ".join((answer or "").split())
        if not text:
            not_given += 1
            continue
        spellings.setdefault(text.casefold(), Counter())[text] += 1
    groups = sorted(
        ((sum(c.values()), c.most_common(1)[0][0]) for c in spellings.values()),
        key=lambda group: (-group[0], group[1].casefold()),
    )
    named = [g for g in groups if g[0] >= smallest_named][:TOP_CONSTITUENCIES]
    rest = groups[len(named) :]
    slices = [Slice(label, count) for count, label in named]
    if rest:
        label = (
            ngettext("{n} other constituency", "{n} other constituencies", len(rest)).format(
                n=len(rest)
            )
            if smallest_named <= 1
            else gettext(words.OTHER_CONSTITUENCIES)
        )
        slices.append(Slice(label, sum(count for count, _ in rest), is_other=True))
    if not_given:
        slices.append(Slice(gettext(words.NOT_GIVEN), not_given, is_other=True))
    return Breakdown(tuple(slices), sum(count for count, _ in groups) + not_given)


def limit_small_counts(breakdown: Breakdown) -> Breakdown:
    """The breakdown as someone who does not host the session may see it (module docstring)."""
    if breakdown.total is None or breakdown.total < SMALL_COUNT:
        return Breakdown((), None, is_limited=True)
    withheld = {i for i, s in enumerate(breakdown.slices) if (s.count or 0) < SMALL_COUNT}
    shown = [i for i in range(len(breakdown.slices)) if i not in withheld]
    # One lone withheld count would be the registered total less the others: hide one more.
    also = None
    if len(withheld) == 1 and shown:
        also = min(shown, key=lambda i: breakdown.slices[i].count or 0)
    fewer = gettext(words.FEWER_THAN).format(n=SMALL_COUNT)
    or_more = gettext(words.OR_MORE).format(n=SMALL_COUNT)
    slices = []
    for i, s in enumerate(breakdown.slices):
        if i in withheld:
            s = Slice(s.label, None, s.is_other, fewer)
        elif i == also:
            s = Slice(s.label, None, s.is_other, or_more)
        slices.append(s)
    return Breakdown(tuple(slices), breakdown.total, is_limited=True)
