"""Mail outage: the SMTP server is down for the whole of a registration rush, then comes back.
Registrations never wait on it; afterwards every queued message is delivered, and none twice,
even with two senders (two replicas) working through the backlog at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import re
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bench import seed
from gathering.app import create_app
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.settings import Settings
from gathering.mail import sender as mailer
from tests.conftest import TEST_SECRET
from tests.faults.conftest import SMTPServer

pytestmark = pytest.mark.anyio
PEOPLE = 30
CONFIRMING = 10
CSRF = re.compile(r'name="csrftoken" value="([^"]+)"')
BASE_URL = "http://127.0.0.1:8000"


async def _outbox(db: Database) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        query = sa.select(schema.outbox).order_by(schema.outbox.c.id)
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _register(transport: httpx.ASGITransport, path: str, n: int, seeded: seed.Seeded) -> int:
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as browser:
        page = await browser.get(path)
        token = CSRF.search(page.text)
        assert token is not None
        answer = await browser.post(
            path,
            data={
                "csrftoken": token.group(1),
                "name": f"Person {n}",
                "email": f"person{n}@example.org",
                "ticket_type_id": str(seeded.ticket_type_id),
                "session_ids": str(seeded.rush_session_id),
            },
        )
        return answer.status_code


async def _confirm(transport: httpx.ASGITransport, confirm_url: str) -> int:
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as browser:
        page = await browser.get(confirm_url)
        token = CSRF.search(page.text)
        assert token is not None
        answer = await browser.post(confirm_url, data={"csrftoken": token.group(1)})
        return answer.status_code


async def _until(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.2)


async def test_mail_queued_during_an_outage_is_delivered_once_when_smtp_returns(
    db: Database, db_url: str, smtp_down: SMTPServer
) -> None:
    seeded = await seed.seed_registration(db, "mail-rush", 15)
    settings = Settings(
        database_url=db_url,
        secret_key=TEST_SECRET,
        base_url=BASE_URL,
        smtp_host="127.0.0.1",
        smtp_port=smtp_down.port,
        smtp_starttls=False,
        mail_from="Gathering <mail@127.0.0.1>",
    )
    app = create_app(settings)
    path = f"/g/{seeded.slugs[0]}/register"
    async with app.router.lifespan_context(app):  # the app's own sender runs, against nothing
        transport = httpx.ASGITransport(app=app)
        statuses = await asyncio.gather(
            *(_register(transport, path, n, seeded) for n in range(PEOPLE))
        )
        assert statuses == [200] * PEOPLE  # a dead SMTP server delays mail, never a registration
        confirm_urls = [row.context["confirm_url"] for row in (await _outbox(db))[:CONFIRMING]]
        statuses = await asyncio.gather(*(_confirm(transport, url) for url in confirm_urls))
        assert statuses == [303] * CONFIRMING

        async def tried_them_all() -> bool:
            return all(row.attempts >= 1 for row in await _outbox(db))

        await _until(tried_them_all, 60)
    during = await _outbox(db)
    assert len(during) == PEOPLE + CONFIRMING
    assert sorted({row.kind for row in during}) == ["confirm_email", "registration_confirmed"]
    for row in during:
        assert row.sent_at is None
        assert "Connect" in row.last_error or "refused" in row.last_error, row.last_error
        assert row.send_after > row.created_at  # backing off, not hammering a dead server

    smtp_down.start()
    # Later than any backoff: two senders (as on two replicas) share the backlog.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    senders = [mailer.MailSender(db, settings, clock=lambda: later, batch_size=7) for _ in range(2)]
    await asyncio.wait_for(asyncio.gather(*(s.send_until_idle() for s in senders)), timeout=120)
    await asyncio.wait_for(senders[0].send_until_idle(), timeout=60)  # nothing left to send

    received = [
        email.message_from_bytes(content, policy=email.policy.default)
        for content in smtp_down.inbox.messages
    ]
    ids = [message["Message-ID"] for message in received]
    expected = [f"<outbox-{row.id}@127.0.0.1>" for row in during]
    assert sorted(ids) == sorted(expected)  # every message, none twice
    by_id = {message["Message-ID"]: message for message in received}
    for row in during:
        message = by_id[f"<outbox-{row.id}@127.0.0.1>"]
        assert message["To"] == row.to_address
    after = await _outbox(db)
    assert all(row.sent_at is not None for row in after)
