"""Queries about gatherings as a whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import gathering, programme_session


async def listed_gatherings(conn: AsyncConnection) -> Sequence[Any]:
    """Listed gatherings, soonest first, each with its count of published or cancelled sessions."""
    visible = programme_session.c.status.in_(["published", "cancelled"])
    session_count = (
        sa.select(sa.func.count())
        .where(programme_session.c.gathering_id == gathering.c.id, visible)
        .scalar_subquery()
    )
    query = (
        sa.select(
            gathering.c.id,
            gathering.c.slug,
            gathering.c.title,
            gathering.c.description,
            gathering.c.starts_on,
            gathering.c.ends_on,
            gathering.c.timezone,
            gathering.c.mode,
            gathering.c.location,
            session_count.label("session_count"),
        )
        .where(gathering.c.is_listed.is_(True))
        .order_by(gathering.c.starts_on.desc(), gathering.c.id)
    )
    return (await conn.execute(query)).all()
