"""Queries for the door: steward passes, the sessions they cover, ticket look-ups and the
help desk's candidates. Check-ins, scans and counts are in ``gathering.door.move_queries``.

Every function returns typed rows (named tuples built from the statement's columns, in order).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import prepared
from gathering.core.schema import (
    account,
    gathering,
    membership,
    programme_session,
    registration,
    session_host,
    session_place,
    steward_pass,
    steward_pass_session,
    ticket_type,
)


class StewardPass(NamedTuple):
    """A steward pass with its gathering's dates and zone (the door's opening hours)."""

    id: int
    gathering_id: int
    label: str
    pin_hash: str
    all_sessions: bool
    valid_from: dt.datetime
    valid_until: dt.datetime
    revoked_at: dt.datetime | None
    created_by: int | None
    # Made by the network admin or on the command line (no account): it may cover every
    # session. Otherwise it covers only sessions its maker's organisations host (issue 14).
    made_by_admin: bool
    gathering_starts_on: dt.date
    gathering_ends_on: dt.date
    gathering_timezone: str


class PassGathering(NamedTuple):
    id: int
    slug: str
    title: str
    timezone: str


class CoveredSession(NamedTuple):
    id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    allow_reentry: bool
    capacity: int | None


class DoorPerson(NamedTuple):
    """A registration as the door sees it."""

    id: int
    name: str
    status: str
    answers: object  # the registration's answers (JSON): the door reads only access needs
    share_access_needs: bool
    ticket_type: str | None


class Candidate(NamedTuple):
    """Someone the help desk may find: a live registration with a place in the pass's scope."""

    id: int
    name: str
    ticket_type: str | None
    place: str | None  # their place at the session searched (None: the whole gathering)


# Built once: a scan runs these, 16 stewards at a time, and building a statement costs more
# than SQLAlchemy's compiled cache then saves (bench/RESULTS.md).
_PASS = sa.select(
    steward_pass.c.id,
    steward_pass.c.gathering_id,
    steward_pass.c.label,
    steward_pass.c.pin_hash,
    steward_pass.c.all_sessions,
    steward_pass.c.valid_from,
    steward_pass.c.valid_until,
    steward_pass.c.revoked_at,
    steward_pass.c.created_by,
    account.c.is_admin,
    gathering.c.starts_on,
    gathering.c.ends_on,
    gathering.c.timezone,
).select_from(
    steward_pass.join(gathering, gathering.c.id == steward_pass.c.gathering_id).outerjoin(
        account, account.c.id == steward_pass.c.created_by
    )
)
_PASS_BY_ID = _PASS.where(steward_pass.c.id == sa.bindparam("pass_id"))
_PASS_BY_TOKEN_HASH = _PASS.where(steward_pass.c.token_hash == sa.bindparam("token_hash"))
_GATHERING_FOR_PASS = sa.select(
    gathering.c.id, gathering.c.slug, gathering.c.title, gathering.c.timezone
).where(gathering.c.id == sa.bindparam("gathering_id"))


def _steward_pass(row: Sequence[Any] | None) -> StewardPass | None:
    """The typed pass from a row of ``_PASS`` (the maker's admin flag folded in)."""
    if row is None:
        return None
    (
        pass_id,
        gathering_id,
        label,
        pin_hash,
        all_sessions,
        valid_from,
        valid_until,
        revoked_at,
        created_by,
        is_admin,
        starts_on,
        ends_on,
        timezone,
    ) = row
    return StewardPass(
        pass_id,
        gathering_id,
        label,
        pin_hash,
        bool(all_sessions),
        valid_from,
        valid_until,
        revoked_at,
        created_by,
        created_by is None or bool(is_admin),
        starts_on,
        ends_on,
        timezone,
    )


async def pass_by_id(conn: AsyncConnection, pass_id: int) -> StewardPass | None:
    """The pass with its gathering's dates and zone, or None."""
    return _steward_pass(await prepared.first(conn, _PASS_BY_ID, {"pass_id": pass_id}))


async def pass_by_token_hash(conn: AsyncConnection, token_hash: str) -> StewardPass | None:
    """The pass whose link token has this SHA-256, or None."""
    values = {"token_hash": token_hash}
    return _steward_pass(await prepared.first(conn, _PASS_BY_TOKEN_HASH, values))


async def gathering_for_pass(conn: AsyncConnection, gathering_id: int) -> PassGathering:
    """The pass's gathering: what a steward's phone may show of it."""
    row = (await conn.execute(_GATHERING_FOR_PASS, {"gathering_id": gathering_id})).one()
    return PassGathering._make(row)


def hosted_by_maker(pass_row: StewardPass) -> sa.Select[Any] | None:
    """Ids of the sessions the pass's maker may see the attendee list of (None: every one).

    Read at every use, so a session added later, or a change of hosts, never widens a pass
    beyond what its maker may see (see ``gathering.organiser.attendees``)."""
    if pass_row.made_by_admin:
        return None
    return (
        sa.select(session_host.c.session_id)
        .join(membership, membership.c.organisation_id == session_host.c.organisation_id)
        .where(
            membership.c.account_id == pass_row.created_by,
            membership.c.role == "organiser",  # a maker now only a viewer sees no one (issue 16)
            session_host.c.role == "host",
        )
    )


def _covered(pass_row: StewardPass, column: sa.ColumnElement[int]) -> list[sa.ColumnElement[bool]]:
    """Conditions on a session id ``column``: the pass covers that session."""
    conditions: list[sa.ColumnElement[bool]] = []
    if not pass_row.all_sessions:
        listed = sa.select(steward_pass_session.c.session_id).where(
            steward_pass_session.c.pass_id == pass_row.id
        )
        conditions.append(column.in_(listed))
    hosted = hosted_by_maker(pass_row)
    if hosted is not None:
        conditions.append(column.in_(hosted))
    return conditions


def _sessions_of_pass(pass_row: StewardPass) -> sa.Select[Any]:
    return sa.select(
        programme_session.c.id,
        programme_session.c.title,
        programme_session.c.starts_at,
        programme_session.c.ends_at,
        programme_session.c.status,
        programme_session.c.allow_reentry,
        programme_session.c.capacity,
    ).where(
        programme_session.c.gathering_id == pass_row.gathering_id,
        *_covered(pass_row, programme_session.c.id),
    )


async def sessions_on_pass(conn: AsyncConnection, pass_row: StewardPass) -> list[CoveredSession]:
    """The sessions a pass may admit to, in programme order (cancelled ones included)."""
    query = _sessions_of_pass(pass_row).order_by(
        programme_session.c.starts_at, programme_session.c.id
    )
    return [CoveredSession._make(row) for row in await conn.execute(query)]


async def session_on_pass(
    conn: AsyncConnection, pass_row: StewardPass, session_id: int
) -> CoveredSession | None:
    """The session if the pass covers it (same gathering, listed unless all sessions, and
    hosted by its maker unless an admin made it)."""
    query = _sessions_of_pass(pass_row).where(programme_session.c.id == session_id)
    row = (await conn.execute(query)).first()
    return None if row is None else CoveredSession._make(row)


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


async def registration_by_code(
    conn: AsyncConnection, gathering_id: int, code: str
) -> DoorPerson | None:
    """The registration holding this ticket code in this gathering, with its ticket type name."""
    values = {"code": code, "gathering_id": gathering_id}
    row = await prepared.first(conn, _REGISTRATION_BY_CODE, values)
    return None if row is None else DoorPerson._make(row)


async def registration_by_id(
    conn: AsyncConnection, gathering_id: int, registration_id: int
) -> DoorPerson | None:
    """Like registration_by_code, for a help-desk match (by id, still only in this gathering)."""
    query = _door_person().where(
        registration.c.id == registration_id,
        registration.c.gathering_id == gathering_id,
        registration.c.anonymised_at.is_(None),  # purged people keep a status, not a name
    )
    row = (await conn.execute(query)).first()
    return None if row is None else DoorPerson._make(row)


async def registration_name(conn: AsyncConnection, registration_id: int) -> str:
    query = sa.select(registration.c.name).where(registration.c.id == registration_id)
    return str((await conn.execute(query)).scalar() or "")


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


async def door_candidates(
    conn: AsyncConnection, pass_row: StewardPass, session_id: int | None, *, email: str | None
) -> list[Candidate]:
    """Confirmed registrations with a place (not a waiting-list entry) in scope, for the help
    desk: at the session given, else at one of the pass's sessions; for an all-sessions pass
    without a session, anyone confirmed for the gathering (its own door)."""
    columns = [
        registration.c.id,
        registration.c.name,
        ticket_type.c.name.label("ticket_type"),
    ]
    where: list[sa.ColumnElement[bool]] = [
        registration.c.gathering_id == pass_row.gathering_id,
        registration.c.status == "confirmed",
        registration.c.anonymised_at.is_(None),
    ]
    if email is not None:
        where.append(sa.func.lower(registration.c.email) == email)
    joined = registration.outerjoin(ticket_type)
    has_place = session_place.c.status == "confirmed"
    if session_id is not None:
        query = (
            sa.select(*columns, session_place.c.status.label("place"))
            .select_from(joined.join(session_place))
            .where(*where, session_place.c.session_id == session_id, has_place)
        )
    else:
        query = sa.select(*columns, sa.null().label("place")).select_from(joined).where(*where)
        if not pass_row.all_sessions:
            query = query.where(
                sa.exists().where(
                    session_place.c.registration_id == registration.c.id,
                    *_covered(pass_row, session_place.c.session_id),
                    has_place,
                )
            )
    ordered = query.order_by(registration.c.name, registration.c.id)
    return [Candidate._make(row) for row in await conn.execute(ordered)]
