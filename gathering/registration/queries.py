"""Queries for registrations, places, waiting lists and consents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    check_in,
    consent,
    organisation,
    outbox,
    programme_session,
    question,
    registration,
    scan,
    session_host,
    session_place,
    ticket_type,
)

# Built once: the registration form and every registration read or write these, and building
# a statement costs more than SQLAlchemy's compiled cache then saves (bench/RESULTS.md).
_TICKET_TYPES = (
    sa.select(ticket_type)
    .where(ticket_type.c.gathering_id == sa.bindparam("gathering_id"))
    .order_by(ticket_type.c.position, ticket_type.c.id)
)
_QUESTIONS = (
    sa.select(question)
    .where(question.c.gathering_id == sa.bindparam("gathering_id"))
    .order_by(question.c.position, question.c.id)
)
_HOSTING = (
    sa.select(session_host.c.organisation_id)
    .join(programme_session, programme_session.c.id == session_host.c.session_id)
    .where(programme_session.c.gathering_id == sa.bindparam("gathering_id"))
)
_CONSENT_ORGANISATIONS = (
    sa.select(organisation.c.id, organisation.c.name)
    .where(
        sa.or_(
            organisation.c.id.in_(_HOSTING),
            organisation.c.id == sa.bindparam("host_organisation_id"),
        )
    )
    .order_by(organisation.c.name)
)
_LIVE_REGISTRATION_BY_EMAIL = sa.select(registration).where(
    registration.c.gathering_id == sa.bindparam("gathering_id"),
    registration.c.email == sa.bindparam("email"),
    registration.c.status.in_(["pending", "confirmed"]),
)
_INSERT_REGISTRATION = sa.insert(registration).returning(registration.c.id)
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


async def ticket_types(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
    return (await conn.execute(_TICKET_TYPES, {"gathering_id": gathering_id})).all()


async def questions(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
    return (await conn.execute(_QUESTIONS, {"gathering_id": gathering_id})).all()


async def consent_organisations(
    conn: AsyncConnection, gathering_id: int, host_organisation_id: int | None
) -> Sequence[Any]:
    """The gathering's host and every organisation hosting or co-hosting one of its sessions."""
    values = {"gathering_id": gathering_id, "host_organisation_id": host_organisation_id}
    return (await conn.execute(_CONSENT_ORGANISATIONS, values)).all()


async def live_registration_by_email(conn: AsyncConnection, gathering_id: int, email: str) -> Any:
    values = {"gathering_id": gathering_id, "email": email}
    return (await conn.execute(_LIVE_REGISTRATION_BY_EMAIL, values)).first()


async def insert_registration(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(_INSERT_REGISTRATION, values)
    return int(result.scalar_one())


async def registration_by_id(conn: AsyncConnection, registration_id: int) -> Any:
    query = sa.select(registration).where(registration.c.id == registration_id)
    return (await conn.execute(query)).first()


async def update_registration(
    conn: AsyncConnection, registration_id: int, values: dict[str, Any]
) -> None:
    await conn.execute(
        sa.update(registration).where(registration.c.id == registration_id).values(values)
    )


async def take_place(conn: AsyncConnection, session_id: int) -> bool:
    """Claim one place if one is left, atomically: the condition and the increment are one
    UPDATE, so two claims for the last place cannot both succeed (on either engine)."""
    result = await conn.execute(_TAKE_PLACE, {"session_id": session_id})
    return result.first() is not None


async def release_place(conn: AsyncConnection, session_id: int) -> None:
    await conn.execute(
        sa.update(programme_session)
        .where(programme_session.c.id == session_id, programme_session.c.places_taken > 0)
        .values(places_taken=programme_session.c.places_taken - 1)
    )


async def insert_place(
    conn: AsyncConnection, registration_id: int, session_id: int, status: str, now: dt.datetime
) -> int:
    values = {
        "registration_id": registration_id,
        "session_id": session_id,
        "status": status,
        "created_at": now,
        "updated_at": now,
    }
    return int((await conn.execute(_INSERT_PLACE, values)).scalar_one())


async def places_of(conn: AsyncConnection, registration_id: int) -> Sequence[Any]:
    query = (
        sa.select(session_place)
        .where(session_place.c.registration_id == registration_id)
        .order_by(session_place.c.id)
    )
    return (await conn.execute(query)).all()


async def place_by_id(conn: AsyncConnection, place_id: int) -> Any:
    return (
        await conn.execute(sa.select(session_place).where(session_place.c.id == place_id))
    ).first()


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


async def next_waiting(conn: AsyncConnection, session_id: int) -> Any:
    """The longest-waiting place on a session's waiting list whose person is still live."""
    query = (
        sa.select(session_place.c.id, session_place.c.registration_id)
        .join(registration, registration.c.id == session_place.c.registration_id)
        .where(
            session_place.c.session_id == session_id,
            session_place.c.status == "waitlisted",
            registration.c.status.in_(["pending", "confirmed"]),
            registration.c.anonymised_at.is_(None),  # purged: keeps its status, has no address
        )
        .order_by(session_place.c.created_at, session_place.c.id)
        .limit(1)
    )
    return (await conn.execute(query)).first()


async def expired_pending(conn: AsyncConnection, now: dt.datetime) -> list[int]:
    query = sa.select(registration.c.id).where(
        registration.c.status == "pending", registration.c.expires_at < now
    )
    return list((await conn.execute(query)).scalars())


async def expired_offers(conn: AsyncConnection, now: dt.datetime) -> Sequence[Any]:
    query = sa.select(session_place.c.id, session_place.c.session_id).where(
        session_place.c.status == "offered", session_place.c.offered_until < now
    )
    return (await conn.execute(query)).all()


async def insert_consent(
    conn: AsyncConnection,
    registration_id: int,
    purpose: str,
    organisation_id: int | None,
    text: str,
    now: dt.datetime,
) -> None:
    await conn.execute(
        sa.insert(consent).values(
            registration_id=registration_id,
            purpose=purpose,
            organisation_id=organisation_id,
            text=text,
            given_at=now,
        )
    )


async def consents_of(conn: AsyncConnection, registration_id: int) -> Sequence[Any]:
    query = (
        sa.select(consent, organisation.c.name.label("organisation_name"))
        .outerjoin(organisation, organisation.c.id == consent.c.organisation_id)
        .where(consent.c.registration_id == registration_id)
        .order_by(consent.c.id)
    )
    return (await conn.execute(query)).all()


async def withdraw_consents(conn: AsyncConnection, registration_id: int, now: dt.datetime) -> None:
    await conn.execute(
        sa.update(consent)
        .where(consent.c.registration_id == registration_id, consent.c.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )


async def confirmed_registrants(conn: AsyncConnection, session_ids: Sequence[int]) -> Sequence[Any]:
    """(session id, registration) for people holding a confirmed place on these sessions."""
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
    return (await conn.execute(query)).all()


async def invite_code(conn: AsyncConnection, session_id: int) -> str:
    query = sa.select(programme_session.c.invite_code).where(programme_session.c.id == session_id)
    return str((await conn.execute(query)).scalar_one())


async def erase_personal_values(
    conn: AsyncConnection, registration_id: int, now: dt.datetime
) -> None:
    """Remove every personal value of a registration, keep the row for counts; stop its mail."""
    await conn.execute(
        sa.update(registration)
        .where(registration.c.id == registration_id)
        .values(
            name="",
            email=f"erased-{registration_id}@invalid",
            answers={},
            share_access_needs=False,
            ticket_code=None,
            manage_key=None,
            feed_key=None,
            status="anonymised",
            anonymised_at=now,
        )
    )
    await conn.execute(
        sa.delete(outbox).where(
            outbox.c.registration_id == registration_id, outbox.c.sent_at.is_(None)
        )
    )
    # Sent mail stays as a count of what was sent, with nothing about the person left in it.
    await conn.execute(
        sa.update(outbox)
        .where(outbox.c.registration_id == registration_id)
        .values(
            to_address=f"erased-{registration_id}@invalid",
            subject="",
            body_text="",
            body_html="",
            attachments=[],
            context=None,
            last_error="",  # a refusal may quote the address
        )
    )
    # Door scans keep their result and reason for statistics, not the name or access needs.
    scans = await conn.execute(
        sa.select(scan.c.id, scan.c.response)
        .join(check_in, check_in.c.id == scan.c.check_in_id)
        .where(check_in.c.registration_id == registration_id)
    )
    for scan_id, response in scans.all():
        kept = {k: v for k, v in (response or {}).items() if k in ("status", "reason", "at")}
        await conn.execute(sa.update(scan).where(scan.c.id == scan_id).values(response=kept))


async def confirm_pending(
    conn: AsyncConnection, registration_id: int, values: dict[str, Any]
) -> bool:
    """Confirm a registration only if it is still pending: a double-click confirms once."""
    result = await conn.execute(
        sa.update(registration)
        .where(registration.c.id == registration_id, registration.c.status == "pending")
        .values(values)
        .returning(registration.c.id)
    )
    return result.first() is not None


async def places_due_a_reminder(
    conn: AsyncConnection, now: dt.datetime, until: dt.datetime
) -> Sequence[Any]:
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
    return (await conn.execute(query)).all()


async def mark_reminded(conn: AsyncConnection, place_id: int, now: dt.datetime) -> bool:
    result = await conn.execute(
        sa.update(session_place)
        .where(session_place.c.id == place_id, session_place.c.reminded_at.is_(None))
        .values(reminded_at=now)
        .returning(session_place.c.id)
    )
    return result.first() is not None
