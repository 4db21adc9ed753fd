"""Plain functions that insert rows for tests (no mocks: the real schema, the real engines)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database


async def add_room(
    db: Database,
    gathering_id: int,
    *,
    venue: str = "Brighthelm Centre",
    address: str = "North Road, Brighton BN1 1YD",
    room: str = "Main hall",
    capacity: int | None = 200,
) -> int:
    """A step-free venue without a hearing loop, with one room; returns the room's id."""

    async def _write(conn: AsyncConnection) -> int:
        now = dt.datetime.now(dt.UTC)
        venue_id = (
            await conn.execute(
                sa.insert(schema.venue)
                .values(
                    gathering_id=gathering_id,
                    name=venue,
                    address=address,
                    step_free=True,
                    hearing_loop=False,
                    created_at=now,
                )
                .returning(schema.venue.c.id)
            )
        ).scalar_one()
        result = await conn.execute(
            sa.insert(schema.room)
            .values(venue_id=venue_id, name=room, capacity=capacity, created_at=now)
            .returning(schema.room.c.id)
        )
        return int(result.scalar_one())

    return await db.write(_write)


async def add_unreleased_gathering(db: Database, slug: str = "spring-school-2027") -> None:
    """A gathering with no release yet (feeds and exports must still answer, empty)."""
    now = dt.datetime.now(dt.UTC)

    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.insert(schema.gathering).values(
                slug=slug,
                title="Spring school",
                starts_on=dt.date(2027, 3, 27),
                ends_on=dt.date(2027, 3, 28),
                timezone="Europe/London",
                created_at=now,
                updated_at=now,
            )
        )

    await db.write(_write)
