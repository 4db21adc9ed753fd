"""Registering for a gathering and its sessions, from "I'll come" to a confirmed ticket.

- No account: a name, an email and only the questions the organiser enabled.
- Double opt-in: a registration is *pending* until its email is confirmed, and expires after
  ``confirm_hours``, freeing its places.
- Places are taken with one atomic conditional UPDATE (``queries.take_place``); when a session is
  full the person joins its waiting list. A freed place is offered to the longest-waiting person
  at once, held for them for ``offer_hours``, then passed on.
- A signed manage link lets the person see, change, cancel, download or erase their booking.
- Mail is queued in the outbox inside the same transaction (``gathering.mail.messages.queue``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import secrets
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth import queries as audit_queries
from gathering.auth.accounts import check_email
from gathering.calendars import queries as calendar_queries
from gathering.calendars import rules as calendars
from gathering.core.database import Database
from gathering.core.errors import Conflict, InvalidInput, NotFound
from gathering.mail import messages as mail
from gathering.organiser import supporter_queries
from gathering.privacy import queries as privacy_queries
from gathering.privacy import retention
from gathering.programme import queries as programme_queries
from gathering.programme.release import (
    Programme,
    PublicSession,
    Release,
    ReleaseHook,
    programme_for_row,
)
from gathering.programme.wording import change_lines
from gathering.registration import queries
from gathering.registration.tickets import new_ticket_code

MAX_NAME = 200
MAX_ANSWER = 2000
CONTACT = "contact"  # consent purpose: contact by a named organisation
MATCH = "constituency_match"  # consent purpose: put in touch with others in the same CLP
MATCH_TEXT = "Put me in touch with other attendees from my constituency."


def contact_text(organisation: str) -> str:
    return f"{organisation} may contact me about its work."


@dataclass(frozen=True)
class Links:
    """Absolute URL templates (each with ``{token}``) and the secret that signs the tokens."""

    secret_key: str
    confirm: str
    manage: str
    offer: str
    agenda: str = ""  # with {token}: the personal agenda page
    ticket: str = ""  # with {token}: the ticket page (the manage token)
    session_page: str = ""  # with {slug} and {session_id}
    base_url: str = ""

    def ticket_url(self, registration_id: int, nonce: str) -> str:
        return self.ticket.format(token=manage_token(self.secret_key, registration_id, nonce))

    def agenda_url(self, feed_key: str) -> str:
        return self.agenda.format(token=feed_key)

    def session_url(self, slug: str, session_id: int) -> str:
        return self.session_page.format(slug=slug, session_id=session_id)

    def confirm_url(self, registration_id: int) -> str:
        token = _serializer(self.secret_key, "confirm").dumps(registration_id)
        return self.confirm.format(token=token)

    def manage_url(self, registration_id: int, nonce: str) -> str:
        return self.manage.format(token=manage_token(self.secret_key, registration_id, nonce))

    def offer_url(self, place_id: int) -> str:
        return self.offer.format(token=_serializer(self.secret_key, "offer").dumps(place_id))


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"gathering.{purpose}")


def manage_token(secret_key: str, registration_id: int, nonce: str) -> str:
    """``<id>-<signature>``: the signature covers a per-registration random nonce, so erasing
    the registration (nonce gone) or rotating the nonce kills every old link, and a database
    copy alone cannot forge a link without the secret key."""
    mac = hmac.new(secret_key.encode(), f"manage|{registration_id}|{nonce}".encode(), "sha256")
    signature = base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")
    return f"{registration_id}-{signature}"


# --- the form ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    hint: str = ""


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    help: str
    is_required: bool


@dataclass(frozen=True)
class RegistrationPage:
    programme: Programme
    is_open: bool
    ticket_types: tuple[Choice, ...]
    questions: tuple[Question, ...]
    sessions: tuple[PublicSession, ...]  # released, not cancelled
    organisations: tuple[Choice, ...]  # for per-organisation contact consent


@dataclass(frozen=True)
class RegistrationInput:
    name: str = ""
    email: str = ""
    ticket_type_id: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    session_ids: tuple[str, ...] = ()
    invite_codes: dict[str, str] = field(default_factory=dict)  # session id -> code
    contact_organisation_ids: tuple[str, ...] = ()
    constituency_match: bool = False
    share_access_needs: bool = False


async def _page(
    conn: AsyncConnection, slug: str, *, live_places: bool = True
) -> tuple[Any, RegistrationPage]:
    row = await programme_queries.gathering_row(conn, slug=slug)
    if row is None:
        raise NotFound("There is no gathering at this address.")
    programme = await programme_for_row(conn, row, live_places=live_places)
    page = RegistrationPage(
        programme=programme,
        is_open=bool(row.registration_open) and programme.release is not None,
        ticket_types=tuple(
            Choice(str(t.id), t.name, t.suggested_contribution)
            for t in await queries.ticket_types(conn, row.id)
        ),
        questions=tuple(
            Question(q.key, q.label, q.help, q.is_required)
            for q in await queries.questions(conn, row.id)
        ),
        sessions=tuple(s for s in programme.sessions if not s.is_cancelled),
        organisations=tuple(
            Choice(str(o.id), o.name)
            for o in await queries.consent_organisations(conn, row.id, row.host_organisation_id)
        ),
    )
    return row, page


async def registration_page(db: Database, slug: str) -> RegistrationPage:
    """What the registration form offers for the gathering ``slug``."""

    async def _read(conn: AsyncConnection) -> RegistrationPage:
        return (await _page(conn, slug))[1]

    return await db.read(_read)


# --- registering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    registration_id: int | None  # None when the address was already registered (not revealed)
    places: dict[int, str]  # session id -> confirmed | waitlisted
    gathering_title: str = ""  # for the "check your email" page; empty if not read


def _clean_line(text: str) -> str:
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())


def _validated(
    form: RegistrationInput, page: RegistrationPage
) -> tuple[str, str, int | None, dict[str, str], list[PublicSession], list[int]]:
    errors: dict[str, str] = {}
    name = _clean_line(form.name)
    if not name:
        errors["name"] = "Enter the name you would like on your ticket."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Keep your name to {MAX_NAME} characters or fewer."
    email = ""
    try:
        email = check_email(form.email)
    except InvalidInput as error:
        errors.update(error.errors)
    ticket_type_id = None
    if page.ticket_types:
        if form.ticket_type_id not in {t.value for t in page.ticket_types}:
            errors["ticket_type_id"] = "Choose a ticket type."
        else:
            ticket_type_id = int(form.ticket_type_id)
    answers: dict[str, str] = {}
    for q in page.questions:
        value = form.answers.get(q.key, "").strip()
        if len(value) > MAX_ANSWER:
            errors[f"answer_{q.key}"] = f"Keep this answer to {MAX_ANSWER:,} characters or fewer."
        elif q.is_required and not value:
            errors[f"answer_{q.key}"] = f"Please answer: {q.label}."
        elif value:
            answers[q.key] = value
    offered = {str(s.id): s for s in page.sessions}
    chosen: list[PublicSession] = []
    for value in dict.fromkeys(form.session_ids):
        if value not in offered:
            errors["session_ids"] = "Choose sessions from the programme."
            break
        chosen.append(offered[value])
    for session in chosen:
        if session.access == "invite":
            code = form.invite_codes.get(str(session.id), "").strip()
            if not code:
                errors[f"invite_{session.id}"] = f"“{session.title}” needs its invite code."
    orgs = {o.value for o in page.organisations}
    contact_ids = []
    for value in dict.fromkeys(form.contact_organisation_ids):
        if value not in orgs:
            errors["consent"] = "Choose organisations from the list."
            break
        contact_ids.append(int(value))
    if errors:
        raise InvalidInput(errors)
    return name, email, ticket_type_id, answers, chosen, contact_ids


async def register(
    db: Database,
    slug: str,
    form: RegistrationInput,
    *,
    links: Links,
    confirm_hours: int,
    now: dt.datetime | None = None,
) -> Registered:
    """Register (pending until the email is confirmed); InvalidInput names every bad field.

    An address already registered for this gathering is not told apart on the page (attendance
    is sensitive): its owner is emailed their manage link instead.
    """

    async def _write(conn: AsyncConnection) -> Registered:
        moment = now or dt.datetime.now(dt.UTC)
        # Places left are not needed here: a place is taken by a conditional UPDATE.
        row, page = await _page(conn, slug, live_places=False)
        if not page.is_open:
            raise Conflict("Registration for this gathering is not open.")
        name, email, ticket_type_id, answers, chosen, contact_ids = _validated(form, page)
        await _check_invite_codes(conn, chosen, form)
        # Whether an address is a supporter (or, where registrants are eligible, registered) is
        # never shown on the page: such sessions are left out and the address is told by mail.
        refused = [s for s in chosen if not await _may_join(conn, s, row.id, email)]
        chosen = [s for s in chosen if s not in refused]
        if refused:
            await mail.queue(
                conn,
                kind="supporters_only",
                to_address=email,
                now=moment,
                context={
                    "name": name,
                    "gathering_title": row.title,
                    "sessions": [{"title": s.title, "access_note": s.access_note} for s in refused],
                },
            )
        existing = await queries.live_registration_by_email(conn, row.id, email)
        if existing is not None:
            await _remind_existing(conn, existing, row.title, links, moment)
            return Registered(None, {}, row.title)
        nonce = secrets.token_urlsafe(16)
        registration_id = await queries.insert_registration(
            conn,
            {
                "gathering_id": row.id,
                "name": name,
                "email": email,
                "ticket_type_id": ticket_type_id,
                "answers": answers,
                "share_access_needs": form.share_access_needs and "access_needs" in answers,
                "status": "pending",
                "manage_key": nonce,
                "expires_at": moment + dt.timedelta(hours=confirm_hours),
                "created_at": moment,
            },
        )
        places = {}
        for session in chosen:
            status = "confirmed" if await queries.take_place(conn, session.id) else "waitlisted"
            await queries.insert_place(conn, registration_id, session.id, status, moment)
            places[session.id] = status
        names = {int(o.value): o.label for o in page.organisations}
        for organisation_id in contact_ids:
            text = contact_text(names[organisation_id])
            await queries.insert_consent(
                conn, registration_id, CONTACT, organisation_id, text, moment
            )
        if form.constituency_match:
            await queries.insert_consent(conn, registration_id, MATCH, None, MATCH_TEXT, moment)
        await mail.queue(
            conn,
            kind="confirm_email",
            to_address=email,
            registration_id=registration_id,
            now=moment,
            context={
                "name": name,
                "gathering_title": row.title,
                "confirm_url": links.confirm_url(registration_id),
                "expires_at_text": _moment_text(
                    moment + dt.timedelta(hours=confirm_hours), row.timezone
                ),
            },
        )
        return Registered(registration_id, places, row.title)

    try:
        return await db.write(_write, serializable=False)
    except exc.IntegrityError:
        # Two registrations for one address at the same instant: the unique index kept one.
        return Registered(None, {})


async def _may_join(
    conn: AsyncConnection, session: PublicSession, gathering_id: int, email: str
) -> bool:
    if session.access != "supporters":
        return True
    return await supporter_queries.is_eligible_supporter(conn, session.id, gathering_id, email)


async def _check_invite_codes(
    conn: AsyncConnection, chosen: list[PublicSession], form: RegistrationInput
) -> None:
    """Invite codes depend only on the code typed, so a wrong one may be said on the page."""
    errors = {}
    for session in chosen:
        if session.access != "invite":
            continue
        expected = await queries.invite_code(conn, session.id)
        given = form.invite_codes.get(str(session.id), "").strip().casefold()
        if not expected or not secrets.compare_digest(
            given.encode(), expected.strip().casefold().encode()
        ):
            errors[f"invite_{session.id}"] = f"That invite code for “{session.title}” is not right."
    if errors:
        raise InvalidInput(errors)


async def _remind_existing(
    conn: AsyncConnection, existing: Any, gathering_title: str, links: Links, now: dt.datetime
) -> None:
    if existing.status == "pending":
        context = {
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
            "manage_url": links.manage_url(existing.id, existing.manage_key),
            "ticket_url": links.ticket_url(existing.id, existing.manage_key),
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


def _moment_text(moment: dt.datetime, timezone: str) -> str:
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} {local.tzname()}"


# --- confirming -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmed:
    manage_url: str
    already: bool  # the link had been used before (a replay is harmless)


def _confirm_id(token: str, secret_key: str, confirm_hours: int) -> int:
    try:
        value = _serializer(secret_key, "confirm").loads(token, max_age=confirm_hours * 3600)
    except SignatureExpired:
        raise InvalidInput(
            {"token": "This confirmation link has expired. Please register again."}
        ) from None
    except (BadSignature, ValueError, TypeError):
        raise InvalidInput({"token": "This confirmation link is not valid."}) from None
    if not isinstance(value, int):
        raise InvalidInput({"token": "This confirmation link is not valid."})
    return value


async def confirm_registration(
    db: Database, token: str, *, links: Links, confirm_hours: int, now: dt.datetime | None = None
) -> Confirmed:
    """Confirm the email address: the registration gets its ticket code and the ticket mail."""
    registration_id = _confirm_id(token, links.secret_key, confirm_hours)

    async def _write(conn: AsyncConnection) -> Confirmed:
        moment = now or dt.datetime.now(dt.UTC)
        row = await queries.registration_by_id(conn, registration_id)
        if row is None or row.status in ("cancelled", "anonymised"):
            raise InvalidInput(
                {"token": "This registration has expired or was cancelled. Please register again."}
            )
        manage_url = links.manage_url(row.id, row.manage_key)
        if row.status == "confirmed":
            return Confirmed(manage_url, already=True)
        code = new_ticket_code()
        values = {"status": "confirmed", "ticket_code": code, "confirmed_at": moment}
        if not await queries.confirm_pending(conn, row.id, {**values, "expires_at": None}):
            return Confirmed(manage_url, already=True)  # a concurrent click confirmed it
        gathering = await programme_queries.gathering_row(conn, gathering_id=row.gathering_id)
        programme = await programme_for_row(conn, gathering)
        feed_key = await calendars.ensure_feed_key(conn, row.id)
        sessions, events = [], []
        confirmed = [
            p.session_id for p in await queries.places_of(conn, row.id) if p.status == "confirmed"
        ]
        private = await calendar_queries.joining_links(conn, confirmed)
        for place in await queries.places_of(conn, row.id):
            session = programme.session(place.session_id)
            if session is not None:
                sessions.append(_session_context(session, gathering.timezone, place.status))
            if session is not None and place.status == "confirmed":
                url = links.session_url(gathering.slug, session.id)
                events.append(
                    calendars.FeedEvent(
                        programme.gathering, session, url, private.get(session.id, "")
                    )
                )
        attachments: list[dict[str, Any]] = [{"kind": "qr_png", "cid": "ticket-qr", "data": code}]
        if events:
            info = calendars.FeedInfo(
                name=f"{gathering.title}: my sessions",
                page_url=links.agenda_url(feed_key),
                feed_url="",
            )
            ics = calendars.build_calendar(info, events, links.base_url)
            attachments.append(
                {
                    "kind": "file",
                    "filename": "my-sessions.ics",
                    "content_type": "text/calendar",
                    "text": ics.decode(),
                }
            )
        await mail.queue(
            conn,
            kind="registration_confirmed",
            to_address=row.email,
            registration_id=row.id,
            now=moment,
            context={
                "name": row.name,
                "gathering_title": gathering.title,
                "ticket_code": code,
                "ticket_url": links.ticket_url(row.id, row.manage_key),
                "manage_url": manage_url,
                "agenda_url": links.agenda_url(feed_key),
                "sessions": sessions,
            },
            attachments=attachments,
        )
        return Confirmed(manage_url, already=False)

    return await db.write(_write, serializable=False)


def _session_context(session: PublicSession, timezone: str, status: str) -> dict[str, str]:
    zone = zoneinfo.ZoneInfo(timezone)
    start, end = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
    if session.room is not None:
        where = f"{session.room.name}, {session.room.venue.name}"
    else:
        where = "Online" if session.format == "online" else "Venue tbc"
    when = f"{start:%a} {start.day} {start:%b} {start:%H:%M}–{end:%H:%M} {start.tzname()}"
    return {
        "title": session.title,
        "when_text": when,
        "where_text": where,
        "status": status,
    }


# --- the manage link ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceView:
    id: int
    session: PublicSession
    status: str  # confirmed | waitlisted | offered | cancelled
    offered_until: dt.datetime | None
    waiting_position: int | None = None


@dataclass(frozen=True)
class Booking:
    registration_id: int
    token: str
    name: str
    email: str
    status: str
    ticket_code: str | None
    ticket_type: str
    answers: dict[str, str]
    questions: tuple[Question, ...]
    share_access_needs: bool
    consents: tuple[str, ...]  # consent texts in force
    places: tuple[PlaceView, ...]
    programme: Programme
    created_at: dt.datetime
    feed_key: str | None = None  # the personal calendar's secret, once confirmed


async def _registration_for_token(conn: AsyncConnection, token: str, secret_key: str) -> Any:
    """The live registration behind a manage token; NotFound for a forged or dead link."""
    not_found = NotFound("This link is not valid any more. Check the latest email from us.")
    head, _, _ = token.partition("-")
    if not (head.isascii() and head.isdigit() and len(head) <= 12) or len(token) > 100:
        raise not_found
    row = await queries.registration_by_id(conn, int(head))
    if row is None or row.manage_key is None or row.status == "anonymised":
        raise not_found
    if not secrets.compare_digest(manage_token(secret_key, row.id, row.manage_key), token):
        raise not_found
    return row


async def _booking(conn: AsyncConnection, row: Any, token: str) -> Booking:
    gathering = await programme_queries.gathering_row(conn, gathering_id=row.gathering_id)
    programme = await programme_for_row(conn, gathering)
    types = {t.id: t.name for t in await queries.ticket_types(conn, row.gathering_id)}
    places = []
    for place in await queries.places_of(conn, row.id):
        session = programme.session(place.session_id)
        if session is not None:
            places.append(PlaceView(place.id, session, place.status, place.offered_until))
    consents = tuple(
        c.text for c in await queries.consents_of(conn, row.id) if c.withdrawn_at is None
    )
    return Booking(
        registration_id=row.id,
        token=token,
        name=row.name,
        email=row.email,
        status=row.status,
        ticket_code=row.ticket_code,
        ticket_type=types.get(row.ticket_type_id, ""),
        answers=dict(row.answers or {}),
        questions=tuple(
            Question(q.key, q.label, q.help, q.is_required)
            for q in await queries.questions(conn, row.gathering_id)
        ),
        share_access_needs=row.share_access_needs,
        consents=consents,
        places=tuple(places),
        programme=programme,
        created_at=row.created_at,
        feed_key=row.feed_key,
    )


async def booking(db: Database, token: str, *, secret_key: str) -> Booking:
    """Everything the person's manage page shows."""

    async def _read(conn: AsyncConnection) -> Booking:
        return await _booking(conn, await _registration_for_token(conn, token, secret_key), token)

    return await db.read(_read)


async def _free_place(
    conn: AsyncConnection, place: Any, links: Links, offer_hours: int, now: dt.datetime
) -> None:
    """Cancel a place; if it held a seat, offer the seat to the next person waiting."""
    was = place.status
    if not await queries.set_place_status(conn, place.id, "cancelled", now, from_status=was):
        return  # someone else changed it first
    if was in ("confirmed", "offered"):
        await queries.release_place(conn, place.session_id)
        await _offer_next(conn, place.session_id, links, offer_hours, now)


async def _offer_next(
    conn: AsyncConnection, session_id: int, links: Links, offer_hours: int, now: dt.datetime
) -> None:
    while True:
        waiting = await queries.next_waiting(conn, session_id)
        if waiting is None or not await queries.take_place(conn, session_id):
            return
        until = now + dt.timedelta(hours=offer_hours)
        if await queries.set_place_status(
            conn, waiting.id, "offered", now, from_status="waitlisted", offered_until=until
        ):
            break
        await queries.release_place(conn, session_id)  # lost a race for that person: next one
    person = await queries.registration_by_id(conn, waiting.registration_id)
    gathering = await programme_queries.gathering_row(conn, gathering_id=person.gathering_id)
    programme = await programme_for_row(conn, gathering)
    session = programme.session(session_id)
    title = session.title if session else "a session"
    when = _session_context(session, gathering.timezone, "offered")["when_text"] if session else ""
    await mail.queue(
        conn,
        kind="place_offered",
        to_address=person.email,
        registration_id=person.id,
        now=now,
        context={
            "name": person.name,
            "session_title": title,
            "when_text": when,
            "accept_url": links.offer_url(waiting.id),
            "offer_expires_text": _moment_text(until, gathering.timezone),
            "manage_url": links.manage_url(person.id, person.manage_key),
        },
    )


async def cancel_place(
    db: Database, token: str, place_id: int, *, links: Links, offer_hours: int
) -> None:
    """The person gives up one session; the place goes to the next person waiting at once."""

    async def _write(conn: AsyncConnection) -> None:
        now = dt.datetime.now(dt.UTC)
        row = await _registration_for_token(conn, token, links.secret_key)
        place = await queries.place_by_id(conn, place_id) if 0 < place_id < 2**31 else None
        if place is None or place.registration_id != row.id:
            raise NotFound("That place is not part of this booking.")
        await _free_place(conn, place, links, offer_hours, now)

    await db.write(_write, serializable=False)


async def cancel_registration(db: Database, token: str, *, links: Links, offer_hours: int) -> None:
    """Cancel everything: every place is freed (and offered on) at once; the ticket stops."""

    async def _write(conn: AsyncConnection) -> None:
        now = dt.datetime.now(dt.UTC)
        row = await _registration_for_token(conn, token, links.secret_key)
        await _cancel_all(conn, row, links, offer_hours, now, status="cancelled")
        gathering = await programme_queries.gathering_row(conn, gathering_id=row.gathering_id)
        await mail.queue(
            conn,
            kind="registration_cancelled",
            to_address=row.email,
            registration_id=row.id,
            now=now,
            context={
                "name": row.name,
                "gathering_title": gathering.title,
                "what_text": "your registration and every session place in it",
            },
        )

    await db.write(_write, serializable=False)


async def _cancel_all(
    conn: AsyncConnection,
    row: Any,
    links: Links,
    offer_hours: int,
    now: dt.datetime,
    *,
    status: str,
) -> None:
    for place in await queries.places_of(conn, row.id):
        if place.status != "cancelled":
            await _free_place(conn, place, links, offer_hours, now)
    await queries.update_registration(conn, row.id, {"status": status, "ticket_code": None})


async def accept_offer(db: Database, token: str, *, links: Links, offer_hours: int) -> str:
    """Take up an offered place; returns the manage URL. InvalidInput if it has lapsed."""
    try:
        place_id = _serializer(links.secret_key, "offer").loads(token)
    except (BadSignature, ValueError, TypeError):
        raise InvalidInput({"token": "This offer link is not valid."}) from None
    if not isinstance(place_id, int):
        raise InvalidInput({"token": "This offer link is not valid."})

    async def _write(conn: AsyncConnection) -> str:
        now = dt.datetime.now(dt.UTC)
        place = await queries.place_by_id(conn, place_id)
        if place is None:
            raise InvalidInput({"token": "This offer link is not valid."})
        person = await queries.registration_by_id(conn, place.registration_id)
        manage_url = links.manage_url(person.id, person.manage_key or "")
        if place.status == "confirmed":
            return manage_url  # accepted before: harmless
        if place.status != "offered" or (place.offered_until and place.offered_until < now):
            raise InvalidInput(
                {"token": "Sorry, this offer has lapsed and the place went to the next person."}
            )
        if not await queries.set_place_status(
            conn, place.id, "confirmed", now, from_status="offered"
        ):
            raise InvalidInput(
                {"token": "Sorry, this offer has lapsed and the place went to the next person."}
            )
        return manage_url

    return await db.write(_write, serializable=False)


async def expire_overdue(
    db: Database, *, links: Links, offer_hours: int, now: dt.datetime | None = None
) -> tuple[int, int]:
    """Expire unconfirmed registrations and lapsed offers, passing their places on.

    Returns (registrations expired, offers lapsed). Run on a schedule; idempotent.
    """

    async def _write(conn: AsyncConnection) -> tuple[int, int]:
        moment = now or dt.datetime.now(dt.UTC)
        expired = await queries.expired_pending(conn, moment)
        for registration_id in expired:
            row = await queries.registration_by_id(conn, registration_id)
            await _cancel_all(conn, row, links, offer_hours, moment, status="cancelled")
        lapsed = await queries.expired_offers(conn, moment)
        for offer in lapsed:
            place = await queries.place_by_id(conn, offer.id)
            await _free_place(conn, place, links, offer_hours, moment)
        return len(expired), len(lapsed)

    return await db.write(_write, serializable=False)


async def update_answers(
    db: Database, token: str, answers: dict[str, str], share_access_needs: bool, *, secret_key: str
) -> None:
    """Change one's answers; optional answers stay optional."""

    async def _write(conn: AsyncConnection) -> None:
        row = await _registration_for_token(conn, token, secret_key)
        errors: dict[str, str] = {}
        cleaned: dict[str, str] = {}
        for q in await queries.questions(conn, row.gathering_id):
            value = answers.get(q.key, "").strip()
            if len(value) > MAX_ANSWER:
                errors[f"answer_{q.key}"] = (
                    f"Keep this answer to {MAX_ANSWER:,} characters or fewer."
                )
            elif q.is_required and not value:
                errors[f"answer_{q.key}"] = f"Please answer: {q.label}."
            elif value:
                cleaned[q.key] = value
        if errors:
            raise InvalidInput(errors)
        await queries.update_registration(
            conn,
            row.id,
            {
                "answers": cleaned,
                "share_access_needs": share_access_needs and "access_needs" in cleaned,
            },
        )

    await db.write(_write)


async def personal_data(db: Database, token: str, *, secret_key: str) -> dict[str, Any]:
    """Everything held about the person, as plain JSON data (subject access)."""

    async def _read(conn: AsyncConnection) -> dict[str, Any]:
        row = await _registration_for_token(conn, token, secret_key)
        b = await _booking(conn, row, token)
        consents = await queries.consents_of(conn, row.id)
        zone = zoneinfo.ZoneInfo(b.programme.gathering.timezone)
        check_ins = await privacy_queries.check_ins_of(conn, row.id)
        mails = await privacy_queries.mail_to(conn, row.id, row.email, mail.KINDS)
        lists = await privacy_queries.supporter_lists_with(conn, row.gathering_id, row.email)
        return {
            "gathering": b.programme.gathering.title,
            "name": b.name,
            "email": b.email,
            "status": b.status,
            "ticket_code": b.ticket_code,
            "ticket_type": b.ticket_type,
            "answers": b.answers,
            "share_access_needs_with_stewards": b.share_access_needs,
            "registered_at": b.created_at.isoformat(),
            "sessions": [
                {
                    "title": p.session.title,
                    "starts_at": p.session.starts_at.isoformat(),
                    "status": p.status,
                }
                for p in b.places
            ],
            "consents": [
                {
                    "text": c.text,
                    "organisation": c.organisation_name,
                    "given_at": c.given_at.isoformat(),
                    "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
                }
                for c in consents
            ],
            "check_ins": [
                {
                    "session": c.session_title or "the whole gathering",
                    "kind": c.kind,
                    "door": c.door,
                    "at": c.at.astimezone(zone).isoformat(),
                    "undone_at": c.undone_at.astimezone(zone).isoformat() if c.undone_at else None,
                }
                for c in check_ins
            ],
            "mail": [
                {
                    "kind": m.kind,
                    "queued_at": m.created_at.isoformat(),
                    "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                }
                for m in mails
            ],
            "on_supporters_lists_of": list(lists),
        }

    return await db.read(_read)


async def erase(db: Database, token: str, *, links: Links, offer_hours: int) -> None:
    """Erase the person: places freed (and offered on), personal values removed, links dead.

    Counts survive: the registration row stays, anonymised, so statistics still add up.
    """

    async def _read(conn: AsyncConnection) -> Any:
        return await _registration_for_token(conn, token, links.secret_key)

    # The gathering's audit log is searched first, outside any write, and scrubbed in short units
    # of its own: inside the erasure's unit the search would hold SQLite's one writer (and every
    # door scan) meanwhile. Should the erasure then fail, what is gone is only what they asked
    # to be gone, and searches which might have been for them.
    traces = await retention.scrub_audit_of(db, await db.read(_read))

    async def _write(conn: AsyncConnection) -> None:
        now = dt.datetime.now(dt.UTC)
        row = await _registration_for_token(conn, token, links.secret_key)
        await _cancel_all(conn, row, links, offer_hours, now, status="anonymised")
        await queries.withdraw_consents(conn, row.id, now)
        await retention.forget_person(conn, row, traces)
        await queries.erase_personal_values(conn, row.id, now)
        await audit_queries.insert_audit_event(
            conn,
            now=now,
            actor_kind="attendee",
            actor_id=None,
            action="registration_erased",
            subject_kind="registration",
            subject_id=row.id,
            detail={"gathering_id": row.gathering_id},
        )

    await db.write(_write, serializable=False)
    await retention.reclaim_after_erasure(db)


# --- the ticket -------------------------------------------------------------------------------


@dataclass(frozen=True)
class JoiningLink:
    session_id: int
    url: str | None  # None until it opens
    opens_at: dt.datetime


@dataclass(frozen=True)
class Ticket:
    booking: Booking
    joining: dict[int, JoiningLink]  # online/hybrid sessions with a confirmed place


async def ticket(
    db: Database,
    token: str,
    *,
    secret_key: str,
    joining_link_minutes: int,
    now: dt.datetime | None = None,
) -> Ticket:
    """The ticket page: QR code, name, type, sessions; a joining link only from
    ``joining_link_minutes`` before its session starts, and only for a confirmed place."""

    async def _read(conn: AsyncConnection) -> Ticket:
        moment = now or dt.datetime.now(dt.UTC)
        row = await _registration_for_token(conn, token, secret_key)
        b = await _booking(conn, row, token)
        if b.status != "confirmed":
            raise NotFound("There is no ticket until you confirm your email address.")
        confirmed = [p.session.id for p in b.places if p.status == "confirmed"]
        links = await calendar_queries.joining_links(conn, confirmed)
        lead = dt.timedelta(minutes=joining_link_minutes)
        joining = {}
        for place in b.places:
            online = place.session.format in ("online", "hybrid")
            if place.session.id in links and online and not place.session.is_cancelled:
                opens = place.session.starts_at - lead
                url = links[place.session.id] if moment >= opens else None
                joining[place.session.id] = JoiningLink(place.session.id, url, opens)
        return Ticket(b, joining)

    return await db.read(_read)


# --- telling people about changes -------------------------------------------------------------

# Changes worth an email: the public details people plan around.
NOTIFIED_KINDS = frozenset(
    {"cancelled", "reinstated", "moved_time", "moved_room", "retitled", "speakers_changed"}
)


def change_notifier(links: Links) -> ReleaseHook:
    """A release hook queuing "session changed" mail to everyone with a confirmed place."""

    async def notify(
        conn: AsyncConnection, gathering: Any, release: Release, now: dt.datetime
    ) -> None:
        notable = [c for c in release.changes if NOTIFIED_KINDS & set(c.kinds)]
        if not notable:
            return
        programme = await programme_for_row(conn, gathering)
        people = await queries.confirmed_registrants(conn, [c.session_id for c in notable])
        for change in notable:
            session = programme.session(change.session_id)
            if session is None:
                continue
            details = _session_context(session, gathering.timezone, "confirmed")
            for person in people:
                if person.session_id != change.session_id:
                    continue
                context = {
                    "name": person.name,
                    "session_title": session.title,
                    "changes_text": change_lines(change, gathering.timezone),
                    "when_text": details["when_text"],
                    "where_text": details["where_text"],
                }
                if person.manage_key:
                    context["manage_url"] = links.manage_url(person.id, person.manage_key)
                await mail.queue(
                    conn,
                    kind="session_changed",
                    to_address=person.email,
                    registration_id=person.id,
                    now=now,
                    context=context,
                )

    return notify


async def queue_reminders(
    db: Database, *, links: Links, reminder_hours: int, now: dt.datetime | None = None
) -> int:
    """Queue one reminder per confirmed place whose session starts within ``reminder_hours``.

    Idempotent and safe on several replicas: a place is marked by one conditional UPDATE before
    its mail is queued, in the same transaction.
    """

    async def _write(conn: AsyncConnection) -> int:
        moment = now or dt.datetime.now(dt.UTC)
        due = await queries.places_due_a_reminder(
            conn, moment, moment + dt.timedelta(hours=reminder_hours)
        )
        programmes: dict[int, tuple[Any, Programme]] = {}
        links_by_session = await calendar_queries.joining_links(conn, [p.session_id for p in due])
        queued = 0
        for place in due:
            if place.gathering_id not in programmes:
                row = await programme_queries.gathering_row(conn, gathering_id=place.gathering_id)
                programmes[place.gathering_id] = (row, await programme_for_row(conn, row))
            gathering, programme = programmes[place.gathering_id]
            session = programme.session(place.session_id)
            if session is None or not await queries.mark_reminded(conn, place.id, moment):
                continue
            details = _session_context(session, gathering.timezone, "confirmed")
            context = {
                "name": place.name,
                "session_title": session.title,
                "when_text": details["when_text"],
                "where_text": details["where_text"],
            }
            if session.format in ("online", "hybrid") and place.session_id in links_by_session:
                context["joining_link"] = links_by_session[place.session_id]
            if place.manage_key:
                context["manage_url"] = links.manage_url(place.registration_id, place.manage_key)
            await mail.queue(
                conn,
                kind="session_reminder",
                to_address=place.email,
                registration_id=place.registration_id,
                now=moment,
                context=context,
            )
            queued += 1
        return queued

    return await db.write(_write, serializable=False)
