"""Queries for registration windows (issue 16): a gathering's, and its sessions'."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import gathering, programme_session


class GatheringWindowRow(NamedTuple):
    id: int
    slug: str
    title: str
    starts_on: dt.date
    ends_on: dt.date
    timezone: str
    host_organisation_id: int | None
    registration_open: bool
    registration_opens_at: dt.datetime | None
    registration_closes_at: dt.datetime | None
    released_version: int


class SessionWindowRow(NamedTuple):
    id: int
    registration_opens_at: dt.datetime | None
    registration_closes_at: dt.datetime | None


_GATHERING = sa.select(*(gathering.c[name] for name in GatheringWindowRow._fields))
_SESSIONS = sa.select(*(programme_session.c[name] for name in SessionWindowRow._fields)).where(
    programme_session.c.gathering_id == sa.bindparam("gathering_id")
)


async def gathering_window(
    conn: AsyncConnection, *, slug: str | None = None, gathering_id: int | None = None
) -> GatheringWindowRow | None:
    """The gathering ``slug`` (or ``gathering_id``) with its registration settings; None if none."""
    query = (
        _GATHERING.where(gathering.c.slug == slug)
        if slug is not None
        else _GATHERING.where(gathering.c.id == gathering_id)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else GatheringWindowRow._make(row)


async def session_windows(conn: AsyncConnection, gathering_id: int) -> dict[int, SessionWindowRow]:
    """Each session's own window (both None: the gathering's alone)."""
    rows = await conn.execute(_SESSIONS, {"gathering_id": gathering_id})
    return {row.id: SessionWindowRow._make(row) for row in rows}


async def save_gathering_window(
    conn: AsyncConnection,
    gathering_id: int,
    *,
    is_open: bool,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    now: dt.datetime,
) -> None:
    await conn.execute(
        sa.update(gathering)
        .where(gathering.c.id == gathering_id)
        .values(
            registration_open=is_open,
            registration_opens_at=opens_at,
            registration_closes_at=closes_at,
            updated_at=now,
        )
    )


_GATHERING_AND_SESSION = (
    sa.select(
        *(gathering.c[name] for name in GatheringWindowRow._fields),
        programme_session.c.id.label("session_id"),
        programme_session.c.registration_opens_at.label("session_opens_at"),
        programme_session.c.registration_closes_at.label("session_closes_at"),
    )
    .select_from(
        gathering.outerjoin(
            programme_session,
            sa.and_(
                programme_session.c.gathering_id == gathering.c.id,
                programme_session.c.id == sa.bindparam("session_id"),
            ),
        )
    )
    .where(gathering.c.id == sa.bindparam("gathering_id"))
)


async def gathering_and_session_window(
    conn: AsyncConnection, gathering_id: int, session_id: int
) -> tuple[GatheringWindowRow, SessionWindowRow | None] | None:
    """The gathering's settings and one session's own window, in one statement (the session
    page's rendering counts its statements)."""
    values = {"gathering_id": gathering_id, "session_id": session_id}
    row = (await conn.execute(_GATHERING_AND_SESSION, values)).first()
    if row is None:
        return None
    count = len(GatheringWindowRow._fields)
    found = GatheringWindowRow._make(row[:count])
    session_id_found, opens, closes = row[count:]
    own = None if session_id_found is None else SessionWindowRow(session_id_found, opens, closes)
    return found, own


class SessionWindowListed(NamedTuple):
    id: int
    title: str
    starts_at: dt.datetime
    status: str
    registration_opens_at: dt.datetime | None
    registration_closes_at: dt.datetime | None


async def sessions_with_windows(
    conn: AsyncConnection, gathering_id: int
) -> list[SessionWindowListed]:
    """The gathering's sessions (drafts too) in time order, with their own windows."""
    query = (
        sa.select(*(programme_session.c[name] for name in SessionWindowListed._fields))
        .where(programme_session.c.gathering_id == gathering_id)
        .order_by(programme_session.c.starts_at, programme_session.c.id)
    )
    return [SessionWindowListed._make(row) for row in await conn.execute(query)]


async def save_session_window(
    conn: AsyncConnection,
    gathering_id: int,
    session_id: int,
    *,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
) -> bool:
    """Set one session's own window; False if the gathering has no such session."""
    if not 0 < session_id < 2**31:  # no id column holds it (PostgreSQL would raise)
        return False
    result = await conn.execute(
        sa.update(programme_session)
        .where(
            programme_session.c.id == session_id,
            programme_session.c.gathering_id == gathering_id,
        )
        .values(registration_opens_at=opens_at, registration_closes_at=closes_at)
    )
    return bool(result.rowcount)
