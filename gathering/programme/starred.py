"""Starred sessions without an account (issue 16 #7): the visitor's phone keeps the stars
(``static/js/programme-stars.js``, localStorage), and the address of their list carries the
session ids: ``/g/SLUG/starred?s=12,15`` (a page) and ``/g/SLUG/starred.ics?s=12,15`` (a feed
built by the same calendar code as every other feed). Nothing about the visitor reaches the
server beyond those numbers, and nothing is stored.

Ids that are not numbers, or too many, are a 400 in words. Ids no longer in the released
programme (withdrawn, or never released) are left out, so a subscribed feed keeps working when
one session goes; cancelled sessions stay, marked cancelled, as in the other feeds. When none is
left the answer is a 404 that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gathering.calendars import rules as calendars
from gathering.calendars.rules import FeedEvent, FeedInfo
from gathering.core.caching import ExportCache, cached_response
from gathering.core.errors import GatheringError, NotFound
from gathering.core.i18n import gettext
from gathering.core.render import database, render, settings
from gathering.core.routing import MAX_ROW_ID
from gathering.core.urls import url_path
from gathering.programme import visitor_words as words
from gathering.programme.published import Programme, PublicSession
from gathering.programme.release import load_programme

MEDIA_TYPE = "text/calendar; charset=utf-8"
MAX_STARRED = 200
MAX_QUERY = 4000  # characters of ``s``: 200 ids of up to 19 digits and their commas
CACHE_SIZE = 128
MAX_AGE = 300  # as the other feeds: clients poll about hourly


class BadStarredList(GatheringError):
    code = "bad_starred_list"  # not in the status table: answered 400


def parse_starred(raw: str) -> tuple[int, ...]:
    """The distinct session ids of ``s`` in ascending order; BadStarredList in words otherwise."""
    if len(raw) > MAX_QUERY:
        raise BadStarredList(gettext(words.STARRED_TOO_LONG))
    ids: set[int] = set()
    for part in raw.replace(" ", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not (part.isascii() and part.isdigit()) or len(part) > 19 or int(part) > MAX_ROW_ID:
            raise BadStarredList(gettext(words.STARRED_NOT_A_NUMBER).format(value=part[:40]))
        ids.add(int(part))
    if not ids:
        raise BadStarredList(gettext(words.STARRED_NONE))
    if len(ids) > MAX_STARRED:
        raise BadStarredList(
            gettext(words.STARRED_TOO_MANY).format(limit=MAX_STARRED, count=len(ids))
        )
    return tuple(sorted(ids))


@dataclass(frozen=True)
class StarredList:
    programme: Programme
    ids: tuple[int, ...]  # as asked, valid or not
    sessions: tuple[PublicSession, ...]  # those in the released programme, in time order


async def load_starred(request: Request) -> StarredList:
    """The starred sessions the request names (400 for a bad list, 404 when none is left)."""
    ids = parse_starred(",".join(request.query_params.getlist("s")))
    programme = await load_programme(
        database(request), request.path_params["slug"], live_places=False
    )
    wanted = set(ids)
    sessions = tuple(
        sorted((s for s in programme.sessions if s.id in wanted), key=lambda s: (s.starts_at, s.id))
    )
    if not sessions:
        raise NotFound(
            gettext(words.STARRED_NOT_IN_PROGRAMME).format(title=programme.gathering.title)
        )
    return StarredList(programme, ids, sessions)


def _absolute(request: Request, name: str, **params: Any) -> str:
    return settings(request).base_url.rstrip("/") + str(url_path(request.app, name, **params))


def starred_query(ids: Sequence[int]) -> str:
    return "s=" + ",".join(str(i) for i in ids)


def _cache(request: Request) -> ExportCache:
    cache = getattr(request.app.state, "starred_cache", None)
    if not isinstance(cache, ExportCache):
        cache = ExportCache(CACHE_SIZE)
        request.app.state.starred_cache = cache
    return cache


async def starred_ics(request: Request) -> Response:
    starred = await load_starred(request)
    gathering = starred.programme.gathering
    slug = gathering.slug
    query = starred_query([s.id for s in starred.sessions])
    info = FeedInfo(
        gettext(words.STARRED_FEED_NAME).format(title=gathering.title),
        _absolute(request, "programme:starred", slug=slug) + "?" + query,
        _absolute(request, "programme:starred_ics", slug=slug) + "?" + query,
        gettext(words.STARRED_FEED_DESCRIPTION).format(title=gathering.title),
    )
    events = [
        FeedEvent(gathering, s, _absolute(request, "public:session", slug=slug, session_id=s.id))
        for s in starred.sessions
    ]
    base_url = settings(request).base_url
    key = (calendars.feed_cache_key("starred", info.name, events, base_url), info)
    body, etag = _cache(request).entry(
        key, lambda: calendars.build_calendar(info, events, base_url)
    )
    release = starred.programme.release
    return cached_response(
        request,
        body,
        MEDIA_TYPE,
        last_modified=release.released_at if release else None,
        max_age=MAX_AGE,
        etag=etag,
    )


async def starred_page(request: Request) -> Response:
    starred = await load_starred(request)
    gathering = starred.programme.gathering
    query = starred_query([s.id for s in starred.sessions])
    feed_url = _absolute(request, "programme:starred_ics", slug=gathering.slug) + "?" + query
    context = {
        "gathering": gathering,
        "starred": starred,
        "feed_url": feed_url,
        "webcal_url": calendars.webcal_url(feed_url),
        "missing": len(starred.ids) - len(starred.sessions),
    }
    # The list is in the address, so the page may be kept by browsers and proxies like a feed.
    return render(
        request,
        "public/starred.html",
        context,
        headers={"cache-control": f"public, max-age={MAX_AGE}"},
    )


routes = [
    Route("/g/{slug}/starred", starred_page, name="programme:starred"),
    Route("/g/{slug}/starred.ics", starred_ics, name="programme:starred_ics"),
]
