"""A door that is open now: a gathering today in Europe/London, a session admitting people, one
attendee with a ticket and a steward pass valid now with a PIN. For the door pages' tests, in the
test database or in a live server's SQLite file."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import zoneinfo
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.accounts import hash_password
from gathering.core import schema
from gathering.core.database import Database
from gathering.registration.tickets import new_ticket_code

ZONE = "Europe/London"
PIN = "8642"
ATTENDEE = "Rosa Luxembourg-Smith"
TICKET_TYPE = "Solidarity"
ACCESS_NEEDS = "Step-free route, please"
SESSION_TITLE = "Organising the door test"


@dataclass(frozen=True)
class DoorData:
    slug: str
    gathering_id: int
    session_id: int
    registration_id: int
    pass_id: int
    token: str  # the steward pass link's secret
    pin: str
    code: str  # the attendee's ticket code
    name: str


async def insert_open_door(db: Database, *, now: dt.datetime | None = None) -> DoorData:
    """Insert the rows and return what a test needs to open the pass and scan the ticket."""
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(zoneinfo.ZoneInfo(ZONE)).date()
    slug = f"door-test-{secrets.token_hex(4)}"
    token = secrets.token_urlsafe(32)
    code = new_ticket_code()
    pin_hash = hash_password(PIN)

    async def _write(conn: AsyncConnection) -> DoorData:
        async def insert(table: sa.Table, **values: object) -> int:
            result = await conn.execute(table.insert().values(values))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

        gathering_id = await insert(
            schema.gathering,
            slug=slug,
            title="Door test gathering",
            starts_on=today - dt.timedelta(days=1),
            ends_on=today + dt.timedelta(days=1),
            timezone=ZONE,
            registration_open=True,
            created_at=now,
            updated_at=now,
        )
        session_id = await insert(
            schema.programme_session,
            gathering_id=gathering_id,
            title=SESSION_TITLE,
            starts_at=now - dt.timedelta(minutes=10),  # admission opened 70 minutes ago
            ends_at=now + dt.timedelta(hours=2),
            status="published",
            capacity=40,
            places_taken=1,
            created_at=now,
            updated_at=now,
        )
        ticket_type_id = await insert(
            schema.ticket_type, gathering_id=gathering_id, name=TICKET_TYPE, position=0
        )
        registration_id = await insert(
            schema.registration,
            gathering_id=gathering_id,
            name=ATTENDEE,
            email=f"rosa-{slug}@example.org",
            ticket_type_id=ticket_type_id,
            answers={"access_needs": ACCESS_NEEDS},
            share_access_needs=True,
            status="confirmed",
            ticket_code=code,
            manage_key=secrets.token_urlsafe(16),
            confirmed_at=now,
            created_at=now,
        )
        await insert(
            schema.session_place,
            registration_id=registration_id,
            session_id=session_id,
            status="confirmed",
            created_at=now,
            updated_at=now,
        )
        pass_id = await insert(
            schema.steward_pass,
            gathering_id=gathering_id,
            label="North door, test pass",
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            pin_hash=pin_hash,
            all_sessions=True,
            valid_from=now - dt.timedelta(hours=1),
            valid_until=now + dt.timedelta(hours=6),
            created_at=now,
        )
        return DoorData(
            slug, gathering_id, session_id, registration_id, pass_id, token, PIN, code, ATTENDEE
        )

    return await db.write(_write)
