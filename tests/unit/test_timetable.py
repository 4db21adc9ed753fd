"""The timetable grid's placement (programme.timetable): rooms in order, overlapping sessions in
their own lanes, quarter-hour rows in the gathering's zone, and days too big for the stylesheet
left as lists."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from gathering.programme.published import PublicSession, Room, Venue
from gathering.programme.timetable import (
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_SPAN,
    MAX_WIDTH,
    build_timetable,
)

LONDON = ZoneInfo("Europe/London")
CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "main.css"


def _room(room_id: int, name: str, venue: str = "Hall") -> Room:
    place = Venue(1, venue, "", None, None, None, None, "")
    return Room(room_id, name, None, None, "", place)


def _session(
    session_id: int,
    start: str,
    minutes: int,
    room: Room | None = None,
    fmt: str = "in_person",
    day: dt.date = dt.date(2026, 10, 25),
) -> PublicSession:
    hour, minute = (int(x) for x in start.split(":"))
    starts = dt.datetime.combine(day, dt.time(hour, minute), LONDON).astimezone(dt.UTC)
    return PublicSession(
        id=session_id,
        title=f"S{session_id}",
        description="",
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=minutes),
        status="published",
        format=fmt,
        access="public",
        access_note="",
        capacity=None,
        language="en",
        track=None,
        room=room,
        hosts=(),
        speakers=(),
        version=1,
        changed_at=starts,
    )


def test_timetable_overlaps_get_lanes_and_rooms_come_in_order() -> None:
    big, small = _room(1, "Big room"), _room(2, "Annex", venue="Annexe")
    grid = build_timetable(
        [
            _session(1, "09:10", 50, big),  # starts mid-quarter: the grid starts at 09:00
            _session(2, "09:30", 60, big),  # overlaps 1: a second lane
            _session(3, "10:00", 30, big),  # after 1 ended: back in the first lane
            _session(4, "09:00", 20, small),
            _session(5, "11:00", 60, None, "online"),
            _session(6, "11:00", 60, None),
        ],
        "Europe/London",
    )
    assert grid is not None
    assert [(h.label, h.classes) for h in grid.rooms] == [
        ("Annex, Annexe", "c2 w1 t1"),
        ("Big room, Hall", "c3 w2 t1"),
        ("Online", "c5 w1 t1"),
        ("Venue tbc", "c6 w1 t1"),
    ]
    assert grid.places == {
        4: "c2 t2 s2",
        1: "c3 t2 s4",
        2: "c4 t4 s4",
        3: "c3 t6 s2",
        5: "c5 t10 s4",
        6: "c6 t10 s4",
    }
    assert [(h.label, h.classes) for h in grid.hours] == [
        ("09:00", "c1 t2 s4"),
        ("10:00", "c1 t6 s4"),
        ("11:00", "c1 t10 s4"),
    ]


def test_timetable_rows_count_real_time_across_the_clocks_going_back() -> None:
    # 25 October 2026: 01:00-02:00 BST, then 01:00-02:00 GMT again. 00:30 to 03:30 local is
    # four real hours, 16 quarters.
    grid = build_timetable([_session(1, "00:30", 240)], "Europe/London")
    assert grid is not None
    assert grid.places[1] == "c2 t2 s16"
    assert [h.label for h in grid.hours] == ["01:00", "01:00", "02:00", "03:00"]


def test_timetable_too_big_for_the_stylesheet_is_a_list() -> None:
    wide = [_session(i, "10:00", 60, _room(i, f"R{i}")) for i in range(1, MAX_COLUMNS + 2)]
    assert build_timetable(wide, "Europe/London") is None
    crowded = [_session(i, "10:00", 60) for i in range(1, MAX_WIDTH + 2)]  # all venue tbc
    assert build_timetable(crowded, "Europe/London") is None
    long_day = [_session(1, "00:00", 60), _session(2, "00:00", (MAX_ROWS + 1) * 15)]
    assert build_timetable(long_day, "Europe/London") is None
    assert build_timetable([], "Europe/London") is None
    # A long session is clamped to the longest span the stylesheet knows.
    grid = build_timetable([_session(1, "00:00", 20 * 60)], "Europe/London")
    assert grid is not None and grid.places[1].endswith(f"s{MAX_SPAN}")


def test_timetable_classes_all_exist_in_the_stylesheet() -> None:
    css = CSS.read_text(encoding="utf-8")
    defined = set(re.findall(r"\.([ctsw]\d+)\{", css))
    needed = {f"c{i}" for i in range(1, MAX_COLUMNS + 2)}
    needed |= {f"w{i}" for i in range(1, MAX_WIDTH + 1)}
    needed |= {f"t{i}" for i in range(1, MAX_ROWS + 2)}
    needed |= {f"s{i}" for i in range(1, MAX_SPAN + 1)}
    assert needed <= defined
