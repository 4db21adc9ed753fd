"""Small helpers shared by loaders: rows found by a natural key, or inserted, a table at a time.

A loader (the demo) hands each helper every row it wants in one table; the helper finds the
existing ones in one statement and inserts the rest in one more (SQLAlchemy's "insert many
values" with RETURNING, on both engines), where a row at a time took two round trips a row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

Key = tuple[Any, ...]


async def ids_or_insert(
    conn: AsyncConnection,
    table: sa.Table,
    key: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
) -> list[tuple[int, bool]]:
    """``(id, inserted)`` for each of ``rows``, in order: the id of the row already holding its
    ``key`` columns' values, or of the row inserted (all of its values) when none did. A key
    given twice is inserted once; its second row reads as found. Key values are never NULL
    (NULL matches nothing: such a row would be inserted every time)."""
    keys = [tuple(row[name] for name in key) for row in rows]
    ids = await _found(conn, table, key, keys, table.c.id)
    firsts = _firsts(keys, ids)
    columns = [table.c[name] for name in key]
    for group in _alike([rows[n] for n in firsts.values()]):
        statement = sa.insert(table).returning(table.c.id, *columns)
        for made in (await conn.execute(statement, group)).all():
            ids[tuple(made[1:])] = made[0]
    return [(ids[k], firsts.get(k) == n) for n, k in enumerate(keys)]


async def insert_missing(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Insert each of ``rows`` that no row shares every primary-key column with (link tables
    keyed by all their columns); how many were inserted."""
    key = [column.name for column in table.primary_key.columns]
    keys = [tuple(row[name] for name in key) for row in rows]
    found = await _found(conn, table, key, keys, sa.literal(1))
    missing = [rows[n] for n in _firsts(keys, found).values()]
    for group in _alike(missing):
        await conn.execute(sa.insert(table), group)
    return len(missing)


async def _found(
    conn: AsyncConnection,
    table: sa.Table,
    key: Sequence[str],
    keys: Sequence[Key],
    answer: sa.ColumnElement[Any],
) -> dict[Key, Any]:
    """``answer`` for each of ``keys`` a row of ``table`` holds, by key: one statement, narrowed
    by each key column's values and matched exactly here."""
    if not keys:
        return {}
    wanted = set(keys)
    where = [
        table.c[name].in_(sorted({k[n] for k in wanted}, key=repr)) for n, name in enumerate(key)
    ]
    statement = sa.select(answer, *(table.c[name] for name in key)).where(*where)
    found = {}
    for row in (await conn.execute(statement)).all():
        if tuple(row[1:]) in wanted:
            found[tuple(row[1:])] = row[0]
    return found


def _firsts(keys: Sequence[Key], found: Mapping[Key, Any]) -> dict[Key, int]:
    """The position of the first row of each key that no row holds yet."""
    firsts: dict[Key, int] = {}
    for n, k in enumerate(keys):
        if k not in found and k not in firsts:
            firsts[k] = n
    return firsts


def _alike(rows: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
    """``rows`` in groups naming the same columns (one ``executemany`` each), in order."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(dict(row))
    return list(groups.values())
