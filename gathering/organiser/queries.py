"""Queries for the organiser dashboard, a session's attendee list and contact export, and messages
to a session's registrants.

Counts come grouped from the database; times come back as lists for the domain to put into
buckets in the gathering's own time zone (the same code on both engines).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    audit_event,
    check_in,
    consent,
    organisation,
    programme_session,
    question,
    registration,
    session_host,
    session_place,
    ticket_type,
)

LIVE = ("pending", "confirmed")  # registrations still holding their places
CONTACT = "contact"  # consent purpose: "<organisation> may contact me about its work"
_MOVES = ("entry", "exit")


def _live_entry() -> list[sa.ColumnElement[bool]]:
    return [check_in.c.kind == "entry", check_in.c.undone_at.is_(None)]


# --- sessions and hosts ---------------------------------------------------------------------------


async def sessions_of_gathering(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
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
    return (await conn.execute(query)).all()


async def session_row(conn: AsyncConnection, session_id: int) -> Any:
    query = sa.select(
        programme_session.c.id,
        programme_session.c.gathering_id,
        programme_session.c.title,
        programme_session.c.starts_at,
        programme_session.c.ends_at,
        programme_session.c.status,
        programme_session.c.capacity,
    ).where(programme_session.c.id == session_id)
    return (await conn.execute(query)).first()


async def hosts_of_sessions(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
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
    return (await conn.execute(query)).all()


async def hosts_of_session(conn: AsyncConnection, session_id: int) -> Sequence[Any]:
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
    return (await conn.execute(query)).all()


async def question_keys(conn: AsyncConnection, gathering_id: int) -> set[str]:
    query = sa.select(question.c.key).where(question.c.gathering_id == gathering_id)
    return set((await conn.execute(query)).scalars())


# --- counts ---------------------------------------------------------------------------------------


async def place_counts(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
    """(session id, place status, count) over the gathering's sessions."""
    query = (
        sa.select(session_place.c.session_id, session_place.c.status, sa.func.count())
        .join(programme_session, programme_session.c.id == session_place.c.session_id)
        .where(programme_session.c.gathering_id == gathering_id)
        .group_by(session_place.c.session_id, session_place.c.status)
    )
    return (await conn.execute(query)).all()


async def registration_counts(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
    """(registration status, count) for the gathering."""
    query = (
        sa.select(registration.c.status, sa.func.count())
        .where(registration.c.gathering_id == gathering_id)
        .group_by(registration.c.status)
    )
    return (await conn.execute(query)).all()


async def arrived_counts(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
    """(session id or None for the gathering's own door, people with a live entry there)."""
    query = (
        sa.select(check_in.c.session_id, sa.func.count(sa.distinct(check_in.c.registration_id)))
        .join(registration, registration.c.id == check_in.c.registration_id)
        .where(registration.c.gathering_id == gathering_id, *_live_entry())
        .group_by(check_in.c.session_id)
    )
    return (await conn.execute(query)).all()


async def arrived_anywhere(conn: AsyncConnection, gathering_id: int) -> int:
    """People with a live entry through any door of the gathering."""
    query = (
        sa.select(sa.func.count(sa.distinct(check_in.c.registration_id)))
        .join(registration, registration.c.id == check_in.c.registration_id)
        .where(registration.c.gathering_id == gathering_id, *_live_entry())
    )
    return int((await conn.execute(query)).scalar_one())


async def inside_counts(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
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
    return (await conn.execute(query)).all()


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


async def all_ticket_types(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
    query = (
        sa.select(ticket_type.c.id, ticket_type.c.name)
        .where(ticket_type.c.gathering_id == gathering_id)
        .order_by(ticket_type.c.position, ticket_type.c.id)
    )
    return (await conn.execute(query)).all()


async def constituency_answers(
    conn: AsyncConnection, gathering_id: int, session_id: int | None
) -> list[str | None]:
    """The constituency answer (None if not given) of each person with a live registration.

    Only that one answer is read, never the rest of the answers."""
    value = registration.c.answers["constituency"].as_string()
    query = _live_people(gathering_id, session_id).add_columns(value)
    return list((await conn.execute(query)).scalars())


# --- the people of one session -----------------------------------------------------------------


def _confirmed_person_at(session_id: int) -> tuple[sa.ColumnElement[bool], ...]:
    """A place at the session held by a confirmed registration that still has its person
    (a purged one keeps its status, not its person). Joins session_place and registration."""
    return (
        session_place.c.session_id == session_id,
        registration.c.status == "confirmed",
        registration.c.anonymised_at.is_(None),
    )


def _consented_to(organisation_ids: Sequence[int]) -> sa.Exists:
    return sa.exists().where(
        consent.c.registration_id == registration.c.id,
        consent.c.purpose == CONTACT,
        consent.c.organisation_id.in_(list(organisation_ids)),
        consent.c.withdrawn_at.is_(None),
    )


async def session_people(
    conn: AsyncConnection,
    session_id: int,
    *,
    consented_to: Sequence[int] | None,
    with_access_needs: bool,
    with_ticket_type: bool,
) -> Sequence[Any]:
    """People with a place at the session whose email is confirmed, by name.

    ``consented_to``: only people with a live contact consent for one of these organisations
    (None: everyone). The ticket type is read only when asked for (None otherwise). Access needs
    are read only when asked for, and only for people who agreed to share them; the other
    answers are never read.
    """
    shared = sa.case(
        (
            registration.c.share_access_needs.is_(True),
            registration.c.answers["access_needs"].as_string(),
        ),
        else_=sa.null(),
    )
    access_needs = shared if with_access_needs else sa.null()
    ticket = ticket_type.c.name if with_ticket_type else sa.null()
    query = (
        sa.select(
            registration.c.id,
            registration.c.name,
            registration.c.email,
            ticket.label("ticket_type"),
            session_place.c.status.label("place_status"),
            access_needs.label("access_needs"),
        )
        .select_from(
            session_place.join(
                registration, registration.c.id == session_place.c.registration_id
            ).outerjoin(ticket_type, ticket_type.c.id == registration.c.ticket_type_id)
        )
        .where(
            *_confirmed_person_at(session_id),
        )
        .order_by(registration.c.name, registration.c.id)
    )
    if consented_to is not None:
        query = query.where(_consented_to(consented_to))
    return (await conn.execute(query)).all()


async def consented_people(
    conn: AsyncConnection, session_id: int, organisation_id: int
) -> Sequence[Any]:
    """(id, name, email, place status, consented at) of people with a place at the session and
    a live contact consent for this organisation, by name."""
    given = (
        sa.select(
            consent.c.registration_id,
            sa.func.min(consent.c.given_at).label("given_at"),
        )
        .where(
            consent.c.purpose == CONTACT,
            consent.c.organisation_id == organisation_id,
            consent.c.withdrawn_at.is_(None),
        )
        .group_by(consent.c.registration_id)
        .subquery()
    )
    query = (
        sa.select(
            registration.c.id,
            registration.c.name,
            registration.c.email,
            session_place.c.status.label("place_status"),
            given.c.given_at,
        )
        .select_from(
            session_place.join(
                registration, registration.c.id == session_place.c.registration_id
            ).join(given, given.c.registration_id == registration.c.id)
        )
        .where(
            *_confirmed_person_at(session_id),
        )
        .order_by(registration.c.name, registration.c.id)
    )
    return (await conn.execute(query)).all()


async def session_moves(conn: AsyncConnection, session_id: int) -> Sequence[Any]:
    """(registration id, kind, at) of every live entry and exit at the session, oldest first."""
    query = (
        sa.select(check_in.c.registration_id, check_in.c.kind, check_in.c.at)
        .where(
            check_in.c.session_id == session_id,
            check_in.c.kind.in_(_MOVES),
            check_in.c.undone_at.is_(None),
        )
        .order_by(check_in.c.id)
    )
    return (await conn.execute(query)).all()


# --- messages to registrants ------------------------------------------------------------------


async def recipients(
    conn: AsyncConnection,
    session_id: int,
    place_statuses: Sequence[str],
    *,
    consented_to: Sequence[int] | None,
) -> Sequence[Any]:
    """(id, name, email, manage key) of confirmed people whose place is in these statuses.

    ``consented_to``: only people with a live contact consent for one of these organisations
    (None: everyone)."""
    query = (
        sa.select(
            registration.c.id,
            registration.c.name,
            registration.c.email,
            registration.c.manage_key,
        )
        .join(session_place, session_place.c.registration_id == registration.c.id)
        .where(
            *_confirmed_person_at(session_id),
            session_place.c.status.in_(list(place_statuses)),
        )
        .order_by(registration.c.id)
    )
    if consented_to is not None:
        query = query.where(_consented_to(consented_to))
    return (await conn.execute(query)).all()


async def recipient_counts(
    conn: AsyncConnection, session_id: int, *, consented_to: Sequence[int] | None
) -> dict[str, int]:
    """Place status → confirmed people holding such a place at the session (only those with a
    live contact consent for one of ``consented_to``, unless None)."""
    query = (
        sa.select(session_place.c.status, sa.func.count())
        .join(registration, registration.c.id == session_place.c.registration_id)
        .where(
            *_confirmed_person_at(session_id),
        )
        .group_by(session_place.c.status)
    )
    if consented_to is not None:
        query = query.where(_consented_to(consented_to))
    return {row[0]: int(row[1]) for row in (await conn.execute(query)).all()}


async def audit_detail_with_nonce(
    conn: AsyncConnection, action: str, session_id: int, nonce: str
) -> dict[str, Any] | None:
    """The detail of an earlier audit event for this session carrying this form nonce."""
    query = (
        sa.select(audit_event.c.detail)
        .where(
            audit_event.c.action == action,
            audit_event.c.subject_kind == "session",
            audit_event.c.subject_id == session_id,
            audit_event.c.detail["nonce"].as_string() == nonce,
        )
        .limit(1)
    )
    detail = (await conn.execute(query)).scalar()
    return dict(detail) if detail is not None else None
