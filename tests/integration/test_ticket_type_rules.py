"""Ticket types and the registration window (issue 16 review): changing one's ticket type from
the manage link follows the window adding sessions follows; a ticket type deleted while someone
registers with it gives either a stored registration and "in use", or "choose a ticket type"
with nothing stored, never a 500 and never "check your email" with nothing behind it."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
import sqlalchemy as sa

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import Conflict, InvalidInput
from gathering.core.permissions import Actor
from gathering.organiser import registration_setup
from gathering.registration import changing, registering
from gathering.registration import rules as reg
from gathering.registration.limits import Limits
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, texts
from tests.integration.test_registration_changes import (
    LINKS,
    SLUG,
    WELCOME,
    _booked,
    _execute,
    _outbox,
    _rows,
    _session,
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


async def _admin(db: Database) -> Actor:
    a = schema.account
    [row] = await _rows(
        db, sa.select(a.c.id, a.c.email, a.c.display_name).where(a.c.is_admin.is_(True)).limit(1)
    )
    return Actor(row.id, row.email, row.display_name, True, frozenset())


async def _new_ticket_type(db: Database, actor: Actor, name: str) -> int:
    return await registration_setup.save_ticket_type(db, actor, SLUG, {"name": name})


def _form(email: str, ticket_type_id: int, session_id: int) -> reg.RegistrationInput:
    return reg.RegistrationInput(
        name="Race Person",
        email=email,
        ticket_type_id=str(ticket_type_id),
        session_ids=(str(session_id),),
    )


async def _registrations(db: Database, email: str) -> list[tuple[str, int | None]]:
    r = schema.registration
    rows = await _rows(db, sa.select(r.c.status, r.c.ticket_type_id).where(r.c.email == email))
    return [(row.status, row.ticket_type_id) for row in rows]


async def test_a_ticket_type_deleted_as_someone_registers_with_it(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    admin = await _admin(db)
    welcome = await _session(db, WELCOME)
    for round_ in range(6):
        kind = await _new_ticket_type(db, admin, f"Race {round_}")
        email = f"race{round_}@example.org"
        deleting = registration_setup.delete_ticket_type(db, admin, SLUG, kind)
        registering_ = reg.register(
            db, SLUG, _form(email, kind, welcome), links=LINKS, confirm_hours=24
        )
        deleted, registered = await asyncio.gather(deleting, registering_, return_exceptions=True)
        stored = await _registrations(db, email)
        t = schema.ticket_type
        left = await _rows(db, sa.select(t.c.id).where(t.c.id == kind))
        if deleted is None:  # the delete won: the registration was refused, nothing stored
            assert isinstance(registered, InvalidInput), registered
            assert registered.errors == {"ticket_type_id": "Choose a ticket type."}
            assert stored == [] and left == []
        else:  # the registration won: it is stored with its ticket type, which stays
            assert isinstance(deleted, Conflict), deleted
            assert "cannot be removed" in deleted.message
            assert isinstance(registered, reg.Registered), registered
            assert registered.registration_id is not None
            assert stored == [("pending", kind)] and len(left) == 1


async def test_a_registration_naming_a_just_deleted_ticket_type_stores_nothing(
    db: Database,
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    admin = await _admin(db)
    welcome = await _session(db, WELCOME)
    kind = await _new_ticket_type(db, admin, "Going")
    email = "late@example.org"
    accepted = await registering.accept(
        db, SLUG, _form(email, kind, welcome), secret_key=TEST_SECRET, limits=Limits()
    )
    await registration_setup.delete_ticket_type(db, admin, SLUG, kind)
    with pytest.raises(InvalidInput) as refused:
        await registering.record(db, accepted, links=LINKS, confirm_hours=24, limits=Limits())
    assert refused.value.errors == {"ticket_type_id": "Choose a ticket type."}
    assert await _registrations(db, email) == []
    assert await _outbox(db, "confirm_email", email) == []


async def test_a_registration_stored_as_its_ticket_type_is_deleted_keeps_it(
    db: Database,
) -> None:
    """The registration's insert is held open while the delete runs: the delete cannot see it,
    then finds it (PostgreSQL: the foreign key) once it commits, and answers "in use"."""
    await load_demo(db, secret_key=TEST_SECRET)
    admin = await _admin(db)
    kind = await _new_ticket_type(db, admin, "Held")
    g = schema.gathering
    [(gathering_id,)] = await _rows(db, sa.select(g.c.id).where(g.c.slug == SLUG))
    async with db.engine.connect() as held:
        await held.begin()
        await held.execute(
            sa.insert(schema.registration).values(
                gathering_id=gathering_id,
                name="Held Person",
                email="held@example.org",
                ticket_type_id=kind,
                answers={},
                status="pending",
                manage_key="held-key",
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        deleting = asyncio.create_task(registration_setup.delete_ticket_type(db, admin, SLUG, kind))
        await asyncio.sleep(0.5)  # the delete has read "unused" and waits on the row
        await held.commit()
    with pytest.raises(Conflict) as refused:
        await deleting
    assert "cannot be removed: 1 registration(s) use it" in refused.value.message
    assert await _registrations(db, "held@example.org") == [("pending", kind)]
    t = schema.ticket_type
    assert len(await _rows(db, sa.select(t.c.id).where(t.c.id == kind))) == 1
