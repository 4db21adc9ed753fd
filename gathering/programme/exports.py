"""Programme exports for conference apps: frab schedule XML and schedule JSON (C3VOC schemas).

Both are pure functions of a released ``Programme``: the same release gives byte-identical output,
so ETags stay stable and a cache keyed by (gathering, release) is safe. Live counts (places left)
are deliberately absent. Before a first release both give a valid, empty schedule (version "0")
rather than a 404, so an app subscribed early keeps polling and picks the programme up on release.

Identity: an event's ``id`` is the session id and its ``guid`` is a UUIDv5 of the session's public
URL, so neither changes across releases and apps (EventFahrplan, Giggity, ConfClerk) see a moved or
cancelled session as a change to the same event. Schemas: https://c3voc.de/wiki/schedule.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gathering import __version__
from gathering.programme import wording
from gathering.programme.published import Programme, PublicSession

GENERATOR = "Gathering"
JSON_SCHEMA_ID = "https://c3voc.de/schedule/schema.json"
# frab's day_change: a session starting before 04:00 belongs to the previous day's programme.
DAY_CHANGE = dt.time(4, 0)
TIMESLOT = "00:05"

SessionPath = Callable[[int], str]


@dataclass(frozen=True)
class _Room:
    name: str
    guid: str
    capacity: int | None
    description: str
    is_online: bool


@dataclass(frozen=True)
class _Event:
    session: PublicSession
    room: _Room
    day: dt.date
    url: str
    guid: str


def acronym(slug: str) -> str:
    """The conference acronym: the slug, with hyphens as underscores.

    The schedule JSON schema only allows hyphens before a ``-2019-xyz`` style suffix, so
    ``labour-conference-2019`` becomes ``labour_conference_2019`` (in both XML and JSON, so the two
    exports name the conference alike).
    """
    cleaned = re.sub(r"[^a-z0-9_]", "_", slug.lower())
    return cleaned.ljust(4, "_")


def _title_slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")


def _event_slug(prefix: str, session: PublicSession) -> str:
    # Matches the XSD's voc-slug-new and the JSON slug pattern; unique because it holds the id.
    return f"{prefix}-{session.id}-{_title_slug(session.title) or 'session'}"


def _local(instant: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return instant.astimezone(zone)


def _hhmm(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _programme_day(start: dt.datetime) -> dt.date:
    shifted = start - dt.timedelta(hours=DAY_CHANGE.hour, minutes=DAY_CHANGE.minute)
    return shifted.date()


def _day_bounds(day: dt.date, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, DAY_CHANGE, zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), DAY_CHANGE, zone)
    return start, end - dt.timedelta(minutes=1)


class _Layout:
    """Rooms, days and events of a programme, in one deterministic order."""

    def __init__(self, programme: Programme, base_url: str, session_path: SessionPath) -> None:
        self.base_url = base_url.rstrip("/")
        gathering = programme.gathering
        self.zone = zoneinfo.ZoneInfo(gathering.timezone)
        self.acronym = acronym(gathering.slug)
        self.rooms: list[_Room] = []
        real = {s.room.id: s.room for s in programme.sessions if s.room and s.format != "online"}
        names = [room.name for room in real.values()]
        by_id: dict[int, _Room] = {}
        for real_room in sorted(real.values(), key=lambda r: (r.venue.name, r.name, r.id)):
            # Two venues may each have a "Main hall"; the venue name tells them apart.
            name = real_room.name
            if names.count(name) > 1:
                name = f"{name}, {real_room.venue.name}"
            venue = real_room.venue
            where = ", ".join(part for part in (venue.name, venue.address) if part)
            by_id[real_room.id] = _Room(
                name, self._guid(f"room-{real_room.id}"), real_room.capacity, where, False
            )
            self.rooms.append(by_id[real_room.id])
        online = _Room(wording.ONLINE_ROOM, self._guid("room-online"), None, "", is_online=True)
        tbc = _Room(wording.VENUE_TBC, self._guid("room-tbc"), None, "", is_online=False)
        self.events: list[_Event] = []
        for session in sorted(programme.sessions, key=lambda s: (s.starts_at, s.id)):
            if session.format == "online":
                room = online
            elif session.room is None:
                room = tbc
            else:
                room = by_id[session.room.id]
            url = self.base_url + session_path(session.id)
            day = _programme_day(_local(session.starts_at, self.zone))
            guid = str(uuid.uuid5(uuid.NAMESPACE_URL, url))
            self.events.append(_Event(session, room, day, url, guid))
        used = {event.room.name for event in self.events}
        self.rooms += [r for r in (online, tbc) if r.name in used]
        self.days = self._days(programme)

    def _guid(self, fragment: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.base_url}/#{self.acronym}-{fragment}"))

    def _days(self, programme: Programme) -> list[dt.date]:
        first, last = programme.gathering.starts_on, programme.gathering.ends_on
        days = {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}
        days |= {event.day for event in self.events}
        return sorted(days)

    def rooms_on(self, day: dt.date) -> list[tuple[_Room, list[_Event]]]:
        out = []
        for room in self.rooms:
            events = [e for e in self.events if e.day == day and e.room == room]
            if events:
                out.append((room, events))
        return out

    def tracks(self, programme: Programme) -> list[str]:
        return sorted({s.track.name for s in programme.sessions if s.track})


def _title(session: PublicSession) -> str:
    # Apps show the title everywhere; the prefix makes a cancellation impossible to miss.
    return (
        wording.CANCELLED_TITLE.format(title=session.title)
        if session.is_cancelled
        else session.title
    )


def _event_type(session: PublicSession) -> str:
    return "cancelled" if session.is_cancelled else "meeting"


def _subtitle(session: PublicSession) -> str:
    hosts = [h.name for h in session.hosts if h.role == "host"]
    co_hosts = [h.name for h in session.hosts if h.role != "host"]
    text = ", ".join(hosts)
    if co_hosts:
        text += (wording.CO_HOSTED_WITH if text else "") + ", ".join(co_hosts)
    return text


def _abstract(session: PublicSession) -> str:
    return session.description.strip().split("\n\n", 1)[0].strip()


def _description(session: PublicSession) -> str:
    """The description, followed by the public facts an app user needs to turn up."""
    facts = []
    if session.is_cancelled:
        facts.append(wording.CANCELLED)
    facts.append(wording.FORMAT_FACTS.get(session.format, session.format) + ".")
    if session.room is None and session.format != "online":
        facts.append(wording.VENUE_TO_BE_CONFIRMED)
    elif session.room is not None and session.format != "online":
        facts.append(f"{session.room.name}, {session.room.venue.name}.")
    if wording.ACCESS_FACTS.get(session.access):
        facts.append(wording.ACCESS_FACTS[session.access])
    if session.access_note:
        facts.append(session.access_note)
    return "\n\n".join(part for part in (session.description.strip(), " ".join(facts)) if part)


def _version(programme: Programme) -> str:
    return str(programme.release.number) if programme.release else "0"


# --- frab XML ------------------------------------------------------------------------------


_DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def frab_xml(programme: Programme, base_url: str, session_path: SessionPath) -> bytes:
    """The released programme as frab/pentabarf ``schedule.xml`` (valid against the C3VOC XSD)."""
    layout = _Layout(programme, base_url, session_path)
    gathering = programme.gathering
    root = ET.Element("schedule")
    _sub(root, "generator", name=GENERATOR, version=__version__)
    _sub(root, "version", _version(programme))
    conference = _sub(root, "conference")
    _sub(conference, "acronym", layout.acronym)
    _sub(conference, "title", gathering.title)
    _sub(conference, "start", gathering.starts_on.isoformat())
    _sub(conference, "end", gathering.ends_on.isoformat())
    _sub(conference, "days", str(len(layout.days)))
    _sub(conference, "timeslot_duration", TIMESLOT)
    _sub(conference, "base_url", layout.base_url + "/")
    _sub(conference, "time_zone_name", gathering.timezone)
    for name in layout.tracks(programme):
        _sub(conference, "track", name=name)
    for index, day in enumerate(layout.days, start=1):
        start, end = _day_bounds(day, layout.zone)
        day_element = _sub(
            root,
            "day",
            index=str(index),
            date=day.isoformat(),
            start=start.isoformat(),
            end=end.isoformat(),
        )
        for room, events in layout.rooms_on(day):
            room_element = _sub(day_element, "room", name=room.name, guid=room.guid)
            for event in events:
                _frab_event(room_element, event, layout)
    ET.indent(root)
    # As ET.tostring(root, encoding="utf-8", xml_declaration=True) writes it, byte for byte,
    # without its text wrapper's encoder being called for every piece (most of a cold export).
    return _DECLARATION + ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n"


def _frab_event(parent: ET.Element, event: _Event, layout: _Layout) -> None:
    session = event.session
    start = _local(session.starts_at, layout.zone)
    element = _sub(parent, "event", id=str(session.id), guid=event.guid)
    _sub(element, "date", start.isoformat())
    _sub(element, "start", start.strftime("%H:%M"))
    _sub(element, "duration", _hhmm(session.ends_at - session.starts_at))
    _sub(element, "room", event.room.name)
    _sub(element, "slug", _event_slug(layout.acronym, session))
    _sub(element, "url", event.url)
    _sub(element, "title", _title(session))
    _sub(element, "subtitle", _subtitle(session))
    _sub(element, "track", session.track.name if session.track else "")
    _sub(element, "type", _event_type(session))
    _sub(element, "language", session.language)
    _sub(element, "abstract", _abstract(session))
    _sub(element, "description", _description(session))
    persons = _sub(element, "persons")
    for speaker in session.speakers:
        _sub(persons, "person", speaker.name, id=str(speaker.id))
    links = _sub(element, "links")
    _sub(links, "link", wording.SESSION_PAGE, href=event.url)


# --- schedule JSON -------------------------------------------------------------------------


def schedule_json(programme: Programme, base_url: str, session_path: SessionPath) -> bytes:
    """The released programme as C3VOC schedule JSON (valid against ``schema.json``, draft-06)."""
    layout = _Layout(programme, base_url, session_path)
    gathering = programme.gathering
    days = []
    for index, day in enumerate(layout.days, start=1):
        start, end = _day_bounds(day, layout.zone)
        days.append(
            {
                "index": index,
                "date": day.isoformat(),
                "day_start": start.isoformat(),
                "day_end": end.isoformat(),
                "rooms": {
                    room.name: [_json_event(event, layout) for event in events]
                    for room, events in layout.rooms_on(day)
                },
            }
        )
    rooms: list[dict[str, Any]] = []
    for room in layout.rooms:
        entry: dict[str, Any] = {"name": room.name, "guid": room.guid}
        if room.is_online:
            entry["type"] = "online"
        entry["capacity"] = room.capacity
        entry["description"] = room.description or None
        rooms.append(entry)
    document = {
        "$schema": JSON_SCHEMA_ID,
        "generator": {"name": GENERATOR, "version": __version__},
        "schedule": {
            "version": _version(programme),
            "base_url": layout.base_url + "/",
            "conference": {
                "acronym": layout.acronym,
                "title": gathering.title,
                "description": gathering.description,
                "start": gathering.starts_on.isoformat(),
                "end": gathering.ends_on.isoformat(),
                "daysCount": len(days),
                "timeslot_duration": TIMESLOT,
                "time_zone_name": gathering.timezone,
                "tracks": [{"name": name} for name in layout.tracks(programme)],
                "rooms": rooms,
                "days": days,
            },
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode() + b"\n"


def _json_event(event: _Event, layout: _Layout) -> dict[str, Any]:
    session = event.session
    start = _local(session.starts_at, layout.zone)
    return {
        "guid": event.guid,
        "id": session.id,
        "date": start.isoformat(),
        "start": start.strftime("%H:%M"),
        "end": _local(session.ends_at, layout.zone).isoformat(),
        "duration": _hhmm(session.ends_at - session.starts_at),
        "room": event.room.name,
        "slug": _event_slug(layout.acronym, session),
        "url": event.url,
        "title": _title(session),
        "subtitle": _subtitle(session),
        "track": session.track.name if session.track else None,
        "type": _event_type(session),
        "language": session.language,
        "abstract": _abstract(session),
        "description": _description(session),
        # A pretalx-style person (``name``, no integer ``id``): a person with both matches the
        # schema's FrabPerson and PretalxPerson and fails its ``oneOf``.
        "persons": [
            {"name": s.name, "public_name": s.name, "biography": s.bio or None}
            for s in session.speakers
        ],
        "links": [{"type": "web", "url": event.url, "title": wording.SESSION_PAGE}],
    }
