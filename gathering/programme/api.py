"""The JSON API: the programme (read-only), registering from another site's form, and the
OpenAPI document.

Everything read here is public, released data: no joining links, invite codes, contact addresses
or anything about attendees. Times are RFC 3339 in the gathering's zone, with the zone's name
beside them. GET responses carry ETags (and 304) and open CORS through ``cached_response``; none
sends Last-Modified, because ``places_left`` is live and changes without a release.

Every answer is a model of ``programme.api_models`` or ``registration.api_models``, encoded by
msgspec; the OpenAPI document is generated from the same models (``programme.openapi``).

``POST /api/gatherings/{slug}/registrations`` is the registration form's twin for other sites:
open CORS without credentials (a same-site browser POST carrying our cookies is refused by the
CSRF check), throttled per client address, and answering 202 alike for a new address and one
already registered, as the page does.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from msgspec.structs import asdict
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, NoMatchFound, Route

from gathering.core.caching import cached_response
from gathering.core.error_pages import STATUS_BY_CODE
from gathering.core.errors import GatheringError, InvalidInput
from gathering.core.http import NO_STORE, OPEN_CORS
from gathering.core.render import database, settings, wake_sender
from gathering.core.throttles import Throttled
from gathering.programme import api_models as models
from gathering.programme import catalogue
from gathering.programme.catalogue import Appearance, OrganisationProfile, SpeakerProfile
from gathering.programme.export_pages import session_path
from gathering.programme.openapi import openapi_document
from gathering.programme.release import Programme, PublicGathering, PublicSession, load_programme
from gathering.registration import api_models as forms
from gathering.registration import api_rules as registration_api
from gathering.registration import registering
from gathering.registration.form import RegistrationPage, registration_page
from gathering.registration.limits import Limits
from gathering.registration.links import links
from gathering.registration.words import MATCH_TEXT, contact_text

JSON = "application/json"


def _json(request: Request, model: models.Model) -> Response:
    return cached_response(request, models.encode(model), JSON, last_modified=None, max_age=60)


def _absolute(request: Request, name: str, **params: Any) -> str | None:
    """Absolute URL of a named route, or None while that page does not exist yet."""
    try:
        path = str(request.app.url_path_for(name, **params))
    except NoMatchFound:
        return None
    return settings(request).base_url.rstrip("/") + path


def _time(instant: dt.datetime, zone: str) -> str:
    return instant.astimezone(zoneinfo.ZoneInfo(zone)).isoformat()


def _gathering_ref(request: Request, gathering: PublicGathering) -> models.GatheringRef:
    return models.GatheringRef(
        slug=gathering.slug,
        title=gathering.title,
        api_url=_absolute(request, "api:gathering", slug=gathering.slug),
    )


def _room(s: PublicSession) -> models.Room | None:
    if s.room is None:
        return None
    venue = s.room.venue
    return models.Room(
        id=s.room.id,
        name=s.room.name,
        capacity=s.room.capacity,
        step_free=s.room.step_free,
        access_notes=s.room.access_notes,
        venue=models.Venue(
            id=venue.id,
            name=venue.name,
            address=venue.address,
            step_free=venue.step_free,
            hearing_loop=venue.hearing_loop,
            bsl=venue.bsl,
            quiet_room=venue.quiet_room,
            access_notes=venue.access_notes,
        ),
    )


def _session(request: Request, gathering: PublicGathering, s: PublicSession) -> models.Session:
    zone = gathering.timezone
    base = settings(request).base_url.rstrip("/")
    return models.Session(
        id=s.id,
        gathering=_gathering_ref(request, gathering),
        url=base + session_path(request, gathering.slug, s.id),
        api_url=_absolute(request, "api:session", slug=gathering.slug, session_id=s.id),
        title=s.title,
        description=s.description,
        starts_at=_time(s.starts_at, zone),
        ends_at=_time(s.ends_at, zone),
        timezone=zone,
        status=s.status,
        is_cancelled=s.is_cancelled,
        format=s.format,
        access=s.access,
        access_note=s.access_note,
        language=s.language,
        track=models.Track(slug=s.track.slug, name=s.track.name) if s.track else None,
        venue_tbc=s.room is None and s.format != "online",
        room=_room(s),
        hosts=[
            models.Host(slug=h.slug, name=h.name, short_name=h.short_name, role=h.role)
            for h in s.hosts
        ],
        speakers=[
            models.SessionSpeaker(slug=p.slug, name=p.name, affiliation=p.affiliation, role=p.role)
            for p in s.speakers
        ],
        capacity=s.capacity,
        places_left=s.places_left,
        version=s.version,
        changed_at=_time(s.changed_at, zone),
    )


def _gathering(request: Request, programme: Programme) -> models.Gathering:
    g = programme.gathering
    release = programme.release
    return models.Gathering(
        slug=g.slug,
        title=g.title,
        description=g.description,
        starts_on=g.starts_on.isoformat(),
        ends_on=g.ends_on.isoformat(),
        timezone=g.timezone,
        mode=g.mode,
        location=g.location,
        url=_absolute(request, "public:gathering", slug=g.slug),
        api_url=_absolute(request, "api:gathering", slug=g.slug),
        exports=models.Exports(
            frab_xml=_absolute(request, "exports:frab_xml", slug=g.slug),
            schedule_json=_absolute(request, "exports:schedule_json", slug=g.slug),
        ),
        release=(
            models.Release(
                number=release.number, released_at=_time(release.released_at, g.timezone)
            )
            if release
            else None
        ),
        session_count=len(programme.sessions),
    )


def _appearances(request: Request, appearances: tuple[Appearance, ...]) -> list[models.Appearance]:
    return [
        models.Appearance(role=a.role, session=_session(request, a.gathering, a.session))
        for a in appearances
    ]


def _speaker(request: Request, p: SpeakerProfile) -> models.Speaker:
    return models.Speaker(
        slug=p.slug,
        name=p.name,
        affiliation=p.affiliation,
        url=_absolute(request, "public:speaker", slug=p.slug),
        api_url=_absolute(request, "api:speaker", slug=p.slug),
        session_count=len(p.appearances),
    )


def _organisation(request: Request, o: OrganisationProfile) -> models.Organisation:
    return models.Organisation(
        slug=o.slug,
        name=o.name,
        short_name=o.short_name,
        website=o.website,
        url=_absolute(request, "public:organisation", slug=o.slug),
        api_url=_absolute(request, "api:organisation", slug=o.slug),
        session_count=len(o.appearances),
    )


def _form_session(request: Request, g: PublicGathering, s: PublicSession) -> forms.FormSession:
    return forms.FormSession(
        id=s.id,
        title=s.title,
        starts_at=_time(s.starts_at, g.timezone),
        ends_at=_time(s.ends_at, g.timezone),
        timezone=g.timezone,
        format=s.format,
        access=s.access,
        access_note=s.access_note,
        capacity=s.capacity,
        places_left=s.places_left,
        api_url=_absolute(request, "api:session", slug=g.slug, session_id=s.id),
    )


def _registration_form(request: Request, page: RegistrationPage) -> forms.RegistrationForm:
    g = page.programme.gathering
    return forms.RegistrationForm(
        gathering=_gathering_ref(request, g),
        is_open=page.is_open,
        register_url=_absolute(request, "api:register", slug=g.slug),
        form_url=_absolute(request, "registration:form", slug=g.slug),
        confirm_within_hours=settings(request).confirm_hours,
        ticket_types=[
            forms.TicketType(id=int(t.value), name=t.label, suggested_contribution=t.hint)
            for t in page.ticket_types
        ],
        questions=[
            forms.FormQuestion(key=q.key, label=q.label, help=q.help, required=q.is_required)
            for q in page.questions
        ],
        share_access_needs=forms.ShareAccessNeeds(
            offered=any(q.key == "access_needs" for q in page.questions),
            label=SHARE_ACCESS_NEEDS_LABEL,
        ),
        sessions=[_form_session(request, g, s) for s in page.sessions],
        organisations=[
            forms.ConsentOrganisation(
                id=int(o.value), name=o.label, consent_text=contact_text(o.label)
            )
            for o in page.organisations
        ],
        constituency_match=forms.ConstituencyMatch(consent_text=MATCH_TEXT),
    )


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


def _api_json(model: models.Model, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        models.encode(model), status, headers={**API_NO_STORE, **(headers or {})}, media_type=JSON
    )


def _api_error(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> Response:
    return _api_json(models.Error(error=code, message=message), status, headers)


def _error_response(error: GatheringError) -> Response:
    if isinstance(error, InvalidInput):
        invalid = forms.InvalidInputError(
            error=error.code, message=error.message, fields=error.errors
        )
        return _api_json(invalid, 422)
    if isinstance(error, Throttled):
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


def _accepted(confirm_hours: int) -> forms.RegistrationAccepted:
    return forms.RegistrationAccepted(
        status="check_your_email",
        message=(
            "Thank you. We have sent an email to the address given. Follow the link in it "
            f"within {confirm_hours} hours to confirm the registration; until then "
            "no place is confirmed. If nothing arrives, check the spam folder."
        ),
    )


async def _register(request: Request) -> Response:
    slug = request.path_params["slug"]
    db, config = database(request), settings(request)
    client = request.client.host if request.client else "unknown"
    await registration_api.count_attempt(db, config.secret_key, client)
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
    form = registration_api.parse_registration(body)
    # One unit, as before: ``register`` runs the same statements for a new address and one
    # already registered (issue 14), so neither the answer nor its timing tells them apart.
    # No client_address: this endpoint's own throttle (above) already counts every attempt.
    await registering.register(
        db,
        slug,
        form,
        links=links(request),
        confirm_hours=config.confirm_hours,
        limits=Limits.of(config),
    )
    wake_sender(request)  # mail was queued for a new address and an already registered one alike
    return _api_json(_accepted(config.confirm_hours), 202)


# --- handlers ------------------------------------------------------------------------------


async def gatherings(request: Request) -> Response:
    programmes = await catalogue.released_programmes(database(request))
    listed = [_gathering(request, p) for p in programmes]
    return _json(request, models.GatheringList(gatherings=listed))


async def gathering(request: Request) -> Response:
    programme = await load_programme(database(request), request.path_params["slug"])
    sessions = [_session(request, programme.gathering, s) for s in programme.sessions]
    summary = asdict(_gathering(request, programme))
    return _json(request, models.GatheringDetail(**summary, sessions=sessions))


async def session(request: Request) -> Response:
    params = request.path_params
    programme, found = await catalogue.load_session(
        database(request), params["slug"], params["session_id"]
    )
    return _json(request, _session(request, programme.gathering, found))


async def speakers(request: Request) -> Response:
    profiles = await catalogue.list_speakers(database(request))
    return _json(request, models.SpeakerList(speakers=[_speaker(request, p) for p in profiles]))


async def speaker(request: Request) -> Response:
    p = await catalogue.speaker_profile(database(request), request.path_params["slug"])
    summary = asdict(_speaker(request, p))
    sessions = _appearances(request, p.appearances)
    return _json(request, models.SpeakerDetail(**summary, bio=p.bio, sessions=sessions))


async def organisations(request: Request) -> Response:
    found = await catalogue.list_organisations(database(request))
    listed = [_organisation(request, o) for o in found]
    return _json(request, models.OrganisationList(organisations=listed))


async def organisation(request: Request) -> Response:
    o = await catalogue.organisation_profile(database(request), request.path_params["slug"])
    summary = asdict(_organisation(request, o))
    sessions = _appearances(request, o.appearances)
    detail = models.OrganisationDetail(**summary, description=o.description, sessions=sessions)
    return _json(request, detail)


async def registration_form(request: Request) -> Response:
    page = await registration_page(database(request), request.path_params["slug"])
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
