"""Queries for the organiser's session editor: typed rows in, plain values out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    audit_event,
    organisation,
    programme_session,
    room,
    session_host,
    session_speaker,
    speaker,
    venue,
)

# The values a saved session form writes (see ``session_editor._validated``).
SessionValues = Mapping[str, object]


class RoomChoice(NamedTuple):
    id: int
    name: str
    venue_name: str


class OrganisationChoice(NamedTuple):
    id: int
    name: str


class SpeakerChoice(NamedTuple):
    id: int
    name: str
    affiliation: str


@dataclass(frozen=True)
class EditedSession:
    """The stored session as the editor shows it."""

    id: int
    gathering_id: int
    title: str
    description: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    room_id: int | None
    track_id: int | None
    format: str
    joining_link: str
    capacity: int | None
    allow_reentry: bool
    access: str
    access_note: str
    invite_code: str
    language: str
    status: str
    translations: object = None  # issue 18: its JSON, read with core.content


class SessionHost(NamedTuple):
    organisation_id: int
    role: str  # host | co_host


class SessionSpeaker(NamedTuple):
    speaker_id: int
    role: str  # speaker | chair


class OverlappingSession(NamedTuple):
    id: int
    title: str
    room_id: int | None


class HostChangeEvent(NamedTuple):
    """One audited change of a session's hosts (``detail`` holds ids only, no free text)."""

    at: dt.datetime
    session_id: int
    before: tuple[SessionHost, ...]
    after: tuple[SessionHost, ...]


async def rooms_of_gathering(conn: AsyncConnection, gathering_id: int) -> list[RoomChoice]:
    query = (
        sa.select(room.c.id, room.c.name, venue.c.name.label("venue_name"))
        .join(venue, venue.c.id == room.c.venue_id)
        .where(venue.c.gathering_id == gathering_id)
        .order_by(venue.c.name, room.c.name)
    )
    return [RoomChoice(r.id, r.name, r.venue_name) for r in await conn.execute(query)]


async def organisations(conn: AsyncConnection) -> list[OrganisationChoice]:
    query = sa.select(organisation.c.id, organisation.c.name).order_by(organisation.c.name)
    return [OrganisationChoice(r.id, r.name) for r in await conn.execute(query)]


async def speakers(conn: AsyncConnection) -> list[SpeakerChoice]:
    query = sa.select(speaker.c.id, speaker.c.name, speaker.c.affiliation).order_by(speaker.c.name)
    return [SpeakerChoice(r.id, r.name, r.affiliation) for r in await conn.execute(query)]


_EDITED_COLUMNS = tuple(programme_session.c[name] for name in EditedSession.__dataclass_fields__)


async def session_row(conn: AsyncConnection, session_id: int) -> EditedSession | None:
    query = sa.select(*_EDITED_COLUMNS).where(programme_session.c.id == session_id)
    row = (await conn.execute(query)).first()
    return None if row is None else EditedSession(**row._asdict())


async def session_hosts(conn: AsyncConnection, session_id: int) -> list[SessionHost]:
    query = (
        sa.select(session_host.c.organisation_id, session_host.c.role)
        .where(session_host.c.session_id == session_id)
        .order_by(session_host.c.role.desc(), session_host.c.organisation_id)
    )
    return [SessionHost(r.organisation_id, r.role) for r in await conn.execute(query)]


async def session_speakers(conn: AsyncConnection, session_id: int) -> list[SessionSpeaker]:
    query = (
        sa.select(session_speaker.c.speaker_id, session_speaker.c.role)
        .where(session_speaker.c.session_id == session_id)
        .order_by(session_speaker.c.position)
    )
    return [SessionSpeaker(r.speaker_id, r.role) for r in await conn.execute(query)]


async def slug_taken(conn: AsyncConnection, slug: str) -> bool:
    query = sa.select(speaker.c.id).where(speaker.c.slug == slug)
    return (await conn.execute(query)).first() is not None


async def insert_speaker(
    conn: AsyncConnection, *, slug: str, name: str, affiliation: str, now: dt.datetime
) -> int:
    result = await conn.execute(
        sa.insert(speaker)
        .values(slug=slug, name=name, affiliation=affiliation, created_at=now)
        .returning(speaker.c.id)
    )
    return int(result.scalar_one())


async def insert_session(conn: AsyncConnection, values: SessionValues) -> int:
    result = await conn.execute(
        sa.insert(programme_session).values(dict(values)).returning(programme_session.c.id)
    )
    return int(result.scalar_one())


async def update_session(conn: AsyncConnection, session_id: int, values: SessionValues) -> None:
    await conn.execute(
        sa.update(programme_session)
        .where(programme_session.c.id == session_id)
        .values(dict(values))
    )


async def replace_hosts(
    conn: AsyncConnection, session_id: int, hosts: Sequence[tuple[int, str]]
) -> None:
    await conn.execute(sa.delete(session_host).where(session_host.c.session_id == session_id))
    if hosts:
        await conn.execute(
            sa.insert(session_host),
            [{"session_id": session_id, "organisation_id": o, "role": r} for o, r in hosts],
        )


async def replace_speakers(
    conn: AsyncConnection, session_id: int, speakers_: Sequence[tuple[int, str]]
) -> None:
    await conn.execute(sa.delete(session_speaker).where(session_speaker.c.session_id == session_id))
    if speakers_:
        await conn.execute(
            sa.insert(session_speaker),
            [
                {"session_id": session_id, "speaker_id": s, "role": r, "position": i}
                for i, (s, r) in enumerate(speakers_)
            ],
        )


async def overlapping_sessions(
    conn: AsyncConnection,
    gathering_id: int,
    session_id: int,
    starts: dt.datetime,
    ends: dt.datetime,
) -> list[OverlappingSession]:
    """Other live sessions of the gathering that overlap [starts, ends)."""
    query = sa.select(
        programme_session.c.id, programme_session.c.title, programme_session.c.room_id
    ).where(
        programme_session.c.gathering_id == gathering_id,
        programme_session.c.id != session_id,
        programme_session.c.status != "cancelled",
        programme_session.c.starts_at < ends,
        programme_session.c.ends_at > starts,
    )
    return [OverlappingSession(r.id, r.title, r.room_id) for r in await conn.execute(query)]


async def speaker_ids_of(conn: AsyncConnection, session_ids: Sequence[int]) -> dict[int, set[int]]:
    query = sa.select(session_speaker.c.session_id, session_speaker.c.speaker_id).where(
        session_speaker.c.session_id.in_(session_ids)
    )
    result: dict[int, set[int]] = {}
    for row in (await conn.execute(query)).all():
        result.setdefault(row.session_id, set()).add(row.speaker_id)
    return result


def _hosts_of(value: object) -> tuple[SessionHost, ...]:
    """Hosts as stored in an audit row's detail: a list of [organisation id, role] pairs."""
    if not isinstance(value, list):
        return ()
    return tuple(
        SessionHost(int(pair[0]), str(pair[1]))
        for pair in value
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], int)
    )


async def host_change_events(
    conn: AsyncConnection, action: str, since: dt.datetime, limit: int
) -> list[HostChangeEvent]:
    """Audited host changes since ``since``, newest first."""
    query = (
        sa.select(audit_event.c.at, audit_event.c.subject_id, audit_event.c.detail)
        .where(
            audit_event.c.action == action,
            audit_event.c.subject_kind == "session",
            audit_event.c.at >= since,
        )
        .order_by(audit_event.c.at.desc(), audit_event.c.id.desc())
        .limit(limit)
    )
    events = []
    for row in await conn.execute(query):
        detail = row.detail if isinstance(row.detail, dict) else {}
        if row.subject_id is not None:
            events.append(
                HostChangeEvent(
                    row.at,
                    row.subject_id,
                    _hosts_of(detail.get("before")),
                    _hosts_of(detail.get("after")),
                )
            )
    return events


async def session_titles(conn: AsyncConnection, session_ids: Sequence[int]) -> dict[int, str]:
    query = sa.select(programme_session.c.id, programme_session.c.title).where(
        programme_session.c.id.in_(session_ids)
    )
    return {r.id: r.title for r in await conn.execute(query)}
