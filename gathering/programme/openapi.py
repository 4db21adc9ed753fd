"""The OpenAPI 3.1 document for the JSON API (the programme, registering) and the exports.

The schemas are generated from the API's models (``programme.api_models``,
``registration.api_models``) by msgspec, so what the document says is what the handlers encode
and what the registration endpoint validates; only the paths (summaries, parameters, which
model answers which status) are written here. Serialised once per base URL. A test compares the
paths with the app's routes.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import msgspec

from gathering import __version__
from gathering.programme import api_models as models
from gathering.registration import api_models as forms

REF_TEMPLATE = "#/components/schemas/{name}"

# The models a path refers to; msgspec adds every model they contain.
MODELS: tuple[type[msgspec.Struct], ...] = (
    models.Error,
    models.GatheringList,
    models.GatheringDetail,
    models.Session,
    models.SpeakerList,
    models.SpeakerDetail,
    models.OrganisationList,
    models.OrganisationDetail,
    forms.RegistrationForm,
    forms.RegistrationRequest,
    forms.RegistrationAccepted,
    forms.InvalidInputError,
)


def _ref(model: type[msgspec.Struct] | str) -> dict[str, str]:
    name = model if isinstance(model, str) else model.__name__
    return {"$ref": REF_TEMPLATE.format(name=name)}


def schemas() -> dict[str, Any]:
    """The components' schemas: every model's, and the exports' (built by hand, not models)."""
    _, components = msgspec.json.schema_components(MODELS, ref_template=REF_TEMPLATE)
    components["ScheduleJson"] = {
        "type": "object",
        "description": "C3VOC schedule JSON v1, valid against https://c3voc.de/schedule/schema.json.",
        "required": ["schedule"],
    }
    components["ScheduleJsonV2"] = {
        "type": "object",
        "description": (
            "C3VOC schedule JSON v2 (frab's schema2.json): descriptions and abstracts in every "
            'language given, as localisation maps ({"en": ..., "cy": ...}).'
        ),
        "required": ["schedule"],
    }
    return components


_INTEGER = {"type": "integer"}
_STRING = {"type": "string"}

_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
_SESSION_ID = {"name": "session_id", "in": "path", "required": True, "schema": _INTEGER}
_CACHE_HEADERS = {
    "ETag": {"schema": _STRING, "description": "Send it back in If-None-Match for a 304."},
    "Access-Control-Allow-Origin": {"schema": {"const": "*"}},
}
_NOT_MODIFIED = {"description": "Not modified: the copy whose ETag was sent is current."}
_NOT_FOUND = {
    "description": "No such gathering, session, speaker or organisation.",
    "content": {"application/json": {"schema": _ref(models.Error)}},
}


def _get(
    operation_id: str,
    summary: str,
    schema: dict[str, Any],
    *,
    media_type: str = "application/json",
    parameters: tuple[dict[str, Any], ...] = (),
    tag: str = "programme",
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "headers": _CACHE_HEADERS,
            "content": {media_type: {"schema": schema}},
        },
        "304": _NOT_MODIFIED,
    }
    if parameters:
        responses["404"] = _NOT_FOUND
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = list(parameters)
    return {"get": operation}


def _error(
    description: str,
    schema: type[msgspec.Struct] = models.Error,
    *,
    headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"Access-Control-Allow-Origin": {"schema": {"const": "*"}}, **(headers or {})},
        "content": {"application/json": {"schema": _ref(schema)}},
    }


_REGISTER: dict[str, Any] = {
    "post": {
        "operationId": "register",
        "summary": "Register for a gathering and its sessions, from a form on another site.",
        "description": (
            "The same registration as this site's own form: pending until the person follows "
            "the link emailed to them, a place taken at once in each chosen session (or the "
            "waiting list when it is full).\n\n"
            "**Call without credentials** (`fetch` with the default `credentials: "
            "'same-origin'` from another site, or from a server). CORS is open "
            "(`Access-Control-Allow-Origin: *`; the preflight allows POST with Content-Type). "
            "A browser request from this site's own pages that carries its cookies is refused "
            "with 403 by the CSRF protection; so is any request carrying the cookies, unless "
            "it has an `Authorization: Bearer` header.\n\n"
            "The answer is 202 whether or not the address was already registered, so it does "
            "not reveal who is coming: an address already registered is emailed its booking "
            "instead. Attempts are limited per client address (429 with Retry-After)."
        ),
        "tags": ["registration"],
        "parameters": [_SLUG],
        "requestBody": {
            "required": True,
            "description": "At most 64 KB of JSON.",
            "content": {"application/json": {"schema": _ref(forms.RegistrationRequest)}},
        },
        "responses": {
            "202": {
                "description": "Accepted: the person must confirm by email. The same for an "
                "address already registered.",
                "headers": {"Access-Control-Allow-Origin": {"schema": {"const": "*"}}},
                "content": {"application/json": {"schema": _ref(forms.RegistrationAccepted)}},
            },
            "400": _error("The body is not JSON, not an object, or a field has the wrong type."),
            "403": {
                "description": "Refused by the CSRF protection: the request carried this "
                "site's cookies. Call without credentials."
            },
            "404": _error("No such gathering."),
            "409": _error("Registration for this gathering is not open."),
            "413": _error("The body is larger than 64 KB."),
            "415": _error("The body is not sent as application/json."),
            "422": _error(
                "Something the person can correct; `fields` names each field and says why. "
                "Nothing was saved.",
                forms.InvalidInputError,
            ),
            "429": _error(
                "Too many attempts from this client address; try again later.",
                headers={"Retry-After": {"schema": _INTEGER, "description": "Seconds to wait."}},
            ),
            "503": _error("The database is busy or unavailable; try again shortly."),
        },
    }
}


PATHS: dict[str, Any] = {
    "/api/openapi.json": _get("getOpenApi", "This document.", {"type": "object"}, tag="meta"),
    "/api/gatherings": _get(
        "listGatherings", "Listed gatherings, newest first.", _ref(models.GatheringList)
    ),
    "/api/gatherings/{slug}": _get(
        "getGathering",
        "A gathering with its released programme (live places left).",
        _ref(models.GatheringDetail),
        parameters=(_SLUG,),
    ),
    "/api/gatherings/{slug}/sessions/{session_id}": _get(
        "getSession",
        "One session of a gathering's released programme.",
        _ref(models.Session),
        parameters=(_SLUG, _SESSION_ID),
    ),
    "/api/gatherings/{slug}/registration": _get(
        "getRegistrationForm",
        "What the registration form offers (ticket types, questions, sessions with places "
        "left, consent wording), to build a form on another site.",
        _ref(forms.RegistrationForm),
        parameters=(_SLUG,),
        tag="registration",
    ),
    "/api/gatherings/{slug}/registrations": _REGISTER,
    "/api/speakers": _get(
        "listSpeakers", "Everyone speaking in a released programme.", _ref(models.SpeakerList)
    ),
    "/api/speakers/{slug}": _get(
        "getSpeaker",
        "A speaker with their released sessions.",
        _ref(models.SpeakerDetail),
        parameters=(_SLUG,),
    ),
    "/api/organisations": _get(
        "listOrganisations", "The network's organisations.", _ref(models.OrganisationList)
    ),
    "/api/organisations/{slug}": _get(
        "getOrganisation",
        "An organisation with the released sessions it hosts or co-hosts.",
        _ref(models.OrganisationDetail),
        parameters=(_SLUG,),
    ),
    "/g/{slug}/schedule.xml": _get(
        "getFrabScheduleXml",
        "The released programme as frab schedule.xml (C3VOC XSD). Version 0 before a release.",
        {"type": "string", "contentMediaType": "application/xml"},
        media_type="application/xml",
        parameters=(_SLUG,),
        tag="exports",
    ),
    "/g/{slug}/schedule.json": _get(
        "getScheduleJson",
        "The released programme as C3VOC schedule JSON. Version 0 before a release.",
        _ref("ScheduleJson"),
        parameters=(_SLUG,),
        tag="exports",
    ),
    "/g/{slug}/schedule2.json": _get(
        "getScheduleJsonV2",
        "The released programme as C3VOC schedule JSON v2, with its texts in every language "
        "given (issue 18). Version 0 before a release.",
        _ref("ScheduleJsonV2"),
        parameters=(_SLUG,),
        tag="exports",
    ),
}


def document(base_url: str) -> dict[str, Any]:
    """The OpenAPI document as a dict, with ``base_url`` as its server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Gathering API",
            "version": __version__,
            "description": (
                "Public data from released programmes: gatherings, sessions, speakers and "
                "organisations, plus frab XML and schedule JSON exports for conference apps. "
                "Never private meeting links, invite codes or personal data. Every GET response "
                "has an ETag (send If-None-Match for a 304) and open CORS.\n\n"
                "Registration: read a gathering's form description, then POST a registration "
                "from a form on your own site, without credentials."
            ),
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "servers": [{"url": base_url.rstrip("/")}],
        "tags": [
            {"name": "programme", "description": "The JSON API."},
            {"name": "registration", "description": "Registering from another site's form."},
            {"name": "exports", "description": "Schedules for conference apps."},
            {"name": "meta", "description": "About the API."},
        ],
        "paths": PATHS,
        "components": {"schemas": schemas()},
    }


@functools.lru_cache(maxsize=8)
def openapi_document(base_url: str) -> bytes:
    """The OpenAPI document serialised, built once per base URL."""
    return json.dumps(document(base_url), ensure_ascii=False, indent=2).encode()
