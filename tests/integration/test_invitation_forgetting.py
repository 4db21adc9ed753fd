"""Organiser invitations are forgotten by housekeeping, and their links leave the outbox (issue 16
review): ended invitations go after 30 days with no new invitation sent; a sent invitation mail's
outbox row keeps only that it went; an unsent one whose invitation ended is never sent."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gathering import housekeeping
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.permissions import Actor
from gathering.organiser import members
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import sign_in
from tests.integration.test_members import (  # noqa: F401 (the fixtures are used by name)
    LLA,
    SMTPServer,
    _execute,
    _invite,
    _link,
    _received,
    _rows,
    settings,
    smtp_server,
)
from tests.integration.test_registration_changes import LINKS

pytestmark = pytest.mark.anyio
ACCEPT_URL = "http://127.0.0.1:8000/invitation/{token}"


async def _run_housekeeping(db: Database) -> None:
    await housekeeping.run_once(db, LINKS, offer_hours=24, reminder_hours=24)


async def _invitation_mails(db: Database) -> list[Any]:
    o = schema.outbox
    return await _rows(db, sa.select(o).where(o.c.kind == "organiser_invitation").order_by(o.c.id))


async def test_housekeeping_forgets_ended_invitations_after_thirty_days(
    db: Database,
    client: httpx.AsyncClient,
    smtp_server: SMTPServer,  # noqa: F811
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    for email in ("old@example.org", "recent@example.org", "lapsed@example.org"):
        await _invite(client, email, "viewer")
    i = schema.organiser_invitation
    now = dt.datetime.now(dt.UTC)
    await _execute(
        db,
        sa.update(i)
        .where(i.c.email == "old@example.org")
        .values(revoked_at=now - dt.timedelta(days=31)),
        sa.update(i)
        .where(i.c.email == "recent@example.org")
        .values(revoked_at=now - dt.timedelta(days=29)),
        sa.update(i)
        .where(i.c.email == "lapsed@example.org")
        .values(created_at=now - dt.timedelta(days=40), expires_at=now - dt.timedelta(days=31)),
    )
    await _run_housekeeping(db)  # no new invitation is sent
    assert [e for (e,) in await _rows(db, sa.select(i.c.email))] == ["recent@example.org"]


async def test_a_sent_invitation_mail_keeps_no_usable_link(
    db: Database,
    client: httpx.AsyncClient,
    smtp_server: SMTPServer,  # noqa: F811
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    await _invite(client, "new@example.org", "viewer")
    [mail] = await _received(smtp_server, 1)
    path = _link(mail)
    token = path.rsplit("/", 1)[1]
    for _ in range(200):  # the sender records the mail as sent just after the SMTP answer
        if (await _invitation_mails(db))[0].sent_at is not None:
            break
        await asyncio.sleep(0.05)
    [queued] = await _invitation_mails(db)
    assert queued.sent_at is not None
    assert token in str(queued.context)  # until housekeeping's next turn
    await _run_housekeeping(db)
    [row] = await _invitation_mails(db)
    assert row.context is None
    assert (row.subject, row.body_text, row.body_html) == ("", "", "")
    assert token not in str(tuple(row))
    assert row.to_address == "new@example.org" and row.sent_at is not None  # that it went
    assert (await client.get(path)).status_code == 200  # the mailed link itself still works


async def _lla_organiser(db: Database) -> Actor:
    a, m = schema.account, schema.membership
    [row] = await _rows(
        db,
        sa.select(a.c.id, a.c.email, a.c.display_name, m.c.organisation_id)
        .join(m, m.c.account_id == a.c.id)
        .where(a.c.email == LLA[0]),
    )
    return Actor(row.id, row.email, row.display_name, False, frozenset({row.organisation_id}))


async def test_an_unsent_invitation_mail_goes_when_its_invitation_ends(db: Database) -> None:
    """No app runs here, so no sender: the mails stay queued."""
    await load_demo(db, secret_key=TEST_SECRET)
    actor = await _lla_organiser(db)

    async def invite(email: str) -> int:
        await members.invite(
            db,
            actor,
            "lla",
            email=email,
            role="viewer",
            secret_key=TEST_SECRET,
            accept_url=ACCEPT_URL,
        )
        i = schema.organiser_invitation
        [(found,)] = await _rows(db, sa.select(i.c.id).where(i.c.email == email))
        return int(found)

    withdrawn = await invite("withdrawn@example.org")
    lapsing = await invite("lapsing@example.org")
    kept = await invite("kept@example.org")
    assert len(await _invitation_mails(db)) == 3
    await members.revoke(db, actor, "lla", withdrawn)
    assert [m.to_address for m in await _invitation_mails(db)] == [
        "lapsing@example.org",
        "kept@example.org",
    ]
    i = schema.organiser_invitation
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await _execute(db, sa.update(i).where(i.c.id == lapsing).values(expires_at=past))
    await _run_housekeeping(db)
    [left] = await _invitation_mails(db)
    assert left.to_address == "kept@example.org"
    assert left.context["invitation_id"] == kept and "accept_url" in left.context
