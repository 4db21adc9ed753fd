"""Queries for calendar feeds: personal feed keys and a person's places (their joining links are
the places' personal links: ``registration.joining``)."""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import gathering, registration, session_place


class FeedKey(NamedTuple):
    registration_id: int
    feed_key: str | None


class FeedHolder(NamedTuple):
    """The registration behind a personal feed key."""

    id: int
    status: str
    gathering_slug: str
    language: str | None  # the one they registered in (issue 18), else the gathering's


async def feed_key_of_registration(conn: AsyncConnection, registration_id: int) -> FeedKey | None:
    """The registration's id and feed key (None until made), or None if there is no such
    registration."""
    query = sa.select(registration.c.id, registration.c.feed_key).where(
        registration.c.id == registration_id
    )
    row = (await conn.execute(query)).first()
    return None if row is None else FeedKey._make(row)


async def set_feed_key(conn: AsyncConnection, registration_id: int, feed_key: str) -> None:
    """Give the registration its personal feed key."""
    await conn.execute(
        sa.update(registration)
        .where(registration.c.id == registration_id)
        .values(feed_key=feed_key)
    )


async def replace_feed_key(conn: AsyncConnection, old_key: str, new_key: str) -> int:
    """Swap a feed key for a new one; the number of registrations changed (0 or 1)."""
    result = await conn.execute(
        sa.update(registration).where(registration.c.feed_key == old_key).values(feed_key=new_key)
    )
    return int(result.rowcount)


async def registration_by_feed_key(conn: AsyncConnection, feed_key: str) -> FeedHolder | None:
    """(id, status, gathering_slug) of the registration holding ``feed_key``, or None."""
    query = (
        sa.select(
            registration.c.id,
            registration.c.status,
            gathering.c.slug.label("gathering_slug"),
            sa.func.coalesce(registration.c.language, gathering.c.default_language).label(
                "language"
            ),
        )
        .select_from(registration.join(gathering, gathering.c.id == registration.c.gathering_id))
        .where(registration.c.feed_key == feed_key)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else FeedHolder._make(row)


async def confirmed_place_session_ids(conn: AsyncConnection, registration_id: int) -> list[int]:
    """Sessions where the registration holds a confirmed place (not waitlisted or offered)."""
    query = (
        sa.select(session_place.c.session_id)
        .where(session_place.c.registration_id == registration_id)
        .where(session_place.c.status == "confirmed")
        .order_by(session_place.c.session_id)
    )
    return [int(row.session_id) for row in (await conn.execute(query)).all()]
