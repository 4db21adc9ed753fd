"""Queries for the people of one session: its attendee list, contact export and messages.

Only the columns a caller's scope allows are read (see ``organiser.scope``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    audit_event,
    check_in,
    consent,
    registration,
    session_place,
    ticket_type,
)

CONTACT = "contact"  # consent purpose: "<organisation> may contact me about its work"
_MOVES = ("entry", "exit")


class SessionPerson(NamedTuple):
    id: int
    name: str
    email: str
    ticket_type: str | None  # None unless asked for
    place_status: str
    access_needs: str | None  # None unless asked for and shared


class ConsentedPerson(NamedTuple):
    id: int
    name: str
    email: str
    place_status: str
    given_at: dt.datetime


class Move(NamedTuple):
    registration_id: int
    kind: str  # entry | exit
    at: dt.datetime


class Recipient(NamedTuple):
    id: int
    name: str
    email: str
    manage_key: str | None


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
) -> list[SessionPerson]:
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
    return [SessionPerson(*row) for row in await conn.execute(query)]


async def consented_people(
    conn: AsyncConnection, session_id: int, organisation_id: int
) -> list[ConsentedPerson]:
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
    return [ConsentedPerson(*row) for row in await conn.execute(query)]


async def session_moves(conn: AsyncConnection, session_id: int) -> list[Move]:
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
    return [Move(*row) for row in await conn.execute(query)]


# --- messages to registrants ------------------------------------------------------------------


async def recipients(
    conn: AsyncConnection,
    session_id: int,
    place_statuses: Sequence[str],
    *,
    consented_to: Sequence[int] | None,
) -> list[Recipient]:
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
    return [Recipient(*row) for row in await conn.execute(query)]


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


async def earlier_recipients(
    conn: AsyncConnection, action: str, session_id: int, nonce: str
) -> int | None:
    """How many people an earlier sending of this form (its nonce) went to; None if none."""
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
    if not isinstance(detail, dict):
        return None
    recipients = detail.get("recipients", 0)
    return recipients if isinstance(recipients, int) else 0
