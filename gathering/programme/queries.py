"""Queries for building and reading released programmes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    gathering,
    organisation,
    programme_release,
    programme_session,
    room,
    session_host,
    session_speaker,
    speaker,
    track,
    venue,
)

# Built once: every public page, feed and export reads these, and building a select costs more
# than SQLAlchemy's compiled cache saves when it is rebuilt on every request.
_GATHERING_BY_SLUG = sa.select(gathering).where(gathering.c.slug == sa.bindparam("slug"))
_GATHERING_BY_ID = sa.select(gathering).where(gathering.c.id == sa.bindparam("gathering_id"))
_LATEST_RELEASE_HEAD = (
    sa.select(programme_release.c.id, programme_release.c.number, programme_release.c.released_at)
    .where(programme_release.c.gathering_id == sa.bindparam("gathering_id"))
    .order_by(programme_release.c.number.desc())
    .limit(1)
)
_PLACES_TAKEN = sa.select(programme_session.c.id, programme_session.c.places_taken).where(
    programme_session.c.gathering_id == sa.bindparam("gathering_id")
)


async def gathering_row(
    conn: AsyncConnection, *, slug: str | None = None, gathering_id: int | None = None
) -> Any:
    if slug is not None:
        return (await conn.execute(_GATHERING_BY_SLUG, {"slug": slug})).first()
    return (await conn.execute(_GATHERING_BY_ID, {"gathering_id": gathering_id})).first()


async def releasable_sessions(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
    """Published and cancelled sessions (drafts never reach the public), with room and venue."""
    query = (
        sa.select(
            programme_session,
            room.c.name.label("room_name"),
            room.c.capacity.label("room_capacity"),
            room.c.step_free.label("room_step_free"),
            room.c.access_notes.label("room_access_notes"),
            venue.c.id.label("venue_id"),
            venue.c.name.label("venue_name"),
            venue.c.address.label("venue_address"),
            venue.c.step_free.label("venue_step_free"),
            venue.c.hearing_loop.label("venue_hearing_loop"),
            venue.c.bsl.label("venue_bsl"),
            venue.c.quiet_room.label("venue_quiet_room"),
            venue.c.access_notes.label("venue_access_notes"),
            track.c.slug.label("track_slug"),
            track.c.name.label("track_name"),
        )
        .select_from(
            programme_session.outerjoin(room, room.c.id == programme_session.c.room_id)
            .outerjoin(venue, venue.c.id == room.c.venue_id)
            .outerjoin(track, track.c.id == programme_session.c.track_id)
        )
        .where(
            programme_session.c.gathering_id == gathering_id,
            programme_session.c.status.in_(["published", "cancelled"]),
        )
        .order_by(programme_session.c.starts_at, programme_session.c.id)
    )
    return (await conn.execute(query)).all()


async def hosts_for_sessions(conn: AsyncConnection, session_ids: Sequence[int]) -> Sequence[Any]:
    query = (
        sa.select(
            session_host.c.session_id,
            session_host.c.role,
            organisation.c.id,
            organisation.c.slug,
            organisation.c.name,
            organisation.c.short_name,
        )
        .join(organisation, organisation.c.id == session_host.c.organisation_id)
        .where(session_host.c.session_id.in_(session_ids))
        .order_by(session_host.c.session_id, session_host.c.role.desc(), organisation.c.name)
    )
    return (await conn.execute(query)).all()


async def speakers_for_sessions(conn: AsyncConnection, session_ids: Sequence[int]) -> Sequence[Any]:
    query = (
        sa.select(
            session_speaker.c.session_id,
            session_speaker.c.role,
            speaker.c.id,
            speaker.c.slug,
            speaker.c.name,
            speaker.c.affiliation,
            speaker.c.bio,
            speaker.c.photo,
        )
        .join(speaker, speaker.c.id == session_speaker.c.speaker_id)
        .where(session_speaker.c.session_id.in_(session_ids))
        .order_by(session_speaker.c.session_id, session_speaker.c.position, speaker.c.name)
    )
    return (await conn.execute(query)).all()


async def latest_release(conn: AsyncConnection, gathering_id: int) -> Any:
    query = (
        sa.select(programme_release)
        .where(programme_release.c.gathering_id == gathering_id)
        .order_by(programme_release.c.number.desc())
        .limit(1)
    )
    return (await conn.execute(query)).first()


async def latest_release_head(conn: AsyncConnection, gathering_id: int) -> Any:
    """The newest release's id, number and time, without its (large) snapshot and changes."""
    return (await conn.execute(_LATEST_RELEASE_HEAD, {"gathering_id": gathering_id})).first()


async def release_by_id(conn: AsyncConnection, release_id: int) -> Any:
    query = sa.select(programme_release).where(programme_release.c.id == release_id)
    return (await conn.execute(query)).first()


async def releases(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
    """Every release of a gathering, newest first, without snapshots."""
    query = (
        sa.select(
            programme_release.c.number,
            programme_release.c.released_at,
            programme_release.c.note,
            programme_release.c.changes,
        )
        .where(programme_release.c.gathering_id == gathering_id)
        .order_by(programme_release.c.number.desc())
    )
    return (await conn.execute(query)).all()


async def insert_release(
    conn: AsyncConnection,
    *,
    gathering_id: int,
    number: int,
    released_at: dt.datetime,
    released_by: int | None,
    note: str,
    snapshot: dict[str, Any],
    changes: list[dict[str, Any]],
) -> None:
    await conn.execute(
        sa.insert(programme_release).values(
            gathering_id=gathering_id,
            number=number,
            released_at=released_at,
            released_by=released_by,
            note=note,
            snapshot=snapshot,
            changes=changes,
        )
    )
    await conn.execute(
        sa.update(gathering).where(gathering.c.id == gathering_id).values(released_version=number)
    )


async def bump_session_version(conn: AsyncConnection, session_id: int, now: dt.datetime) -> int:
    """Raise a session's public version by one; return the new version."""
    result = await conn.execute(
        sa.update(programme_session)
        .where(programme_session.c.id == session_id)
        .values(version=programme_session.c.version + 1, public_changed_at=now)
        .returning(programme_session.c.version)
    )
    return int(result.scalar_one())


async def places_taken(conn: AsyncConnection, gathering_id: int) -> dict[int, int]:
    rows = (await conn.execute(_PLACES_TAKEN, {"gathering_id": gathering_id})).all()
    return {row.id: row.places_taken for row in rows}
