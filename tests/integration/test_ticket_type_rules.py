"""Ticket types and the registration window (issue 16 review): changing one's ticket type from
the manage link follows the window adding sessions follows; a ticket type deleted while someone
registers with it gives either a stored registration and "in use", or "choose a ticket type"
with nothing stored, never a 500 and never "check your email" with nothing behind it."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import sqlalchemy as sa

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.demo import load_demo
from gathering.registration import changing
from tests.conftest import TEST_SECRET
from tests.helpers import csrf_from, parse_html, texts
from tests.integration.test_registration_changes import (
    LINKS,
    SLUG,
    WELCOME,
    _booked,
    _execute,
    _outbox,
    _rows,
    _ticket_type,
)

pytestmark = pytest.mark.anyio


async def _ticket_type_of(db: Database, email: str) -> str:
    r = schema.registration
    [row] = await _rows(db, sa.select(r.c.ticket_type_id).where(r.c.email == email))
    return str(row.ticket_type_id)


async def test_the_ticket_type_cannot_change_while_registration_is_closed(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    token = await _booked(db, "closed@example.org", [WELCOME])
    first, other = await _ticket_type(db, 0), await _ticket_type(db, 1)
    form = await csrf_from(client, f"/r/{token}")
    g = schema.gathering
    await _execute(db, sa.update(g).where(g.c.slug == SLUG).values(registration_open=False))
    refused = await client.post(
        f"/r/{token}/ticket-type", data={"csrftoken": form, "ticket_type_id": other}
    )
    assert refused.status_code == 422
    [said] = texts(parse_html(refused.text), "//p[@id='ticket_type_id-error']")
    assert said.startswith("Registration is not open")
    assert await _ticket_type_of(db, "closed@example.org") == first
    assert await _outbox(db, "booking_changed", "closed@example.org") == []

    # Open again, but past its closing time: the same.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await _execute(
        db,
        sa.update(g)
        .where(g.c.slug == SLUG)
        .values(registration_open=True, registration_closes_at=past),
    )
    with pytest.raises(InvalidInput) as closed:
        await changing.change_ticket_type(db, token, other, links=LINKS)
    assert "ticket_type_id" in closed.value.errors
    assert await _ticket_type_of(db, "closed@example.org") == first
