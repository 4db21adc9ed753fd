"""Registering for a gathering and its sessions: from the form to a pending registration.

- No account: a name, an email and only the questions the organiser enabled.
- Double opt-in: a registration is *pending* until its email is confirmed (``confirming``), and
  expires after ``confirm_hours``. It holds its places only briefly (``limits``).
- An address already registered is not told apart on the page (attendance is sensitive): its
  owner is mailed their link instead, and the answer costs the same work (issue 14, timing):
  the registration's statements run for it too, inside a savepoint that is rolled back.
- Mail is queued in the outbox inside the same transaction (``gathering.mail.messages.queue``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import i18n
from gathering.core.database import Database
from gathering.core.errors import Conflict, InvalidInput
from gathering.core.i18n import gettext
from gathering.core.sqlite_inline import plain_statement
from gathering.mail import messages as mail
from gathering.organiser import supporter_queries
from gathering.programme.release import PublicSession
from gathering.registration import queries, windows, words
from gathering.registration.form import (
    CONTACT,
    MATCH,
    CheckedForm,
    RegistrationInput,
    check_form,
    check_invite_codes,
    read_page,
)
from gathering.registration.limits import (
    Limits,
    count_client_attempt,
    is_recipient_allowed,
    may_hold,
    may_mail_again,
    subject,
)
from gathering.registration.mail_text import moment_text
from gathering.registration.places import book_place
from gathering.registration.queries import NewRegistration, RegistrationRow
from gathering.registration.tokens import Links


@dataclass(frozen=True)
class Registered:
    registration_id: int | None  # None when nothing new was registered (never shown)
    places: dict[int, str]  # session id -> confirmed | waitlisted
    gathering_title: str = ""  # for the "check your email" page; empty if not read


@dataclass(frozen=True)
class Accepted:
    """A registration form that passed every check, with what registering it needs."""

    gathering_id: int
    gathering_title: str
    timezone: str
    form: CheckedForm
    recipient: str  # the email address's throttle subject
    client: str | None  # the network address's throttle subject; None: not from the form


async def register(
    db: Database,
    slug: str,
    form: RegistrationInput,
    *,
    links: Links,
    confirm_hours: int,
    limits: Limits | None = None,
    client_address: str | None = None,
    now: dt.datetime | None = None,
) -> Registered:
    """Register (pending until the email is confirmed); InvalidInput names every bad field,
    Conflict if registration is closed, Throttled past the client address's limit.

    ``client_address`` (the form's caller) brings the per-address limits into play; without
    it (the API, which has its own, and scripts) only the per-recipient ones apply.
    """
    chosen = limits or Limits()

    async def _write(conn: AsyncConnection) -> Registered:
        moment = now or dt.datetime.now(dt.UTC)
        accepted = await _accept(conn, slug, form, links.secret_key, chosen, client_address, moment)
        return await _record(conn, accepted, links, confirm_hours, chosen, moment)

    try:
        return await db.write(_write, serializable=False)
    except exc.IntegrityError as error:
        if _is_same_address(error):
            # Two registrations for one address at the same instant: the unique index kept one.
            return Registered(None, {})
    # Something the form named went meanwhile (a ticket type or session deleted as it was
    # stored): check the form again, which now says what to choose instead, or register.
    try:
        return await db.write(_write, serializable=False)
    except exc.IntegrityError as error:
        if _is_same_address(error):
            return Registered(None, {})
        raise


async def accept(
    db: Database,
    slug: str,
    form: RegistrationInput,
    *,
    secret_key: str,
    limits: Limits,
    client_address: str | None = None,
    now: dt.datetime | None = None,
) -> Accepted:
    """``register``'s checks alone, in a unit of their own (prefer ``register``: one unit,
    and an answered registration is then stored before the answer)."""

    async def _write(conn: AsyncConnection) -> Accepted:
        moment = now or dt.datetime.now(dt.UTC)
        return await _accept(conn, slug, form, secret_key, limits, client_address, moment)

    return await db.write(_write, serializable=False)


async def record(
    db: Database,
    accepted: Accepted,
    *,
    links: Links,
    confirm_hours: int,
    limits: Limits,
    now: dt.datetime | None = None,
) -> Registered:
    """Register a form ``accept`` passed, in a unit of its own (see ``accept``)."""

    async def _write(conn: AsyncConnection) -> Registered:
        moment = now or dt.datetime.now(dt.UTC)
        return await _record(conn, accepted, links, confirm_hours, limits, moment)

    try:
        return await db.write(_write, serializable=False)
    except exc.IntegrityError as error:
        if _is_same_address(error):
            return Registered(None, {}, accepted.gathering_title)
        await _still_offered(db, accepted)
        raise


# The unique index on a live registration's address (gathering, email) where pending or confirmed.
_SAME_ADDRESS = (
    "uq_registration_gathering_id_email_live",  # PostgreSQL names the index
    "registration.gathering_id, registration.email",  # SQLite names its columns
)


def _is_same_address(error: exc.IntegrityError) -> bool:
    """Whether ``error`` is the address already having a live registration here (and nothing
    else, such as a ticket type deleted while the registration was stored)."""
    text = str(error.orig)
    return any(marker in text for marker in _SAME_ADDRESS)


async def _still_offered(db: Database, accepted: Accepted) -> None:
    """InvalidInput if the ticket type the accepted form chose is no longer offered (deleted
    between ``accept`` and ``record``)."""
    if accepted.form.ticket_type_id is None:
        return

    async def _read(conn: AsyncConnection) -> bool:
        offered = await queries.ticket_types(conn, accepted.gathering_id)
        return any(t.id == accepted.form.ticket_type_id for t in offered)

    if not await db.read(_read):
        raise InvalidInput({"ticket_type_id": gettext(words.CHOOSE_TICKET_TYPE)})


async def _accept(
    conn: AsyncConnection,
    slug: str,
    form: RegistrationInput,
    secret_key: str,
    limits: Limits,
    client_address: str | None,
    now: dt.datetime,
) -> Accepted:
    client = None
    if client_address is not None:
        client = subject(secret_key, "client", client_address)
        await count_client_attempt(conn, limits, client, now)
    # Places left are not needed here: a place is taken by a conditional UPDATE.
    row, page = await read_page(conn, slug, live_places=False)
    # Refusals in the gathering's own language for a reader who chose none, as its form was.
    i18n.prefer_default(row.default_language)
    if not page.is_open:
        raise Conflict(windows.why_closed(page))  # issue 16: the window's own reason
    checked = check_form(form, page)
    await check_invite_codes(conn, checked.sessions, form)
    recipient = subject(secret_key, "recipient", checked.email)
    return Accepted(row.id, row.title, row.timezone, checked, recipient, client)


async def _record(
    conn: AsyncConnection,
    accepted: Accepted,
    links: Links,
    confirm_hours: int,
    limits: Limits,
    now: dt.datetime,
) -> Registered:
    """Register an accepted form, or, for an address already registered, mail its owner their
    link (at most once per ``repeat_mail_minutes``) after the same statements."""
    title, form = accepted.gathering_title, accepted.form
    if not await is_recipient_allowed(conn, limits, accepted.recipient, now):
        return Registered(None, {}, title)
    # Whether an address is a supporter (or, where registrants are eligible, registered) is
    # never shown on the page: such sessions are left out and the address is told by mail.
    refused = [
        s for s in form.sessions if not await _may_join(conn, s, accepted.gathering_id, form)
    ]
    if refused:
        await _tell_supporters_only(conn, accepted, refused, now)
    chosen = [s for s in form.sessions if s not in refused]
    existing = await queries.live_registration_id(conn, accepted.gathering_id, form.email)
    # The same counting statement on both paths; a new address counts on a key of its own, so
    # its first repeat post within the hour still mails the owner.
    remind = await may_mail_again(
        conn, limits, f"new:{accepted.recipient}" if existing is None else accepted.recipient, now
    )
    # Plain SQL: SQLAlchemy's begin_nested() cost as much as the two statements' work.
    await plain_statement(conn, "SAVEPOINT registering")
    if existing is None:
        registration_id, places = await _insert(
            conn, accepted, form.email, chosen, links, confirm_hours, limits, now
        )
        await plain_statement(conn, "RELEASE SAVEPOINT registering")
        return Registered(registration_id, places, title)
    # Registered already: the same statements for an address nobody will see, rolled back.
    decoy = f"{secrets.token_hex(8)}@registered.invalid"
    await _insert(
        conn, accepted, decoy, chosen, links, confirm_hours, limits, now, mail_too=not remind
    )
    await plain_statement(conn, "ROLLBACK TO SAVEPOINT registering")  # the commit ends it
    owner = await queries.registration_by_id(conn, existing) if remind else None
    if owner is not None:
        await _remind_existing(conn, owner, title, chosen, links, now)
    return Registered(None, {}, title)


async def _insert(
    conn: AsyncConnection,
    accepted: Accepted,
    email: str,
    sessions: list[PublicSession],
    links: Links,
    confirm_hours: int,
    limits: Limits,
    now: dt.datetime,
    *,
    mail_too: bool = True,
) -> tuple[int, dict[int, str]]:
    """Insert the registration of ``email``, its places, consents and confirmation mail."""
    form = accepted.form
    registration_id = await queries.insert_registration(
        conn,
        NewRegistration(
            gathering_id=accepted.gathering_id,
            name=form.name,
            email=email,
            ticket_type_id=form.ticket_type_id,
            answers=form.answers,
            share_access_needs=form.share_access_needs,
            manage_key=secrets.token_urlsafe(16),
            expires_at=now + dt.timedelta(hours=confirm_hours),
            created_at=now,
        ),
    )
    places = await _take_places(conn, accepted, sessions, registration_id, limits, now)
    for organisation in form.contacts:
        text = words.contact_text(organisation.label)
        await queries.insert_consent(
            conn, registration_id, CONTACT, int(organisation.value), text, now
        )
    if form.constituency_match:
        await queries.insert_consent(
            conn, registration_id, MATCH, None, gettext(words.MATCH_TEXT), now
        )
    if mail_too:
        await mail.queue(
            conn,
            kind="confirm_email",
            to_address=email,
            registration_id=registration_id,
            now=now,
            context={
                "name": form.name,
                "gathering_title": accepted.gathering_title,
                "confirm_url": links.confirm_url(registration_id),
                "expires_at_text": moment_text(
                    now + dt.timedelta(hours=confirm_hours), accepted.timezone
                ),
                "held_until_text": moment_text(now + limits.hold, accepted.timezone)
                if "confirmed" in places.values()
                else "",
            },
        )
    return registration_id, places


async def _take_places(
    conn: AsyncConnection,
    accepted: Accepted,
    sessions: list[PublicSession],
    registration_id: int,
    limits: Limits,
    now: dt.datetime,
) -> dict[int, str]:
    """Hold a place on each session while one is left (for the hold only), else wait.

    Past its client's share of holds a registration holds nothing: its places wait until it
    is confirmed. Lapsed holds are given back by the housekeeping every minute, not here:
    looking for them on every registration for a full session cost more than the rush could
    spare (bench/), and a minute more of a lapsed hold gains a squatter nothing.
    """
    if not sessions:
        return {}
    holds = accepted.client is None or await may_hold(conn, limits, accepted.client, now)
    held_until = now + limits.hold
    return {
        session.id: await book_place(
            conn, registration_id, session.id, now, holds=holds, held_until=held_until
        )
        for session in sessions
    }


async def _may_join(
    conn: AsyncConnection, session: PublicSession, gathering_id: int, form: CheckedForm
) -> bool:
    if session.access != "supporters":
        return True
    return await supporter_queries.is_eligible_supporter(conn, session.id, gathering_id, form.email)


async def _tell_supporters_only(
    conn: AsyncConnection, accepted: Accepted, refused: list[PublicSession], now: dt.datetime
) -> None:
    await mail.queue(
        conn,
        kind="supporters_only",
        to_address=accepted.form.email,
        now=now,
        context={
            "name": accepted.form.name,
            "gathering_title": accepted.gathering_title,
            "sessions": [{"title": s.title, "access_note": s.access_note} for s in refused],
        },
    )


async def _remind_existing(
    conn: AsyncConnection,
    existing: RegistrationRow,
    gathering_title: str,
    asked: list[PublicSession],
    links: Links,
    now: dt.datetime,
) -> None:
    """Registering again adds nothing: the owner is mailed their link (issue 16), with the
    sessions the form asked for, to add from their booking if it was them. Only the address's
    owner reads which sessions those were; the page said nothing."""
    nonce = existing.manage_key or ""
    if existing.status == "pending":
        context: dict[str, object] = {
            "name": existing.name,
            "gathering_title": gathering_title,
            "confirm_url": links.confirm_url(existing.id),
            "expires_at_text": "",
        }
        kind = "confirm_email"
    else:
        context = {
            "name": existing.name,
            "gathering_title": gathering_title,
            "manage_url": links.manage_url(existing.id, nonce),
            "asked": [s.title for s in asked],
            "add_url": links.add_sessions_url(existing.id, nonce, [s.id for s in asked]),
        }
        kind = "already_registered"
    await mail.queue(
        conn,
        kind=kind,
        to_address=existing.email,
        context=context,
        registration_id=existing.id,
        now=now,
    )
