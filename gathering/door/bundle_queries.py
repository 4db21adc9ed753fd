"""Queries for the door's offline bundle (issue 15): the tickets a pass may admit, their
confirmed places, and the codes a queued offline scan's keyed hash is matched against."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    check_in,
    door_conflict,
    programme_session,
    registration,
    session_place,
    ticket_type,
)
from gathering.door.queries import StewardPass


class BundleTicket(NamedTuple):
    """A ticket as the offline bundle carries it (sealed there, never in the clear)."""

    id: int
    code: str
    name: str
    status: str
    answers: object  # the registration's answers (JSON): only access needs are read
    share_access_needs: bool
    ticket_type: str | None


class Place(NamedTuple):
    registration_id: int
    session_id: int


class TicketCode(NamedTuple):
    id: int
    code: str


def _live(pass_row: StewardPass) -> list[sa.ColumnElement[bool]]:
    return [
        registration.c.gathering_id == pass_row.gathering_id,
        registration.c.anonymised_at.is_(None),
        registration.c.ticket_code.is_not(None),
    ]


async def bundle_tickets(
    conn: AsyncConnection, pass_row: StewardPass, session_ids: list[int]
) -> list[BundleTicket]:
    """The tickets the pass may be shown: everyone's of the gathering for a pass of all sessions
    (it keeps the gathering's own door), else those with a place at one of ``session_ids``."""
    query = (
        sa.select(
            registration.c.id,
            registration.c.ticket_code,
            registration.c.name,
            registration.c.status,
            registration.c.answers,
            registration.c.share_access_needs,
            ticket_type.c.name.label("ticket_type"),
        )
        .select_from(registration.outerjoin(ticket_type))
        .where(*_live(pass_row))
        .order_by(registration.c.id)
    )
    if not pass_row.all_sessions:
        query = query.where(
            sa.exists().where(
                session_place.c.registration_id == registration.c.id,
                session_place.c.session_id.in_(session_ids),
            )
        )
    return [BundleTicket._make(row) for row in await conn.execute(query)]


async def confirmed_places(
    conn: AsyncConnection, pass_row: StewardPass, session_ids: list[int]
) -> list[Place]:
    """Confirmed places at ``session_ids`` of the pass's gathering."""
    if not session_ids:
        return []
    query = (
        sa.select(session_place.c.registration_id, session_place.c.session_id)
        .select_from(session_place.join(registration))
        .where(
            *_live(pass_row),
            session_place.c.session_id.in_(session_ids),
            session_place.c.status == "confirmed",
        )
    )
    return [Place._make(row) for row in await conn.execute(query)]


async def ticket_codes(conn: AsyncConnection, pass_row: StewardPass) -> list[TicketCode]:
    """Every live ticket code of the pass's gathering, for matching queued scans' hashes."""
    query = sa.select(registration.c.id, registration.c.ticket_code).where(*_live(pass_row))
    return [TicketCode._make(row) for row in await conn.execute(query)]


async def insert_conflict(
    conn: AsyncConnection,
    *,
    gathering_id: int,
    registration_id: int,
    session_id: int | None,
    check_in_id: int | None,
    pass_id: int,
    door: str,
    at: dt.datetime,
    recorded_at: dt.datetime,
    client_nonce: str,
) -> None:
    """One "admitted twice while offline" entry."""
    await conn.execute(
        sa.insert(door_conflict).values(
            gathering_id=gathering_id,
            registration_id=registration_id,
            session_id=session_id,
            check_in_id=check_in_id,
            pass_id=pass_id,
            door=door,
            at=at,
            recorded_at=recorded_at,
            client_nonce=client_nonce,
        )
    )


class DoorConflict(NamedTuple):
    """A ticket admitted twice while offline, as organisers see it: where and when, no one named."""

    session_title: str | None  # None: the gathering's own door
    door: str
    first_at: dt.datetime | None  # the admission that stands
    at: dt.datetime  # the second phone's


async def conflicts_of_gathering(conn: AsyncConnection, gathering_id: int) -> list[DoorConflict]:
    """The gathering's "admitted twice while offline" entries, newest first."""
    query = (
        sa.select(
            programme_session.c.title,
            door_conflict.c.door,
            check_in.c.at.label("first_at"),
            door_conflict.c.at,
        )
        .select_from(
            door_conflict.outerjoin(programme_session).outerjoin(
                check_in, check_in.c.id == door_conflict.c.check_in_id
            )
        )
        .where(door_conflict.c.gathering_id == gathering_id)
        .order_by(door_conflict.c.at.desc(), door_conflict.c.id.desc())
        .limit(200)
    )
    return [DoorConflict._make(row) for row in await conn.execute(query)]
