"""Calendar feeds (RFC 5545) of released programmes, and personal agenda feeds.

Builders are pure functions of the read model: the same released sessions give byte-identical
output (no "now" anywhere), so ETags only change when a session does and a cache keyed by release
is safe. Rules, and why (issue 4):

- UID ``session-<id>@<host>`` never changes for a session, so a moved or cancelled session updates
  the same calendar entry. SEQUENCE is the session's public ``version``; DTSTAMP and LAST-MODIFIED
  are its last public change (RFC 5545 §3.8.7.2 allows DTSTAMP to be the last revision of the
  information when no METHOD-based scheduling is involved; clients compare it for freshness).
- Cancelled sessions stay, with STATUS:CANCELLED and a "Cancelled:" summary, so subscribers see the
  cancellation instead of the entry silently vanishing.
- Times carry the gathering's IANA zone (``TZID=Europe/London``) with a VTIMEZONE built from
  zoneinfo (``timezones.py``: yearly RRULEs, no RDATE lists, which vobject misreads); never
  floating times and never "GMT". A local time in the hour repeated when clocks go back names two
  instants: RFC 5545 §3.3.5 reads it as the first, but libical (Evolution, GNOME) reads it as the
  second, so every time in that hour, either pass, is written in UTC, which all readers agree on.
- No ORGANIZER or ATTENDEE: they turn a feed into an invitation and leak addresses.
- Public feeds take only released (public) data. Joining links are private and appear only in a
  person's own agenda feed, passed in explicitly as ``FeedEvent.joining_link``.
"""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.calendars import queries, timezones, words
from gathering.calendars.serialising import (
    CATEGORIES,
    DATE_TIME,
    INTEGER,
    TEXT,
    URI,
    Property,
    icalendar_event,
    write_event,
)
from gathering.core import i18n
from gathering.core.database import Database
from gathering.core.errors import NotFound
from gathering.core.i18n import gettext
from gathering.programme.published import Programme, PublicGathering, PublicSession
from gathering.programme.release import load_programme
from gathering.registration import joining
from gathering.registration.tokens import Links

if TYPE_CHECKING:
    from icalendar import Calendar

PRODID = "-//Gathering//Gathering calendar feeds//EN"
REFRESH_INTERVAL = dt.timedelta(hours=1)
PUBLISHED_TTL = "PT1H"
FEED_KEY_BYTES = 32
ONLINE_FORMATS = ("online", "hybrid")


@dataclass(frozen=True)
class FeedEvent:
    """One session in a feed. ``joining_link`` is private: set it only for a personal feed."""

    gathering: PublicGathering
    session: PublicSession
    url: str  # the session's public page
    joining_link: str = ""


@dataclass(frozen=True)
class FeedInfo:
    """What a calendar says about itself."""

    name: str
    page_url: str  # the HTML page the feed belongs to
    feed_url: str  # the feed itself (SOURCE); empty for a secret address
    description: str = ""


# --- words shared by feeds and add-to-calendar links -------------------------------------------


def calendar_host(base_url: str) -> str:
    """The host part of UIDs: ``session-12@gathering.example.org``."""
    return urlsplit(base_url).hostname or "localhost"


def session_uid(session_id: int, host: str) -> str:
    return f"session-{session_id}@{host}"


def summary(session: PublicSession) -> str:
    # Many clients ignore STATUS in subscribed feeds; the prefix makes a cancellation visible.
    if session.is_cancelled:
        return gettext(words.CANCELLED_SUMMARY).format(title=session.title)
    return session.title


def location(session: PublicSession) -> str:
    """Room, venue and address; "Online" for online sessions; "Venue tbc" otherwise."""
    if session.format == "online":
        return gettext(words.ONLINE)
    if session.room is None:
        return gettext(words.VENUE_TBC)
    venue = session.room.venue
    return ", ".join(part for part in (session.room.name, venue.name, venue.address) if part)


def _with_role(name: str, role: str) -> str:
    if role in words.ROLE_WORDS:
        return gettext(words.NAME_WITH_ROLE).format(name=name, role=gettext(words.ROLE_WORDS[role]))
    return name


def _people(session: PublicSession) -> list[str]:
    lines = []
    if session.speakers:
        names = ", ".join(_with_role(s.name, s.role) for s in session.speakers)
        lines.append(gettext(words.SPEAKERS).format(names=names))
    if session.hosts:
        names = ", ".join(_with_role(h.name, h.role) for h in session.hosts)
        lines.append(gettext(words.HOSTED_BY).format(names=names))
    return lines


def description(session: PublicSession, url: str, joining_link: str = "") -> str:
    """Plain text: cancellation, the description, speakers and hosts, format and access, links."""
    parts = []
    if session.is_cancelled:
        parts.append(gettext(words.CANCELLED))
    if session.description.strip():
        parts.append(session.description.strip())
    people = _people(session)
    if people:
        parts.append("\n".join(people))
    format_words = words.FORMAT_WORDS.get(session.format)
    facts = [(gettext(format_words) if format_words else session.format) + "."]
    if session.access in words.ACCESS_WORDS:
        facts.append(gettext(words.ACCESS_WORDS[session.access]))
    if session.access_note:
        facts.append(session.access_note)
    parts.append(" ".join(facts))
    if joining_link:
        parts.append(gettext(words.JOIN_ONLINE_AT).format(link=joining_link))
    parts.append(gettext(words.DETAILS_AT).format(url=url))
    return "\n\n".join(parts)


def categories(session: PublicSession) -> list[str]:
    """The track, then the hosting organisations."""
    names = [session.track.name] if session.track else []
    names += [h.name for h in session.hosts if h.name not in names]
    return names


def _utc_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def google_calendar_url(session: PublicSession, url: str) -> str:
    """ "Add to Google Calendar" for one session, in UTC (the user's calendar converts)."""
    query = {
        "action": "TEMPLATE",
        "text": session.title,
        "dates": f"{_utc_stamp(session.starts_at)}/{_utc_stamp(session.ends_at)}",
        "details": description(session, url),
        "location": location(session),
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query)


def outlook_calendar_url(session: PublicSession, url: str) -> str:
    """ "Add to Outlook" (outlook.live.com deep link) for one session, in UTC."""

    def iso(moment: dt.datetime) -> str:
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": session.title,
        "startdt": iso(session.starts_at),
        "enddt": iso(session.ends_at),
        "body": description(session, url),
        "location": location(session),
    }
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(query)


def webcal_url(feed_url: str) -> str:
    """The feed's address with the ``webcal://`` scheme, which opens the subscribe dialogue."""
    parts = urlsplit(feed_url)
    return "webcal://" + feed_url[len(parts.scheme) + 3 :]


# --- building ----------------------------------------------------------------------------------


def _is_repeated(local: dt.datetime) -> bool:
    """True when the local time happens twice (the hour repeated when clocks go back)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def _local(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """``moment`` in ``zone``, or in UTC when the local time names two instants."""
    local = moment.astimezone(zone)
    return moment.astimezone(dt.UTC) if _is_repeated(local) else local


def _in_utc(item: FeedEvent) -> bool:
    """True when both times of the event are written in UTC (so it needs no VTIMEZONE)."""
    zone = zoneinfo.ZoneInfo(item.gathering.timezone)
    session = item.session
    return all(_local(m, zone).tzinfo is dt.UTC for m in (session.starts_at, session.ends_at))


_URI = (("VALUE", "URI"),)


def event_properties(item: FeedEvent, host: str) -> list[Property]:
    """What the event of ``item`` says, as plain values (``serialising`` writes them)."""
    session = item.session
    zone = zoneinfo.ZoneInfo(item.gathering.timezone)
    changed = session.changed_at.astimezone(dt.UTC).replace(microsecond=0)
    cancelled = session.is_cancelled
    properties: list[Property] = [
        ("UID", TEXT, session_uid(session.id, host), ()),
        ("DTSTAMP", DATE_TIME, changed, ()),
        ("LAST-MODIFIED", DATE_TIME, changed, ()),  # the same instant as DTSTAMP
        ("SEQUENCE", INTEGER, session.version, ()),
        ("DTSTART", DATE_TIME, _local(session.starts_at, zone), ()),
        ("DTEND", DATE_TIME, _local(session.ends_at, zone), ()),
        ("SUMMARY", TEXT, summary(session), ()),
        ("STATUS", TEXT, "CANCELLED" if cancelled else "CONFIRMED", ()),
        ("LOCATION", TEXT, location(session), ()),
        ("DESCRIPTION", TEXT, description(session, item.url, item.joining_link), ()),
        ("URL", URI, item.url, _URI),
    ]
    names = categories(session)
    if names:
        properties.append(("CATEGORIES", CATEGORIES, names, ()))
    if item.joining_link:
        parameters = (("FEATURE", "VIDEO"), ("LABEL", gettext(words.JOIN_ONLINE)), *_URI)
        properties.append(("CONFERENCE", URI, item.joining_link, parameters))
    properties.append(("TRANSP", TEXT, "TRANSPARENT" if cancelled else "OPAQUE", ()))
    return properties


def event_order(item: FeedEvent) -> tuple[dt.datetime, int]:
    return (item.session.starts_at, item.session.id)


@dataclass(frozen=True)
class _Plan:
    """A calendar's events (deduplicated, in time order) and the zones it needs."""

    items: list[FeedEvent]
    zones: list[str]  # every zone of the events, in name order
    vtimezones: list[tuple[str, int, int]]  # (zone, first year, last year) to write

    @classmethod
    def of(cls, events: Iterable[FeedEvent]) -> _Plan:
        unique = {(item.gathering.slug, item.session.id): item for item in events}
        items = sorted(unique.values(), key=event_order)
        zones = sorted({item.gathering.timezone for item in items})
        # VTIMEZONEs cover whole years, so moving a session within its year leaves them
        # unchanged; none for a zone whose every time is written in UTC.
        vtimezones = []
        for name in zones:
            mine = [item for item in items if item.gathering.timezone == name]
            if all(_in_utc(item) for item in mine):
                continue
            years = [m.year for i in mine for m in (i.session.starts_at, i.session.ends_at)]
            vtimezones.append((name, min(years), max(years)))
        return cls(items, zones, vtimezones)


def _header(info: FeedInfo, zones: Sequence[str]) -> Calendar:
    """The calendar's own properties, as an icalendar component with no events."""
    from icalendar import Calendar, vUri

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", info.name)
    calendar.add("x-wr-calname", info.name)
    if info.description:
        calendar.add("description", info.description)
        calendar.add("x-wr-caldesc", info.description)
    calendar.add("url", vUri(info.page_url), parameters={"VALUE": "URI"})
    if info.feed_url:
        calendar.add("source", vUri(info.feed_url), parameters={"VALUE": "URI"})
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", PUBLISHED_TTL)
    if len(zones) == 1:
        calendar.add("x-wr-timezone", zones[0])
    return calendar


_END = b"END:VCALENDAR\r\n"


def build_calendar(info: FeedInfo, events: Iterable[FeedEvent], base_url: str) -> bytes:
    """An RFC 5545 calendar of ``events`` (deduplicated, in time order); deterministic bytes.

    Exactly ``make_calendar(...).to_ical()``, written directly: the header by icalendar, the
    VTIMEZONEs (clients read them before the events, in name order) kept once made, and each
    event by ``serialising.write_event``. Tests compare the two byte for byte.
    """
    plan = _Plan.of(events)
    host = calendar_host(base_url)
    header = bytes(_header(info, plan.zones).to_ical())
    assert header.endswith(_END)
    parts = [header[: -len(_END)]]
    parts += [timezones.vtimezone_ical(*span) for span in plan.vtimezones]
    parts += [write_event(event_properties(item, host)) for item in plan.items]
    parts.append(_END)
    return b"".join(parts)


def make_calendar(info: FeedInfo, events: Iterable[FeedEvent], base_url: str) -> Calendar:
    """The calendar ``build_calendar`` writes, as icalendar components and values."""
    plan = _Plan.of(events)
    host = calendar_host(base_url)
    calendar = _header(info, plan.zones)
    for span in plan.vtimezones:
        calendar.add_component(timezones.vtimezone(*span))
    for item in plan.items:
        calendar.add_component(icalendar_event(event_properties(item, host)))
    return calendar


# --- feeds from the read model -----------------------------------------------------------------


def track_sessions(programme: Programme, track_slug: str) -> tuple[str, list[PublicSession]]:
    """The track's name and its released sessions; NotFound if no released session has it."""
    sessions = [s for s in programme.sessions if s.track and s.track.slug == track_slug]
    if not sessions:
        raise NotFound(gettext(words.NO_SUCH_TRACK))
    assert sessions[0].track is not None
    return sessions[0].track.name, sessions


def feed_cache_key(kind: str, name: str, events: Sequence[FeedEvent], base_url: str) -> Hashable:
    """What a built feed depends on: each session's public version, the gatherings, the name.

    A session's version rises with every public change (programme.release_programme), and the
    snapshot it comes from is fixed per release, so (gathering, id, version) pins an event.
    """
    return (
        kind,
        name,
        base_url,
        i18n.current_language(),  # its words are the reader's (issue 18)
        tuple(
            (item.gathering, item.session.id, item.session.version, item.joining_link)
            for item in events
        ),
    )


# --- personal agenda feeds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Agenda:
    """A registered person's confirmed sessions in the released programme, with joining links."""

    registration_id: int
    programme: Programme
    sessions: tuple[PublicSession, ...]
    joining_links: Mapping[int, str]  # private; only sessions held online or hybrid
    # Online or hybrid sessions whose link is not revealed yet: when it appears (issue 16).
    links_appear_at: Mapping[int, dt.datetime] = field(default_factory=dict)

    def joining_link(self, session: PublicSession) -> str:
        return self.joining_links.get(session.id, "")

    def link_appears_at(self, session: PublicSession) -> dt.datetime | None:
        return self.links_appear_at.get(session.id)

    @property
    def next_reveal_at(self) -> dt.datetime | None:
        """When the next joining link appears: the feed's copy must not be kept beyond it."""
        return min(self.links_appear_at.values(), default=None)


def new_feed_key() -> str:
    return secrets.token_urlsafe(FEED_KEY_BYTES)


async def ensure_feed_key(conn: AsyncConnection, registration_id: int) -> str:
    """The registration's personal feed key, created if it has none (call inside a write unit)."""
    row = await queries.feed_key_of_registration(conn, registration_id)
    if row is None:
        raise NotFound(gettext(words.NO_SUCH_REGISTRATION))
    if row.feed_key:
        return row.feed_key
    key = new_feed_key()
    await queries.set_feed_key(conn, registration_id, key)
    return key


async def rotate_feed_key(db: Database, feed_key: str) -> str:
    """Give the feed a new secret address; the old one stops at once. NotFound if unknown."""
    new_key = new_feed_key()

    async def _write(conn: AsyncConnection) -> str:
        if await queries.replace_feed_key(conn, feed_key, new_key) != 1:
            raise NotFound(gettext(words.NO_CALENDAR_HERE))
        return new_key

    return await db.write(_write)


async def load_agenda(
    db: Database,
    feed_key: str,
    *,
    links: Links | None = None,
    reveal_minutes: int = 0,
    now: dt.datetime | None = None,
) -> Agenda:
    """The agenda behind a personal feed key (NotFound unless confirmed); personal joining
    links from when they are revealed (issue 20, 16), none without ``links``; ``now`` is the
    app's clock unless given."""

    async def _person(conn: AsyncConnection) -> tuple[int, str, list[int], joining.PersonalLinks]:
        row = await queries.registration_by_feed_key(conn, feed_key)
        if row is None or row.status != "confirmed":
            raise NotFound(gettext(words.NO_CALENDAR_HERE))
        # Their own feed in their own language (issue 18), read before the programme is.
        i18n.prefer_own(row.language)
        session_ids = await queries.confirmed_place_session_ids(conn, row.id)
        personal = await joining.personal_links(
            conn, row.id, links, reveal_minutes=reveal_minutes, now=now
        )
        return row.id, row.gathering_slug, session_ids, personal

    registration_id, slug, session_ids, personal = await db.read(_person)
    programme = await load_programme(db, slug)
    wanted = set(session_ids)
    sessions = tuple(s for s in programme.sessions if s.id in wanted)
    online = {s.id for s in sessions if s.format in ONLINE_FORMATS and not s.is_cancelled}
    private = {sid: link for sid, link in personal.links.items() if sid in online}
    later = {sid: at for sid, at in personal.pending.items() if sid in online}
    return Agenda(registration_id, programme, sessions, private, later)
