"""The OpenAPI 3.1 document for the JSON API (the programme, registering) and the exports.

Built from a dict (not a data file) so it ships with the package and mypy sees it; serialised
once per base URL. Keep it in step with ``web/api.py`` and ``web/exports.py``: a test compares
its paths with the app's routes.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from gathering import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }


_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}
_BOOLEAN = {"type": "boolean"}
_URL = {"type": "string", "format": "uri"}
_NULLABLE_URL = {"type": ["string", "null"], "format": "uri"}
_DATE = {"type": "string", "format": "date"}
_TIME = {
    "type": "string",
    "format": "date-time",
    "description": "RFC 3339 with the offset of the gathering's time zone.",
}
_ZONE = {"type": "string", "description": "IANA time zone name, e.g. Europe/London."}
_ID_IN = {
    "type": ["integer", "string"],
    "description": "An id from the registration form description (a string of digits works).",
}
_FORMAT = {"enum": ["in_person", "online", "hybrid"]}
_ACCESS = {"enum": ["public", "supporters", "invite"]}
_TEXT_IN = {"type": "string", "description": "Text; NUL characters are refused."}

SCHEMAS: dict[str, Any] = {
    "Error": _object(
        {
            "error": {"type": "string", "description": "Stable machine code, e.g. not_found."},
            "message": _STRING,
        }
    ),
    "GatheringRef": _object({"slug": _STRING, "title": _STRING, "api_url": _NULLABLE_URL}),
    "Venue": _object(
        {
            "id": _INTEGER,
            "name": _STRING,
            "address": _STRING,
            "step_free": _nullable("boolean"),
            "hearing_loop": _nullable("boolean"),
            "bsl": _nullable("boolean"),
            "quiet_room": _nullable("boolean"),
            "access_notes": _STRING,
        }
    ),
    "Room": _object(
        {
            "id": _INTEGER,
            "name": _STRING,
            "capacity": _nullable("integer"),
            "step_free": _nullable("boolean"),
            "access_notes": _STRING,
            "venue": _ref("Venue"),
        }
    ),
    "Track": _object({"slug": _STRING, "name": _STRING}),
    "Host": _object(
        {
            "slug": _STRING,
            "name": _STRING,
            "short_name": _STRING,
            "role": {"enum": ["host", "co_host"]},
        }
    ),
    "SessionSpeaker": _object(
        {
            "slug": _STRING,
            "name": _STRING,
            "affiliation": _STRING,
            "role": {"enum": ["chair", "speaker"]},
        }
    ),
    "Session": _object(
        {
            "id": _INTEGER,
            "gathering": _ref("GatheringRef"),
            "url": {**_URL, "description": "The session's public page."},
            "api_url": _NULLABLE_URL,
            "title": _STRING,
            "description": {"type": "string", "description": "Markdown source."},
            "starts_at": _TIME,
            "ends_at": _TIME,
            "timezone": _ZONE,
            "status": {"enum": ["published", "cancelled"]},
            "is_cancelled": _BOOLEAN,
            "format": _FORMAT,
            "access": _ACCESS,
            "access_note": _STRING,
            "language": _STRING,
            "track": {"oneOf": [_ref("Track"), {"type": "null"}]},
            "venue_tbc": {**_BOOLEAN, "description": "In person but the room is not known yet."},
            "room": {"oneOf": [_ref("Room"), {"type": "null"}]},
            "hosts": {"type": "array", "items": _ref("Host")},
            "speakers": {"type": "array", "items": _ref("SessionSpeaker")},
            "capacity": _nullable("integer"),
            "places_left": {
                "type": ["integer", "null"],
                "description": "Live count; null when there is no limit.",
            },
            "version": {**_INTEGER, "description": "Rises on every public change."},
            "changed_at": _TIME,
        }
    ),
    "Release": _object({"number": _INTEGER, "released_at": _TIME}),
    "Gathering": _object(
        {
            "slug": _STRING,
            "title": _STRING,
            "description": _STRING,
            "starts_on": _DATE,
            "ends_on": _DATE,
            "timezone": _ZONE,
            "mode": {"enum": ["in_person", "online", "hybrid"]},
            "location": _STRING,
            "url": _NULLABLE_URL,
            "api_url": _NULLABLE_URL,
            "exports": _object({"frab_xml": _NULLABLE_URL, "schedule_json": _NULLABLE_URL}),
            "release": {
                "oneOf": [_ref("Release"), {"type": "null"}],
                "description": "The programme's last release; null before the first.",
            },
            "session_count": _INTEGER,
        }
    ),
    "GatheringDetail": {
        "allOf": [
            _ref("Gathering"),
            _object({"sessions": {"type": "array", "items": _ref("Session")}}),
        ]
    },
    "GatheringList": _object({"gatherings": {"type": "array", "items": _ref("Gathering")}}),
    "Appearance": _object(
        {
            "role": {"enum": ["chair", "speaker", "host", "co_host"]},
            "session": _ref("Session"),
        }
    ),
    "Speaker": _object(
        {
            "slug": _STRING,
            "name": _STRING,
            "affiliation": _STRING,
            "url": _NULLABLE_URL,
            "api_url": _NULLABLE_URL,
            "session_count": _INTEGER,
        }
    ),
    "SpeakerDetail": {
        "allOf": [
            _ref("Speaker"),
            _object({"bio": _STRING, "sessions": {"type": "array", "items": _ref("Appearance")}}),
        ]
    },
    "SpeakerList": _object({"speakers": {"type": "array", "items": _ref("Speaker")}}),
    "Organisation": _object(
        {
            "slug": _STRING,
            "name": _STRING,
            "short_name": _STRING,
            "website": _STRING,
            "url": _NULLABLE_URL,
            "api_url": _NULLABLE_URL,
            "session_count": _INTEGER,
        }
    ),
    "OrganisationDetail": {
        "allOf": [
            _ref("Organisation"),
            _object(
                {
                    "description": _STRING,
                    "sessions": {"type": "array", "items": _ref("Appearance")},
                }
            ),
        ]
    },
    "OrganisationList": _object(
        {"organisations": {"type": "array", "items": _ref("Organisation")}}
    ),
    "RegistrationForm": _object(
        {
            "gathering": _ref("GatheringRef"),
            "is_open": {
                **_BOOLEAN,
                "description": "False: a registration is refused with 409 until it opens.",
            },
            "register_url": {**_NULLABLE_URL, "description": "Where to POST a registration."},
            "form_url": {**_NULLABLE_URL, "description": "This site's own registration page."},
            "confirm_within_hours": {
                **_INTEGER,
                "description": "How long the emailed confirmation link works.",
            },
            "ticket_types": {
                "type": "array",
                "description": "Honour pricing: the choice is recorded, nothing is charged. "
                "When the list is not empty, ticket_type_id is required.",
                "items": _object(
                    {"id": _INTEGER, "name": _STRING, "suggested_contribution": _STRING}
                ),
            },
            "questions": {
                "type": "array",
                "description": "Answer in `answers`, keyed by `key`.",
                "items": _object(
                    {"key": _STRING, "label": _STRING, "help": _STRING, "required": _BOOLEAN}
                ),
            },
            "share_access_needs": _object(
                {
                    "offered": {
                        **_BOOLEAN,
                        "description": "There is an access_needs question to share.",
                    },
                    "label": {**_STRING, "description": "The checkbox wording to show."},
                }
            ),
            "sessions": {
                "type": "array",
                "description": "Released sessions that are not cancelled; choose any.",
                "items": _object(
                    {
                        "id": _INTEGER,
                        "title": _STRING,
                        "starts_at": _TIME,
                        "ends_at": _TIME,
                        "timezone": _ZONE,
                        "format": _FORMAT,
                        "access": {
                            **_ACCESS,
                            "description": "supporters: only listed addresses may book; "
                            "invite: send the session's code in invite_codes.",
                        },
                        "access_note": _STRING,
                        "capacity": _nullable("integer"),
                        "places_left": {
                            "type": ["integer", "null"],
                            "description": "Live; null when there is no limit. At 0 a "
                            "registration joins the waiting list.",
                        },
                        "api_url": _NULLABLE_URL,
                    }
                ),
            },
            "organisations": {
                "type": "array",
                "description": "The named host organisations one may agree to be contacted by, "
                "one checkbox each, unticked by default.",
                "items": _object(
                    {
                        "id": _INTEGER,
                        "name": _STRING,
                        "consent_text": {
                            **_STRING,
                            "description": "The exact wording to show; it is what is recorded.",
                        },
                    }
                ),
            },
            "constituency_match": _object(
                {
                    "consent_text": {
                        **_STRING,
                        "description": "The exact wording to show beside an unticked box.",
                    }
                }
            ),
        }
    ),
    "RegistrationRequest": {
        "type": "object",
        "description": "Only name and email are always needed. Unknown fields are refused (400), "
        "so a misspelt field is not silently lost; null counts as absent for optional fields.",
        "required": ["name", "email"],
        "additionalProperties": False,
        "properties": {
            "name": {**_TEXT_IN, "description": "As on the ticket; at most 200 characters."},
            "email": {**_TEXT_IN, "description": "The confirmation link is sent here."},
            "ticket_type_id": {**_ID_IN, "type": ["integer", "string", "null"]},
            "answers": {
                "type": ["object", "null"],
                "description": "Question key to answer (at most 2,000 characters each). Keys "
                "that are not questions of this gathering are ignored.",
                "additionalProperties": {"type": ["string", "null"]},
            },
            "session_ids": {"type": ["array", "null"], "items": _ID_IN},
            "invite_codes": {
                "type": ["object", "null"],
                "description": "Session id (as a string) to that session's code, for sessions "
                "whose access is invite.",
                "additionalProperties": {"type": ["string", "null"]},
            },
            "contact_organisation_ids": {
                "type": ["array", "null"],
                "description": "Organisations the person agreed may contact them: only those "
                "whose box they ticked.",
                "items": _ID_IN,
            },
            "constituency_match": {
                "type": ["boolean", "null"],
                "description": "The person ticked the constituency_match consent.",
            },
            "share_access_needs": {
                "type": ["boolean", "null"],
                "description": "Stewards may see the access_needs answer.",
            },
        },
    },
    "RegistrationAccepted": _object(
        {
            "status": {"const": "check_your_email"},
            "message": {**_STRING, "description": "Words to show the person."},
        }
    ),
    "InvalidInputError": {
        "allOf": [
            _ref("Error"),
            _object(
                {
                    "fields": {
                        "type": "object",
                        "description": "Field to a message for the person, e.g. name, email, "
                        "ticket_type_id, session_ids, consent, answer_<key>, "
                        "invite_<session id>.",
                        "additionalProperties": _STRING,
                    }
                }
            ),
        ]
    },
    "ScheduleJson": {
        "type": "object",
        "description": "C3VOC schedule JSON v1, valid against https://c3voc.de/schedule/schema.json.",
        "required": ["schedule"],
    },
}

_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
_SESSION_ID = {"name": "session_id", "in": "path", "required": True, "schema": _INTEGER}
_CACHE_HEADERS = {
    "ETag": {"schema": _STRING, "description": "Send it back in If-None-Match for a 304."},
    "Access-Control-Allow-Origin": {"schema": {"const": "*"}},
}
_NOT_MODIFIED = {"description": "Not modified: the copy whose ETag was sent is current."}
_NOT_FOUND = {
    "description": "No such gathering, session, speaker or organisation.",
    "content": {"application/json": {"schema": _ref("Error")}},
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
    description: str, schema: str = "Error", *, headers: dict[str, Any] | None = None
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
            "content": {"application/json": {"schema": _ref("RegistrationRequest")}},
        },
        "responses": {
            "202": {
                "description": "Accepted: the person must confirm by email. The same for an "
                "address already registered.",
                "headers": {"Access-Control-Allow-Origin": {"schema": {"const": "*"}}},
                "content": {"application/json": {"schema": _ref("RegistrationAccepted")}},
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
                "InvalidInputError",
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
        "listGatherings", "Listed gatherings, newest first.", _ref("GatheringList")
    ),
    "/api/gatherings/{slug}": _get(
        "getGathering",
        "A gathering with its released programme (live places left).",
        _ref("GatheringDetail"),
        parameters=(_SLUG,),
    ),
    "/api/gatherings/{slug}/sessions/{session_id}": _get(
        "getSession",
        "One session of a gathering's released programme.",
        _ref("Session"),
        parameters=(_SLUG, _SESSION_ID),
    ),
    "/api/gatherings/{slug}/registration": _get(
        "getRegistrationForm",
        "What the registration form offers (ticket types, questions, sessions with places "
        "left, consent wording), to build a form on another site.",
        _ref("RegistrationForm"),
        parameters=(_SLUG,),
        tag="registration",
    ),
    "/api/gatherings/{slug}/registrations": _REGISTER,
    "/api/speakers": _get(
        "listSpeakers", "Everyone speaking in a released programme.", _ref("SpeakerList")
    ),
    "/api/speakers/{slug}": _get(
        "getSpeaker",
        "A speaker with their released sessions.",
        _ref("SpeakerDetail"),
        parameters=(_SLUG,),
    ),
    "/api/organisations": _get(
        "listOrganisations", "The network's organisations.", _ref("OrganisationList")
    ),
    "/api/organisations/{slug}": _get(
        "getOrganisation",
        "An organisation with the released sessions it hosts or co-hosts.",
        _ref("OrganisationDetail"),
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
        "components": {"schemas": SCHEMAS},
    }


@functools.lru_cache(maxsize=8)
def openapi_document(base_url: str) -> bytes:
    """The OpenAPI document serialised, built once per base URL."""
    return json.dumps(document(base_url), ensure_ascii=False, indent=2).encode()
