"""Queries for what the door records: check-ins (entries, exits, undos), scans and the counts
they make. Passes, sessions and people are in ``gathering.door.queries``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import prepared
from gathering.core.schema import check_in, registration, scan, session_place

# Check-in kinds that change whether someone is inside; "undo" rows never do.
_MOVES = ("entry", "exit")
# PostgreSQL channel telling every replica's scan pages that a gathering's counts changed.
DOOR_CHANNEL = "gathering_door"
# The key of a stored scan answer naming the device that sent the scan (never sent back).
DEVICE_KEY = "device"


class Move(NamedTuple):
    """One entry or exit, not undone."""

    id: int
    kind: str
    at: dt.datetime
    door: str


class RecordedMove(NamedTuple):
    """An entry or exit a device recorded, as undo needs it."""

    id: int
    registration_id: int
    session_id: int | None
    kind: str
    at: dt.datetime
    door: str


async def notify_door(conn: AsyncConnection, gathering_id: int) -> None:
    """On PostgreSQL, NOTIFY the door channel; delivered when (and only if) the unit commits.

    SQLite has no such thing; there the web layer wakes this process's scan pages after commit.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_notify(DOOR_CHANNEL, str(gathering_id))))


_SCAN_RESPONSE = sa.select(scan.c.response).where(
    scan.c.pass_id == sa.bindparam("pass_id"), scan.c.client_nonce == sa.bindparam("client_nonce")
)
_INSERT_SCAN = sa.insert(scan)


async def scan_response(
    conn: AsyncConnection, pass_id: int, client_nonce: str
) -> Mapping[str, object] | None:
    """The stored answer of an earlier scan with this nonce by this pass, or None."""
    values = {"pass_id": pass_id, "client_nonce": client_nonce}
    row = await prepared.first(conn, _SCAN_RESPONSE, values)
    stored = None if row is None else row[0]
    return stored if isinstance(stored, dict) else None


async def insert_scan(
    conn: AsyncConnection,
    *,
    pass_id: int | None,
    client_nonce: str,
    at: dt.datetime,
    session_id: int | None,
    door: str,
    kind: str,
    result: str,
    reason: str,
    check_in_id: int | None,
    response: Mapping[str, object],
) -> None:
    values = {
        "pass_id": pass_id,
        "client_nonce": client_nonce,
        "at": at,
        "session_id": session_id,
        "door": door,
        "kind": kind,
        "result": result,
        "reason": reason,
        "check_in_id": check_in_id,
        "response": dict(response),
    }
    await prepared.rows(conn, _INSERT_SCAN, values)


def _moves(whole_gathering: bool) -> sa.Select[Any]:
    session = (
        check_in.c.session_id.is_(None)
        if whole_gathering
        else check_in.c.session_id == sa.bindparam("session_id")
    )
    return (
        sa.select(check_in.c.id, check_in.c.kind, check_in.c.at, check_in.c.door)
        .where(
            check_in.c.registration_id == sa.bindparam("registration_id"),
            session,
            # Written out, not an expanding parameter (rendered per call, core.prepared).
            check_in.c.kind.in_([sa.literal_column(f"'{kind}'") for kind in _MOVES]),
            check_in.c.undone_at.is_(None),
        )
        .order_by(check_in.c.id)
    )


_MOVES_OF_GATHERING = _moves(whole_gathering=True)
_MOVES_OF_SESSION = _moves(whole_gathering=False)
_INSERT_CHECK_IN = sa.insert(check_in).returning(check_in.c.id)


async def moves_of(
    conn: AsyncConnection, registration_id: int, session_id: int | None
) -> list[Move]:
    """Entries and exits (not undone) of one person for one session, oldest first."""
    if session_id is None:
        found = await prepared.rows(conn, _MOVES_OF_GATHERING, {"registration_id": registration_id})
    else:
        values = {"registration_id": registration_id, "session_id": session_id}
        found = await prepared.rows(conn, _MOVES_OF_SESSION, values)
    return [Move._make(row) for row in found]


async def insert_check_in(
    conn: AsyncConnection,
    *,
    registration_id: int,
    session_id: int | None,
    pass_id: int,
    kind: str,
    door: str,
    at: dt.datetime,
) -> int:
    values = {
        "registration_id": registration_id,
        "session_id": session_id,
        "pass_id": pass_id,
        "kind": kind,
        "door": door,
        "at": at,
    }
    (check_in_id,) = await prepared.rows(conn, _INSERT_CHECK_IN, values)
    return int(check_in_id[0])


def _recorded_by(pass_id: int, device_id: str) -> sa.Select[Any]:
    """Live entries and exits recorded by scans of this device (on this pass)."""
    return (
        sa.select(
            check_in.c.id,
            check_in.c.registration_id,
            check_in.c.session_id,
            check_in.c.kind,
            check_in.c.at,
            check_in.c.door,
        )
        .select_from(scan.join(check_in, check_in.c.id == scan.c.check_in_id))
        .where(
            scan.c.pass_id == pass_id,
            scan.c.response[DEVICE_KEY].as_string() == device_id,
            check_in.c.pass_id == pass_id,
            # Written out, not an expanding parameter (rendered per call, core.prepared).
            check_in.c.kind.in_([sa.literal_column(f"'{kind}'") for kind in _MOVES]),
            check_in.c.undone_at.is_(None),
        )
    )


async def last_move_by_device(
    conn: AsyncConnection, pass_id: int, device_id: str
) -> RecordedMove | None:
    """The newest entry or exit this device recorded that is not undone, or None."""
    query = _recorded_by(pass_id, device_id).order_by(check_in.c.id.desc()).limit(1)
    row = (await conn.execute(query)).first()
    return None if row is None else RecordedMove._make(row)


async def move_of_scan(
    conn: AsyncConnection, pass_id: int, device_id: str, client_nonce: str
) -> RecordedMove | None:
    """The live entry or exit recorded by this device's scan with that nonce, or None."""
    query = _recorded_by(pass_id, device_id).where(scan.c.client_nonce == client_nonce)
    row = (await conn.execute(query)).first()
    return None if row is None else RecordedMove._make(row)


async def mark_undone(conn: AsyncConnection, check_in_id: int, now: dt.datetime) -> bool:
    """Set undone_at unless it is already set; True if this call did it."""
    result = await conn.execute(
        sa.update(check_in)
        .where(check_in.c.id == check_in_id, check_in.c.undone_at.is_(None))
        .values(undone_at=now)
    )
    return result.rowcount == 1


def _same_session(column: sa.ColumnElement[Any], session_id: int | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if session_id is None else column == session_id


async def present_count(conn: AsyncConnection, gathering_id: int, session_id: int | None) -> int:
    """How many people are inside now: their newest live entry-or-exit is an entry."""
    newer = check_in.alias("newer")
    later_move = sa.exists().where(
        newer.c.registration_id == check_in.c.registration_id,
        _same_session(newer.c.session_id, session_id),
        newer.c.kind.in_(_MOVES),
        newer.c.undone_at.is_(None),
        newer.c.id > check_in.c.id,
    )
    query = (
        sa.select(sa.func.count(sa.distinct(check_in.c.registration_id)))
        .select_from(check_in.join(registration))
        .where(
            registration.c.gathering_id == gathering_id,
            _same_session(check_in.c.session_id, session_id),
            check_in.c.kind == "entry",
            check_in.c.undone_at.is_(None),
            ~later_move,
        )
    )
    return int((await conn.execute(query)).scalar_one())


async def registered_count(conn: AsyncConnection, gathering_id: int, session_id: int | None) -> int:
    """Confirmed registrations for the gathering, or confirmed places at the session."""
    query = sa.select(sa.func.count()).where(
        registration.c.gathering_id == gathering_id, registration.c.status == "confirmed"
    )
    if session_id is not None:
        query = query.select_from(registration.join(session_place)).where(
            session_place.c.session_id == session_id, session_place.c.status == "confirmed"
        )
    else:
        query = query.select_from(registration)
    return int((await conn.execute(query)).scalar_one())
