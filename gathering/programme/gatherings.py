"""Gatherings as the public sees them."""

from __future__ import annotations

from gathering.core.database import Database
from gathering.programme import queries
from gathering.programme.queries import GatheringSummary


async def list_gatherings(db: Database) -> list[GatheringSummary]:
    """Every listed gathering, newest first, with its count of public sessions."""
    return await db.read(queries.listed_gatherings)
