"""Browsing the released programmes: one gathering filtered and by day, and across gatherings
(search); speaker and organisation profiles are in ``catalogue``.

Everything here reads the last *released* programme of each listed gathering through
``programme.load_programme``; there are few gatherings, so loading them all is cheap.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.programme import wording
from gathering.programme.catalogue import Appearance, released_programmes
from gathering.programme.published import Programme, PublicGathering, PublicSession, Release
from gathering.programme.release import list_releases, load_programme
from gathering.programme.timetable import Timetable, build_timetable

MAX_QUERY_LENGTH = 200
FORMATS = ("in_person", "hybrid", "online")
ACCESS_KINDS = ("public", "supporters", "invite")


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class ProgrammeFilters:
    """What a visitor narrowed the programme to; an empty string means "any"."""

    organisation: str = ""
    track: str = ""
    format: str = ""
    access: str = ""

    @property
    def is_active(self) -> bool:
        return any((self.organisation, self.track, self.format, self.access))

    def matches(self, session: PublicSession) -> bool:
        return (
            (not self.organisation or any(h.slug == self.organisation for h in session.hosts))
            and (not self.track or (session.track is not None and session.track.slug == self.track))
            and (not self.format or session.format == self.format)
            and (not self.access or session.access == self.access)
        )


@dataclass(frozen=True)
class Day:
    date: dt.date  # in the gathering's zone
    sessions: tuple[PublicSession, ...]
    timetable: Timetable | None = None  # the wide screen's grid; None: a list everywhere


@dataclass(frozen=True)
class ProgrammeView:
    """A gathering's released programme, filtered and grouped by day, with the filter choices."""

    programme: Programme
    filters: ProgrammeFilters  # as applied: values not offered are dropped
    days: tuple[Day, ...]
    organisations: tuple[Option, ...]
    tracks: tuple[Option, ...]
    formats: tuple[str, ...]
    access_kinds: tuple[str, ...]

    @property
    def shown(self) -> int:
        return sum(len(day.sessions) for day in self.days)


@dataclass(frozen=True)
class SearchResult:
    query: str
    words: tuple[str, ...]  # empty: nothing was asked
    listings: tuple[Appearance, ...]


def sessions_by_day(
    sessions: Iterable[PublicSession], timezone: str, *, grid: bool = False
) -> tuple[Day, ...]:
    """Sessions grouped by their start date in ``timezone``, in time order; with ``grid``, each
    day's timetable too."""
    zone = zoneinfo.ZoneInfo(timezone)
    days: dict[dt.date, list[PublicSession]] = {}
    for session in sorted(sessions, key=lambda s: (s.starts_at, s.id)):
        days.setdefault(session.starts_at.astimezone(zone).date(), []).append(session)
    return tuple(
        Day(date, tuple(items), build_timetable(items, timezone) if grid else None)
        for date, items in days.items()
    )


async def browse_programme(db: Database, slug: str, filters: ProgrammeFilters) -> ProgrammeView:
    """The released programme of ``slug`` narrowed by ``filters``; NotFound for no gathering."""
    programme = await load_programme(db, slug)
    sessions = programme.sessions
    organisations = sorted(
        {h.slug: h.name for s in sessions for h in s.hosts}.items(), key=lambda kv: kv[1].lower()
    )
    tracks = sorted(
        {s.track.slug: s.track.name for s in sessions if s.track}.items(),
        key=lambda kv: kv[1].lower(),
    )
    formats = tuple(f for f in FORMATS if any(s.format == f for s in sessions))
    access_kinds = tuple(a for a in ACCESS_KINDS if any(s.access == a for s in sessions))
    applied = ProgrammeFilters(
        organisation=filters.organisation if filters.organisation in dict(organisations) else "",
        track=filters.track if filters.track in dict(tracks) else "",
        format=filters.format if filters.format in formats else "",
        access=filters.access if filters.access in access_kinds else "",
    )
    return ProgrammeView(
        programme=programme,
        filters=applied,
        days=sessions_by_day(
            (s for s in sessions if applied.matches(s)), programme.gathering.timezone, grid=True
        ),
        organisations=tuple(Option(v, label) for v, label in organisations),
        tracks=tuple(Option(v, label) for v, label in tracks),
        formats=formats,
        access_kinds=access_kinds,
    )


def _folded(text: str) -> str:
    """Lower case without accents, so "pappe" finds "Pappé"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _haystack(session: PublicSession) -> str:
    parts = [session.title, session.description]
    parts += [sp.name for sp in session.speakers]
    parts += [h.name for h in session.hosts] + [h.short_name for h in session.hosts]
    return _folded("\n".join(parts))


async def search_sessions(db: Database, query: str) -> SearchResult:
    """Released sessions whose title, description, speakers or hosts contain every word.

    An empty query asks nothing and finds nothing; one over ``MAX_QUERY_LENGTH`` characters is
    InvalidInput (field ``q``).
    """
    query = query.strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(
            {"q": gettext(wording.SEARCH_AT_MOST).format(limit=MAX_QUERY_LENGTH)},
            gettext(wording.SEARCH_TOO_LONG),
        )
    words = tuple(dict.fromkeys(_folded(w) for w in query.split()))
    if not words:
        return SearchResult(query, (), ())
    listings = tuple(
        Appearance(p.gathering, s)
        for p in await released_programmes(db)
        for s in p.sessions
        if all(w in _haystack(s) for w in words)
    )
    return SearchResult(query, words, listings)


@dataclass(frozen=True)
class ReleaseHistory:
    """Every release of a gathering, newest first, and which sessions are in the programme now."""

    gathering: PublicGathering
    releases: tuple[Release, ...]
    current_session_ids: frozenset[int]


async def release_history(db: Database, slug: str) -> ReleaseHistory:
    """The changes page's data; NotFound if there is no gathering ``slug``."""
    gathering, releases = await list_releases(db, slug)
    programme = await load_programme(db, slug)
    return ReleaseHistory(gathering, tuple(releases), frozenset(s.id for s in programme.sessions))
