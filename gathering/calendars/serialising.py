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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from icalendar import Event

TEXT, URI, INTEGER, DATE_TIME, CATEGORIES = "text", "uri", "integer", "date-time", "categories"


Parameters = tuple[tuple[str, str], ...]
Property = tuple[str, str, Any, Parameters]
"""One property of an event as plain values: ``(name, kind, value, parameters)``. The name is
upper case, as icalendar keeps names; ``kind`` says how the value is written: TEXT, URI, INTEGER,
DATE_TIME (an aware datetime) or CATEGORIES (a list of texts). A plain tuple: an event has a dozen
and a feed hundreds of events."""


# --- the direct writer -------------------------------------------------------------------------


def write_event(properties: Sequence[Property]) -> bytes:
    """``icalendar_event(properties).to_ical()``, the same bytes, written without icalendar.

    Properties go in icalendar's order (``_event_order``); values are escaped as icalendar
    escapes them (``_text``); what comes before a value (name, parameters) and the form of a
    date-time are asked of icalendar once for each name, set of parameters and zone
    (``_prefix``, ``_date_time_form``).
    """
    lines = ["BEGIN:VEVENT"]
    for index in _event_order(tuple([p[0] for p in properties])):
        name, kind, value, parameters = properties[index]
        if kind == TEXT:
            line = _prefix(name, parameters) + _text(value)
        elif kind == DATE_TIME:
            prefix, suffix = _date_time_form(name, value.tzinfo, parameters)
            digits = _DIGITS % (
                value.year,
                value.month,
                value.day,
                value.hour,
                value.minute,
                value.second,
            )
            line = prefix + digits + suffix
        elif kind == URI:
            if "\n" in value:  # icalendar refuses these too: they would start a new line
                raise ValueError(f"{name} has a line break: {value!r}")
            line = _prefix(name, parameters) + value
        elif kind == INTEGER:
            line = _prefix(name, parameters) + str(int(value))
        elif kind == CATEGORIES:
            line = _prefix(name, parameters) + ",".join([_text(one) for one in value])
        else:
            raise ValueError(f"unknown kind of value: {kind}")
        lines.append(folded(line))
    lines.append("END:VEVENT\r\n")
    return "\r\n".join(lines).encode("utf-8")


_DIGITS = "%04d%02d%02dT%02d%02d%02d"  # icalendar's date-time digits (vDatetime.to_ical)


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
def _prefix(name: str, parameters: Parameters) -> str:
    """``NAME:`` or ``NAME;KEY=VALUE;...:`` as icalendar writes it (its parameters sorted, quoted
    and escaped as RFC 6868 says)."""
    from icalendar.parser import Parameters as IcalendarParameters

    written = IcalendarParameters(dict(parameters)).to_ical().decode("utf-8")
    return f"{name};{written}:" if written else f"{name}:"


@cache
def _date_time_form(name: str, zone: dt.tzinfo | None, parameters: Parameters) -> tuple[str, str]:
    """What icalendar writes before a date-time's digits in ``zone`` (the name, the zone's
    ``TZID=Europe/London`` if any, other parameters) and after them (``Z`` in UTC)."""
    from icalendar import vDDDTypes

    value: Any = vDDDTypes(dt.datetime(2000, 1, 1, tzinfo=zone))
    value.params.update(dict(parameters))
    digits = "20000101T000000"
    written = value.to_property_type().to_ical().decode("ascii")
    assert written.startswith(digits), written
    written_parameters = value.params.to_ical().decode("utf-8")
    prefix = f"{name};{written_parameters}:" if written_parameters else f"{name}:"
    return prefix, written[len(digits) :]


_FOLD_AT = 74  # octets per folded piece, as icalendar folds (its limit 75 is exclusive)
_KEEP_WITH_NEXT = "\\^"  # escapes icalendar does not split across a fold (its #1501)
_KEEP_WITH_NEXT_OCTETS = _KEEP_WITH_NEXT.encode("ascii")


def fold(line: str) -> bytes:
    """``Contentline(line).to_ical()``: the line in UTF-8, folded as icalendar folds it."""
    return folded(line).encode("utf-8")


def folded(line: str) -> str:
    """``line`` folded as icalendar folds it (``fold``), still as text.

    icalendar counts the octets of each character in turn and ends a piece before the one that
    would take it to 75; ending a piece 74 octets on, moved back to the start of a character (a
    UTF-8 continuation byte is 10xxxxxx), is the same piece. A piece ending in a backslash or a
    caret gives that character to the next piece, as icalendar does, unless it is all there is.
    An ASCII line has one octet per character, so its pieces are slices of the text itself.
    """
    if line.isascii():
        if len(line) <= _FOLD_AT:
            return line
        pieces = []
        start = 0
        while len(line) - start > _FOLD_AT:
            end = start + _FOLD_AT
            if line[end - 1] in _KEEP_WITH_NEXT:
                end -= 1
            pieces.append(line[start:end])
            start = end
        pieces.append(line[start:])
        return "\r\n ".join(pieces)
    data = line.encode("utf-8")
    if len(data) <= _FOLD_AT:
        return line
    octets = []
    start = 0
    while len(data) - start > _FOLD_AT:
        end = start + _FOLD_AT
        while data[end] & 0xC0 == 0x80:
            end -= 1
        if data[end - 1] in _KEEP_WITH_NEXT_OCTETS and end - 1 > start:
            end -= 1
        octets.append(data[start:end])
        start = end
    octets.append(data[start:])
    return b"\r\n ".join(octets).decode("utf-8")


@cache
def _event_order(names: tuple[str, ...]) -> tuple[int, ...]:
    """The order icalendar writes an event's properties in (its ``sorted_keys``), as indices
    into ``names``; worked out once for each list of names."""
    from icalendar import Event

    if len(set(names)) != len(names):
        raise ValueError(f"an event has each property once: {names}")
    order = Event(**dict.fromkeys(names, "")).sorted_keys()
    return tuple(names.index(name) for name in order)


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
