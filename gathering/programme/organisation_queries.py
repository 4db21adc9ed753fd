"""Queries about organisations."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import organisation


async def organisation_id_by_slug(conn: AsyncConnection, slug: str) -> int | None:
    result = await conn.execute(sa.select(organisation.c.id).where(organisation.c.slug == slug))
    return result.scalar_one_or_none()
