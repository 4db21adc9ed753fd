"""Issue 14 #15: session times outside the years 2000–2100 are refused at save, in the organiser's
words, keeping what was typed (a gathering saved before the admin form refused such dates)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
SLUG = "far-future"
LLA = ("organiser@example.org", "demo-organiser-password")


async def _legacy_gathering(db: Database) -> int:
    """A gathering stored with an absurd last day, as the admin form used to allow."""

    async def _write(conn: AsyncConnection) -> int:
        now = dt.datetime.now(dt.UTC)
        o = schema.organisation
        lla = (await conn.execute(sa.select(o.c.id).where(o.c.slug == "lla"))).scalar_one()
        result = await conn.execute(
            sa.insert(schema.gathering)
            .values(
                slug=SLUG,
                title="Far future",
                starts_on=dt.date(2027, 9, 1),
                ends_on=dt.date(9999, 12, 31),
                timezone="Europe/London",
                host_organisation_id=lla,
                created_at=now,
                updated_at=now,
            )
            .returning(schema.gathering.c.id)
        )
        return int(result.scalar_one())

    return await db.write(_write)


async def _sessions_of(db: Database, gathering_id: int) -> int:
    async def _read(conn: AsyncConnection) -> int:
        s = schema.programme_session
        query = sa.select(sa.func.count()).where(s.c.gathering_id == gathering_id)
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


@pytest.mark.parametrize("day", ["9999-12-30", "2101-03-01"])
async def test_a_session_day_beyond_2100_is_refused_keeping_what_was_typed(
    db: Database, client: httpx.AsyncClient, day: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    gathering_id = await _legacy_gathering(db)
    await sign_in(client, *LLA)
    path = f"/organiser/g/{SLUG}/sessions/new"
    token = await csrf_from(client, path)
    host = parse_html((await client.get(path)).text).xpath(
        "//select[@name='host_id']/option[@selected]/@value"
    )
    response = await client.post(
        path,
        data={
            "csrftoken": token,
            "title": "A meeting in the far future",
            "day": day,
            "start": "18:00",
            "end": "19:00",
            "format": "in_person",
            "access": "public",
            "language": "en",
            "status": "published",
            "host_id": host[0] if host else "",
        },
    )
    assert response.status_code == 422
    doc = parse_html(response.text)
    assert texts(doc, "//p[@id='day-error']") == ["Choose a day between the years 2000 and 2100."]
    assert doc.xpath("//input[@name='day']/@value") == [day]
    assert doc.xpath("//input[@name='title']/@value") == ["A meeting in the far future"]
    assert await _sessions_of(db, gathering_id) == 0
