"""Machine-readable programme exports: frab schedule XML and schedule JSON.

Each export is built once per (gathering, release, kind) and kept in a small LRU on the app, so a
conference full of phones polling every few minutes costs one database read each and no rebuild.
A new release (or an edit to the gathering itself) changes the key, so nothing is ever stale.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, NoMatchFound, Route

from gathering.core.caching import cached_response, export_cache
from gathering.core.render import database, settings
from gathering.core.urls import url_path
from gathering.programme.exports import SessionPath, frab_xml, schedule_json
from gathering.programme.release import Programme, load_programme
from gathering.programme.schedule2 import schedule2_json

# application/vnd.c3voc.schedule+xml is registered, but browsers and some apps expect plain XML.
FRAB_MEDIA_TYPE = "application/xml"
JSON_MEDIA_TYPE = "application/json"


def session_path(request: Request, gathering_slug: str, session_id: int) -> str:
    """Path of a session's public page. The one place that knows it, for exports and the API."""
    try:
        return str(
            url_path(request.app, "public:session", slug=gathering_slug, session_id=session_id)
        )
    except NoMatchFound:  # until the public session page is registered; keep in step with it
        return f"/g/{gathering_slug}/s/{session_id}"


def session_paths(request: Request, gathering_slug: str) -> SessionPath:
    """Every session's path from one route lookup: the paths differ only in the trailing id."""
    sample = session_path(request, gathering_slug, 0)
    if not sample.endswith("/0"):  # pragma: no cover - only if the page's address changes shape
        return lambda session_id: session_path(request, gathering_slug, session_id)
    prefix = sample.removesuffix("0")
    return lambda session_id: f"{prefix}{session_id}"


Builder = Callable[[Programme, str, SessionPath], bytes]


async def _export(request: Request, kind: str, build: Builder, media_type: str) -> Response:
    programme = await load_programme(
        database(request), request.path_params["slug"], live_places=False
    )
    base_url = settings(request).base_url
    number = programme.release.number if programme.release else 0
    key = (kind, programme.gathering, number, base_url)
    paths = session_paths(request, programme.gathering.slug)
    body, etag = export_cache(request).entry(key, lambda: build(programme, base_url, paths))
    released_at = programme.release.released_at if programme.release else None
    return cached_response(request, body, media_type, last_modified=released_at, etag=etag)


async def frab_schedule_xml(request: Request) -> Response:
    return await _export(request, "frab_xml", frab_xml, FRAB_MEDIA_TYPE)


async def schedule_json_export(request: Request) -> Response:
    return await _export(request, "schedule_json", schedule_json, JSON_MEDIA_TYPE)


async def schedule2_json_export(request: Request) -> Response:
    """Schedule JSON v2: descriptions in every language given (issue 18)."""
    return await _export(request, "schedule2_json", schedule2_json, JSON_MEDIA_TYPE)


routes: list[BaseRoute] = [
    Route("/g/{slug}/schedule.xml", frab_schedule_xml, name="exports:frab_xml"),
    Route("/g/{slug}/schedule.json", schedule_json_export, name="exports:schedule_json"),
    Route("/g/{slug}/schedule2.json", schedule2_json_export, name="exports:schedule2_json"),
]
