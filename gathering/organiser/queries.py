"""Queries for the organiser dashboard, a session's attendee list and contact export, and messages
to a session's registrants.

Counts come grouped from the database; times come back as lists for the domain to put into
buckets in the gathering's own time zone (the same code on both engines).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    check_in,
    organisation,
    programme_session,
    question,
    registration,
    session_host,
    session_place,
    ticket_type,
)

LIVE = ("pending", "confirmed")  # registrations still holding their places
_MOVES = ("entry", "exit")


# --- typed rows -----------------------------------------------------------------------------------


class GatheringSession(NamedTuple):
    id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    capacity: int | None


class SessionRow(NamedTuple):
    id: int
    gathering_id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    capacity: int | None


class SessionHostName(NamedTuple):
    session_id: int
    organisation_id: int
    role: str  # host | co_host
    name: str


class HostOfSession(NamedTuple):
    organisation_id: int
    role: str  # host | co_host
    name: str
    slug: str


class PlaceCount(NamedTuple):
    session_id: int
    status: str
    places: int


class StatusCount(NamedTuple):
    status: str
    registrations: int


class DoorCount(NamedTuple):
    session_id: int | None  # None: the gathering's own door
    people: int


class TicketTypeName(NamedTuple):
    id: int
    name: str


def _live_entry() -> list[sa.ColumnElement[bool]]:
    return [check_in.c.kind == "entry", check_in.c.undone_at.is_(None)]


# --- sessions and hosts ---------------------------------------------------------------------------


async def sessions_of_gathering(conn: AsyncConnection, gathering_id: int) -> list[GatheringSession]:
    """Every session of the gathering (drafts and cancelled ones too), in programme order."""
    query = (
        sa.select(
            programme_session.c.id,
            programme_session.c.title,
            programme_session.c.starts_at,
            programme_session.c.ends_at,
            programme_session.c.status,
            programme_session.c.capacity,
        )
        .where(programme_session.c.gathering_id == gathering_id)
        .order_by(programme_session.c.starts_at, programme_session.c.id)
    )
    return [GatheringSession(*row) for row in await conn.execute(query)]


async def session_row(conn: AsyncConnection, session_id: int) -> SessionRow | None:
    query = sa.select(
        programme_session.c.id,
        programme_session.c.gathering_id,
        programme_session.c.title,
        programme_session.c.starts_at,
        programme_session.c.ends_at,
        programme_session.c.status,
        programme_session.c.capacity,
    ).where(programme_session.c.id == session_id)
    row = (await conn.execute(query)).first()
    return None if row is None else SessionRow(*row)


async def hosts_of_sessions(conn: AsyncConnection, gathering_id: int) -> list[SessionHostName]:
    """(session id, organisation id, role, name) for every host of the gathering's sessions."""
    query = (
        sa.select(
            session_host.c.session_id,
            session_host.c.organisation_id,
            session_host.c.role,
            organisation.c.name,
        )
        .join(organisation, organisation.c.id == session_host.c.organisation_id)
        .join(programme_session, programme_session.c.id == session_host.c.session_id)
        .where(programme_session.c.gathering_id == gathering_id)
        .order_by(session_host.c.session_id, session_host.c.role.desc(), organisation.c.name)
    )
    return [SessionHostName(*row) for row in await conn.execute(query)]


async def hosts_of_session(conn: AsyncConnection, session_id: int) -> list[HostOfSession]:
    """(organisation id, role, name, slug) of the session's hosts, hosts before co-hosts."""
    query = (
        sa.select(
            session_host.c.organisation_id,
            session_host.c.role,
            organisation.c.name,
            organisation.c.slug,
        )
        .join(organisation, organisation.c.id == session_host.c.organisation_id)
        .where(session_host.c.session_id == session_id)
        .order_by(session_host.c.role.desc(), organisation.c.name)
    )
    return [HostOfSession(*row) for row in await conn.execute(query)]


async def question_keys(conn: AsyncConnection, gathering_id: int) -> set[str]:
    query = sa.select(question.c.key).where(question.c.gathering_id == gathering_id)
    return set((await conn.execute(query)).scalars())


# --- counts ---------------------------------------------------------------------------------------


async def place_counts(conn: AsyncConnection, gathering_id: int) -> list[PlaceCount]:
    """(session id, place status, count) over the gathering's sessions."""
    query = (
        sa.select(session_place.c.session_id, session_place.c.status, sa.func.count())
        .join(programme_session, programme_session.c.id == session_place.c.session_id)
        .where(programme_session.c.gathering_id == gathering_id)
        .group_by(session_place.c.session_id, session_place.c.status)
    )
    return [PlaceCount(sid, status, int(n)) for sid, status, n in await conn.execute(query)]


async def registration_counts(conn: AsyncConnection, gathering_id: int) -> list[StatusCount]:
    """(registration status, count) for the gathering."""
    query = (
        sa.select(registration.c.status, sa.func.count())
        .where(registration.c.gathering_id == gathering_id)
        .group_by(registration.c.status)
    )
    return [StatusCount(status, int(n)) for status, n in await conn.execute(query)]


async def arrived_counts(conn: AsyncConnection, gathering_id: int) -> list[DoorCount]:
    """(session id or None for the gathering's own door, people with a live entry there)."""
    query = (
        sa.select(check_in.c.session_id, sa.func.count(sa.distinct(check_in.c.registration_id)))
        .join(registration, registration.c.id == check_in.c.registration_id)
        .where(registration.c.gathering_id == gathering_id, *_live_entry())
        .group_by(check_in.c.session_id)
    )
    return [DoorCount(sid, int(n)) for sid, n in await conn.execute(query)]


async def arrived_anywhere(conn: AsyncConnection, gathering_id: int) -> int:
    """People with a live entry through any door of the gathering."""
    query = (
        sa.select(sa.func.count(sa.distinct(check_in.c.registration_id)))
        .join(registration, registration.c.id == check_in.c.registration_id)
        .where(registration.c.gathering_id == gathering_id, *_live_entry())
    )
    return int((await conn.execute(query)).scalar_one())


async def inside_counts(conn: AsyncConnection, gathering_id: int) -> list[DoorCount]:
    """(session id or None, people inside now): their newest live entry-or-exit is an entry."""
    newer = check_in.alias("newer")
    later_move = sa.exists().where(
        newer.c.registration_id == check_in.c.registration_id,
        newer.c.session_id.is_not_distinct_from(check_in.c.session_id),
        newer.c.kind.in_(_MOVES),
        newer.c.undone_at.is_(None),
        newer.c.id > check_in.c.id,
    )
    query = (
        sa.select(check_in.c.session_id, sa.func.count(sa.distinct(check_in.c.registration_id)))
        .join(registration, registration.c.id == check_in.c.registration_id)
        .where(registration.c.gathering_id == gathering_id, *_live_entry(), ~later_move)
        .group_by(check_in.c.session_id)
    )
    return [DoorCount(sid, int(n)) for sid, n in await conn.execute(query)]


# --- times for the charts ------------------------------------------------------------------------


def _counted_registrations() -> sa.ColumnElement[bool]:
    # Unconfirmed registrations that expired never were anyone: leave them out of the sign-ups.
    return sa.or_(registration.c.confirmed_at.is_not(None), registration.c.status == "pending")


async def registration_times(conn: AsyncConnection, gathering_id: int) -> list[dt.datetime]:
    """When each registration for the gathering was made (expired unconfirmed ones left out)."""
    query = sa.select(registration.c.created_at).where(
        registration.c.gathering_id == gathering_id, _counted_registrations()
    )
    return list((await conn.execute(query)).scalars())


async def place_times(conn: AsyncConnection, session_id: int) -> list[dt.datetime]:
    """When each place at the session was booked (expired unconfirmed ones left out)."""
    query = (
        sa.select(session_place.c.created_at)
        .join(registration, registration.c.id == session_place.c.registration_id)
        .where(session_place.c.session_id == session_id, _counted_registrations())
    )
    return list((await conn.execute(query)).scalars())


async def first_arrivals(
    conn: AsyncConnection, gathering_id: int, session_id: int | None
) -> list[dt.datetime]:
    """Each person's first live entry: at the session, or (``None``) through any door."""
    query = (
        sa.select(sa.func.min(check_in.c.at))
        .join(registration, registration.c.id == check_in.c.registration_id)
        .where(registration.c.gathering_id == gathering_id, *_live_entry())
        .group_by(check_in.c.registration_id)
    )
    if session_id is not None:
        query = query.where(check_in.c.session_id == session_id)
    return list((await conn.execute(query)).scalars())


# --- breakdowns (counts only) --------------------------------------------------------------------


def _live_people(gathering_id: int, session_id: int | None) -> sa.Select[Any]:
    """FROM/WHERE for people with a live registration (and a live place at the session)."""
    query = sa.select().where(
        registration.c.gathering_id == gathering_id, registration.c.status.in_(LIVE)
    )
    if session_id is None:
        return query.select_from(registration)
    return query.select_from(
        registration.join(session_place, session_place.c.registration_id == registration.c.id)
    ).where(session_place.c.session_id == session_id, session_place.c.status != "cancelled")


async def ticket_type_counts(
    conn: AsyncConnection, gathering_id: int, session_id: int | None
) -> dict[int | None, int]:
    """Ticket type id (None: no ticket type) → people with a live registration."""
    query = (
        _live_people(gathering_id, session_id)
        .add_columns(registration.c.ticket_type_id, sa.func.count())
        .group_by(registration.c.ticket_type_id)
    )
    return {row[0]: int(row[1]) for row in (await conn.execute(query)).all()}


async def all_ticket_types(conn: AsyncConnection, gathering_id: int) -> list[TicketTypeName]:
    query = (
        sa.select(ticket_type.c.id, ticket_type.c.name)
        .where(ticket_type.c.gathering_id == gathering_id)
        .order_by(ticket_type.c.position, ticket_type.c.id)
    )
    return [TicketTypeName(*row) for row in await conn.execute(query)]


async def constituency_answers(
    conn: AsyncConnection, gathering_id: int, session_id: int | None
) -> list[str | None]:
    """The constituency answer (None if not given) of each person with a live registration.

    Only that one answer is read, never the rest of the answers."""
    value = registration.c.answers["constituency"].as_string()
    query = _live_people(gathering_id, session_id).add_columns(value)
    return list((await conn.execute(query)).scalars())
