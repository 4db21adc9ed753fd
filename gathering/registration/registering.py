"""Registering for a gathering and its sessions: from the form to a pending registration.

- No account: a name, an email and only the questions the organiser enabled.
- Double opt-in: a registration is *pending* until its email is confirmed (``confirming``), and
  expires after ``confirm_hours``. It holds its places only briefly (``limits``).
- Two steps, so the answer cannot tell a registered address from a new one (issue 14, timing):
  ``accept`` does everything that decides the answer and does the same work for every address;
  ``record`` then registers the address, or mails its owner, after the answer has gone.
- Mail is queued in the outbox inside the same transaction (``gathering.mail.messages.queue``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import Conflict
from gathering.mail import messages as mail
from gathering.organiser import supporter_queries
from gathering.programme.release import PublicSession
from gathering.registration import place_queries, queries, words
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
from gathering.registration.places import release_lapsed_holds
from gathering.registration.queries import NewRegistration, RegistrationRow
from gathering.registration.tokens import Links


@dataclass(frozen=True)
class Registered:
    registration_id: int | None  # None when nothing new was registered (never shown)
    places: dict[int, str]  # session id -> confirmed | waitlisted
    gathering_title: str = ""  # for the "check your email" page


@dataclass(frozen=True)
class Accepted:
    """A registration that passed every check: what ``record`` needs, and the page's title."""

    gathering_id: int
    gathering_title: str
    timezone: str
    form: CheckedForm
    recipient: str  # the email address's throttle subject
    client: str | None  # the network address's throttle subject; None: not from the form


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
    """Check a registration and count it against its client address's limit: InvalidInput
    naming every bad field, Conflict if registration is closed, Throttled past the limit.

    Nothing here looks at who has registered, so it runs the same statements for every
    address; what depends on that is ``record``'s, after the answer.
    """

    async def _write(conn: AsyncConnection) -> Accepted:
        moment = now or dt.datetime.now(dt.UTC)
        client = None
        if client_address is not None:
            client = subject(secret_key, "client", client_address)
            await count_client_attempt(conn, limits, client, moment)
        # Places left are not needed here: a place is taken by a conditional UPDATE.
        row, page = await read_page(conn, slug, live_places=False)
        if not page.is_open:
            raise Conflict(words.NOT_OPEN)
        checked = check_form(form, page)
        await check_invite_codes(conn, checked.sessions, form)
        recipient = subject(secret_key, "recipient", checked.email)
        return Accepted(row.id, row.title, row.timezone, checked, recipient, client)

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
    """Register an accepted form (pending until the email is confirmed), or, for an address
    already registered, mail its owner their link (at most once per ``repeat_mail_minutes``).
    """
    title = accepted.gathering_title

    async def _write(conn: AsyncConnection) -> Registered:
        moment = now or dt.datetime.now(dt.UTC)
        form = accepted.form
        if not await is_recipient_allowed(conn, limits, accepted.recipient, moment):
            return Registered(None, {}, title)
        # Whether an address is a supporter (or, where registrants are eligible, registered) is
        # never shown on the page: such sessions are left out and the address is told by mail.
        refused = [
            s for s in form.sessions if not await _may_join(conn, s, accepted.gathering_id, form)
        ]
        if refused:
            await _tell_supporters_only(conn, accepted, refused, moment)
        existing = await queries.live_registration_by_email(conn, accepted.gathering_id, form.email)
        if existing is not None:
            if await may_mail_again(conn, limits, accepted.recipient, moment):
                await _remind_existing(conn, existing, title, links, moment)
            return Registered(None, {}, title)
        nonce = secrets.token_urlsafe(16)
        registration_id = await queries.insert_registration(
            conn,
            NewRegistration(
                gathering_id=accepted.gathering_id,
                name=form.name,
                email=form.email,
                ticket_type_id=form.ticket_type_id,
                answers=form.answers,
                share_access_needs=form.share_access_needs,
                manage_key=nonce,
                expires_at=moment + dt.timedelta(hours=confirm_hours),
                created_at=moment,
            ),
        )
        chosen = [s for s in form.sessions if s not in refused]
        places = await _take_places(conn, accepted, chosen, registration_id, links, limits, moment)
        for organisation in form.contacts:
            text = words.contact_text(organisation.label)
            await queries.insert_consent(
                conn, registration_id, CONTACT, int(organisation.value), text, moment
            )
        if form.constituency_match:
            await queries.insert_consent(
                conn, registration_id, MATCH, None, words.MATCH_TEXT, moment
            )
        await mail.queue(
            conn,
            kind="confirm_email",
            to_address=form.email,
            registration_id=registration_id,
            now=moment,
            context={
                "name": form.name,
                "gathering_title": title,
                "confirm_url": links.confirm_url(registration_id),
                "expires_at_text": moment_text(
                    moment + dt.timedelta(hours=confirm_hours), accepted.timezone
                ),
                "held_until_text": moment_text(moment + limits.hold, accepted.timezone)
                if "confirmed" in places.values()
                else "",
            },
        )
        return Registered(registration_id, places, title)

    try:
        return await db.write(_write, serializable=False)
    except exc.IntegrityError:
        # Two registrations for one address at the same instant: the unique index kept one.
        return Registered(None, {}, title)


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
    """``accept`` then ``record`` at once (for callers whose answer does not wait on it)."""
    chosen = limits or Limits()
    accepted = await accept(
        db,
        slug,
        form,
        secret_key=links.secret_key,
        limits=chosen,
        client_address=client_address,
        now=now,
    )
    return await record(
        db, accepted, links=links, confirm_hours=confirm_hours, limits=chosen, now=now
    )


async def _take_places(
    conn: AsyncConnection,
    accepted: Accepted,
    sessions: list[PublicSession],
    registration_id: int,
    links: Links,
    limits: Limits,
    now: dt.datetime,
) -> dict[int, str]:
    """Hold a place on each session while one is left (for the hold only), else wait.

    A full session first gets back the places whose holds have lapsed (they go to confirmed
    people waiting before anyone new). Past its client's share of holds, a registration holds
    nothing: its places wait until it is confirmed.
    """
    if not sessions:
        return {}
    holds = accepted.client is None or await may_hold(conn, limits, accepted.client, now)
    held_until = now + limits.hold
    places = {}
    for session in sessions:
        took = holds and await place_queries.take_place(conn, session.id)
        if holds and not took:
            released = await release_lapsed_holds(
                conn, now, links, limits.offer_hours, session_id=session.id
            )
            took = released > 0 and await place_queries.take_place(conn, session.id)
        status = "confirmed" if took else "waitlisted"
        await place_queries.insert_place(
            conn, registration_id, session.id, status, now, held_until=held_until if took else None
        )
        places[session.id] = status
    return places


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
    links: Links,
    now: dt.datetime,
) -> None:
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
            "ticket_code": existing.ticket_code,
            "manage_url": links.manage_url(existing.id, nonce),
            "ticket_url": links.ticket_url(existing.id, nonce),
            "sessions": [],
        }
        kind = "registration_confirmed"
    await mail.queue(
        conn,
        kind=kind,
        to_address=existing.email,
        context=context,
        registration_id=existing.id,
        now=now,
    )
