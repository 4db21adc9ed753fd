"""Queries for session places: taking and releasing them, holds, waiting lists, reminders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import prepared
from gathering.core.schema import programme_session, registration, session_place


class PlaceRow(NamedTuple):
    """A place as stored. ``offered_until``: until when an offer stands, or (on a pending
    registration's confirmed place) until when the place is held for it."""

    id: int
    registration_id: int
    session_id: int
    status: str  # confirmed | waitlisted | offered | cancelled
    offered_until: dt.datetime | None
    created_at: dt.datetime
    undo_until: dt.datetime | None = None  # given up, and undoable until then (issue 16)


class Registrant(NamedTuple):
    """A confirmed person with a confirmed place on ``session_id``."""

    session_id: int
    id: int
    name: str
    email: str
    manage_key: str | None


class LiveRegistrant(NamedTuple):
    """A confirmed person with a live place (confirmed, offered or waiting) on ``session_id``."""

    session_id: int
    id: int
    name: str
    email: str
    manage_key: str | None
    place_status: str
    language: str | None  # issue 18: theirs (None: unknown, their gathering's default)


class DueReminder(NamedTuple):
    id: int  # the place
    session_id: int
    registration_id: int
    name: str
    email: str
    manage_key: str | None
    gathering_id: int
    language: str | None  # issue 18: theirs (None: unknown, their gathering's default)


# Built once: every registration runs these (bench/RESULTS.md).
_TAKE_PLACE = (
    sa.update(programme_session)
    .where(
        programme_session.c.id == sa.bindparam("session_id"),
        sa.or_(
            programme_session.c.capacity.is_(None),
            programme_session.c.places_taken < programme_session.c.capacity,
        ),
    )
    .values(places_taken=programme_session.c.places_taken + 1)
    .returning(programme_session.c.id)
)
_INSERT_PLACE = sa.insert(session_place).returning(session_place.c.id)
_PLACE_COLUMNS = [session_place.c[name] for name in PlaceRow._fields]


async def take_place(conn: AsyncConnection, session_id: int) -> bool:
    """Claim one place if one is left, atomically: the condition and the increment are one
    UPDATE, so two claims for the last place cannot both succeed (on either engine)."""
    return await prepared.first(conn, _TAKE_PLACE, {"session_id": session_id}) is not None


async def release_place(conn: AsyncConnection, session_id: int) -> None:
    await conn.execute(
        sa.update(programme_session)
        .where(programme_session.c.id == session_id, programme_session.c.places_taken > 0)
        .values(places_taken=programme_session.c.places_taken - 1)
    )


async def insert_place(
    conn: AsyncConnection,
    registration_id: int,
    session_id: int,
    status: str,
    now: dt.datetime,
    *,
    held_until: dt.datetime | None = None,
) -> int:
    values = {
        "registration_id": registration_id,
        "session_id": session_id,
        "status": status,
        "offered_until": held_until,
        "created_at": now,
        "updated_at": now,
    }
    (place_id,) = await prepared.rows(conn, _INSERT_PLACE, values)
    return int(place_id[0])


async def places_of(conn: AsyncConnection, registration_id: int) -> list[PlaceRow]:
    query = (
        sa.select(*_PLACE_COLUMNS)
        .where(session_place.c.registration_id == registration_id)
        .order_by(session_place.c.id)
    )
    return [PlaceRow._make(row) for row in await conn.execute(query)]


async def place_by_id(conn: AsyncConnection, place_id: int) -> PlaceRow | None:
    row = (
        await conn.execute(sa.select(*_PLACE_COLUMNS).where(session_place.c.id == place_id))
    ).first()
    return None if row is None else PlaceRow._make(row)


async def set_place_status(
    conn: AsyncConnection,
    place_id: int,
    status: str,
    now: dt.datetime,
    *,
    from_status: str | None = None,
    offered_until: dt.datetime | None = None,
) -> bool:
    """Move a place to ``status``; with ``from_status`` only if it is still in that status."""
    query = sa.update(session_place).where(session_place.c.id == place_id)
    if from_status is not None:
        query = query.where(session_place.c.status == from_status)
    result = await conn.execute(
        query.values(status=status, updated_at=now, offered_until=offered_until).returning(
            session_place.c.id
        )
    )
    return result.first() is not None


async def next_waiting(
    conn: AsyncConnection, session_id: int, *, registration_id: int | None = None
) -> PlaceRow | None:
    """The longest-waiting place on a session's waiting list whose person has confirmed their
    address (an unconfirmed registration is never offered a place: issue 14, squatting).
    With ``registration_id``: that person's waiting place, only if nobody waits before it."""
    query = (
        sa.select(*_PLACE_COLUMNS)
        .join(registration, registration.c.id == session_place.c.registration_id)
        .where(
            session_place.c.session_id == session_id,
            session_place.c.status == "waitlisted",
            registration.c.status == "confirmed",
            registration.c.anonymised_at.is_(None),  # purged: keeps its status, has no address
        )
        .order_by(session_place.c.created_at, session_place.c.id)
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    found = PlaceRow._make(row)
    if registration_id is not None and found.registration_id != registration_id:
        return None
    return found


async def lapsed_holds(
    conn: AsyncConnection, now: dt.datetime, *, session_id: int | None = None
) -> list[PlaceRow]:
    """Places held for unconfirmed registrations past their hold (on one session, or all)."""
    query = (
        sa.select(*_PLACE_COLUMNS)
        .join(registration, registration.c.id == session_place.c.registration_id)
        .where(
            session_place.c.status == "confirmed",
            session_place.c.offered_until < now,
            registration.c.status == "pending",
        )
        .order_by(session_place.c.id)
    )
    if session_id is not None:
        query = query.where(session_place.c.session_id == session_id)
    return [PlaceRow._make(row) for row in await conn.execute(query)]


async def end_holds(conn: AsyncConnection, registration_id: int) -> None:
    """A confirmed registration's places are its own: no hold deadline any more."""
    await conn.execute(
        sa.update(session_place)
        .where(
            session_place.c.registration_id == registration_id,
            session_place.c.status == "confirmed",
            session_place.c.offered_until.is_not(None),
        )
        .values(offered_until=None)
    )


async def expired_offers(conn: AsyncConnection, now: dt.datetime) -> list[PlaceRow]:
    query = sa.select(*_PLACE_COLUMNS).where(
        session_place.c.status == "offered", session_place.c.offered_until < now
    )
    return [PlaceRow._make(row) for row in await conn.execute(query)]


async def confirmed_registrants(
    conn: AsyncConnection, session_ids: Sequence[int]
) -> list[Registrant]:
    """People holding a confirmed place on these sessions."""
    query = (
        sa.select(
            session_place.c.session_id,
            registration.c.id,
            registration.c.name,
            registration.c.email,
            registration.c.manage_key,
        )
        .join(registration, registration.c.id == session_place.c.registration_id)
        .where(
            session_place.c.session_id.in_(list(session_ids)),
            session_place.c.status == "confirmed",
            registration.c.status == "confirmed",
            registration.c.anonymised_at.is_(None),
        )
        .order_by(session_place.c.session_id, registration.c.id)
    )
    return [Registrant._make(row) for row in await conn.execute(query)]


async def live_registrants(
    conn: AsyncConnection, session_ids: Sequence[int]
) -> list[LiveRegistrant]:
    """Confirmed people with a live place (confirmed, offered or waiting) on these sessions."""
    query = (
        sa.select(
            session_place.c.session_id,
            registration.c.id,
            registration.c.name,
            registration.c.email,
            registration.c.manage_key,
            session_place.c.status,
            registration.c.language,
        )
        .join(registration, registration.c.id == session_place.c.registration_id)
        .where(
            session_place.c.session_id.in_(list(session_ids)),
            session_place.c.status.in_(["confirmed", "offered", "waitlisted"]),
            registration.c.status == "confirmed",
            registration.c.anonymised_at.is_(None),
        )
        .order_by(session_place.c.session_id, registration.c.id)
    )
    return [LiveRegistrant._make(row) for row in await conn.execute(query)]


async def places_due_a_reminder(
    conn: AsyncConnection, now: dt.datetime, until: dt.datetime
) -> list[DueReminder]:
    """Confirmed places of confirmed people on live sessions starting in [now, until), not yet
    reminded."""
    query = (
        sa.select(
            session_place.c.id,
            session_place.c.session_id,
            registration.c.id.label("registration_id"),
            registration.c.name,
            registration.c.email,
            registration.c.manage_key,
            registration.c.gathering_id,
            registration.c.language,
        )
        .join(registration, registration.c.id == session_place.c.registration_id)
        .join(programme_session, programme_session.c.id == session_place.c.session_id)
        .where(
            session_place.c.status == "confirmed",
            session_place.c.reminded_at.is_(None),
            registration.c.status == "confirmed",
            registration.c.anonymised_at.is_(None),
            programme_session.c.status == "published",
            programme_session.c.starts_at >= now,
            programme_session.c.starts_at < until,
        )
        .order_by(programme_session.c.starts_at, session_place.c.id)
    )
    return [DueReminder._make(row) for row in await conn.execute(query)]


async def mark_reminded(conn: AsyncConnection, place_id: int, now: dt.datetime) -> bool:
    result = await conn.execute(
        sa.update(session_place)
        .where(session_place.c.id == place_id, session_place.c.reminded_at.is_(None))
        .values(reminded_at=now)
        .returning(session_place.c.id)
    )
    return result.first() is not None


# --- issue 16: places added from the manage link, and giving up with an undo window ----------


async def reopen_place(conn: AsyncConnection, place_id: int, status: str, now: dt.datetime) -> bool:
    """A place given up for good (its undo window over) booked again: at the back of the queue,
    as a new place would be (``created_at`` is its place in the waiting list)."""
    result = await conn.execute(
        sa.update(session_place)
        .where(
            session_place.c.id == place_id,
            session_place.c.status == "cancelled",
            session_place.c.undo_until.is_(None),
        )
        .values(
            status=status,
            created_at=now,
            updated_at=now,
            offered_until=None,
            reminded_at=None,
            undo_status=None,
        )
        .returning(session_place.c.id)
    )
    return result.first() is not None


async def give_up_place(
    conn: AsyncConnection, place_id: int, now: dt.datetime, undo_until: dt.datetime
) -> bool:
    """Mark a live place given up, undoable until ``undo_until``; what it was is kept in
    ``undo_status`` (the SET reads the row's old status). A seat it held stays taken."""
    result = await conn.execute(
        sa.update(session_place)
        .where(
            session_place.c.id == place_id,
            session_place.c.status.in_(["confirmed", "waitlisted", "offered"]),
        )
        .values(
            status="cancelled",
            undo_status=session_place.c.status,
            undo_until=undo_until,
            updated_at=now,
        )
        .returning(session_place.c.id)
    )
    return result.first() is not None


async def undo_give_up(
    conn: AsyncConnection, place_id: int, now: dt.datetime, *, batch: dt.datetime | None = None
) -> str | None:
    """Take back a place given up, if its undo window is still open; the status it is back to.
    With ``batch``: only if it was given up with that deadline (by one whole cancellation)."""
    query = sa.update(session_place).where(
        session_place.c.id == place_id,
        session_place.c.status == "cancelled",
        session_place.c.undo_until > now,
    )
    if batch is not None:
        query = query.where(session_place.c.undo_until == batch)
    result = await conn.execute(
        query.values(
            status=session_place.c.undo_status, undo_status=None, undo_until=None, updated_at=now
        ).returning(session_place.c.status)
    )
    found = result.first()
    return None if found is None else str(found[0])


class GivenUp(NamedTuple):
    id: int
    registration_id: int
    session_id: int
    undo_status: str | None  # what the place was: a seat is held for confirmed and offered
    undo_until: dt.datetime


_GIVEN_UP_COLUMNS = [session_place.c[name] for name in GivenUp._fields]


async def given_up_places(
    conn: AsyncConnection,
    *,
    due_by: dt.datetime | None = None,
    registration_id: int | None = None,
) -> list[GivenUp]:
    """Places given up whose undo window is still marked: those due by ``due_by``, or all of
    one registration's."""
    query = sa.select(*_GIVEN_UP_COLUMNS).where(
        session_place.c.status == "cancelled", session_place.c.undo_until.is_not(None)
    )
    if due_by is not None:
        query = query.where(session_place.c.undo_until <= due_by)
    if registration_id is not None:
        query = query.where(session_place.c.registration_id == registration_id)
    return [GivenUp._make(row) for row in await conn.execute(query.order_by(session_place.c.id))]


async def end_undo_window(conn: AsyncConnection, place_id: int) -> bool:
    """Close a given-up place's undo window (once: a concurrent undo or closing loses)."""
    result = await conn.execute(
        sa.update(session_place)
        .where(
            session_place.c.id == place_id,
            session_place.c.status == "cancelled",
            session_place.c.undo_until.is_not(None),
        )
        .values(undo_status=None, undo_until=None)
        .returning(session_place.c.id)
    )
    return result.first() is not None
