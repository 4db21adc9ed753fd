"""Queries for the admin pages: gatherings, venues, rooms, tracks, organisations, speakers,
ticket types and registration questions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    consent,
    gathering,
    membership,
    organisation,
    programme_release,
    programme_session,
    question,
    registration,
    room,
    session_host,
    session_speaker,
    speaker,
    speaker_photo,
    steward_pass,
    ticket_type,
    track,
    venue,
)

TABLES: dict[str, sa.Table] = {
    "gathering": gathering,
    "venue": venue,
    "room": room,
    "track": track,
    "organisation": organisation,
    "speaker": speaker,
    "ticket_type": ticket_type,
}


# Values written to a table: column name → value (the form's cleaned values).
Values = Mapping[str, Any]


@dataclass(frozen=True)
class StoredRow:
    """One row the admin edits: its id, the name it goes by, and every column as stored."""

    id: int
    label: str  # a gathering's title; anything else's name
    columns: Mapping[str, object]

    def column_id(self, name: str) -> int | None:
        """An id-valued column (``gathering_id``, ``venue_id`` ...), or None."""
        value = self.columns.get(name)
        return value if isinstance(value, int) else None


class GatheringListed(NamedTuple):
    id: int
    slug: str
    title: str
    starts_on: dt.date
    ends_on: dt.date
    mode: str
    is_listed: bool
    timezone: str
    host_organisation_id: int | None


class OrganisationListed(NamedTuple):
    id: int
    slug: str
    name: str
    short_name: str


class SpeakerListed(NamedTuple):
    id: int
    slug: str
    name: str
    affiliation: str
    photo: str | None


class VenueListed(NamedTuple):
    id: int
    name: str
    address: str


class TrackListed(NamedTuple):
    id: int
    slug: str
    name: str


class TicketTypeListed(NamedTuple):
    id: int
    name: str
    suggested_contribution: str
    position: int


class QuestionListed(NamedTuple):
    id: int
    key: str
    label: str
    help: str
    is_required: bool
    position: int


class RoomListed(NamedTuple):
    id: int
    name: str
    capacity: int | None
    step_free: bool | None


class SpeakerPhoto(NamedTuple):
    content_type: str
    data: bytes
    updated_at: dt.datetime


async def row_by_id(conn: AsyncConnection, kind: str, row_id: int) -> StoredRow | None:
    """One row of ``kind`` by id, or None (also for an id no id column can hold)."""
    if not 0 < row_id < 2**31:  # PostgreSQL's integer ids: a bigger one would be a 500
        return None
    table = TABLES[kind]
    row = (await conn.execute(sa.select(table).where(table.c.id == row_id))).first()
    if row is None:
        return None
    columns = dict(row._mapping)
    label = columns.get("title" if kind == "gathering" else "name")
    return StoredRow(int(row_id), str(label or ""), columns)


async def insert_row(conn: AsyncConnection, kind: str, values: Values) -> int:
    """Insert one row of ``kind``; return its id."""
    table = TABLES[kind]
    result = await conn.execute(sa.insert(table).values(**values).returning(table.c.id))
    return int(result.scalar_one())


async def update_row(conn: AsyncConnection, kind: str, row_id: int, values: Values) -> bool:
    """Update one row of ``kind``; False if there was none."""
    table = TABLES[kind]
    result = await conn.execute(sa.update(table).where(table.c.id == row_id).values(**values))
    return bool(result.rowcount)


async def delete_row(conn: AsyncConnection, kind: str, row_id: int) -> bool:
    table = TABLES[kind]
    result = await conn.execute(sa.delete(table).where(table.c.id == row_id))
    return bool(result.rowcount)


async def slug_owner(
    conn: AsyncConnection, kind: str, slug: str, *, gathering_id: int | None = None
) -> int | None:
    """Id of the row of ``kind`` using ``slug`` (within ``gathering_id`` for tracks), or None."""
    table = TABLES[kind]
    query = sa.select(table.c.id).where(table.c.slug == slug)
    if gathering_id is not None:
        query = query.where(table.c.gathering_id == gathering_id)
    return (await conn.execute(query.limit(1))).scalar_one_or_none()


async def all_gatherings(conn: AsyncConnection) -> list[GatheringListed]:
    query = sa.select(
        gathering.c.id,
        gathering.c.slug,
        gathering.c.title,
        gathering.c.starts_on,
        gathering.c.ends_on,
        gathering.c.mode,
        gathering.c.is_listed,
        gathering.c.timezone,
        gathering.c.host_organisation_id,
    ).order_by(gathering.c.starts_on.desc(), gathering.c.id)
    return [GatheringListed(*row) for row in await conn.execute(query)]


async def all_organisations(conn: AsyncConnection) -> list[OrganisationListed]:
    query = sa.select(
        organisation.c.id, organisation.c.slug, organisation.c.name, organisation.c.short_name
    ).order_by(organisation.c.name, organisation.c.id)
    return [OrganisationListed(*row) for row in await conn.execute(query)]


async def all_speakers(conn: AsyncConnection) -> list[SpeakerListed]:
    query = sa.select(
        speaker.c.id, speaker.c.slug, speaker.c.name, speaker.c.affiliation, speaker.c.photo
    ).order_by(speaker.c.name, speaker.c.id)
    return [SpeakerListed(*row) for row in await conn.execute(query)]


async def venues_of_gathering(conn: AsyncConnection, gathering_id: int) -> list[VenueListed]:
    query = (
        sa.select(venue.c.id, venue.c.name, venue.c.address)
        .where(venue.c.gathering_id == gathering_id)
        .order_by(venue.c.name, venue.c.id)
    )
    return [VenueListed(*row) for row in await conn.execute(query)]


async def tracks_of_gathering(conn: AsyncConnection, gathering_id: int) -> list[TrackListed]:
    query = (
        sa.select(track.c.id, track.c.slug, track.c.name)
        .where(track.c.gathering_id == gathering_id)
        .order_by(track.c.name, track.c.id)
    )
    return [TrackListed(*row) for row in await conn.execute(query)]


async def ticket_types_of_gathering(
    conn: AsyncConnection, gathering_id: int
) -> list[TicketTypeListed]:
    """A gathering's ticket types in the order the registration form offers them."""
    query = (
        sa.select(
            ticket_type.c.id,
            ticket_type.c.name,
            ticket_type.c.suggested_contribution,
            ticket_type.c.position,
        )
        .where(ticket_type.c.gathering_id == gathering_id)
        .order_by(ticket_type.c.position, ticket_type.c.id)
    )
    return [TicketTypeListed(*row) for row in await conn.execute(query)]


async def next_ticket_type_position(conn: AsyncConnection, gathering_id: int) -> int:
    """One past the last position used by the gathering's ticket types (0 for the first)."""
    query = sa.select(sa.func.max(ticket_type.c.position)).where(
        ticket_type.c.gathering_id == gathering_id
    )
    last = (await conn.execute(query)).scalar_one_or_none()
    return 0 if last is None else int(last) + 1


async def questions_of_gathering(conn: AsyncConnection, gathering_id: int) -> list[QuestionListed]:
    """A gathering's registration questions in the order the form asks them."""
    query = (
        sa.select(
            question.c.id,
            question.c.key,
            question.c.label,
            question.c.help,
            question.c.is_required,
            question.c.position,
        )
        .where(question.c.gathering_id == gathering_id)
        .order_by(question.c.position, question.c.id)
    )
    return [QuestionListed(*row) for row in await conn.execute(query)]


async def insert_question(conn: AsyncConnection, values: Values) -> None:
    await conn.execute(sa.insert(question).values(**values))


async def update_question(
    conn: AsyncConnection, gathering_id: int, key: str, values: Values
) -> None:
    await conn.execute(
        sa.update(question)
        .where(question.c.gathering_id == gathering_id, question.c.key == key)
        .values(**values)
    )


async def delete_question(conn: AsyncConnection, gathering_id: int, key: str) -> None:
    """Stop asking a question; answers already given stay in their registrations."""
    await conn.execute(
        sa.delete(question).where(question.c.gathering_id == gathering_id, question.c.key == key)
    )


async def rooms_of_venue(conn: AsyncConnection, venue_id: int) -> list[RoomListed]:
    query = (
        sa.select(room.c.id, room.c.name, room.c.capacity, room.c.step_free)
        .where(room.c.venue_id == venue_id)
        .order_by(room.c.name, room.c.id)
    )
    return [RoomListed(*row) for row in await conn.execute(query)]


async def _count(conn: AsyncConnection, table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
    query = sa.select(sa.func.count()).select_from(table).where(condition)
    return int((await conn.execute(query)).scalar_one())


async def dependents(conn: AsyncConnection, kind: str, row_id: int) -> dict[str, int]:
    """Rows that would be lost or silently changed if the row were deleted, by what they are."""
    if kind == "gathering":
        counts = {
            "sessions": await _count(
                conn, programme_session, programme_session.c.gathering_id == row_id
            ),
            "registrations": await _count(
                conn, registration, registration.c.gathering_id == row_id
            ),
            "releases": await _count(
                conn, programme_release, programme_release.c.gathering_id == row_id
            ),
            "steward passes": await _count(
                conn, steward_pass, steward_pass.c.gathering_id == row_id
            ),
        }
    elif kind == "venue":
        rooms = sa.select(room.c.id).where(room.c.venue_id == row_id)
        counts = {
            "sessions": await _count(
                conn, programme_session, programme_session.c.room_id.in_(rooms)
            )
        }
    elif kind == "room":
        counts = {
            "sessions": await _count(conn, programme_session, programme_session.c.room_id == row_id)
        }
    elif kind == "track":
        counts = {
            "sessions": await _count(
                conn, programme_session, programme_session.c.track_id == row_id
            )
        }
    elif kind == "organisation":
        counts = {
            "hosted gatherings": await _count(
                conn, gathering, gathering.c.host_organisation_id == row_id
            ),
            "hosted sessions": await _count(
                conn, session_host, session_host.c.organisation_id == row_id
            ),
            "organiser accounts": await _count(
                conn, membership, membership.c.organisation_id == row_id
            ),
            "consents": await _count(conn, consent, consent.c.organisation_id == row_id),
        }
    elif kind == "speaker":
        counts = {
            "sessions": await _count(conn, session_speaker, session_speaker.c.speaker_id == row_id)
        }
    elif kind == "ticket_type":
        counts = {
            "registrations": await _count(
                conn, registration, registration.c.ticket_type_id == row_id
            )
        }
    else:
        raise ValueError(kind)
    return {name: n for name, n in counts.items() if n}


async def replace_speaker_photo(
    conn: AsyncConnection, speaker_id: int, content_type: str, data: bytes, now: dt.datetime
) -> None:
    await conn.execute(sa.delete(speaker_photo).where(speaker_photo.c.speaker_id == speaker_id))
    await conn.execute(
        sa.insert(speaker_photo).values(
            speaker_id=speaker_id, content_type=content_type, data=data, updated_at=now
        )
    )


async def delete_speaker_photo(conn: AsyncConnection, speaker_id: int) -> None:
    await conn.execute(sa.delete(speaker_photo).where(speaker_photo.c.speaker_id == speaker_id))


async def speaker_photo_by_slug(conn: AsyncConnection, slug: str) -> SpeakerPhoto | None:
    """content_type, data and updated_at of a speaker's photo, or None."""
    query = (
        sa.select(speaker_photo.c.content_type, speaker_photo.c.data, speaker_photo.c.updated_at)
        .join(speaker, speaker.c.id == speaker_photo.c.speaker_id)
        .where(speaker.c.slug == slug)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else SpeakerPhoto(row.content_type, bytes(row.data), row.updated_at)
