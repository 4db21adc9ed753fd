"""Ids no id column can hold (2^31 and up; PostgreSQL's are 32-bit integers) are "not found" in
words on the organisers' registration page, the members page and the admin's pages, never a
500, and nothing is written."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from gathering.core import schema
from gathering.core.database import Database
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
LLA = ("organiser@example.org", "demo-organiser-password")
ADMIN = ("admin@example.org", "demo-admin-password")
REGISTRATION = "/organiser/g/labour-conference-2019/registration"
HUGE = (2**31, 3_000_000_000, 2**63 - 1)


async def _audit_count(db: Database) -> int:
    async def _read(conn: sa.ext.asyncio.AsyncConnection) -> int:
        query = sa.select(sa.func.count()).select_from(schema.audit_event)
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


def _problem(answer: httpx.Response) -> str:
    return " ".join(parse_html(answer.text).text_content().split())


async def test_huge_ids_on_the_organisers_pages_are_not_found(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    token = await csrf_from(client, REGISTRATION)
    before = await _audit_count(db)
    for huge in HUGE:
        session = await client.post(
            f"{REGISTRATION}/sessions/{huge}",
            data={"csrftoken": token, "opens_at": "", "closes_at": ""},
        )
        assert session.status_code == 404, huge
        assert "This gathering has no such session." in _problem(session)
        for path in (f"ticket-types/{huge}", f"ticket-types/{huge}/delete"):
            answer = await client.post(
                f"{REGISTRATION}/{path}", data={"csrftoken": token, "name": "Huge"}
            )
            assert answer.status_code == 404, path
            assert "This gathering has no such ticket type." in _problem(answer)
        members_token = await csrf_from(client, "/organiser/o/lla/members")
        revoke = await client.post(
            f"/organiser/o/lla/invitations/{huge}/revoke", data={"csrftoken": members_token}
        )
        assert revoke.status_code == 404, huge
        assert "There is no such invitation any more." in _problem(revoke)
    assert await _audit_count(db) == before  # nothing changed, nothing audited


async def test_huge_ids_on_the_admins_pages_are_not_found(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *ADMIN)
    for huge in HUGE:
        for path in (f"/admin/ticket-types/{huge}", f"/admin/gatherings/{huge}"):
            answer = await client.get(path)
            assert answer.status_code == 404, path
            assert texts(parse_html(answer.text), "//h1"), path
        token = await csrf_from(client, "/admin/gatherings/new")
        deleted = await client.post(f"/admin/ticket-types/{huge}/delete", data={"csrftoken": token})
        assert deleted.status_code == 404, huge
        assert "There is no such ticket type" in _problem(deleted)
