"""Calendars written as bytes: ``serialise`` and ``fold`` give exactly icalendar's
``to_ical()`` output in a fraction of the time (``tests/unit/test_fold.py`` compares them).

Split from ``calendars.rules`` (which builds the calendars) so each stays a readable size.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from icalendar import Calendar
    from icalendar.parser import Contentline


def serialise(calendar: Calendar) -> bytes:
    """``calendar.to_ical()``, the same bytes in about half the time.

    icalendar makes every value (its escaping, its date forms); the events' properties are
    walked in icalendar's order without its lookups (``_property_items``), a line is put
    together here when it has no parameters or only plain ones (``NAME;TZID=zone:VALUE``, all
    ``Contentline.from_parts`` does for them), and plain ASCII lines are folded here (``fold``).
    Every other line is icalendar's own. ``tests/unit/test_fold.py`` checks the bytes against
    ``to_ical()`` for calendars with every kind of event.
    """
    from icalendar.parser import Contentline as _Contentline

    line: Any = _Contentline  # icalendar's classes have no annotations
    untyped: Any = calendar
    lines = []
    for name, value in _property_items(untyped):
        if isinstance(value, bytes):  # BEGIN and END, made by icalendar
            lines.append(fold(line(f"{name}:{value.decode()}")))
        elif not hasattr(value, "to_ical") or (
            value.params and (plain := _plain_parameters(value.params)) is None
        ):
            lines.append(fold(untyped.content_line(name, value)))
        elif value.params:
            text = value.to_ical()
            text = text.decode() if isinstance(text, bytes) else text
            lines.append(fold(line(f"{name}{plain}:{text}")))
        else:
            text = value.to_ical()
            text = text.decode() if isinstance(text, bytes) else text
            lines.append(fold(line(f"{name}:{text}")))
    return b"\r\n".join(lines) + b"\r\n"


_PLAIN_PARAMETER = re.compile(r"[A-Za-z0-9/_+.-]+\Z")
_PLAIN_PARAMETER_NAMES = frozenset({"TZID", "VALUE"})


def _plain_parameters(parameters: Any) -> str | None:
    """``;KEY=VALUE...`` as icalendar writes parameters (sorted, TZID=UTC left out), for the
    plain ones every event carries (a zone's TZID, VALUE=URI): they need no escaping and no
    quotes. None for anything else, which icalendar writes itself."""
    parts = []
    for key, value in sorted(dict.items(parameters)):
        if key not in _PLAIN_PARAMETER_NAMES or not isinstance(value, str):
            return None
        if not _PLAIN_PARAMETER.match(value):
            return None
        if key == "TZID" and value == "UTC":
            continue
        parts.append(f";{key}={value}")
    return "".join(parts)


def _property_items(calendar: Any) -> list[tuple[str, Any]]:
    """``calendar.property_items()``, the same list, walking the events faster.

    icalendar looks every property up again through its case-insensitive dictionary and sorts
    every event's keys anew (a fifth of a 300-session feed); our events all carry keys from one
    small set, so each set's order (icalendar's own ``sorted_keys``) is worked out once and the
    values read as the plain dictionary they are. Other components go to icalendar.
    """
    from icalendar import Event

    items: list[tuple[str, Any]] = []
    begin, end = b"VEVENT", b"VEVENT"
    for component in (calendar, *calendar.subcomponents):
        if component is calendar:
            items.extend(calendar.property_items(recursive=False)[:-1])  # END comes last
            continue
        if type(component) is not Event or component.subcomponents:
            items.extend(component.property_items())
            continue
        items.append(("BEGIN", begin))
        order = _event_order(frozenset(dict.keys(component)))
        for name in order:
            value = dict.__getitem__(component, name)
            if isinstance(value, list):
                items.extend((name, one) for one in value)
            else:
                items.append((name, value))
        items.append(("END", end))
    items.append(("END", b"VCALENDAR"))
    return items


@cache
def _event_order(keys: frozenset[str]) -> tuple[str, ...]:
    from icalendar import Event

    return tuple(Event(**dict.fromkeys(keys, "")).sorted_keys())


_FOLD_AT = 74  # octets per folded piece, as icalendar folds (its limit 75 is exclusive)
_KEEP_WITH_NEXT = ("\\", "^")  # escapes icalendar does not split across a fold (its #1501)


def fold(line: Contentline) -> bytes:
    """``line.to_ical()``, the same bytes, for a fraction of the time on plain ASCII lines.

    icalendar's folding encodes every character of every line on its own to count octets,
    which was 45 % of building a 300-session feed. An ASCII line has one octet per character,
    so its pieces are slices; any other line goes to icalendar. ``tests/unit/test_fold.py``
    checks the two agree, escapes at the fold included.
    """
    if not line.isascii():
        untyped: Any = line  # icalendar's to_ical has no annotations
        return bytes(untyped.to_ical())
    if len(line) <= _FOLD_AT:
        return line.encode("ascii")
    pieces = []
    start = 0
    while len(line) - start > _FOLD_AT:
        end = start + _FOLD_AT
        if line[end - 1] in _KEEP_WITH_NEXT:
            end -= 1
        pieces.append(line[start:end])
        start = end
    pieces.append(line[start:])
    return "\r\n ".join(pieces).encode("ascii")
