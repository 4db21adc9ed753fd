"""VTIMEZONE components from the IANA database, written so that every reader gets them right.

Why this is not icalendar's ``Timezone.from_tzinfo`` (issue 16): that writes one observance per
kind of change (one DAYLIGHT, one STANDARD) with a DTSTART and every later change of that kind as
one multi-valued ``RDATE:20200329T020000,20210328T020000,...``. RFC 5545 allows it, but vobject
(and so every tool built on it) keeps only the first value of a VTIMEZONE's RDATE, so in a feed
spanning three or more years it saw summer time end for good after the second year and read
every later summer session one hour late (libical, icalendar and ics-py were right).

Here the zone's changes are found from zoneinfo (UTC instants, to the second), then written the
way RFC 5545's own examples and most calendar producers write them: changes that follow one yearly
rule become one observance with an RRULE (``FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU``), bounded by
UNTIL when the zone's rule changed later (America/New_York in 2007) and open when the rule still
holds for the eight years after the covered ones (long enough to tell "last Sunday" from "4th
Sunday"); a change that follows no rule (Europe/Moscow in 2011 and 2014) is
an observance of its own with a single DTSTART. No RDATE at all. Each observance's DTSTART is the
local time of the change in the offset before it (RFC 5545 §3.6.5: 01:00 for London's spring
change, 02:00 for its autumn one). An observance starting on 1 January of the first year gives
the offset in force then, so every time in the covered years has an onset before it.

UNTIL is written one day after the last change it covers: the recurrence is the same (the next
change is a year later), and readers that compare UNTIL with DTSTART's local time without
converting it (dateutil, hence vobject) keep the last change too.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icalendar import Timezone

STEP = dt.timedelta(hours=6)  # zones change their offset at most once in six hours
LOOKAHEAD = dt.timedelta(days=8 * 366)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Change:
    """One change of a zone's offset: the instant, the offsets before and after, the new name."""

    at: dt.datetime  # UTC
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str
    is_dst: bool

    @property
    def local(self) -> dt.datetime:
        """The change's local time in the offset before it (a VTIMEZONE DTSTART), naive."""
        return (self.at + self.offset_from).replace(tzinfo=None)

    @property
    def kind(self) -> tuple[dt.timedelta, dt.timedelta, str, bool, int, dt.time]:
        """What changes of one yearly rule share: offsets, name, kind, month and time of day."""
        local = self.local
        return (self.offset_from, self.offset_to, self.name, self.is_dst, local.month, local.time())


def _state(zone: zoneinfo.ZoneInfo, at: dt.datetime) -> tuple[dt.timedelta, str, bool]:
    local = at.astimezone(zone)
    offset, dst = local.utcoffset(), local.dst()
    assert offset is not None
    return offset, local.tzname() or "", bool(dst)


def changes(zone: zoneinfo.ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[Change]:
    """Every change of ``zone``'s offset, name or kind in [start, end) (UTC instants)."""
    found = []
    before, moment = _state(zone, start), start
    while moment < end:
        later = min(moment + STEP, end)
        after = _state(zone, later)
        if after != before:
            low, high = moment, later  # the change is in (low, high]
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _state(zone, middle) == before:
                    low = middle
                else:
                    high = middle
            high = high.replace(microsecond=0)
            offset_to, name, is_dst = _state(zone, high)
            found.append(Change(high, before[0], offset_to, name, is_dst))
        before, moment = after, later
    return found


def _rules(local: dt.datetime) -> set[str]:
    """The yearly rules (RRULE BY parts after BYMONTH) that give the day of ``local``."""
    day, weekday = local.day, WEEKDAYS[local.weekday()]
    length = month_calendar.monthrange(local.year, local.month)[1]
    rules = {f"BYMONTHDAY={day}"}
    if day <= 28:  # the 1st to 4th such weekday (a 5th is the last, below)
        rules.add(f"BYDAY={(day - 1) // 7 + 1}{weekday}")
    if day + 7 > length:
        rules.add(f"BYDAY=-1{weekday}")
    # "The first Sunday on or after the 8th"-style rules: a weekday within a week of days.
    for first in range(max(1, day - 6), day + 1):
        if first + 6 <= 28:  # every month has these days
            days = ",".join(str(d) for d in range(first, first + 7))
            rules.add(f"BYDAY={weekday};BYMONTHDAY={days}")
    return rules


def _preferred(rules: set[str]) -> str:
    """The plainest of equivalent rules: nth weekday, last weekday, fixed day, weekday window."""
    return min(rules, key=lambda r: (";" in r, "BYMONTHDAY" in r, "-1" in r, r))


@dataclass(frozen=True)
class Observance:
    first: Change
    rule: str = ""  # "" for a single change, else the BY parts of a yearly RRULE
    until: dt.datetime | None = None  # UTC; None while the rule still holds


def _runs(found: list[Change]) -> Iterator[list[Change]]:
    """Changes grouped into runs of one kind, a year apart, all following one yearly rule."""
    open_runs: dict[object, tuple[list[Change], set[str]]] = {}
    for change in found:
        key = change.kind
        run = open_runs.get(key)
        if run is not None:
            members, rules = run
            common = rules & _rules(change.local)
            if change.local.year == members[-1].local.year + 1 and common:
                open_runs[key] = ([*members, change], common)
                continue
            yield members
        open_runs[key] = ([change], _rules(change.local))
    for members, _ in open_runs.values():
        yield members


def observances(name: str, first_year: int, last_year: int) -> tuple[Change, list[Observance]]:
    """The offset in force on 1 January of ``first_year``, and the observances of every change
    from then to the end of ``last_year``."""
    zone = zoneinfo.ZoneInfo(name)
    start = dt.datetime(first_year, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime(last_year + 1, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    # Some years more, to tell a rule that still holds from one that stopped with these years,
    # and to write the rule it holds by ("last Sunday", not "4th Sunday" of a year or two).
    found = changes(zone, start, end + LOOKAHEAD)
    offset, zone_name, is_dst = _state(zone, start)
    initial = Change(start, offset, offset, zone_name, is_dst)
    made = []
    for run in _runs(found):
        inside = [c for c in run if c.at < end]
        if not inside:
            continue
        if len(run) == 1:
            made.append(Observance(inside[0]))
            continue
        rules = set.intersection(*(_rules(c.local) for c in run))
        continues = len(inside) < len(run)
        until = None if continues else inside[-1].at + dt.timedelta(days=1)
        made.append(Observance(inside[0], _preferred(rules), until))
    made.sort(key=lambda o: o.first.at)
    return initial, made


def _offset(value: dt.timedelta) -> str:
    sign = "-" if value < dt.timedelta(0) else "+"
    seconds = abs(int(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def _observance_lines(
    change: Change, rule: str, until: dt.datetime | None, local: str
) -> list[str]:
    kind = "DAYLIGHT" if change.is_dst else "STANDARD"
    lines = [f"BEGIN:{kind}", f"DTSTART:{local}"]
    if rule:
        month = f"FREQ=YEARLY;BYMONTH={change.local.month};{rule}"
        lines.append(f"RRULE:{month}" + (f";UNTIL={_stamp(until)}Z" if until else ""))
    if change.name:
        lines.append(f"TZNAME:{change.name}")
    lines += [
        f"TZOFFSETFROM:{_offset(change.offset_from)}",
        f"TZOFFSETTO:{_offset(change.offset_to)}",
        f"END:{kind}",
    ]
    return lines


@cache
def vtimezone_text(name: str, first_year: int, last_year: int) -> str:
    """The VTIMEZONE of zone ``name`` for the years ``first_year`` to ``last_year`` (CRLF lines)."""
    initial, made = observances(name, first_year, last_year)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    lines += _observance_lines(initial, "", None, f"{first_year}0101T000000")
    for observance in made:
        change = observance.first
        lines += _observance_lines(change, observance.rule, observance.until, _stamp(change.local))
    lines.append("END:VTIMEZONE")
    return "\r\n".join(lines) + "\r\n"


def vtimezone(name: str, first_year: int, last_year: int) -> Timezone:
    """``vtimezone_text`` as an icalendar component, to add to a calendar."""
    from icalendar import Timezone

    component = Timezone.from_ical(vtimezone_text(name, first_year, last_year))
    assert isinstance(component, Timezone)
    return component


@cache
def vtimezone_ical(name: str, first_year: int, last_year: int) -> bytes:
    """``vtimezone(...).to_ical()``: the VTIMEZONE as icalendar writes it into a calendar, kept
    (it changes only with a feed's years), so a feed is not parsed and written again per build."""
    return bytes(vtimezone(name, first_year, last_year).to_ical())
