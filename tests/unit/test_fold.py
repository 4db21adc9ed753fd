"""The calendar builder writes events and folds lines itself (``serialising.write_event``,
``serialising.fold``), for speed; the bytes must be exactly icalendar's own, escapes at the fold
and multi-byte characters included. ``test_calendar_writer.py`` compares whole calendars."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar.parser import Contentline

from gathering.calendars.serialising import (
    CATEGORIES,
    DATE_TIME,
    INTEGER,
    TEXT,
    URI,
    Property,
    fold,
    icalendar_event,
    write_event,
)

# Lines as icalendar makes them: no line breaks; many backslashes and carets, which icalendar
# keeps on the same side of a fold as the character they escape.
ascii_text = st.text(
    alphabet=st.sampled_from("abcXYZ019 :;,\\^\"'=-/.\t"), min_size=0, max_size=400
)
any_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=300,
)
# Welsh, accents, CJK, emoji (four octets) among backslashes and carets: folds fall inside
# characters of every width.
mixed_text = st.text(alphabet=st.sampled_from("aŵŷâ·–中文😀\\^,;: "), min_size=0, max_size=300)


def _icalendar(line: str) -> bytes:
    return bytes(Contentline(line).to_ical())


@settings(max_examples=600, deadline=None)
@given(ascii_text)
def test_ascii_lines_fold_as_icalendar_folds_them(line: str) -> None:
    assert fold(line) == _icalendar(line)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_any_line_folds_as_icalendar_folds_it(line: str) -> None:
    assert fold(line) == _icalendar(line)


@settings(max_examples=600, deadline=None)
@given(mixed_text)
def test_multibyte_lines_fold_as_icalendar_folds_them(line: str) -> None:
    assert fold(line) == _icalendar(line)


def test_the_edges() -> None:
    for length in range(70, 160):
        for tail in ("", "\\", "^", "\\n", "\\\\", "é", "😀", "\\é", "é\\"):
            line = "DESCRIPTION:" + "x" * (length - len(tail) - 12) + tail + "yz" * 40
            assert fold(line) == _icalendar(line)
            line = "SUMMARY:" + "ŵ" * (length // 2) + tail + "😀" * 30
            assert fold(line) == _icalendar(line)
    # A folded line never has more than 75 octets.
    for line in ("SUMMARY:" + "a\\," * 100, "SUMMARY:" + "😀\\" * 100):
        assert max(len(part) for part in fold(line).split(b"\r\n")) <= 75
    assert fold("\\" * 200) == _icalendar("\\" * 200)


# --- events ------------------------------------------------------------------------------------

ZONES = [zoneinfo.ZoneInfo(name) for name in ("Europe/London", "America/New_York", "UTC")]
moments = st.datetimes(
    min_value=dt.datetime(2019, 1, 1),
    max_value=dt.datetime(2030, 12, 31),
    timezones=st.sampled_from([*ZONES, dt.UTC]),
).map(lambda moment: moment.replace(microsecond=0))
texts = st.one_of(any_text, mixed_text, ascii_text, st.text(max_size=600))
uris = st.sampled_from(
    ["https://example.org/g/x/s/1", "https://meet.example/a;b,c?d=e&f=g", "https://ex.org/é"]
)
date_time_parameters = st.sampled_from([(), (("X-NOTE", "a;b"),), (("X-NOTE", "plain"),)])
labels = st.one_of(st.sampled_from(["Join online", "Ymuno ar-lein", 'a "b" ^ c;d:e,f']), any_text)


@st.composite
def events(draw: st.DrawFn) -> list[Property]:
    start = draw(moments)
    properties = [
        ("UID", TEXT, draw(st.sampled_from(["session-1@example.org", "a,b;c\\d"])), ()),
        ("DTSTAMP", DATE_TIME, draw(moments).astimezone(dt.UTC), ()),
        ("SEQUENCE", INTEGER, draw(st.integers(0, 10_000)), ()),
        ("DTSTART", DATE_TIME, start, ()),
        ("DTEND", DATE_TIME, start + dt.timedelta(hours=1), draw(date_time_parameters)),
        ("SUMMARY", TEXT, draw(texts), ()),
        ("DESCRIPTION", TEXT, draw(texts), ()),
        ("LOCATION", TEXT, draw(texts), ()),
        ("STATUS", TEXT, draw(st.sampled_from(["CONFIRMED", "CANCELLED"])), ()),
        ("URL", URI, draw(uris), (("VALUE", "URI"),)),
    ]
    names = draw(st.lists(texts.filter(bool), max_size=3))
    if names:
        properties.append(("CATEGORIES", CATEGORIES, names, ()))
    if draw(st.booleans()):
        parameters = (("VALUE", "URI"), ("FEATURE", "VIDEO"), ("LABEL", draw(labels) or "Join"))
        properties.append(("CONFERENCE", URI, draw(uris), parameters))
    if draw(st.booleans()):
        properties.append(("LAST-MODIFIED", DATE_TIME, draw(moments).astimezone(dt.UTC), ()))
    return draw(st.permutations(properties))


@settings(max_examples=400, deadline=None)
@given(events())
def test_events_are_written_as_icalendar_writes_them(properties: list[Property]) -> None:
    assert write_event(properties) == icalendar_event(properties).to_ical()


def test_a_uri_with_a_line_break_is_refused() -> None:
    """Written as it is, it would start a property of its own (icalendar refuses it too)."""
    injected = "https://meet.example/x\nATTENDEE:mailto:someone@example.org"
    with pytest.raises(ValueError, match="line break"):
        write_event([("URL", URI, injected, (("VALUE", "URI"),))])
