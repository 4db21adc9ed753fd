"""A day of the programme as a timetable grid: one column per room (more when sessions in it
overlap), one row per quarter hour (issue 16 #7).

The page stays a list of sessions in time order (what phones, screen readers and the keyboard
get); on wide screens the stylesheet places each item by the classes computed here
(``c<column> w<width>`` and ``t<row> s<span>``). A strict CSP forbids inline styles, so the
positions are classes the stylesheet defines for a bounded range: a day needing more columns or
rows than that is not gridded and stays a list everywhere.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from gathering.core.i18n import gettext
from gathering.programme import visitor_words as words
from gathering.programme.published import PublicSession

SLOT = dt.timedelta(minutes=15)
# What main.css defines: columns c2..c13 (c1 is the time axis), widths w1..w4, rows t2..t97
# (t1 is the room headings: 24 hours of quarters), row spans s1..s32 (8 hours).
MAX_COLUMNS = 12
MAX_WIDTH = 4
MAX_ROWS = 96
MAX_SPAN = 32
FIRST_ROW = 2
FIRST_COLUMN = 2


@dataclass(frozen=True)
class Placed:
    """Where one session goes: its grid classes."""

    session_id: int
    classes: str


@dataclass(frozen=True)
class Heading:
    label: str
    classes: str


@dataclass(frozen=True)
class Timetable:
    """The grid of one day: room headings, hour marks and each session's place."""

    rooms: tuple[Heading, ...]
    hours: tuple[Heading, ...]
    places: dict[int, str]  # session id -> classes

    def classes_of(self, session: PublicSession) -> str:
        return self.places.get(session.id, "")


def _room_key(session: PublicSession) -> tuple[int, str, str]:
    """(order, sort name, label): rooms by venue and name, then online, then venue tbc."""
    if session.room is not None:
        room = session.room
        label = f"{room.name}, {room.venue.name}"
        return (0, f"{room.venue.name.casefold()}\x00{room.name.casefold()}\x00{room.id}", label)
    if session.format == "online":
        return (1, "", gettext(words.ONLINE_COLUMN))
    return (2, "", gettext(words.TBC_COLUMN))


def _lanes(sessions: list[PublicSession]) -> list[int]:
    """A lane for each session (in time order) so that sessions in one lane never overlap."""
    ends: list[dt.datetime] = []
    lanes = []
    for session in sessions:
        lane = next((i for i, end in enumerate(ends) if end <= session.starts_at), None)
        if lane is None:
            lane = len(ends)
            ends.append(session.ends_at)
        else:
            ends[lane] = session.ends_at
        lanes.append(lane)
    return lanes


def _quarters(delta: dt.timedelta) -> int:
    return int(delta // SLOT) + (1 if delta % SLOT else 0)


def build_timetable(sessions: Iterable[PublicSession], timezone: str) -> Timetable | None:
    """The grid for one day's sessions, or None when it would not fit the stylesheet's range."""
    ordered = sorted(sessions, key=lambda s: (s.starts_at, s.id))
    if not ordered:
        return None
    zone = zoneinfo.ZoneInfo(timezone)
    local_start = ordered[0].starts_at.astimezone(zone)
    # Rows count real time from the first quarter hour of the day's first session.
    origin = ordered[0].starts_at - dt.timedelta(
        minutes=local_start.minute % 15, seconds=local_start.second
    )
    last_end = max(s.ends_at for s in ordered)
    rows = _quarters(last_end - origin)
    if rows > MAX_ROWS:
        return None
    by_room: dict[tuple[int, str, str], list[PublicSession]] = {}
    for session in ordered:
        by_room.setdefault(_room_key(session), []).append(session)
    rooms: list[Heading] = []
    places: dict[int, str] = {}
    column = FIRST_COLUMN
    for key in sorted(by_room):
        in_room = by_room[key]
        lanes = _lanes(in_room)
        width = max(lanes) + 1
        if width > MAX_WIDTH or column + width - 1 > MAX_COLUMNS + 1:
            return None
        rooms.append(Heading(key[2], f"c{column} w{width} t1"))
        for session, lane in zip(in_room, lanes, strict=True):
            row = FIRST_ROW + int((session.starts_at - origin) // SLOT)
            span = min(max(1, _quarters(session.ends_at - session.starts_at)), MAX_SPAN)
            places[session.id] = f"c{column + lane} t{row} s{span}"
        column += width
    hours = []
    first_hour = local_start.replace(minute=0, second=0, microsecond=0)
    if first_hour.astimezone(dt.UTC) < origin:
        first_hour += dt.timedelta(hours=1)
    mark = first_hour.astimezone(dt.UTC)
    while mark < last_end:
        row = FIRST_ROW + int((mark - origin) // SLOT)
        hours.append(Heading(f"{mark.astimezone(zone):%H:%M}", f"c1 t{row} s4"))
        mark += dt.timedelta(hours=1)
    return Timetable(tuple(rooms), tuple(hours), places)
