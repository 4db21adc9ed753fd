"""Queries across gatherings, for the public catalogue of speakers and organisations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import gathering, organisation, speaker

# Public columns only: an organisation's contact email is for organisers, never the API.
_ORGANISATION_COLUMNS = (
    organisation.c.id,
    organisation.c.slug,
    organisation.c.name,
    organisation.c.short_name,
    organisation.c.description,
    organisation.c.website,
)


async def listed_gathering_slugs(conn: AsyncConnection) -> list[str]:
    """Slugs of listed gatherings, newest first."""
    query = (
        sa.select(gathering.c.slug)
        .where(gathering.c.is_listed.is_(True))
        .order_by(gathering.c.starts_on.desc(), gathering.c.id)
    )
    return list((await conn.execute(query)).scalars())


async def public_organisations(conn: AsyncConnection) -> Sequence[Any]:
    """Every organisation's public details, by name."""
    query = sa.select(*_ORGANISATION_COLUMNS).order_by(organisation.c.name, organisation.c.id)
    return (await conn.execute(query)).all()


async def public_organisation(conn: AsyncConnection, slug: str) -> Any:
    query = sa.select(*_ORGANISATION_COLUMNS).where(organisation.c.slug == slug)
    return (await conn.execute(query)).first()


async def speakers_by_slug(conn: AsyncConnection, slugs: Sequence[str]) -> dict[str, Any]:
    """Current public details of the named speakers."""
    query = sa.select(
        speaker.c.id,
        speaker.c.slug,
        speaker.c.name,
        speaker.c.affiliation,
        speaker.c.bio,
        speaker.c.photo,
    ).where(speaker.c.slug.in_(list(slugs)))
    return {row.slug: row for row in (await conn.execute(query)).all()}
