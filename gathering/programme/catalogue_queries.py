"""Queries of the public catalogue: organisations' and speakers' public details (never an
organisation's contact email), as typed rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import organisation, speaker


class PublicOrganisation(NamedTuple):
    """An organisation's public details (never its contact email)."""

    id: int
    slug: str
    name: str
    short_name: str
    description: str
    website: str


class PublicSpeaker(NamedTuple):
    id: int
    slug: str
    name: str
    affiliation: str
    bio: str
    photo: str | None


# Public columns only: an organisation's contact email is for organisers, never the API.
_ORGANISATION_COLUMNS = [organisation.c[name] for name in PublicOrganisation._fields]


async def public_organisations(conn: AsyncConnection) -> list[PublicOrganisation]:
    """Every organisation's public details, by name."""
    query = sa.select(*_ORGANISATION_COLUMNS).order_by(organisation.c.name, organisation.c.id)
    return [PublicOrganisation._make(row) for row in await conn.execute(query)]


async def public_organisation(conn: AsyncConnection, slug: str) -> PublicOrganisation | None:
    """One organisation's public details, or None."""
    query = sa.select(*_ORGANISATION_COLUMNS).where(organisation.c.slug == slug)
    row = (await conn.execute(query)).first()
    return None if row is None else PublicOrganisation._make(row)


async def organisation_id_by_slug(conn: AsyncConnection, slug: str) -> int | None:
    """The id of the organisation ``slug``, or None."""
    result = await conn.execute(sa.select(organisation.c.id).where(organisation.c.slug == slug))
    found = result.scalar_one_or_none()
    return None if found is None else int(found)


async def speakers_by_slug(conn: AsyncConnection, slugs: Sequence[str]) -> dict[str, PublicSpeaker]:
    """Current public details of the named speakers."""
    query = sa.select(*(speaker.c[name] for name in PublicSpeaker._fields)).where(
        speaker.c.slug.in_(list(slugs))
    )
    return {row.slug: PublicSpeaker._make(row) for row in await conn.execute(query)}
