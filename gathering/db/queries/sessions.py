"""Queries about programme sessions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.db.schema import programme_session


async def add_places_taken(conn: AsyncConnection, session_id: int, places: int) -> None:
    await conn.execute(
        sa.update(programme_session)
        .where(programme_session.c.id == session_id)
        .values(places_taken=programme_session.c.places_taken + places)
    )
