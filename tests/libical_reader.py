"""A small reader of iCalendar text through libical (Debian's libical3), for tests.

libical is what Evolution, GNOME Calendar, KDE's KCalendarCore (its own copy) and Thunderbird's
older code read calendars with. ``events`` parses a calendar with ``icalparser_parse_string``,
walks its VEVENTs and turns each DTSTART and DTEND into a UTC instant with the zone libical finds
for its TZID: ``icalcomponent_get_dtstart`` looks the TZID up among the calendar's own VTIMEZONEs
(so the VTIMEZONE we write is what libical reads), and ``icaltime_as_timet_with_zone`` converts.

Only the few functions and the one structure used are declared (libical 3.0's ABI).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
from functools import cache

ICAL_VEVENT_COMPONENT = 4  # enum icalcomponent_kind: NO, ANY, XROOT, XATTACH, VEVENT, ...
LIBRARY_NAMES = ("libical.so.3", "ical")


class IcalTime(ctypes.Structure):
    """``struct icaltimetype`` of libical 3."""

    _fields_ = [
        ("year", ctypes.c_int),
        ("month", ctypes.c_int),
        ("day", ctypes.c_int),
        ("hour", ctypes.c_int),
        ("minute", ctypes.c_int),
        ("second", ctypes.c_int),
        ("is_date", ctypes.c_int),
        ("is_daylight", ctypes.c_int),
        ("zone", ctypes.c_void_p),
    ]


class LibicalMissing(RuntimeError):
    """libical3 is not installed (``apt-get install libical3``)."""


@cache
def library() -> ctypes.CDLL:
    """libical, with the signatures of the functions used here."""
    for name in LIBRARY_NAMES:
        path = name if name.endswith(".3") else ctypes.util.find_library(name)
        if not path:
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        break
    else:
        raise LibicalMissing("libical3 is not installed")
    pointer = ctypes.c_void_p
    lib.icalparser_parse_string.argtypes = [ctypes.c_char_p]
    lib.icalparser_parse_string.restype = pointer
    lib.icalcomponent_free.argtypes = [pointer]
    lib.icalcomponent_free.restype = None
    lib.icalcomponent_get_first_component.argtypes = [pointer, ctypes.c_int]
    lib.icalcomponent_get_first_component.restype = pointer
    lib.icalcomponent_get_next_component.argtypes = [pointer, ctypes.c_int]
    lib.icalcomponent_get_next_component.restype = pointer
    lib.icalcomponent_get_uid.argtypes = [pointer]
    lib.icalcomponent_get_uid.restype = ctypes.c_char_p
    lib.icalcomponent_get_dtstart.argtypes = [pointer]
    lib.icalcomponent_get_dtstart.restype = IcalTime
    lib.icalcomponent_get_dtend.argtypes = [pointer]
    lib.icalcomponent_get_dtend.restype = IcalTime
    lib.icaltime_as_timet_with_zone.argtypes = [IcalTime, pointer]
    lib.icaltime_as_timet_with_zone.restype = ctypes.c_int64
    lib.icaltimezone_get_utc_timezone.argtypes = []
    lib.icaltimezone_get_utc_timezone.restype = pointer
    lib.icaltimezone_get_tzid.argtypes = [pointer]
    lib.icaltimezone_get_tzid.restype = ctypes.c_char_p
    return lib


def _instant(lib: ctypes.CDLL, moment: IcalTime, uid: str) -> tuple[dt.datetime, str]:
    """The UTC instant of an event time, and the TZID of the zone libical read it in."""
    if moment.is_date:
        raise ValueError(f"{uid}: a date where a date-time was expected")
    if not moment.zone:
        raise ValueError(f"{uid}: a floating time (no zone libical could find)")
    seconds = lib.icaltime_as_timet_with_zone(moment, moment.zone)
    tzid = lib.icaltimezone_get_tzid(moment.zone)
    return dt.datetime.fromtimestamp(seconds, dt.UTC), tzid.decode() if tzid else ""


def read(text: str) -> list[tuple[str, dt.datetime, dt.datetime, str, str]]:
    """(UID, start, end, start's TZID, end's TZID) of every VEVENT, instants in UTC, as libical
    reads them. A TZID found among the calendar's VTIMEZONEs comes back as written; libical's
    own zones (used only when a calendar lacks the VTIMEZONE) carry a
    ``/freeassociation.sourceforge.net/`` prefix, and UTC is ``UTC``."""
    lib = library()
    root = lib.icalparser_parse_string(text.encode())
    if not root:
        raise ValueError("libical could not parse the calendar")
    try:
        found = []
        event = lib.icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT)
        while event:
            raw_uid = lib.icalcomponent_get_uid(event)
            uid = raw_uid.decode() if raw_uid else ""
            start, start_zone = _instant(lib, lib.icalcomponent_get_dtstart(event), uid)
            end, end_zone = _instant(lib, lib.icalcomponent_get_dtend(event), uid)
            found.append((uid, start, end, start_zone, end_zone))
            event = lib.icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT)
        return found
    finally:
        lib.icalcomponent_free(root)


def events(text: str) -> set[tuple[str, dt.datetime, dt.datetime]]:
    """(UID, start, end) of every VEVENT, as aware UTC instants, read by libical."""
    return {(uid, start, end) for uid, start, end, _, _ in read(text)}
