"""Queries for the door: steward passes, ticket look-ups, check-ins, scans and door counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    check_in,
    gathering,
    programme_session,
    registration,
    scan,
    session_place,
    steward_pass,
    steward_pass_session,
    throttle,
    ticket_type,
)

# Check-in kinds that change whether someone is inside; "undo" rows never do.
_MOVES = ("entry", "exit")
# PostgreSQL channel telling every replica's scan pages that a gathering's counts changed.
DOOR_CHANNEL = "gathering_door"


async def notify_door(conn: AsyncConnection, gathering_id: int) -> None:
    """On PostgreSQL, NOTIFY the door channel; delivered when (and only if) the unit commits.

    SQLite has no such thing; there the web layer wakes this process's scan pages after commit.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_notify(DOOR_CHANNEL, str(gathering_id))))


# Built once: a scan runs these, 16 stewards at a time, and building a statement costs more
# than SQLAlchemy's compiled cache then saves (bench/RESULTS.md).
_PASS_BY_TOKEN_HASH = sa.select(steward_pass).where(
    steward_pass.c.token_hash == sa.bindparam("token_hash")
)
_PASS_BY_ID = sa.select(steward_pass).where(steward_pass.c.id == sa.bindparam("pass_id"))
_GATHERING_FOR_PASS = sa.select(
    gathering.c.id,
    gathering.c.slug,
    gathering.c.title,
    gathering.c.starts_on,
    gathering.c.ends_on,
    gathering.c.timezone,
).where(gathering.c.id == sa.bindparam("gathering_id"))


_PASS_FOR_SCAN = (
    sa.select(
        steward_pass,
        gathering.c.starts_on.label("gathering_starts_on"),
        gathering.c.ends_on.label("gathering_ends_on"),
        gathering.c.timezone.label("gathering_timezone"),
    )
    .join(gathering, gathering.c.id == steward_pass.c.gathering_id)
    .where(steward_pass.c.id == sa.bindparam("pass_id"))
)


async def pass_for_scan(conn: AsyncConnection, pass_id: int) -> Any:
    """The pass with its gathering's dates and zone (the door's opening hours), or None."""
    return (await conn.execute(_PASS_FOR_SCAN, {"pass_id": pass_id})).first()


async def pass_by_token_hash(conn: AsyncConnection, token_hash: str) -> Any:
    return (await conn.execute(_PASS_BY_TOKEN_HASH, {"token_hash": token_hash})).first()


async def pass_by_id(conn: AsyncConnection, pass_id: int) -> Any:
    return (await conn.execute(_PASS_BY_ID, {"pass_id": pass_id})).first()


async def gathering_for_pass(conn: AsyncConnection, gathering_id: int) -> Any:
    return (await conn.execute(_GATHERING_FOR_PASS, {"gathering_id": gathering_id})).first()


def _sessions_of_pass(pass_row: Any) -> sa.Select[Any]:
    query = sa.select(
        programme_session.c.id,
        programme_session.c.title,
        programme_session.c.starts_at,
        programme_session.c.ends_at,
        programme_session.c.status,
        programme_session.c.allow_reentry,
        programme_session.c.capacity,
    ).where(programme_session.c.gathering_id == pass_row.gathering_id)
    if not pass_row.all_sessions:
        listed = sa.select(steward_pass_session.c.session_id).where(
            steward_pass_session.c.pass_id == pass_row.id
        )
        query = query.where(programme_session.c.id.in_(listed))
    return query


async def sessions_on_pass(conn: AsyncConnection, pass_row: Any) -> list[Any]:
    """The sessions a pass may admit to, in programme order (cancelled ones included)."""
    query = _sessions_of_pass(pass_row).order_by(
        programme_session.c.starts_at, programme_session.c.id
    )
    return list((await conn.execute(query)).all())


async def session_on_pass(conn: AsyncConnection, pass_row: Any, session_id: int) -> Any:
    """The session if the pass covers it (same gathering, and listed unless all sessions)."""
    query = _sessions_of_pass(pass_row).where(programme_session.c.id == session_id)
    return (await conn.execute(query)).first()


async def ensure_throttle_row(conn: AsyncConnection, key: str, now: dt.datetime) -> None:
    """Create the counter row if missing, without failing when a concurrent unit just did."""
    values = {"key": key, "window_start": now, "count": 0}
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    await conn.execute(insert(throttle).values(**values).on_conflict_do_nothing())


async def refund_throttle(conn: AsyncConnection, key: str) -> None:
    """Give back one counted attempt (it turned out to be a right PIN)."""
    await conn.execute(
        sa.update(throttle)
        .where(throttle.c.key == key, throttle.c.count > 0)
        .values(count=throttle.c.count - 1)
    )


_SCAN_RESPONSE = sa.select(scan.c.response).where(
    scan.c.pass_id == sa.bindparam("pass_id"), scan.c.client_nonce == sa.bindparam("client_nonce")
)
_INSERT_SCAN = sa.insert(scan)


async def scan_response(conn: AsyncConnection, pass_id: int, client_nonce: str) -> Any:
    """The stored response of an earlier scan with this nonce by this pass, or None."""
    values = {"pass_id": pass_id, "client_nonce": client_nonce}
    return (await conn.execute(_SCAN_RESPONSE, values)).scalar()


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
    response: dict[str, Any],
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
        "response": response,
    }
    await conn.execute(_INSERT_SCAN, values)


def _door_person() -> sa.Select[Any]:
    """A registration as the door sees it: status, name, answers and ticket type name."""
    return sa.select(
        registration.c.id,
        registration.c.name,
        registration.c.status,
        registration.c.answers,
        registration.c.share_access_needs,
        ticket_type.c.name.label("ticket_type"),
    ).select_from(registration.outerjoin(ticket_type))


_REGISTRATION_BY_CODE = _door_person().where(
    registration.c.ticket_code == sa.bindparam("code"),
    registration.c.gathering_id == sa.bindparam("gathering_id"),
)


async def registration_by_code(conn: AsyncConnection, gathering_id: int, code: str) -> Any:
    """The registration holding this ticket code in this gathering, with its ticket type name."""
    values = {"code": code, "gathering_id": gathering_id}
    return (await conn.execute(_REGISTRATION_BY_CODE, values)).first()


async def lock_registration(conn: AsyncConnection, registration_id: int) -> None:
    """Hold the registration's row lock until commit, so its check-ins change one at a time.

    On PostgreSQL (READ COMMITTED for this unit) every later statement then sees what the
    previous holder committed; SQLite runs one writer at a time anyway.
    """
    if conn.dialect.name == "sqlite":
        return  # one writer at a time already (BEGIN IMMEDIATE): a statement saved per scan
    query = sa.select(registration.c.id).where(registration.c.id == registration_id)
    await conn.execute(query.with_for_update())


async def place_status(conn: AsyncConnection, registration_id: int, session_id: int) -> str | None:
    query = sa.select(session_place.c.status).where(
        session_place.c.registration_id == registration_id,
        session_place.c.session_id == session_id,
    )
    value = (await conn.execute(query)).scalar()
    return None if value is None else str(value)


def _same_session(column: sa.ColumnElement[Any], session_id: int | None) -> Any:
    return column.is_(None) if session_id is None else column == session_id


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
            check_in.c.kind.in_(_MOVES),
            check_in.c.undone_at.is_(None),
        )
        .order_by(check_in.c.id)
    )


_MOVES_OF_GATHERING = _moves(whole_gathering=True)
_MOVES_OF_SESSION = _moves(whole_gathering=False)


async def moves_of(
    conn: AsyncConnection, registration_id: int, session_id: int | None
) -> list[Any]:
    """Entries and exits (not undone) of one person for one session, oldest first."""
    if session_id is None:
        result = await conn.execute(_MOVES_OF_GATHERING, {"registration_id": registration_id})
    else:
        values = {"registration_id": registration_id, "session_id": session_id}
        result = await conn.execute(_MOVES_OF_SESSION, values)
    return list(result.all())


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
    return int((await conn.execute(_INSERT_CHECK_IN, values)).scalar_one())


_INSERT_CHECK_IN = sa.insert(check_in).returning(check_in.c.id)


async def last_move_by_pass(conn: AsyncConnection, pass_id: int) -> Any:
    """The newest entry or exit this pass recorded that is not undone, or None."""
    query = (
        sa.select(
            check_in.c.id,
            check_in.c.registration_id,
            check_in.c.session_id,
            check_in.c.kind,
            check_in.c.at,
            check_in.c.door,
        )
        .where(
            check_in.c.pass_id == pass_id,
            check_in.c.kind.in_(_MOVES),
            check_in.c.undone_at.is_(None),
        )
        .order_by(check_in.c.id.desc())
        .limit(1)
    )
    return (await conn.execute(query)).first()


async def mark_undone(conn: AsyncConnection, check_in_id: int, now: dt.datetime) -> bool:
    """Set undone_at unless it is already set; True if this call did it."""
    result = await conn.execute(
        sa.update(check_in)
        .where(check_in.c.id == check_in_id, check_in.c.undone_at.is_(None))
        .values(undone_at=now)
    )
    return result.rowcount == 1


async def registration_name(conn: AsyncConnection, registration_id: int) -> str:
    query = sa.select(registration.c.name).where(registration.c.id == registration_id)
    return str((await conn.execute(query)).scalar() or "")


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


async def registration_by_id(conn: AsyncConnection, gathering_id: int, registration_id: int) -> Any:
    """Like registration_by_code, for a help-desk match (by id, still only in this gathering)."""
    query = _door_person().where(
        registration.c.id == registration_id,
        registration.c.gathering_id == gathering_id,
        registration.c.anonymised_at.is_(None),  # purged people keep a status, not a name
    )
    return (await conn.execute(query)).first()


async def move_of_scan(conn: AsyncConnection, pass_id: int, client_nonce: str) -> Any:
    """The live entry or exit recorded by this pass's scan with that nonce, or None."""
    query = (
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
            scan.c.client_nonce == client_nonce,
            check_in.c.pass_id == pass_id,
            check_in.c.kind.in_(_MOVES),
            check_in.c.undone_at.is_(None),
        )
    )
    return (await conn.execute(query)).first()


async def door_candidates(
    conn: AsyncConnection, pass_row: Any, session_id: int | None, *, email: str | None
) -> list[Any]:
    """Confirmed registrations with a live place in scope, for the help desk: the session
    given, else the pass's sessions (or the whole gathering for an all-sessions pass)."""
    columns = [
        registration.c.id,
        registration.c.name,
        ticket_type.c.name.label("ticket_type"),
    ]
    where: list[Any] = [
        registration.c.gathering_id == pass_row.gathering_id,
        registration.c.status == "confirmed",
        registration.c.anonymised_at.is_(None),
    ]
    if email is not None:
        where.append(sa.func.lower(registration.c.email) == email)
    joined = registration.outerjoin(ticket_type)
    live = session_place.c.status.in_(("confirmed", "waitlisted", "offered"))
    if session_id is not None:
        query = (
            sa.select(*columns, session_place.c.status.label("place"))
            .select_from(joined.join(session_place))
            .where(*where, session_place.c.session_id == session_id, live)
        )
    else:
        query = sa.select(*columns, sa.null().label("place")).select_from(joined).where(*where)
        if not pass_row.all_sessions:
            listed = sa.select(steward_pass_session.c.session_id).where(
                steward_pass_session.c.pass_id == pass_row.id
            )
            query = query.where(
                sa.exists().where(
                    session_place.c.registration_id == registration.c.id,
                    session_place.c.session_id.in_(listed),
                    live,
                )
            )
    return list((await conn.execute(query.order_by(registration.c.name, registration.c.id))).all())
