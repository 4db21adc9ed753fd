"""Queries about programme sessions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import gathering, programme_session, session_host


async def add_places_taken(conn: AsyncConnection, session_id: int, places: int) -> None:
    await conn.execute(
        sa.update(programme_session)
        .where(programme_session.c.id == session_id)
        .values(places_taken=programme_session.c.places_taken + places)
    )


async def host_ids_by_session(conn: AsyncConnection) -> dict[int, list[int]]:
    """Organisation ids hosting or co-hosting each session."""
    rows = (
        await conn.execute(sa.select(session_host.c.session_id, session_host.c.organisation_id))
    ).all()
    by_session: dict[int, list[int]] = {}
    for row in rows:
        by_session.setdefault(row.session_id, []).append(row.organisation_id)
    return by_session


async def all_sessions_with_gathering(conn: AsyncConnection) -> Sequence[Any]:
    """Every session (drafts too) with its gathering, newest gathering first."""
    query = (
        sa.select(
            programme_session.c.id,
            programme_session.c.title,
            programme_session.c.starts_at,
            programme_session.c.status,
            programme_session.c.room_id,
            gathering.c.id.label("gathering_id"),
            gathering.c.slug.label("gathering_slug"),
            gathering.c.title.label("gathering_title"),
            gathering.c.timezone,
            gathering.c.host_organisation_id,
        )
        .join(gathering, gathering.c.id == programme_session.c.gathering_id)
        .order_by(
            gathering.c.starts_on.desc(), programme_session.c.starts_at, programme_session.c.id
        )
    )
    return (await conn.execute(query)).all()
