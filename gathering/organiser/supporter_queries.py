"""Queries for a supporters-only session's list of eligible addresses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import programme_session, registration, session_host, supporter

# Rows per INSERT: well under SQLite's 32,766 bound parameters and asyncpg's 32,767.
_CHUNK = 1000


async def is_eligible_supporter(
    conn: AsyncConnection, session_id: int, gathering_id: int, email: str
) -> bool:
    """On the session's list, or (when the session admits registrants) registered for the
    gathering with this address, pending or confirmed. ``email`` is lower-cased already."""
    listed = sa.select(supporter.c.id).where(
        supporter.c.session_id == session_id, supporter.c.email == email
    )
    if (await conn.execute(listed)).first() is not None:
        return True
    registered = (
        sa.select(registration.c.id)
        .join(programme_session, programme_session.c.gathering_id == registration.c.gathering_id)
        .where(
            programme_session.c.id == session_id,
            programme_session.c.supporters_include_registrants.is_(True),
            registration.c.gathering_id == gathering_id,
            registration.c.email == email,
            registration.c.status.in_(["pending", "confirmed"]),
        )
        .limit(1)
    )
    return (await conn.execute(registered)).first() is not None


async def supporter_count(conn: AsyncConnection, session_id: int) -> int:
    query = sa.select(sa.func.count()).where(supporter.c.session_id == session_id)
    return int((await conn.execute(query)).scalar_one())


async def supporter_emails(conn: AsyncConnection, session_id: int) -> list[str]:
    query = (
        sa.select(supporter.c.email)
        .where(supporter.c.session_id == session_id)
        .order_by(supporter.c.email)
    )
    return list((await conn.execute(query)).scalars())


async def delete_supporters(conn: AsyncConnection, session_id: int) -> int:
    result = await conn.execute(sa.delete(supporter).where(supporter.c.session_id == session_id))
    return int(result.rowcount or 0)


async def insert_supporters(conn: AsyncConnection, session_id: int, emails: Sequence[str]) -> None:
    """Insert addresses not on the list yet (the caller has left out those already on it)."""
    for start in range(0, len(emails), _CHUNK):
        rows = [{"session_id": session_id, "email": e} for e in emails[start : start + _CHUNK]]
        await conn.execute(sa.insert(supporter), rows)


async def set_include_registrants(conn: AsyncConnection, session_id: int, value: bool) -> None:
    await conn.execute(
        sa.update(programme_session)
        .where(programme_session.c.id == session_id)
        .values(supporters_include_registrants=value)
    )


class SupportersSession(NamedTuple):
    id: int
    gathering_id: int
    title: str
    access: str
    supporters_include_registrants: bool


class HostRole(NamedTuple):
    organisation_id: int
    role: str  # host | co_host


async def session_for_supporters(
    conn: AsyncConnection, session_id: int
) -> SupportersSession | None:
    query = sa.select(
        programme_session.c.id,
        programme_session.c.gathering_id,
        programme_session.c.title,
        programme_session.c.access,
        programme_session.c.supporters_include_registrants,
    ).where(programme_session.c.id == session_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return SupportersSession(
        row.id, row.gathering_id, row.title, row.access, bool(row.supporters_include_registrants)
    )


async def host_roles(conn: AsyncConnection, session_id: int) -> list[HostRole]:
    """The session's hosting organisations with their role."""
    query = sa.select(session_host.c.organisation_id, session_host.c.role).where(
        session_host.c.session_id == session_id
    )
    return [HostRole(r.organisation_id, r.role) for r in await conn.execute(query)]
