"""The JSON API's programme models: what it answers, encoded by msgspec, and the source of the
OpenAPI document's schemas (``gathering.programme.openapi``), so the two cannot drift apart.

Why msgspec, not pydantic (issue 13: choose by measurement, the API is on the registration
path). ``python -m bench.api_models`` on the 2-core bench machine, 2026-12-06, msgspec 0.22.0 and
pydantic 2.14.4 given the same model shape, best of 5 rounds:

=============================================  ============  ========  ========
task                                            before [1]    msgspec   pydantic
=============================================  ============  ========  ========
decode + validate a registration body (µs)      9.1           0.5       2.3
build + encode the programme of 300 sessions     3.9 ms        1.7 ms    4.5 ms
=============================================  ============  ========  ========

[1] ``json.loads`` and the hand-written parser; the hand-written dicts and ``json.dumps``.
msgspec is 4-5 times faster than pydantic at both, and the only one of the two faster than the
code it replaces on the programme (pydantic's validated construction costs more than the dicts
did; its unvalidated ``model_construct`` was slower still). pydantic would also be a new runtime
dependency (it is only a test tool's dependency here). The app's own ``RegistrationRequest``,
with a NUL check per text (a ``pattern``, so the document says it too) and the conversion to
``RegistrationInput``, takes about 7 µs, against 9.1 for the hand-written parser. Both libraries
generate JSON Schema 2020-12 for OpenAPI 3.1; msgspec's validation errors are one string ending
in a JSON path, which ``registration.api_rules`` turns into the API's own words.

Times are strings already in the gathering's zone (``isoformat``, e.g. ``+01:00``): msgspec would
write a UTC time with ``Z``, and clients read the offset. Enumerated values are typed ``str`` with
an ``enum`` in the schema, since the release dataclasses hold them as plain strings.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta


def one_of(*values: str, description: str | None = None) -> Meta:
    """A string schema limited to ``values`` (the field's Python type stays ``str``)."""
    return Meta(description=description, extra_json_schema={"type": "string", "enum": list(values)})


def described(description: str, **schema: Any) -> Meta:
    return Meta(description=description, extra_json_schema=schema or None)


Url = Annotated[str, Meta(extra_json_schema={"format": "uri"})]
Link = Url | None  # an absolute URL, or null while that page does not exist yet
Time = Annotated[
    str,
    described("RFC 3339 with the offset of the gathering's time zone.", format="date-time"),
]
Day = Annotated[str, Meta(extra_json_schema={"format": "date"})]
Zone = Annotated[str, Meta(description="IANA time zone name, e.g. Europe/London.")]
Format = Annotated[str, one_of("in_person", "online", "hybrid")]
Access = Annotated[str, one_of("public", "supporters", "invite")]


class Model(msgspec.Struct, kw_only=True, gc=False):
    """Base of the API's answers: keyword construction, fields encoded in order, no GC tracking
    (an answer holds no cycles)."""


class Error(Model):
    """An error, as every JSON refusal of the API is shaped."""

    error: Annotated[str, Meta(description="Stable machine code, e.g. not_found.")]
    message: str


class GatheringRef(Model):
    slug: str
    title: str
    api_url: Link


class Venue(Model):
    id: int
    name: str
    address: str
    step_free: bool | None
    hearing_loop: bool | None
    bsl: bool | None
    quiet_room: bool | None
    access_notes: str


class Room(Model):
    id: int
    name: str
    capacity: int | None
    step_free: bool | None
    access_notes: str
    venue: Venue


class Track(Model):
    slug: str
    name: str


class Host(Model):
    slug: str
    name: str
    short_name: str
    role: Annotated[str, one_of("host", "co_host")]


class SessionSpeaker(Model):
    slug: str
    name: str
    affiliation: str
    role: Annotated[str, one_of("chair", "speaker")]


class Session(Model):
    """A session of a released programme."""

    id: int
    gathering: GatheringRef
    url: Annotated[Url, Meta(description="The session's public page.")]
    api_url: Link
    title: str
    description: Annotated[str, Meta(description="Markdown source.")]
    starts_at: Time
    ends_at: Time
    timezone: Zone
    status: Annotated[str, one_of("published", "cancelled")]
    is_cancelled: bool
    format: Format
    access: Access
    access_note: str
    language: str
    track: Track | None
    venue_tbc: Annotated[bool, Meta(description="In person but the room is not known yet.")]
    room: Room | None
    hosts: list[Host]
    speakers: list[SessionSpeaker]
    capacity: int | None
    places_left: Annotated[int | None, Meta(description="Live count; null when there is no limit.")]
    version: Annotated[int, Meta(description="Rises on every public change.")]
    changed_at: Time


class Release(Model):
    number: int
    released_at: Time


class Exports(Model):
    frab_xml: Link
    schedule_json: Link


class Gathering(Model):
    """A listed gathering and its programme's last release."""

    slug: str
    title: str
    description: str
    starts_on: Day
    ends_on: Day
    timezone: Zone
    mode: Format
    location: str
    url: Link
    api_url: Link
    exports: Exports
    release: Annotated[
        Release | None, Meta(description="The programme's last release; null before the first.")
    ]
    session_count: int


class GatheringDetail(Gathering):
    """A gathering with its released sessions (live places left)."""

    sessions: list[Session]


class GatheringList(Model):
    gatherings: list[Gathering]


class Appearance(Model):
    role: Annotated[str, one_of("chair", "speaker", "host", "co_host")]
    session: Session


class Speaker(Model):
    slug: str
    name: str
    affiliation: str
    url: Link
    api_url: Link
    session_count: int


class SpeakerDetail(Speaker):
    """A speaker with their released sessions."""

    bio: str
    sessions: list[Appearance]


class SpeakerList(Model):
    speakers: list[Speaker]


class Organisation(Model):
    slug: str
    name: str
    short_name: str
    website: str
    url: Link
    api_url: Link
    session_count: int


class OrganisationDetail(Organisation):
    """An organisation with the released sessions it hosts or co-hosts."""

    description: str
    sessions: list[Appearance]


class OrganisationList(Model):
    organisations: list[Organisation]


encode = msgspec.json.Encoder().encode
"""A model as compact UTF-8 JSON (the bytes ``json.dumps(..., ensure_ascii=False)`` wrote)."""
