"""Events written as bytes, exactly as icalendar's ``to_ical()`` writes them, in a fraction of
the time: ``write_event`` writes a VEVENT's lines directly from plain values (no icalendar value
objects, which were most of building a 300-session feed) and ``fold`` folds each line.
``icalendar_event`` makes the same event with icalendar, as the reference:
``tests/unit/test_fold.py`` and ``tests/unit/test_calendar_writer.py`` compare the bytes for
awkward text, zones, parameters and lines of every length.

Split from ``calendars.rules`` (which says what goes in a calendar) so each stays a readable size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from icalendar import Event

TEXT, URI, INTEGER, DATE_TIME, CATEGORIES = "text", "uri", "integer", "date-time", "categories"


class Property(NamedTuple):
    """One property of an event as plain values: ``kind`` says how its value is written (TEXT,
    URI, INTEGER, DATE_TIME: an aware datetime, CATEGORIES: a list of texts)."""

    name: str  # upper case, as icalendar keeps names
    kind: str
    value: Any
    parameters: tuple[tuple[str, str], ...] = ()


# --- the direct writer -------------------------------------------------------------------------


def write_event(properties: Sequence[Property]) -> bytes:
    """``icalendar_event(properties).to_ical()``, the same bytes, written without icalendar.

    Properties go in icalendar's order (``_event_order``); values are escaped as icalendar
    escapes them (``_text``); parameters and the forms of date-times come from icalendar itself,
    worked out once for each set of parameters and each zone (``_parameters``, ``_zone_form``).
    """
    by_name = {p.name: p for p in properties}
    lines = [b"BEGIN:VEVENT"]
    for name in _event_order(frozenset(by_name)):
        kind, value, parameters = by_name[name][1:]
        if kind == TEXT:
            text = _text(value)
        elif kind == DATE_TIME:
            zone_parameters, suffix = _zone_form(value.tzinfo)
            text = (
                f"{value.year:04}{value.month:02}{value.day:02}"
                f"T{value.hour:02}{value.minute:02}{value.second:02}{suffix}"
            )
            if zone_parameters:
                assert not parameters, "a date-time's only parameter is its zone"
                lines.append(fold(f"{name};{zone_parameters}:{text}"))
                continue
        elif kind == URI:
            text = value
        elif kind == INTEGER:
            text = str(int(value))
        elif kind == CATEGORIES:
            text = ",".join(_text(one) for one in value)
        else:
            raise ValueError(f"unknown kind of value: {kind}")
        if parameters:
            lines.append(fold(f"{name};{_parameters(parameters)}:{text}"))
        else:
            lines.append(fold(f"{name}:{text}"))
    lines.append(b"END:VEVENT\r\n")
    return b"\r\n".join(lines)


def _text(value: str) -> str:
    """A TEXT value escaped as icalendar escapes it (its ``_escape_char``, in the same order)."""
    return (
        value.replace("\\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


@cache
def _parameters(parameters: tuple[tuple[str, str], ...]) -> str:
    """``KEY=VALUE;...`` as icalendar writes these parameters (sorted, quoted, RFC 6868)."""
    from icalendar.parser import Parameters

    written = Parameters(dict(parameters)).to_ical()
    return str(written.decode("utf-8"))


@cache
def _zone_form(zone: dt.tzinfo | None) -> tuple[str, str]:
    """How icalendar writes a date-time in ``zone``: its parameters (``TZID=Europe/London``, or
    none) and what follows the digits (``Z`` in UTC). Asked of icalendar once per zone."""
    from icalendar import vDDDTypes

    value: Any = vDDDTypes(dt.datetime(2000, 1, 1, tzinfo=zone))
    digits = "20000101T000000"
    written = value.to_property_type().to_ical().decode("ascii")
    assert written.startswith(digits), written
    return str(value.params.to_ical().decode("utf-8")), written[len(digits) :]


_FOLD_AT = 74  # octets per folded piece, as icalendar folds (its limit 75 is exclusive)
_KEEP_WITH_NEXT = b"\\^"  # escapes icalendar does not split across a fold (its #1501)


def fold(line: str) -> bytes:
    """``Contentline(line).to_ical()``: the line in UTF-8, folded as icalendar folds it.

    icalendar counts the octets of each character in turn and ends a piece before the one that
    would take it to 75; ending a piece 74 octets on, moved back to the start of a character (a
    UTF-8 continuation byte is 10xxxxxx), is the same piece. A piece ending in a backslash or a
    caret gives that character to the next piece, as icalendar does, unless it is all there is.
    """
    data = line.encode("utf-8")
    if len(data) <= _FOLD_AT:
        return data
    pieces = []
    start = 0
    while len(data) - start > _FOLD_AT:
        end = start + _FOLD_AT
        while data[end] & 0xC0 == 0x80:
            end -= 1
        if data[end - 1] in _KEEP_WITH_NEXT and end - 1 > start:
            end -= 1
        pieces.append(data[start:end])
        start = end
    pieces.append(data[start:])
    return b"\r\n ".join(pieces)


@cache
def _event_order(names: frozenset[str]) -> tuple[str, ...]:
    """The order icalendar writes an event's properties in (its ``sorted_keys``), worked out
    once for each set of names."""
    from icalendar import Event

    return tuple(Event(**dict.fromkeys(names, "")).sorted_keys())


# --- icalendar's own: the reference ------------------------------------------------------------


@cache
def _property_type(name: str) -> Any:
    """icalendar's value type for property ``name`` (``vText``, ``vDDDTypes``, ``vUri``...)."""
    from icalendar import Event

    return Event.types_factory.for_property(name)


def icalendar_event(properties: Sequence[Property]) -> Event:
    """The event as icalendar components and values (each value of icalendar's own type for
    its property): what ``write_event`` writes directly. Tests compare the two."""
    from icalendar import Event

    event = Event()
    for name, _kind, value, parameters in properties:
        made = _property_type(name.lower())(value)
        if parameters:
            made.params.update(dict(parameters))
        event[name] = made
    return event
