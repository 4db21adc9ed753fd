"""The suite's PostgreSQL databases (``tests/conftest.py``'s ``_Databases``): one emptied after a
test is in the template's state again (under a new name, with the template's planner
statistics), and one whose shape a test changed is replaced."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from tests.conftest import _Databases


def _fetch(databases: _Databases, name: str, *statements: str) -> list[list[Any]]:
    async def _run() -> list[list[Any]]:
        conn = await asyncpg.connect(databases._url(name), timeout=5)
        try:
            answers = []
            for statement in statements:
                if statement.startswith(("SELECT", "INSERT")):
                    answers.append([tuple(row) for row in await conn.fetch(statement)])
                else:  # several statements, or one answering nothing
                    await conn.execute(statement)
                    answers.append([])
            return answers
        finally:
            await conn.close()

    return asyncio.run(_run())


_STATE = (
    "SELECT count(*) FROM organisation",
    "SELECT * FROM public_generation",
    "SELECT version_num FROM alembic_version",
    "SELECT sequencename, last_value FROM pg_sequences WHERE last_value IS NOT NULL",
    # The planner's statistics too: a fresh clone's and an emptied database's plans are alike.
    "SELECT relname, relpages, reltuples, relallvisible FROM pg_class"
    " WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i') ORDER BY relname",
)


@pytest.fixture
def databases(pg_databases: _Databases) -> _Databases:
    return pg_databases


def test_an_emptied_database_is_in_the_template_state(databases: _Databases) -> None:
    name = databases.take(durable=False)
    fresh = _fetch(databases, name, *_STATE)
    assert fresh[0] == [(0,)] and fresh[3] == []
    _fetch(
        databases,
        name,
        "INSERT INTO organisation (slug, name, short_name, created_at)"
        " VALUES ('rmt', 'RMT', 'RMT', now()), ('lla', 'LLA', 'LLA', now())",
        "UPDATE public_generation SET generation = generation + 1",
        " BEGIN; INSERT INTO organisation (slug, name, short_name, created_at)"
        " VALUES ('gone', 'Rolled back', '', now()); ROLLBACK",
    )
    assert _fetch(databases, name, *_STATE) != fresh

    renamed = databases.pool.submit(databases._recycle, name).result()
    assert renamed != name  # the service keeps answers per database URL
    assert _fetch(databases, renamed, *_STATE) == fresh
    [[(first_id,)]] = _fetch(
        databases,
        renamed,
        "INSERT INTO organisation (slug, name, short_name, created_at)"
        " VALUES ('rmt', 'RMT', 'RMT', now()) RETURNING id",
    )
    assert first_id == 1
    databases.later(renamed)


def test_a_database_whose_shape_changed_is_replaced(databases: _Databases) -> None:
    name = databases.take(durable=False)
    _fetch(databases, name, "CREATE TABLE note (body text)")

    replacement = databases.pool.submit(databases._recycle, name).result()

    assert replacement != name
    [[(left,)], tables] = _fetch(
        databases,
        replacement,
        f"SELECT count(*) FROM pg_database WHERE datname = '{name}'",
        "SELECT tablename FROM pg_tables WHERE tablename = 'note'",
    )
    assert left == 0 and tables == []
    databases.later(replacement)
