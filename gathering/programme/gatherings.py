"""Gatherings as the public sees them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.programme import gathering_queries as queries


@dataclass(frozen=True)
class GatheringSummary:
    slug: str
    title: str
    description: str
    starts_on: dt.date
    ends_on: dt.date
    timezone: str
    mode: str
    location: str
    session_count: int


async def list_gatherings(db: Database) -> list[GatheringSummary]:
    """Every listed gathering, newest first."""

    async def _read(conn: AsyncConnection) -> list[GatheringSummary]:
        rows = await queries.listed_gatherings(conn)
        return [
            GatheringSummary(
                slug=row.slug,
                title=row.title,
                description=row.description,
                starts_on=row.starts_on,
                ends_on=row.ends_on,
                timezone=row.timezone,
                mode=row.mode,
                location=row.location,
                session_count=row.session_count,
            )
            for row in rows
        ]

    return await db.read(_read)
