"""The JSON API: the programme (read-only), registering from another site's form, and the
OpenAPI document.

Everything read here is public, released data: no joining links, invite codes, contact addresses
or anything about attendees. Times are RFC 3339 in the gathering's zone, with the zone's name
beside them. GET responses carry ETags (and 304) and open CORS through ``cached_response``; none
sends Last-Modified, because ``places_left`` is live and changes without a release.

``POST /api/gatherings/{slug}/registrations`` is the registration form's twin for other sites:
open CORS without credentials (asgi-csrf lets a cookieless POST through; a same-site browser
POST carrying our cookies is refused), throttled per client address, and answering 202 alike for
a new address and one already registered, as the page does.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, NoMatchFound, Route

from gathering.core.caching import cached_response
from gathering.core.error_pages import STATUS_BY_CODE
from gathering.core.errors import GatheringError, InvalidInput
from gathering.core.http import NO_STORE, OPEN_CORS
from gathering.core.render import database, settings, wake_sender
from gathering.programme import catalogue
from gathering.programme.catalogue import Appearance, OrganisationProfile, SpeakerProfile
from gathering.programme.export_pages import session_path
from gathering.programme.openapi import openapi_document
from gathering.programme.release import Programme, PublicGathering, PublicSession, load_programme
from gathering.registration import api_rules as registration_api
from gathering.registration import rules as reg
from gathering.registration.links import links

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


def _registration_form(request: Request, page: reg.RegistrationPage) -> dict[str, Any]:
    g = page.programme.gathering
    slug = g.slug
    return {
        "gathering": _gathering_ref(request, g),
        "is_open": page.is_open,
        "register_url": _absolute(request, "api:register", slug=slug),
        "form_url": _absolute(request, "registration:form", slug=slug),
        "confirm_within_hours": settings(request).confirm_hours,
        "ticket_types": [
            {"id": int(t.value), "name": t.label, "suggested_contribution": t.hint}
            for t in page.ticket_types
        ],
        "questions": [
            {"key": q.key, "label": q.label, "help": q.help, "required": q.is_required}
            for q in page.questions
        ],
        "share_access_needs": {
            "offered": any(q.key == "access_needs" for q in page.questions),
            "label": SHARE_ACCESS_NEEDS_LABEL,
        },
        "sessions": [
            {
                "id": s.id,
                "title": s.title,
                "starts_at": _time(s.starts_at, g.timezone),
                "ends_at": _time(s.ends_at, g.timezone),
                "timezone": g.timezone,
                "format": s.format,
                "access": s.access,
                "access_note": s.access_note,
                "capacity": s.capacity,
                "places_left": s.places_left,
                "api_url": _absolute(request, "api:session", slug=slug, session_id=s.id),
            }
            for s in page.sessions
        ],
        "organisations": [
            {"id": int(o.value), "name": o.label, "consent_text": reg.contact_text(o.label)}
            for o in page.organisations
        ],
        "constituency_match": {"consent_text": reg.MATCH_TEXT},
    }


# --- registering from another site ---------------------------------------------------------

MAX_BODY = 64 * 1024
SHARE_ACCESS_NEEDS_LABEL = "Let the stewards at the door see my access needs, so they can help"
PREFLIGHT = {
    **OPEN_CORS,
    "access-control-allow-methods": "POST",
    "access-control-allow-headers": "Content-Type",
    "access-control-max-age": "86400",
}
API_NO_STORE = {**NO_STORE, **OPEN_CORS}


def _api_json(data: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status, headers={**API_NO_STORE, **(headers or {})})


def _api_error(status: int, code: str, message: str, **extra: Any) -> Response:
    headers = extra.pop("headers", None)
    return _api_json({"error": code, "message": message, **extra}, status, headers)


def _error_response(error: GatheringError) -> Response:
    if isinstance(error, InvalidInput):
        return _api_error(422, error.code, error.message, fields=error.errors)
    if isinstance(error, registration_api.RegistrationThrottled):
        wait = {"retry-after": str(error.retry_after)}
        return _api_error(429, error.code, error.message, headers=wait)
    status = STATUS_BY_CODE.get(error.code, 400)
    headers = {"retry-after": "2"} if status == 503 else None
    return _api_error(status, error.code, error.message, headers=headers)


class _TooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    """The request body, refusing (``_TooLarge``) past MAX_BODY without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _TooLarge
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > MAX_BODY:
            raise _TooLarge
    return bytes(chunks)


def _decoded(body: bytes) -> object:
    def _no_constants(name: str) -> object:
        raise registration_api.BadRequest(f"The body is not valid JSON ({name} is not JSON).")

    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise registration_api.BadRequest("The body must be JSON encoded as UTF-8.") from None
    except json.JSONDecodeError as error:
        raise registration_api.BadRequest(
            f"The body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}."
        ) from None
    except (ValueError, RecursionError):  # an integer too long to convert; nesting too deep
        raise registration_api.BadRequest("The body is not JSON this API can read.") from None


async def _register(request: Request) -> Response:
    slug = request.path_params["slug"]
    db = database(request)
    client = request.client.host if request.client else "unknown"
    await registration_api.count_attempt(db, client)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != JSON:
        return _api_error(
            415,
            "unsupported_media_type",
            "Send the body as JSON, with Content-Type: application/json.",
        )
    try:
        body = await _body(request)
    except _TooLarge:
        return _api_error(
            413, "payload_too_large", f"The body is larger than {MAX_BODY // 1024} KB."
        )
    except ClientDisconnect:
        return _api_error(400, "bad_request", "The body did not arrive whole.")
    form = registration_api.parse_registration(_decoded(body))
    config = settings(request)
    await reg.register(db, slug, form, links=links(request), confirm_hours=config.confirm_hours)
    wake_sender(request)  # mail was queued for a new address and an already registered one alike
    return _api_json(
        {
            "status": "check_your_email",
            "message": (
                "Thank you. We have sent an email to the address given. Follow the link in it "
                f"within {config.confirm_hours} hours to confirm the registration; until then "
                "no place is confirmed. If nothing arrives, check the spam folder."
            ),
        },
        202,
    )


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


async def registration_form(request: Request) -> Response:
    page = await reg.registration_page(database(request), request.path_params["slug"])
    return _json(request, _registration_form(request, page))


async def register(request: Request) -> Response:
    if request.method == "OPTIONS":  # the CORS preflight of another site's form
        return Response(status_code=204, headers=PREFLIGHT)
    try:
        return await _register(request)
    except GatheringError as error:  # every refusal as JSON the other site's script can read
        return _error_response(error)


async def openapi(request: Request) -> Response:
    body = openapi_document(settings(request).base_url)
    return cached_response(request, body, JSON, last_modified=None, max_age=3600)


routes: list[BaseRoute] = [
    Route("/api/openapi.json", openapi, name="api:openapi"),
    Route("/api/gatherings", gatherings, name="api:gatherings"),
    Route("/api/gatherings/{slug}", gathering, name="api:gathering"),
    Route("/api/gatherings/{slug}/sessions/{session_id:int}", session, name="api:session"),
    Route("/api/gatherings/{slug}/registration", registration_form, name="api:registration_form"),
    Route(
        "/api/gatherings/{slug}/registrations",
        register,
        methods=["POST", "OPTIONS"],
        name="api:register",
    ),
    Route("/api/speakers", speakers, name="api:speakers"),
    Route("/api/speakers/{slug}", speaker, name="api:speaker"),
    Route("/api/organisations", organisations, name="api:organisations"),
    Route("/api/organisations/{slug}", organisation, name="api:organisation"),
]
