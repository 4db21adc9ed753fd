"""Queries for what the form offers, registrations and their consents (places: place_queries)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import i18n, prepared
from gathering.core.schema import (
    check_in,
    consent,
    gathering,
    organisation,
    outbox,
    programme_session,
    public_generation,
    question,
    registration,
    scan,
    session_host,
    throttle,
    ticket_type,
)


class TicketTypeRow(NamedTuple):
    id: int
    name: str
    suggested_contribution: str


class QuestionRow(NamedTuple):
    key: str
    label: str
    help: str
    is_required: bool


class OrganisationChoice(NamedTuple):
    id: int
    name: str


class RegistrationRow(NamedTuple):
    """A registration as stored (every column)."""

    id: int
    gathering_id: int
    name: str
    email: str
    ticket_type_id: int | None
    answers: dict[str, str]
    share_access_needs: bool
    status: str  # pending | confirmed | cancelled | anonymised
    ticket_code: str | None
    manage_key: str | None
    feed_key: str | None
    confirmed_at: dt.datetime | None
    expires_at: dt.datetime | None
    anonymised_at: dt.datetime | None
    created_at: dt.datetime
    undo_until: dt.datetime | None = None  # a cancellation that may still be undone (issue 16)
    language: str | None = None  # issue 18: theirs; None: unknown (see registrant_language)


class ConsentRow(NamedTuple):
    id: int
    text: str
    organisation_name: str | None
    given_at: dt.datetime
    withdrawn_at: dt.datetime | None


class NewRegistration(NamedTuple):
    """The values of a registration being inserted."""

    gathering_id: int
    name: str
    email: str
    ticket_type_id: int | None
    answers: dict[str, str]
    share_access_needs: bool
    manage_key: str
    expires_at: dt.datetime
    created_at: dt.datetime


# Built once: the registration form and every registration read or write these, and building
# a statement costs more than SQLAlchemy's compiled cache then saves (bench/RESULTS.md).
_TICKET_TYPES = (
    sa.select(ticket_type.c.id, ticket_type.c.name, ticket_type.c.suggested_contribution)
    .where(ticket_type.c.gathering_id == sa.bindparam("gathering_id"))
    .order_by(ticket_type.c.position, ticket_type.c.id)
)
_QUESTIONS = (
    sa.select(question.c.key, question.c.label, question.c.help, question.c.is_required)
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
_REGISTRATION_COLUMNS = [registration.c[name] for name in RegistrationRow._fields]
_LIVE_REGISTRATION_BY_EMAIL = sa.select(*_REGISTRATION_COLUMNS).where(
    registration.c.gathering_id == sa.bindparam("gathering_id"),
    registration.c.email == sa.bindparam("email"),
    registration.c.status.in_(["pending", "confirmed"]),
)
_LIVE_REGISTRATION_ID = sa.select(registration.c.id).where(
    registration.c.gathering_id == sa.bindparam("gathering_id"),
    registration.c.email == sa.bindparam("email"),
    # Written out, not an expanding parameter: rendering one cost more than the statement.
    registration.c.status.in_([sa.literal_column("'pending'"), sa.literal_column("'confirmed'")]),
)
_REGISTRATION_BY_ID = sa.select(*_REGISTRATION_COLUMNS).where(
    registration.c.id == sa.bindparam("registration_id")
)
# Issue 18: the language they registered in; a reader who chose none registered in their
# gathering's default (the page they read was in it), read inside the INSERT.
_INSERT_REGISTRATION = (
    sa.insert(registration)
    .values(
        language=sa.func.coalesce(
            sa.bindparam("chosen_language", type_=sa.String),
            sa.select(gathering.c.default_language)
            .where(gathering.c.id == sa.bindparam("for_gathering"))
            .scalar_subquery(),
        )
    )
    .returning(registration.c.id)
)
_INSERT_CONSENT = sa.insert(consent)


def _registration(row: sa.Row[tuple[object, ...]] | None) -> RegistrationRow | None:
    if row is None:
        return None
    found = RegistrationRow._make(row)
    return found._replace(answers=dict(found.answers or {}))


async def ticket_types(conn: AsyncConnection, gathering_id: int) -> list[TicketTypeRow]:
    """The gathering's ticket types, in the organiser's order."""
    rows = await conn.execute(_TICKET_TYPES, {"gathering_id": gathering_id})
    return [TicketTypeRow._make(row) for row in rows]


async def questions(conn: AsyncConnection, gathering_id: int) -> list[QuestionRow]:
    """The questions the organiser enabled, in order."""
    rows = await conn.execute(_QUESTIONS, {"gathering_id": gathering_id})
    return [QuestionRow._make(row) for row in rows]


_PUBLIC_GENERATION = sa.select(public_generation.c.generation).where(public_generation.c.id == 1)


async def public_generation_number(conn: AsyncConnection) -> int | None:
    """The site's public generation (core.schema_public); None when its row is missing."""
    found = await prepared.first(conn, _PUBLIC_GENERATION, {})
    return None if found is None or found[0] is None else int(found[0])


# The generation and a gathering's places taken in one statement: the one row of the generation
# joined to the gathering's sessions (a row of NULLs for a gathering without any).
_GENERATION_AND_PLACES = (
    sa.select(
        public_generation.c.generation,
        programme_session.c.id,
        programme_session.c.places_taken,
    )
    .select_from(
        public_generation.outerjoin(
            programme_session,
            programme_session.c.gathering_id == sa.bindparam("gathering_id"),
        )
    )
    .where(public_generation.c.id == 1)
)


async def generation_and_places(
    conn: AsyncConnection, gathering_id: int
) -> tuple[int | None, dict[int, int]]:
    """The public generation (None when its row is missing) and the places taken at each of
    the gathering's sessions, by session id, read together."""
    rows = await prepared.rows(conn, _GENERATION_AND_PLACES, {"gathering_id": gathering_id})
    if not rows:
        return None, {}
    taken = {int(row[1]): int(row[2]) for row in rows if row[1] is not None}
    return int(rows[0][0]), taken


async def consent_organisations(
    conn: AsyncConnection, gathering_id: int, host_organisation_id: int | None
) -> list[OrganisationChoice]:
    """The gathering's host and every organisation hosting or co-hosting one of its sessions."""
    values = {"gathering_id": gathering_id, "host_organisation_id": host_organisation_id}
    return [
        OrganisationChoice._make(row) for row in await conn.execute(_CONSENT_ORGANISATIONS, values)
    ]


async def live_registration_by_email(
    conn: AsyncConnection, gathering_id: int, email: str
) -> RegistrationRow | None:
    """The pending or confirmed registration of ``email`` for the gathering, if any."""
    values = {"gathering_id": gathering_id, "email": email}
    return _registration((await conn.execute(_LIVE_REGISTRATION_BY_EMAIL, values)).first())


async def live_registration_id(conn: AsyncConnection, gathering_id: int, email: str) -> int | None:
    """The id of the pending or confirmed registration of ``email`` for the gathering, if any
    (the id alone: registering reads no more for a registered address than for a new one)."""
    values = {"gathering_id": gathering_id, "email": email}
    found = await prepared.first(conn, _LIVE_REGISTRATION_ID, values)
    return None if found is None else int(found[0])


async def insert_registration(conn: AsyncConnection, new: NewRegistration) -> int:
    """Insert a pending registration; its id. It keeps the request's language (issue 18): every
    mail to them is rendered in it (``mail.queries.queue_message``)."""
    chose = not i18n.page_key().startswith("?")  # an explicit or a browser's choice
    values = {
        **new._asdict(),
        "status": "pending",
        "chosen_language": i18n.current_language() if chose else None,
        "for_gathering": new.gathering_id,
    }
    (registration_id,) = await prepared.rows(conn, _INSERT_REGISTRATION, values)
    return int(registration_id[0])


_GATHERING_LANGUAGE = sa.select(gathering.c.default_language).where(
    gathering.c.id == sa.bindparam("gathering_id")
)


async def registrant_language(conn: AsyncConnection, row: RegistrationRow) -> str:
    """The language to write to them in (issue 18): theirs, else their gathering's default."""
    if row.language:
        return row.language
    values = {"gathering_id": row.gathering_id}
    found = (await conn.execute(_GATHERING_LANGUAGE, values)).scalar_one_or_none()
    return str(found or i18n.DEFAULT_LANGUAGE)


async def registration_by_id(conn: AsyncConnection, registration_id: int) -> RegistrationRow | None:
    values = {"registration_id": registration_id}
    return _registration((await conn.execute(_REGISTRATION_BY_ID, values)).first())


async def update_registration(
    conn: AsyncConnection, registration_id: int, values: Mapping[str, object]
) -> None:
    await conn.execute(
        sa.update(registration).where(registration.c.id == registration_id).values(dict(values))
    )


async def confirm_pending(
    conn: AsyncConnection, registration_id: int, ticket_code: str, now: dt.datetime
) -> bool:
    """Confirm a registration only if it is still pending: a double-click confirms once."""
    result = await conn.execute(
        sa.update(registration)
        .where(registration.c.id == registration_id, registration.c.status == "pending")
        .values(status="confirmed", ticket_code=ticket_code, confirmed_at=now, expires_at=None)
        .returning(registration.c.id)
    )
    return result.first() is not None


async def expired_pending(conn: AsyncConnection, now: dt.datetime) -> list[int]:
    query = sa.select(registration.c.id).where(
        registration.c.status == "pending", registration.c.expires_at < now
    )
    return [int(value) for value in (await conn.execute(query)).scalars()]


async def insert_consent(
    conn: AsyncConnection,
    registration_id: int,
    purpose: str,
    organisation_id: int | None,
    text: str,
    now: dt.datetime,
) -> None:
    values = {
        "registration_id": registration_id,
        "purpose": purpose,
        "organisation_id": organisation_id,
        "text": text,
        "given_at": now,
    }
    await conn.execute(_INSERT_CONSENT, values)


async def consents_of(conn: AsyncConnection, registration_id: int) -> list[ConsentRow]:
    """Every consent the person gave, withdrawn ones too, oldest first."""
    query = (
        sa.select(
            consent.c.id,
            consent.c.text,
            organisation.c.name.label("organisation_name"),
            consent.c.given_at,
            consent.c.withdrawn_at,
        )
        .outerjoin(organisation, organisation.c.id == consent.c.organisation_id)
        .where(consent.c.registration_id == registration_id)
        .order_by(consent.c.id)
    )
    return [ConsentRow._make(row) for row in await conn.execute(query)]


async def withdraw_consents(conn: AsyncConnection, registration_id: int, now: dt.datetime) -> None:
    await conn.execute(
        sa.update(consent)
        .where(consent.c.registration_id == registration_id, consent.c.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )


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


async def forget_old_counts(conn: AsyncConnection, before: dt.datetime) -> None:
    """Drop the registration form's throttle rows whose window began before ``before``."""
    await conn.execute(
        sa.delete(throttle).where(
            throttle.c.key.startswith("registration-"), throttle.c.window_start < before
        )
    )


# --- issue 16: a whole registration cancelled, undoable for a few minutes --------------------


async def cancel_undoably(
    conn: AsyncConnection, registration_id: int, undo_until: dt.datetime
) -> bool:
    """Cancel a live registration, keeping its ticket code until ``undo_until`` (the door
    refuses a cancelled registration meanwhile)."""
    result = await conn.execute(
        sa.update(registration)
        .where(
            registration.c.id == registration_id,
            registration.c.status.in_(["pending", "confirmed"]),
        )
        .values(status="cancelled", undo_until=undo_until)
        .returning(registration.c.id)
    )
    return result.first() is not None


async def undo_cancellation(
    conn: AsyncConnection, registration_id: int, status: str, now: dt.datetime
) -> bool:
    """Restore a cancelled registration to ``status`` while its undo window is open."""
    result = await conn.execute(
        sa.update(registration)
        .where(
            registration.c.id == registration_id,
            registration.c.status == "cancelled",
            registration.c.undo_until > now,
        )
        .values(status=status, undo_until=None)
        .returning(registration.c.id)
    )
    return result.first() is not None


async def lapsed_cancellations(conn: AsyncConnection, now: dt.datetime) -> list[int]:
    query = sa.select(registration.c.id).where(
        registration.c.status == "cancelled", registration.c.undo_until <= now
    )
    return [int(value) for value in (await conn.execute(query)).scalars()]


async def end_cancellation(conn: AsyncConnection, registration_id: int) -> bool:
    """Make a cancellation final: the undo window closes and the ticket code goes (once)."""
    result = await conn.execute(
        sa.update(registration)
        .where(
            registration.c.id == registration_id,
            registration.c.status == "cancelled",
            registration.c.undo_until.is_not(None),
        )
        .values(undo_until=None, ticket_code=None)
        .returning(registration.c.id)
    )
    return result.first() is not None
