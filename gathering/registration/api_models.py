"""The registration API's models: the form description, the request body, and the answers.

One definition each for the validation (``RegistrationRequest`` is decoded and checked by
msgspec in one pass), the encoding and the OpenAPI schemas. Why msgspec: see
``gathering.programme.api_models``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from gathering.programme.api_models import (
    Access,
    Error,
    Format,
    GatheringRef,
    Link,
    Model,
    Time,
    Zone,
)

NO_NUL = "^[^\\u0000]*$"  # PostgreSQL refuses NUL in text; the ECMA and Python regex alike

Text = Annotated[str, Meta(pattern=NO_NUL, description="Text; NUL characters are refused.")]
IdIn = Annotated[
    int | str,
    Meta(description="An id from the registration form description (a string of digits works)."),
]


class RegistrationRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, gc=False):
    """Only name and email are always needed. Unknown fields are refused (400), so a misspelt
    field is not silently lost; null counts as absent for optional fields."""

    name: Annotated[Text, Meta(description="As on the ticket; at most 200 characters.")]
    email: Annotated[Text, Meta(description="The confirmation link is sent here.")]
    ticket_type_id: IdIn | None = None
    answers: Annotated[
        dict[Text, Text | None] | None,
        Meta(
            description="Question key to answer (at most 2,000 characters each). Keys that are "
            "not questions of this gathering are ignored."
        ),
    ] = None
    session_ids: list[IdIn] | None = None
    invite_codes: Annotated[
        dict[Text, Text | None] | None,
        Meta(
            description="Session id (as a string) to that session's code, for sessions whose "
            "access is invite."
        ),
    ] = None
    contact_organisation_ids: Annotated[
        list[IdIn] | None,
        Meta(
            description="Organisations the person agreed may contact them: only those whose box "
            "they ticked."
        ),
    ] = None
    constituency_match: Annotated[
        bool | None, Meta(description="The person ticked the constituency_match consent.")
    ] = None
    share_access_needs: Annotated[
        bool | None, Meta(description="Stewards may see the access_needs answer.")
    ] = None


class RegistrationAccepted(Model):
    status: Literal["check_your_email"]
    message: Annotated[str, Meta(description="Words to show the person.")]


class InvalidInputError(Error):
    """Something the person can correct; nothing was saved."""

    fields: Annotated[
        dict[str, str],
        Meta(
            description="Field to a message for the person, e.g. name, email, ticket_type_id, "
            "session_ids, consent, answer_<key>, invite_<session id>."
        ),
    ]


class TicketType(Model):
    id: int
    name: str
    suggested_contribution: str


class FormQuestion(Model):
    key: str
    label: str
    help: str
    required: bool


class ShareAccessNeeds(Model):
    offered: Annotated[bool, Meta(description="There is an access_needs question to share.")]
    label: Annotated[str, Meta(description="The checkbox wording to show.")]


class FormSession(Model):
    id: int
    title: str
    starts_at: Time
    ends_at: Time
    timezone: Zone
    format: Format
    access: Annotated[
        Access,
        Meta(
            description="supporters: only listed addresses may book; invite: send the "
            "session's code in invite_codes."
        ),
    ]
    access_note: str
    capacity: int | None
    places_left: Annotated[
        int | None,
        Meta(
            description="Live; null when there is no limit. At 0 a registration joins the "
            "waiting list."
        ),
    ]
    api_url: Link


class ConsentOrganisation(Model):
    id: int
    name: str
    consent_text: Annotated[
        str, Meta(description="The exact wording to show; it is what is recorded.")
    ]


class ConstituencyMatch(Model):
    consent_text: Annotated[
        str, Meta(description="The exact wording to show beside an unticked box.")
    ]


class RegistrationForm(Model):
    """What the registration form offers, to build a form on another site."""

    gathering: GatheringRef
    is_open: Annotated[
        bool, Meta(description="False: a registration is refused with 409 until it opens.")
    ]
    register_url: Annotated[Link, Meta(description="Where to POST a registration.")]
    form_url: Annotated[Link, Meta(description="This site's own registration page.")]
    confirm_within_hours: Annotated[
        int, Meta(description="How long the emailed confirmation link works.")
    ]
    ticket_types: Annotated[
        list[TicketType],
        Meta(
            description="Honour pricing: the choice is recorded, nothing is charged. When the "
            "list is not empty, ticket_type_id is required."
        ),
    ]
    questions: Annotated[
        list[FormQuestion], Meta(description="Answer in `answers`, keyed by `key`.")
    ]
    share_access_needs: ShareAccessNeeds
    sessions: Annotated[
        list[FormSession],
        Meta(description="Released sessions that are not cancelled; choose any."),
    ]
    organisations: Annotated[
        list[ConsentOrganisation],
        Meta(
            description="The named host organisations one may agree to be contacted by, one "
            "checkbox each, unticked by default."
        ),
    ]
    constituency_match: ConstituencyMatch
