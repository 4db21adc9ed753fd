"""Queries for the organiser's session editor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    organisation,
    programme_session,
    room,
    session_host,
    session_speaker,
    speaker,
    venue,
)


async def rooms_of_gathering(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
    query = (
        sa.select(room.c.id, room.c.name, venue.c.name.label("venue_name"))
        .join(venue, venue.c.id == room.c.venue_id)
        .where(venue.c.gathering_id == gathering_id)
        .order_by(venue.c.name, room.c.name)
    )
    return (await conn.execute(query)).all()


async def organisations(conn: AsyncConnection) -> Sequence[Any]:
    query = sa.select(organisation.c.id, organisation.c.name).order_by(organisation.c.name)
    return (await conn.execute(query)).all()


async def speakers(conn: AsyncConnection) -> Sequence[Any]:
    query = sa.select(speaker.c.id, speaker.c.name, speaker.c.affiliation).order_by(speaker.c.name)
    return (await conn.execute(query)).all()


async def session_row(conn: AsyncConnection, session_id: int) -> Any:
    query = sa.select(programme_session).where(programme_session.c.id == session_id)
    return (await conn.execute(query)).first()


async def session_hosts(conn: AsyncConnection, session_id: int) -> Sequence[Any]:
    query = sa.select(session_host.c.organisation_id, session_host.c.role).where(
        session_host.c.session_id == session_id
    )
    return (await conn.execute(query)).all()


async def session_speakers(conn: AsyncConnection, session_id: int) -> Sequence[Any]:
    query = (
        sa.select(session_speaker.c.speaker_id, session_speaker.c.role)
        .where(session_speaker.c.session_id == session_id)
        .order_by(session_speaker.c.position)
    )
    return (await conn.execute(query)).all()


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


async def insert_session(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(
        sa.insert(programme_session).values(values).returning(programme_session.c.id)
    )
    return int(result.scalar_one())


async def update_session(conn: AsyncConnection, session_id: int, values: dict[str, Any]) -> None:
    await conn.execute(
        sa.update(programme_session).where(programme_session.c.id == session_id).values(values)
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
) -> Sequence[Any]:
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
    return (await conn.execute(query)).all()


async def speaker_ids_of(conn: AsyncConnection, session_ids: Sequence[int]) -> dict[int, set[int]]:
    query = sa.select(session_speaker.c.session_id, session_speaker.c.speaker_id).where(
        session_speaker.c.session_id.in_(session_ids)
    )
    result: dict[int, set[int]] = {}
    for row in (await conn.execute(query)).all():
        result.setdefault(row.session_id, set()).add(row.speaker_id)
    return result
