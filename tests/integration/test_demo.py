"""The demo network matches the seed documents, and loading it twice changes nothing."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.demo import load_demo
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.anyio
LONDON = zoneinfo.ZoneInfo("Europe/London")


async def _counts(db: Database) -> dict[str, int]:
    async def _read(conn: AsyncConnection) -> dict[str, int]:
        counts = {}
        for name, table in schema.metadata.tables.items():
            query = sa.select(sa.func.count()).select_from(table)
            counts[name] = int((await conn.execute(query)).scalar_one())
        return counts

    return await db.read(_read)


async def test_demo_loads_the_conference_fringe_from_the_seeds(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)

    async def _read(conn: AsyncConnection) -> list[tuple[str, dt.datetime, object, str, str]]:
        s, g, h, o = (
            schema.programme_session,
            schema.gathering,
            schema.session_host,
            schema.organisation,
        )
        query = (
            sa.select(s.c.title, s.c.starts_at, s.c.room_id, o.c.short_name, s.c.access)
            .join(g, g.c.id == s.c.gathering_id)
            .join(h, (h.c.session_id == s.c.id) & (h.c.role == "host"))
            .join(o, o.c.id == h.c.organisation_id)
            .where(g.c.slug == "labour-conference-2019")
            .order_by(s.c.starts_at)
        )
        return [tuple(row) for row in (await conn.execute(query)).all()]

    rows = await db.read(_read)
    local = [
        (title, start.astimezone(LONDON).strftime("%a %d %b %H:%M"), room, host, access)
        for title, start, room, host, access in rows
    ]
    assert local == [
        ("Let's Talk about Palestine", "Sun 22 Sep 17:30", None, "JVL", "public"),
        ("What kind of Labour Left do we need?", "Mon 23 Sep 18:30", None, "LRC", "public"),
        ("Labour Against the Witchhunt fringe meeting", "Tue 24 Sep 19:00", None, "LAW", "public"),
        (
            "Labour Left Alliance networking meeting for all signatories",
            "Wed 25 Sep 15:00",
            None,
            "LLA",
            "supporters",
        ),
    ]
    # Stored in UTC: 17:30 BST is 16:30 UTC.
    assert rows[0][1] == dt.datetime(2019, 9, 22, 16, 30, tzinfo=dt.UTC)

    async def _speakers(conn: AsyncConnection) -> list[str]:
        sp, ss, s = schema.speaker, schema.session_speaker, schema.programme_session
        query = (
            sa.select(sp.c.name)
            .join(ss, ss.c.speaker_id == sp.c.id)
            .join(s, s.c.id == ss.c.session_id)
            .where(s.c.title == "Let's Talk about Palestine")
            .order_by(ss.c.position)
        )
        return list((await conn.execute(query)).scalars())

    assert await db.read(_speakers) == ["Haneen Zoabi", "Ilan Pappé", "Graham Bash"]


async def test_demo_has_a_hybrid_gathering_with_fictional_attendees(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)

    async def _read(conn: AsyncConnection) -> tuple[str, list[str]]:
        g, r = schema.gathering, schema.registration
        mode = (
            await conn.execute(sa.select(g.c.mode).where(g.c.slug == "dont-leave-organise-2021"))
        ).scalar_one()
        emails = list((await conn.execute(sa.select(r.c.email))).scalars())
        return mode, emails

    mode, emails = await db.read(_read)
    assert mode == "hybrid"
    assert emails
    assert all(email.endswith(("@example.org", "@example.net")) for email in emails)


async def test_loading_the_demo_twice_changes_nothing(db: Database) -> None:
    first = await load_demo(db, secret_key=TEST_SECRET)
    after_first = await _counts(db)
    second = await load_demo(db, secret_key=TEST_SECRET)
    assert first.inserted > 0
    assert second.inserted == 0
    assert await _counts(db) == after_first
    assert second.steward_token == first.steward_token
