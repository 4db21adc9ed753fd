"""Pages anyone may see without signing in: gatherings, their programmes, sessions, speakers,
organisations, search, and each programme's changes (page and Atom feed).

The presentation helpers at the end (times in a gathering's zone, changes in words) are registered
as Jinja filters by ``create_app``.
"""

from __future__ import annotations

import datetime as dt
import html
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gathering.core import clock as app_clock
from gathering.core import i18n
from gathering.core.caching import cached_response
from gathering.core.errors import GatheringError, InvalidInput
from gathering.core.health import database_revision
from gathering.core.markdown import render_markdown
from gathering.core.page_cache import Rendered, compress_page, page_response
from gathering.core.render import database, render
from gathering.core.urls import absolute_url
from gathering.programme import wording
from gathering.programme.catalogue import (
    Appearance,
    list_organisations,
    list_speakers,
    load_session,
    organisation_profile,
    speaker_profile,
)
from gathering.programme.directory import (
    MAX_QUERY_LENGTH,
    ProgrammeFilters,
    browse_programme,
    release_history,
    search_sessions,
)
from gathering.programme.gatherings import list_gatherings
from gathering.programme.now_next import now_and_next
from gathering.programme.page_cache import kept_page, page_cache, version_memo
from gathering.programme.published import PublicGathering, Release
from gathering.programme.release import list_releases, load_programme
from gathering.programme.wording import (
    ACCESS_LABELS,
    LANGUAGE_NAMES,
    ROLE_LABELS,
    change_lines,
    clock,
    in_zone,
    short_moment,
)
from gathering.reach.previews import rescheduled_sessions
from gathering.registration import windows
from gathering.registration.question_wording import question_wording

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"
_FILTER_FIELDS = ("organisation", "track", "format", "access")


async def _home(request: Request) -> Response:
    gatherings = await list_gatherings(database(request))
    return render(request, "public/home.html", {"gatherings": gatherings})


async def _programme_page(request: Request) -> Response:
    # Values are checked against the offered choices in the domain; cap the length first.
    filters = ProgrammeFilters(
        **{name: request.query_params.get(name, "")[:100] for name in _FILTER_FIELDS}
    )
    view = await browse_programme(database(request), request.path_params["slug"], filters)
    return render(
        request,
        "public/programme.html",
        {
            "view": view,
            "gathering": view.programme.gathering,
            "registration": await windows.gathering_page_state(
                database(request), view.programme.gathering.id
            ),
        },
    )


async def _session_page(request: Request) -> Response:
    programme, session = await load_session(
        database(request), request.path_params["slug"], request.path_params["session_id"]
    )
    # For the link preview's eventStatus (EventRescheduled): only the release history tells.
    moved = session.id in await rescheduled_sessions(database(request), programme)
    # Why one may (not) register now (issue 16); the kept page lasts until that changes.
    state = await windows.session_page_state(database(request), programme.gathering.id, session)
    return render(
        request,
        "public/session.html",
        {
            "gathering": programme.gathering,
            "session": session,
            "moved": moved,
            "registration": state,
        },
    )


async def _speaker_page(request: Request) -> Response:
    profile = await speaker_profile(database(request), request.path_params["slug"])
    return render(request, "public/speaker.html", {"profile": profile})


async def _organisation_page(request: Request) -> Response:
    profile = await organisation_profile(database(request), request.path_params["slug"])
    return render(request, "public/organisation.html", {"profile": profile})


async def _search_page(request: Request) -> Response:
    query = request.query_params.get("q", "")
    try:
        result = await search_sessions(database(request), query)
    except InvalidInput as error:
        context: dict[str, Any] = {"query": query, "result": None, "error": error.errors["q"]}
        return render(request, "public/search.html", context, status_code=400)
    context = {"query": result.query, "result": result, "error": None}
    return render(request, "public/search.html", context)


async def _speakers_page(request: Request) -> Response:
    return render(
        request, "public/speakers.html", {"speakers": await list_speakers(database(request))}
    )


async def _organisations_page(request: Request) -> Response:
    organisations = await list_organisations(database(request))
    return render(request, "public/organisations.html", {"organisations": organisations})


async def _now_page(request: Request, at: dt.datetime) -> Response:
    programme = await load_programme(database(request), request.path_params["slug"])
    glance = now_and_next(programme, at)
    context = {"gathering": programme.gathering, "programme": programme, "glance": glance}
    return render(request, "public/now.html", context)


async def _changes_page(request: Request) -> Response:
    history = await release_history(database(request), request.path_params["slug"])
    return render(
        request, "public/changes.html", {"history": history, "gathering": history.gathering}
    )


# --- kept pages (issue 17): rendered once per public generation, see programme.page_cache ---


def _kept(
    request: Request,
    key: Hashable,
    page: Callable[[Request], Awaitable[Response]],
    *,
    places_of: int | None = None,
    query: tuple[str, ...] = (),
) -> Awaitable[Response]:
    async def build() -> Rendered:
        response = await page(request)
        # A page showing a registration window is kept until the window opens or closes.
        state = getattr(response, "context", {}).get("registration")
        until = state.changes_at if isinstance(state, windows.WindowState) else None
        return Rendered(bytes(response.body), response.status_code, valid_until=until)

    return kept_page(request, key, build, places_of=places_of, query=query)


async def home(request: Request) -> Response:
    return await _kept(request, "home", _home)


async def programme_page(request: Request) -> Response:
    # Only the filter fields are part of the key (other parameters change nothing).
    filters = tuple(request.query_params.get(name, "")[:100] for name in _FILTER_FIELDS)
    key = ("programme", request.path_params["slug"], filters)
    return await _kept(request, key, _programme_page, query=_FILTER_FIELDS)


async def session_page(request: Request) -> Response:
    session_id = request.path_params["session_id"]
    key = ("session", request.path_params["slug"], session_id)
    return await _kept(request, key, _session_page, places_of=session_id)


async def speaker_page(request: Request) -> Response:
    return await _kept(request, ("speaker", request.path_params["slug"]), _speaker_page)


async def organisation_page(request: Request) -> Response:
    key = ("organisation", request.path_params["slug"])
    return await _kept(request, key, _organisation_page)


async def search_page(request: Request) -> Response:
    # The landing page (nothing asked) is the same for everyone; answers are rendered each time.
    if request.query_params.get("q", "").strip():
        return await _search_page(request)
    return await _kept(request, "search", _search_page)


async def speakers_index(request: Request) -> Response:
    return await _kept(request, "speakers", _speakers_page)


async def organisations_index(request: Request) -> Response:
    return await _kept(request, "organisations", _organisations_page)


async def now_page(request: Request) -> Response:
    """Now and next (issue 16 #7). Its answer depends on the minute, so it is kept per
    (generation, minute) under one key per gathering: rendered at most once a minute, never
    older than the minute it names, and a release shows at once as on every kept page."""
    minute = app_clock.utc_now().replace(second=0, microsecond=0)

    async def build() -> Rendered:
        response = await _now_page(request, minute)
        return Rendered(bytes(response.body), response.status_code)

    request.scope[i18n.KEPT_QUERY] = frozenset()  # kept for everyone: no reader's query
    generation = await version_memo(request).version(database(request), None)
    if generation is None:
        return page_response(request, compress_page(await build(), 0, 0.0), hit=False)
    key = (
        request.scope.get("scheme", "http"),
        request.headers.get("host", ""),
        i18n.page_key(),
        ("now", request.path_params["slug"]),
    )
    page, hit = await page_cache(request).page(key, (generation, minute), build)
    return page_response(request, page, hit=hit)


async def changes_page(request: Request) -> Response:
    return await _kept(request, ("changes", request.path_params["slug"]), _changes_page)


async def changes_atom(request: Request) -> Response:
    slug = request.path_params["slug"]
    gathering, releases = await list_releases(database(request), slug)
    body = build_changes_feed(
        gathering,
        releases,
        page_url=str(absolute_url(request, "public:changes", slug=slug)),
        feed_url=str(absolute_url(request, "public:changes_atom", slug=slug)),
    )
    last_modified = releases[0].released_at if releases else None
    return cached_response(request, body, ATOM_TYPE, last_modified=last_modified)


async def healthz(request: Request) -> Response:
    """200 when the database answers, 503 otherwise; for load balancers and compose."""
    db = database(request)
    try:
        revision = await database_revision(db)
    except GatheringError as error:
        return JSONResponse({"status": "unavailable", "database": error.message}, 503)
    except Exception:  # any driver fault means "not healthy", never a 500
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse(
        {"status": "ok", "database": "ok", "schema": revision},
        headers={"cache-control": "no-store"},
    )


routes = [
    Route("/", home, name="public:home"),
    Route("/healthz", healthz, name="healthz"),
    Route("/search", search_page, name="public:search"),
    Route("/g/{slug}", programme_page, name="public:gathering"),
    Route("/g/{slug}/s/{session_id:int}", session_page, name="public:session"),
    Route("/g/{slug}/now", now_page, name="programme:now"),
    Route("/g/{slug}/changes", changes_page, name="public:changes"),
    Route("/g/{slug}/changes.atom", changes_atom, name="public:changes_atom"),
    Route("/speakers", speakers_index, name="public:speakers"),
    Route("/speakers/{slug}", speaker_page, name="public:speaker"),
    Route("/organisations", organisations_index, name="public:organisations"),
    Route("/organisations/{slug}", organisation_page, name="public:organisation"),
]


# --- the Atom feed (RFC 4287) ----------------------------------------------------------------


def _atom(parent: ET.Element | None, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    # Unprefixed names under one xmlns on <feed>: ElementTree's default_namespace option refuses
    # the unqualified attributes Atom uses (rel, href, type).
    if parent is None:
        element = ET.Element(tag, {"xmlns": ATOM_NS, **attrs})
    else:
        element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _release_title(release: Release) -> str:
    count = len(release.changes)
    if count == 0:
        what = i18n.gettext(wording.NO_SESSION_CHANGES)
    elif count == 1:
        what = i18n.gettext(wording.ONE_CHANGE)
    else:
        what = i18n.gettext(wording.MANY_CHANGES).format(count=count)
    return i18n.gettext(wording.RELEASE_TITLE).format(number=release.number, what=what)


def _release_html(release: Release, timezone: str) -> str:
    """The entry's content: the note and each change in words, as escaped HTML."""
    parts = [f"<p>{html.escape(release.note)}</p>"] if release.note else []
    items = [
        f"<li>{html.escape(change.title)}: {html.escape('; '.join(change_lines(change, timezone)))}"
        "</li>"
        for change in release.changes
    ]
    if items:
        parts.append("<ul>" + "".join(items) + "</ul>")
    return "".join(parts) or f"<p>{html.escape(i18n.gettext(wording.NO_SESSION_CHANGED))}</p>"


def build_changes_feed(
    gathering: PublicGathering, releases: list[Release], *, page_url: str, feed_url: str
) -> bytes:
    """An Atom feed of releases, newest first; entry ids are the changes page's release anchors.

    The output depends only on the releases (no "now"), so its ETag changes only with a release.
    """
    feed = _atom(None, "feed")
    _atom(feed, "id", page_url)
    _atom(feed, "title", i18n.gettext(wording.FEED_TITLE).format(title=gathering.title))
    _atom(feed, "link", rel="self", type=ATOM_TYPE, href=feed_url)
    _atom(feed, "link", rel="alternate", type="text/html", href=page_url)
    # RFC 4287 §4.1.1 needs <updated> even with no entries: fall back to the first day.
    first_day = dt.datetime.combine(gathering.starts_on, dt.time(), dt.UTC)
    updated = releases[0].released_at if releases else first_day
    _atom(feed, "updated", updated.astimezone(dt.UTC).isoformat())
    author = _atom(feed, "author")
    _atom(author, "name", i18n.gettext(wording.FEED_AUTHOR).format(title=gathering.title))
    for release in releases:
        entry = _atom(feed, "entry")
        anchor = f"{page_url}#release-{release.number}"
        _atom(entry, "id", anchor)
        _atom(entry, "title", _release_title(release))
        _atom(entry, "link", rel="alternate", type="text/html", href=anchor)
        _atom(entry, "updated", release.released_at.astimezone(dt.UTC).isoformat())
        _atom(entry, "content", _release_html(release, gathering.timezone), type="html")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


# --- presentation helpers (Jinja filters and globals) ----------------------------------------


def day_heading(day: dt.date) -> str:
    """'Sunday 22 September' ('Dydd Sul 22 Medi' in Welsh)."""
    if i18n.current_language() != i18n.DEFAULT_LANGUAGE:
        return i18n.format_date(day, "EEEE d MMMM")
    return f"{day:%A} {day.day} {day:%B}"


def long_date(day: dt.date) -> str:
    """'Sunday 22 September 2019' ('Dydd Sul 22 Medi 2019' in Welsh)."""
    if i18n.current_language() != i18n.DEFAULT_LANGUAGE:
        return i18n.format_date(day, "EEEE d MMMM y")
    return f"{day:%A} {day.day} {day:%B %Y}"


def zone_abbreviation(moment: dt.datetime, timezone: str) -> str:
    """'BST' or 'GMT' for Europe/London, depending on the date."""
    return in_zone(moment, timezone).tzname() or timezone


def by_gathering(
    listings: Iterable[Appearance],
) -> list[tuple[PublicGathering, list[Appearance]]]:
    """Appearances grouped by gathering, newest gathering first, sessions in their order."""
    groups: dict[str, tuple[PublicGathering, list[Appearance]]] = {}
    for listing in listings:
        groups.setdefault(listing.gathering.slug, (listing.gathering, []))[1].append(listing)
    return sorted(groups.values(), key=lambda group: group[0].starts_on, reverse=True)


TEMPLATE_FILTERS: dict[str, Callable[..., Any]] = {
    "by_gathering": by_gathering,
    "markdown": render_markdown,
    "in_zone": in_zone,
    "clock": clock,
    "day_heading": day_heading,
    "long_date": long_date,
    "short_moment": short_moment,
    "zone_abbreviation": zone_abbreviation,
    "change_lines": change_lines,
    "on_day": wording.on_day,
}
TEMPLATE_GLOBALS: dict[str, Any] = {
    "ACCESS_LABELS": ACCESS_LABELS,
    "ROLE_LABELS": ROLE_LABELS,
    "LANGUAGE_NAMES": LANGUAGE_NAMES,
    "MAX_QUERY_LENGTH": MAX_QUERY_LENGTH,
    "question_wording": question_wording,
}
