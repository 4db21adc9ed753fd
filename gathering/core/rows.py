"""Small helpers shared by loaders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def id_or_insert(
    conn: AsyncConnection, table: sa.Table, key: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[int, bool]:
    """(id, inserted): the id of the row matching ``key``, inserting ``key | values`` if none."""
    where = [table.c[name] == value for name, value in key.items()]
    found = (await conn.execute(sa.select(table.c.id).where(*where))).scalar_one_or_none()
    if found is not None:
        return found, False
    result = await conn.execute(sa.insert(table).values({**key, **values}).returning(table.c.id))
    return result.scalar_one(), True


async def insert_missing(conn: AsyncConnection, table: sa.Table, row: Mapping[str, Any]) -> bool:
    """Insert ``row`` unless an identical key row exists (for link tables keyed by all columns)."""
    keys = [c.name for c in table.primary_key.columns]
    where = [table.c[name] == row[name] for name in keys]
    if (await conn.execute(sa.select(sa.literal(1)).where(*where))).first() is not None:
        return False
    await conn.execute(sa.insert(table).values(dict(row)))
    return True
