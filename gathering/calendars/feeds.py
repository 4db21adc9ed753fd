"""Calendar feeds (iCalendar) and the personal agenda page.

Public feeds — a gathering, one session (as a download), a track, an organisation, a speaker — are
built once per released version of their sessions and kept in an LRU on the app (the same approach
as ``web/exports.py``), then served with ETag / Last-Modified and 304s. The personal agenda lives
at a secret, rotatable address (``/my/<feed key>``): it is ``Cache-Control: private``, has no CORS,
is never indexed, and the key is never logged (see ``_RedactFeedKeys``).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gathering.calendars import rules as calendars
from gathering.calendars import words
from gathering.calendars.rules import FeedEvent, FeedInfo
from gathering.core import clock, i18n
from gathering.core.caching import ExportCache, cached_response
from gathering.core.i18n import gettext
from gathering.core.render import database, render, settings
from gathering.core.urls import absolute_url, url_path
from gathering.programme.catalogue import (
    Appearance,
    load_session,
    organisation_profile,
    speaker_profile,
)
from gathering.programme.published import Programme, PublicGathering, PublicSession
from gathering.programme.release import load_programme
from gathering.registration.links import links as registration_links

MEDIA_TYPE = "text/calendar; charset=utf-8"
CACHE_SIZE = 256
# Feed clients poll about hourly (REFRESH-INTERVAL); a shorter HTTP lifetime keeps changes quick.
MAX_AGE = 300
_FEED_KEY_PATH = re.compile(r"(/my/)[^/?\s]+")


class _RedactFeedKeys(logging.Filter):
    """Access-log lines name the path; a personal feed's path is its secret, so blank it out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _FEED_KEY_PATH.sub(r"\1…", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


# uvicorn's access logger keeps filters added before it configures logging (dictConfig with
# disable_existing_loggers=False only replaces handlers), so adding it on import is enough.
logging.getLogger("uvicorn.access").addFilter(_RedactFeedKeys())


def _cache(request: Request) -> ExportCache:
    cache = getattr(request.app.state, "calendar_cache", None)
    if not isinstance(cache, ExportCache):
        cache = ExportCache(CACHE_SIZE)
        request.app.state.calendar_cache = cache
    return cache


def _absolute(request: Request, name: str, **params: Any) -> str:
    """An absolute URL on the public address (settings.base_url), as exports and UIDs use."""
    return settings(request).base_url.rstrip("/") + str(url_path(request.app, name, **params))


def _session_url(request: Request, gathering: PublicGathering, session: PublicSession) -> str:
    return _absolute(request, "public:session", slug=gathering.slug, session_id=session.id)


def _events(
    request: Request, gathering: PublicGathering, sessions: Sequence[PublicSession]
) -> list[FeedEvent]:
    if not sessions:
        return []
    # One route lookup per feed, not per session: the pages differ only in the trailing id.
    first, suffix = _session_url(request, gathering, sessions[0]), f"/{sessions[0].id}"
    if not first.endswith(suffix):  # pragma: no cover - only if the page's address changes shape
        return [FeedEvent(gathering, s, _session_url(request, gathering, s)) for s in sessions]
    prefix = first.removesuffix(suffix)
    return [FeedEvent(gathering, s, f"{prefix}/{s.id}") for s in sessions]


Built = tuple[bytes, str]  # a feed's body and its ETag


def _feed(
    request: Request,
    kind: str,
    info: FeedInfo,
    events: Sequence[FeedEvent],
    *,
    extra_key: Hashable = None,
) -> Built:
    base_url = settings(request).base_url
    key = (calendars.feed_cache_key(kind, info.name, events, base_url), info, extra_key)
    return _cache(request).entry(key, lambda: calendars.build_calendar(info, events, base_url))


def _released_at(programme: Programme) -> dt.datetime | None:
    return programme.release.released_at if programme.release else None


async def gathering_ics(request: Request) -> Response:
    slug = request.path_params["slug"]
    programme = await load_programme(database(request), slug, live_places=False)
    gathering = programme.gathering
    info = FeedInfo(
        gathering.title,
        _absolute(request, "public:gathering", slug=slug),
        _absolute(request, "calendars:gathering", slug=slug),
        gettext(words.GATHERING_FEED_DESCRIPTION).format(title=gathering.title),
    )
    number = programme.release.number if programme.release else 0
    base_url = settings(request).base_url
    # A release's sessions never change, so (gathering, release) pins every event, as for the
    # exports; the events (a URL each) are only made when the feed is built.
    key = ("gathering", info, gathering, number, base_url, i18n.current_language())
    body, etag = _cache(request).entry(
        key,
        lambda: calendars.build_calendar(
            info, _events(request, gathering, programme.sessions), base_url
        ),
    )
    return cached_response(
        request,
        body,
        MEDIA_TYPE,
        last_modified=_released_at(programme),
        max_age=MAX_AGE,
        etag=etag,
    )


async def session_ics(request: Request) -> Response:
    slug, session_id = request.path_params["slug"], request.path_params["session_id"]
    programme, session = await load_session(database(request), slug, session_id)
    gathering = programme.gathering
    info = FeedInfo(
        f"{session.title} · {gathering.title}",
        _session_url(request, gathering, session),
        _absolute(request, "calendars:session", slug=slug, session_id=session_id),
    )
    body, etag = _feed(request, "session", info, _events(request, gathering, [session]))
    disposition = f'attachment; filename="{slug}-session-{session_id}.ics"'
    return cached_response(
        request,
        body,
        MEDIA_TYPE,
        last_modified=_released_at(programme),
        max_age=MAX_AGE,
        headers={"content-disposition": disposition},
        etag=etag,
    )


async def track_ics(request: Request) -> Response:
    slug, track = request.path_params["slug"], request.path_params["track"]
    programme = await load_programme(database(request), slug, live_places=False)
    name, sessions = calendars.track_sessions(programme, track)
    gathering = programme.gathering
    info = FeedInfo(
        f"{name} · {gathering.title}",
        _absolute(request, "public:gathering", slug=slug) + f"?track={track}",
        _absolute(request, "calendars:track", slug=slug, track=track),
    )
    body, etag = _feed(request, "track", info, _events(request, gathering, sessions))
    return cached_response(
        request,
        body,
        MEDIA_TYPE,
        last_modified=_released_at(programme),
        max_age=MAX_AGE,
        etag=etag,
    )


def _appearances_feed(
    request: Request, kind: str, title: str, slug: str, appearances: Sequence[Appearance]
) -> Response:
    """The feed of an organisation's or a speaker's sessions across gatherings."""
    info = FeedInfo(
        title,
        _absolute(request, f"public:{kind}", slug=slug),
        _absolute(request, f"calendars:{kind}", slug=slug),
    )
    events = [
        FeedEvent(a.gathering, a.session, _session_url(request, a.gathering, a.session))
        for a in appearances
    ]
    body, etag = _feed(request, kind, info, events)
    # No Last-Modified: these feeds span gatherings, and a withdrawn session could make the newest
    # date go backwards; the ETag is exact.
    return cached_response(
        request, body, MEDIA_TYPE, last_modified=None, max_age=MAX_AGE, etag=etag
    )


async def organisation_ics(request: Request) -> Response:
    slug = request.path_params["slug"]
    profile = await organisation_profile(database(request), slug)
    title = gettext(words.ORGANISATION_FEED_NAME).format(name=profile.name)
    return _appearances_feed(request, "organisation", title, slug, profile.appearances)


async def speaker_ics(request: Request) -> Response:
    slug = request.path_params["slug"]
    profile = await speaker_profile(database(request), slug)
    title = gettext(words.SPEAKER_FEED_NAME).format(name=profile.name)
    return _appearances_feed(request, "speaker", title, slug, profile.appearances)


# --- the personal agenda -----------------------------------------------------------------------

_PRIVATE = {"x-robots-tag": "noindex"}


async def _load_agenda(request: Request, feed_key: str) -> calendars.Agenda:
    # Each place's personal joining link, from the moment it opens (issue 20).
    return await calendars.load_agenda(
        database(request),
        feed_key,
        links=registration_links(request),
        reveal_minutes=settings(request).joining_link_minutes,
    )


def _agenda_events(request: Request, agenda: calendars.Agenda) -> list[FeedEvent]:
    gathering = agenda.programme.gathering
    return [
        FeedEvent(gathering, s, _session_url(request, gathering, s), agenda.joining_link(s))
        for s in agenda.sessions
    ]


async def agenda_page(request: Request) -> Response:
    feed_key = request.path_params["feed_key"]
    agenda = await _load_agenda(request, feed_key)
    feed_url = _absolute(request, "calendars:agenda_ics", feed_key=feed_key)
    context = {
        "agenda": agenda,
        "gathering": agenda.programme.gathering,
        "feed_key": feed_key,
        "feed_url": feed_url,
        "webcal_url": calendars.webcal_url(feed_url),
    }
    headers = {**_PRIVATE, "cache-control": "private, no-store"}
    return render(request, "calendars/agenda.html", context, headers=headers)


async def agenda_ics(request: Request) -> Response:
    feed_key = request.path_params["feed_key"]
    agenda = await _load_agenda(request, feed_key)
    gathering = agenda.programme.gathering
    info = FeedInfo(
        gettext(words.AGENDA_FEED_NAME).format(title=gathering.title),
        _absolute(request, "public:gathering", slug=gathering.slug),
        # No SOURCE: it would copy the secret address into every exported copy of the file.
        "",
        gettext(words.AGENDA_FEED_DESCRIPTION),
    )
    events = _agenda_events(request, agenda)
    # Keyed by registration, not by the secret, so a rotated key never lingers in memory. A
    # joining link revealed changes the body, so the ETag; no copy is kept beyond that moment.
    body, etag = _feed(request, "agenda", info, events, extra_key=agenda.registration_id)
    return cached_response(
        request,
        body,
        MEDIA_TYPE,
        last_modified=None,
        public=False,
        max_age=_lifetime(agenda.next_reveal_at, clock.utc_now()),
        headers=_PRIVATE,
        etag=etag,
    )


def _lifetime(next_reveal_at: dt.datetime | None, now: dt.datetime) -> int:
    """Seconds a personal feed may be kept: MAX_AGE, or less when a joining link appears sooner."""
    if next_reveal_at is None:
        return MAX_AGE
    return max(0, min(MAX_AGE, math.ceil((next_reveal_at - now).total_seconds())))


async def rotate_agenda_key(request: Request) -> Response:
    new_key = await calendars.rotate_feed_key(database(request), request.path_params["feed_key"])
    return RedirectResponse(absolute_url(request, "calendars:agenda", feed_key=new_key), 303)


# --- add-to-calendar links for templates -------------------------------------------------------


@dataclass(frozen=True)
class CalendarLinks:
    ics_url: str
    webcal_url: str
    google_url: str
    outlook_url: str


@jinja2.pass_context
def session_calendar_links(
    context: dict[str, Any], gathering: PublicGathering, session: PublicSession
) -> CalendarLinks:
    """Download, subscribe, Google and Outlook links for one session (UTC times)."""
    request: Request = context["request"]
    url = _session_url(request, gathering, session)
    ics = _in_language(
        _absolute(request, "calendars:session", slug=gathering.slug, session_id=session.id)
    )
    return CalendarLinks(
        ics_url=ics,
        webcal_url=calendars.webcal_url(ics),
        google_url=calendars.google_calendar_url(session, url),
        outlook_url=calendars.outlook_calendar_url(session, url),
    )


def _in_language(feed_url: str) -> str:
    """A calendar app fetches a feed without the reader's cookie: the address carries the
    language the page was read in (issue 18), English needing none."""
    language = i18n.current_language()
    if language == i18n.DEFAULT_LANGUAGE:
        return feed_url
    return f"{feed_url}{'&' if '?' in feed_url else '?'}{urlencode({i18n.QUERY: language})}"


def _subscribe_links(feed_url: str, name: str) -> CalendarLinks:
    feed_url = _in_language(feed_url)
    webcal = calendars.webcal_url(feed_url)
    google = "https://calendar.google.com/calendar/render?" + urlencode({"cid": webcal})
    outlook = "https://outlook.live.com/calendar/0/addfromweb?" + urlencode(
        {"url": feed_url, "name": name}
    )
    return CalendarLinks(feed_url, webcal, google, outlook)


@jinja2.pass_context
def feed_links(context: dict[str, Any], route: str, name: str, **params: Any) -> CalendarLinks:
    """Download and subscribe links for a whole feed (gathering, track, speaker, organisation)."""
    request: Request = context["request"]
    return _subscribe_links(_absolute(request, route, **params), name)


@jinja2.pass_context
def feed_url(context: dict[str, Any], route: str, **params: Any) -> str:
    """A feed's address, carrying the page's language (a calendar app has no cookie)."""
    return _in_language(_absolute(context["request"], route, **params))


TEMPLATE_GLOBALS: dict[str, Callable[..., Any]] = {
    "session_calendar_links": session_calendar_links,
    "feed_links": feed_links,
    "feed_url": feed_url,
}

routes: list[BaseRoute] = [
    Route("/g/{slug}/calendar.ics", gathering_ics, name="calendars:gathering"),
    Route("/g/{slug}/s/{session_id:int}/calendar.ics", session_ics, name="calendars:session"),
    Route("/g/{slug}/tracks/{track}/calendar.ics", track_ics, name="calendars:track"),
    Route("/organisations/{slug}/calendar.ics", organisation_ics, name="calendars:organisation"),
    Route("/speakers/{slug}/calendar.ics", speaker_ics, name="calendars:speaker"),
    Route("/my/{feed_key}", agenda_page, name="calendars:agenda"),
    Route("/my/{feed_key}/agenda.ics", agenda_ics, name="calendars:agenda_ics"),
    Route(
        "/my/{feed_key}/new-address",
        rotate_agenda_key,
        methods=["POST"],
        name="calendars:rotate",
    ),
]
