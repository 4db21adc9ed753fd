"""Viewers (issue 16) see a dashboard's numbers with small counts withheld, like a co-host: a
constituency given by fewer than 5 people is never named to them, whatever they view; the
organisers of the same organisation still see it."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import sqlalchemy as sa

from gathering.core import schema
from gathering.core.database import Database
from tests.helpers import csrf_from, parse_html, sign_in
from tests.integration.test_dashboard import (
    JVL,
    LLA,
    SLUG,
    _base,
    _breakdown,
    _withheld_breakdown,
    _world,
)

pytestmark = pytest.mark.anyio


async def _make_jvl_a_viewer_of_lla(db: Database, lla_id: int) -> None:
    a, m = schema.account, schema.membership

    async def _write(conn: sa.ext.asyncio.AsyncConnection) -> None:
        jvl = (await conn.execute(sa.select(a.c.id).where(a.c.email == JVL[0]))).scalar_one()
        await conn.execute(
            sa.insert(m).values(
                account_id=jvl,
                organisation_id=lla_id,
                role="viewer",
                created_at=dt.datetime.now(dt.UTC),
            )
        )

    await db.write(_write)


async def test_a_viewer_sees_small_constituency_counts_withheld(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    gathering = f"/organiser/g/{SLUG}/dashboard"
    housing = f"{_base(world, 'Housing')}/dashboard"  # LLA hosts it

    # LLA's organiser: Hove (given by one person) is named, with its exact count.
    await sign_in(client, *LLA)
    whole = parse_html((await client.get(gathering)).text)
    assert _breakdown(whole, "constituencies-table")["Hove"] == 1
    session = await client.get(housing)
    assert "Hove" in _breakdown(parse_html(session.text), "constituencies-table")
    await client.post("/signout", data={"csrftoken": await csrf_from(client, "/organiser")})

    # JVL's organiser, made a viewer of LLA: the same pages, small counts withheld.
    await _make_jvl_a_viewer_of_lla(db, world.orgs["lla"])
    await sign_in(client, *JVL)
    for path in (gathering, housing):
        answer = await client.get(path)
        assert answer.status_code == 200, path
        page = parse_html(answer.text)
        shown = (
            _withheld_breakdown(page, "constituencies-table")
            if page.xpath("//table[@id='constituencies-table']")
            else {}
        )
        assert "Hove" not in answer.text, path
        assert all(not v.isdigit() or int(v) >= 5 for v in shown.values()), (path, shown)
