"""Queries for the public directory: speakers and organisations by slug."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.db.schema import organisation, speaker


async def speaker_by_slug(conn: AsyncConnection, slug: str) -> Any:
    query = sa.select(
        speaker.c.id, speaker.c.slug, speaker.c.name, speaker.c.affiliation, speaker.c.bio
    ).where(speaker.c.slug == slug)
    return (await conn.execute(query)).first()


async def organisation_by_slug(conn: AsyncConnection, slug: str) -> Any:
    query = sa.select(
        organisation.c.id,
        organisation.c.slug,
        organisation.c.name,
        organisation.c.short_name,
        organisation.c.description,
        organisation.c.website,
    ).where(organisation.c.slug == slug)
    return (await conn.execute(query)).first()
