"""The loaders' helpers (``gathering/core/rows.py``): rows found by their natural key or inserted,
a table at a time, on both engines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.rows import ids_or_insert, insert_missing
from gathering.demo import load_demo
from tests.conftest import TEST_SECRET
from tests.statements import executions, statements_run

pytestmark = pytest.mark.anyio
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def _org(slug: str, name: str) -> dict[str, Any]:
    return {"slug": slug, "name": name, "short_name": "", "created_at": NOW}


async def _all(db: Database, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    async def _read(conn: AsyncConnection) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in (await conn.execute(query)).all()]

    return await db.read(_read)


async def test_rows_found_by_key_keep_their_values_and_the_rest_are_inserted(db: Database) -> None:
    o = schema.organisation
    [(first_id, first_new)] = await db.write(
        lambda conn: ids_or_insert(conn, o, ("slug",), [_org("rmt", "RMT")])
    )
    assert first_new

    rows = [
        _org("momentum", "Momentum"),
        _org("rmt", "A name that must not replace RMT's"),
        {**_org("lla", "Labour Left Alliance"), "short_name": "LLA"},
        _org("momentum", "Momentum again"),  # a key given twice is inserted once
    ]
    made = await db.write(lambda conn: ids_or_insert(conn, o, ("slug",), rows))

    assert [new for _, new in made] == [True, False, True, False]
    assert made[1][0] == first_id
    assert made[0][0] == made[3][0]
    assert len({id_ for id_, _ in made}) == 3
    found = await _all(db, sa.select(o.c.id, o.c.slug, o.c.name, o.c.short_name).order_by(o.c.id))
    assert found == [
        (first_id, "rmt", "RMT", ""),
        (made[0][0], "momentum", "Momentum", ""),
        (made[2][0], "lla", "Labour Left Alliance", "LLA"),
    ]


async def test_a_key_of_two_columns_matches_both(db: Database) -> None:
    g, t = schema.gathering, schema.track
    await load_demo(db, secret_key=TEST_SECRET)
    gatherings = [row[0] for row in await _all(db, sa.select(g.c.id).order_by(g.c.id))]
    first, second = gatherings[:2]
    before = await _all(db, sa.select(t.c.id, t.c.gathering_id, t.c.slug))
    existing = next(row for row in before if row[1] == second)

    rows = [
        {"gathering_id": first, "slug": existing[2], "name": "Same slug, another gathering"},
        {"gathering_id": second, "slug": existing[2], "name": "Not inserted"},
    ]
    made = await db.write(lambda conn: ids_or_insert(conn, t, ("gathering_id", "slug"), rows))

    assert made[1] == (existing[0], False)
    assert made[0][1] is True
    after = await _all(db, sa.select(t.c.id, t.c.gathering_id, t.c.slug, t.c.name))
    assert len(after) == len(before) + 1
    assert (made[0][0], first, existing[2], "Same slug, another gathering") in after


async def test_link_rows_are_inserted_once_and_counted(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    h = schema.session_host
    s, o = schema.programme_session, schema.organisation
    session_id = (await _all(db, sa.select(s.c.id).order_by(s.c.id).limit(1)))[0][0]
    orgs = [row[0] for row in await _all(db, sa.select(o.c.id).order_by(o.c.id))]
    held = {
        row[0]
        for row in await _all(
            db, sa.select(h.c.organisation_id).where(h.c.session_id == session_id)
        )
    }
    free = [org for org in orgs if org not in held][:2]
    rows = [
        *({"session_id": session_id, "organisation_id": org, "role": "co_host"} for org in free),
        {"session_id": session_id, "organisation_id": sorted(held)[0], "role": "host"},
        {"session_id": session_id, "organisation_id": free[0], "role": "co_host"},
    ]

    assert await db.write(lambda conn: insert_missing(conn, h, rows)) == 2
    assert await db.write(lambda conn: insert_missing(conn, h, rows)) == 0
    after = await _all(db, sa.select(h.c.organisation_id).where(h.c.session_id == session_id))
    assert sorted(row[0] for row in after) == sorted([*held, *free])


async def test_nothing_asked_runs_nothing(db: Database) -> None:
    with statements_run(db, work_only=True) as seen:
        assert await db.write(lambda c: ids_or_insert(c, schema.organisation, ("slug",), [])) == []
        assert await db.write(lambda c: insert_missing(c, schema.session_host, [])) == 0
    assert seen == []


async def test_the_demo_is_loaded_a_table_at_a_time(db: Database) -> None:
    """Each table's rows of one gathering go in with one statement: the demo's fifteen sessions
    (in four gatherings) are four inserts, not fifteen; loaded again, it inserts nothing."""
    with executions(db) as seen:
        await load_demo(db, secret_key=TEST_SECRET)
    inserts = [s for s in seen if s.startswith("INSERT INTO programme_session ")]
    sessions = await _all(db, sa.select(sa.func.count()).select_from(schema.programme_session))
    assert sessions == [(15,)]
    assert len(inserts) == 4
    with executions(db) as again:
        await load_demo(db, secret_key=TEST_SECRET)
    assert again
    assert not [s for s in again if s.startswith("INSERT")]
