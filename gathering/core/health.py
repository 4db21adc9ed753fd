"""Is the service able to work?"""

from __future__ import annotations

from gathering.core import migrate
from gathering.core.database import Database


async def database_revision(db: Database) -> str | None:
    """The schema revision, proving the database answers; raises DatabaseUnavailable."""
    await db.ping()
    return await migrate.current_revision(db)
