"""The read-only JSON API for the programme, and its OpenAPI document.

Everything here is public, released data: no joining links, invite codes, contact addresses or
anything about attendees. Times are RFC 3339 in the gathering's zone, with the zone's name beside
them. Responses carry ETags (and 304) and open CORS through ``cached_response``; none sends
Last-Modified, because ``places_left`` is live and changes without a release.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, NoMatchFound, Route

from gathering.domain import catalogue
from gathering.domain.catalogue import Appearance, OrganisationProfile, SpeakerProfile
from gathering.domain.programme import Programme, PublicGathering, PublicSession, load_programme
from gathering.web.caching import cached_response
from gathering.web.exports import session_path
from gathering.web.openapi import openapi_document
from gathering.web.render import database, settings

JSON = "application/json"


def _json(request: Request, data: Any) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return cached_response(request, body, JSON, last_modified=None, max_age=60)


def _absolute(request: Request, name: str, **params: Any) -> str | None:
    """Absolute URL of a named route, or None while that page does not exist yet."""
    try:
        path = str(request.app.url_path_for(name, **params))
    except NoMatchFound:
        return None
    return settings(request).base_url.rstrip("/") + path


def _time(instant: dt.datetime, zone: str) -> str:
    return instant.astimezone(zoneinfo.ZoneInfo(zone)).isoformat()


def _gathering_ref(request: Request, gathering: PublicGathering) -> dict[str, Any]:
    return {
        "slug": gathering.slug,
        "title": gathering.title,
        "api_url": _absolute(request, "api:gathering", slug=gathering.slug),
    }


def _session(request: Request, gathering: PublicGathering, s: PublicSession) -> dict[str, Any]:
    zone = gathering.timezone
    room = None
    if s.room is not None:
        venue = s.room.venue
        room = {
            "id": s.room.id,
            "name": s.room.name,
            "capacity": s.room.capacity,
            "step_free": s.room.step_free,
            "access_notes": s.room.access_notes,
            "venue": {
                "id": venue.id,
                "name": venue.name,
                "address": venue.address,
                "step_free": venue.step_free,
                "hearing_loop": venue.hearing_loop,
                "bsl": venue.bsl,
                "quiet_room": venue.quiet_room,
                "access_notes": venue.access_notes,
            },
        }
    base = settings(request).base_url.rstrip("/")
    return {
        "id": s.id,
        "gathering": _gathering_ref(request, gathering),
        "url": base + session_path(request, gathering.slug, s.id),
        "api_url": _absolute(request, "api:session", slug=gathering.slug, session_id=s.id),
        "title": s.title,
        "description": s.description,
        "starts_at": _time(s.starts_at, zone),
        "ends_at": _time(s.ends_at, zone),
        "timezone": zone,
        "status": s.status,
        "is_cancelled": s.is_cancelled,
        "format": s.format,
        "access": s.access,
        "access_note": s.access_note,
        "language": s.language,
        "track": {"slug": s.track.slug, "name": s.track.name} if s.track else None,
        "venue_tbc": s.room is None and s.format != "online",
        "room": room,
        "hosts": [
            {"slug": h.slug, "name": h.name, "short_name": h.short_name, "role": h.role}
            for h in s.hosts
        ],
        "speakers": [
            {"slug": p.slug, "name": p.name, "affiliation": p.affiliation, "role": p.role}
            for p in s.speakers
        ],
        "capacity": s.capacity,
        "places_left": s.places_left,
        "version": s.version,
        "changed_at": _time(s.changed_at, zone),
    }


def _gathering(request: Request, programme: Programme) -> dict[str, Any]:
    g = programme.gathering
    release = programme.release
    return {
        "slug": g.slug,
        "title": g.title,
        "description": g.description,
        "starts_on": g.starts_on.isoformat(),
        "ends_on": g.ends_on.isoformat(),
        "timezone": g.timezone,
        "mode": g.mode,
        "location": g.location,
        "url": _absolute(request, "public:gathering", slug=g.slug),
        "api_url": _absolute(request, "api:gathering", slug=g.slug),
        "exports": {
            "frab_xml": _absolute(request, "exports:frab_xml", slug=g.slug),
            "schedule_json": _absolute(request, "exports:schedule_json", slug=g.slug),
        },
        "release": (
            {"number": release.number, "released_at": _time(release.released_at, g.timezone)}
            if release
            else None
        ),
        "session_count": len(programme.sessions),
    }


def _appearances(request: Request, appearances: tuple[Appearance, ...]) -> list[dict[str, Any]]:
    return [
        {"role": a.role, "session": _session(request, a.gathering, a.session)} for a in appearances
    ]


def _speaker(request: Request, p: SpeakerProfile, *, full: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": p.slug,
        "name": p.name,
        "affiliation": p.affiliation,
        "url": _absolute(request, "public:speaker", slug=p.slug),
        "api_url": _absolute(request, "api:speaker", slug=p.slug),
        "session_count": len(p.appearances),
    }
    if full:
        data["bio"] = p.bio
        data["sessions"] = _appearances(request, p.appearances)
    return data


def _organisation(request: Request, o: OrganisationProfile, *, full: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": o.slug,
        "name": o.name,
        "short_name": o.short_name,
        "website": o.website,
        "url": _absolute(request, "public:organisation", slug=o.slug),
        "api_url": _absolute(request, "api:organisation", slug=o.slug),
        "session_count": len(o.appearances),
    }
    if full:
        data["description"] = o.description
        data["sessions"] = _appearances(request, o.appearances)
    return data


# --- handlers ------------------------------------------------------------------------------


async def gatherings(request: Request) -> Response:
    programmes = await catalogue.released_programmes(database(request))
    return _json(request, {"gatherings": [_gathering(request, p) for p in programmes]})


async def gathering(request: Request) -> Response:
    programme = await load_programme(database(request), request.path_params["slug"])
    data = _gathering(request, programme)
    data["sessions"] = [_session(request, programme.gathering, s) for s in programme.sessions]
    return _json(request, data)


async def session(request: Request) -> Response:
    params = request.path_params
    programme, found = await catalogue.load_session(
        database(request), params["slug"], params["session_id"]
    )
    return _json(request, _session(request, programme.gathering, found))


async def speakers(request: Request) -> Response:
    profiles = await catalogue.list_speakers(database(request))
    return _json(request, {"speakers": [_speaker(request, p, full=False) for p in profiles]})


async def speaker(request: Request) -> Response:
    profile = await catalogue.speaker_profile(database(request), request.path_params["slug"])
    return _json(request, _speaker(request, profile, full=True))


async def organisations(request: Request) -> Response:
    found = await catalogue.list_organisations(database(request))
    return _json(request, {"organisations": [_organisation(request, o, full=False) for o in found]})


async def organisation(request: Request) -> Response:
    found = await catalogue.organisation_profile(database(request), request.path_params["slug"])
    return _json(request, _organisation(request, found, full=True))


async def openapi(request: Request) -> Response:
    body = openapi_document(settings(request).base_url)
    return cached_response(request, body, JSON, last_modified=None, max_age=3600)


routes: list[BaseRoute] = [
    Route("/api/openapi.json", openapi, name="api:openapi"),
    Route("/api/gatherings", gatherings, name="api:gatherings"),
    Route("/api/gatherings/{slug}", gathering, name="api:gathering"),
    Route("/api/gatherings/{slug}/sessions/{session_id:int}", session, name="api:session"),
    Route("/api/speakers", speakers, name="api:speakers"),
    Route("/api/speakers/{slug}", speaker, name="api:speaker"),
    Route("/api/organisations", organisations, name="api:organisations"),
    Route("/api/organisations/{slug}", organisation, name="api:organisation"),
]
