"""The calendar builder folds plain ASCII content lines and joins lines without parameters
itself (``calendars.fold``, ``calendars.serialise``), for speed; the bytes must be exactly
icalendar's own, escapes at the fold included."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event, Timezone, vUri
from icalendar.parser import Contentline

from gathering.calendars.serialising import fold, serialise

# Lines as icalendar makes them: no line breaks; many backslashes and carets, which icalendar
# keeps on the same side of a fold as the character they escape.
ascii_text = st.text(
    alphabet=st.sampled_from("abcXYZ019 :;,\\^\"'=-/.\t"), min_size=0, max_size=400
)
any_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=300,
)


def _icalendar(line: str) -> bytes:
    return bytes(Contentline(line).to_ical())


@settings(max_examples=600, deadline=None)
@given(ascii_text)
def test_ascii_lines_fold_as_icalendar_folds_them(line: str) -> None:
    assert fold(Contentline(line)) == _icalendar(line)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_any_line_folds_as_icalendar_folds_it(line: str) -> None:
    assert fold(Contentline(line)) == _icalendar(line)


def test_the_edges() -> None:
    for length in range(70, 160):
        for tail in ("", "\\", "^", "\\n", "\\\\"):
            line = "DESCRIPTION:" + "x" * (length - len(tail) - 12) + tail + "yz" * 40
            assert fold(Contentline(line)) == _icalendar(line)
    # A folded line never has more than 75 octets.
    folded = fold(Contentline("SUMMARY:" + "a\\," * 100))
    assert max(len(part) for part in folded.split(b"\r\n")) <= 75


# --- whole calendars ---------------------------------------------------------------------------

LONDON = zoneinfo.ZoneInfo("Europe/London")
moments = st.datetimes(min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2030, 12, 31)).map(
    lambda moment: moment.replace(microsecond=0)
)


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Gathering//test//EN")
    calendar.add("version", "2.0")
    calendar.add("name", draw(any_text))
    calendar.add("url", vUri("https://example.org/g/x"), parameters={"VALUE": "URI"})
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add_component(
        Timezone.from_tzinfo(
            LONDON,
            tzid="Europe/London",
            first_date=dt.date(2019, 1, 1),
            last_date=dt.date(2031, 1, 1),
        )
    )
    for number in range(draw(st.integers(0, 4))):
        event = Event()
        start = draw(moments)
        event.add("uid", f"session-{number}@example.org")
        event.add("dtstamp", start.replace(tzinfo=dt.UTC))
        event.add("sequence", draw(st.integers(0, 50)))
        event.add("dtstart", start.replace(tzinfo=LONDON))
        event.add("dtend", (start + dt.timedelta(hours=1)).replace(tzinfo=dt.UTC))
        event.add("summary", draw(any_text))
        event.add("description", draw(st.text(max_size=600)))
        event.add("location", draw(ascii_text))
        event.add("url", vUri(f"https://example.org/s/{number}"), parameters={"VALUE": "URI"})
        names = draw(st.lists(ascii_text.filter(bool), max_size=3))
        if names:
            event.add("categories", names)
        if draw(st.booleans()):
            parameters = {"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": draw(any_text) or "Join"}
            event.add("conference", vUri("https://meet.example/a;b,c"), parameters=parameters)
        calendar.add_component(event)
    return calendar


@settings(max_examples=150, deadline=None)
@given(calendars())
def test_whole_calendars_serialise_as_icalendar_serialises_them(calendar: Calendar) -> None:
    assert serialise(calendar) == calendar.to_ical()
