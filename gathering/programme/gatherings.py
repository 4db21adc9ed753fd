"""Gatherings as the public sees them."""

from __future__ import annotations

from gathering.core import content, i18n
from gathering.core.database import Database
from gathering.programme import queries
from gathering.programme.queries import GatheringSummary


async def list_gatherings(db: Database) -> list[GatheringSummary]:
    """Every listed gathering, newest first, with its count of public sessions; titles in the
    reader's language where given (issue 18)."""
    language = i18n.current_language()
    listed = []
    for row in await db.read(queries.listed_gatherings):
        title, title_lang = content.pick(
            row.title, content.texts(row.translations), "title", language
        )
        listed.append(row._replace(title=title, title_lang=title_lang))
    return listed
