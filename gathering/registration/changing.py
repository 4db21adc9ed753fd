"""Changing a booking from the manage link (issue 16): add sessions, change the ticket type.

Adding a session follows the same rules as registering: only sessions the form offers now (the
registration window decides, ``windows`` through ``form.read_page``), invite codes and
supporters-only sessions checked, and the same place-taking code (``places.book_place``: one
conditional UPDATE, so two people adding the last place at once cannot both get it; the other
joins the waiting list). A session given up and still undoable is simply taken back; one given
up for good is booked again at the back of the queue. The person is mailed the booking as it
now stands (places and waiting-list entries apart, the ticket, a calendar file), and their
personal calendar feed follows, since it reads their places.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.organiser import supporter_queries
from gathering.programme import queries as programme_queries
from gathering.programme.release import PublicSession
from gathering.registration import place_queries, queries, words
from gathering.registration.booking_mail import queue_booking_mail
from gathering.registration.form import (
    Choice,
    RegistrationInput,
    RegistrationPage,
    check_invite_codes,
    read_page,
)
from gathering.registration.manage import Booking, booking_of, registration_for_token
from gathering.registration.places import book_place, rebook_place
from gathering.registration.queries import RegistrationRow
from gathering.registration.tokens import Links

LIVE = ("confirmed", "waitlisted", "offered")


@dataclass(frozen=True)
class AddPage:
    """What the "add sessions" page shows: the booking, and the sessions one may still add."""

    booking: Booking
    is_open: bool
    closed_text: str  # why nothing can be added, when not open
    choices: tuple[PublicSession, ...]  # open sessions not in the booking already
    ticket_types: tuple[Choice, ...]


async def _offered(conn: AsyncConnection, row: RegistrationRow) -> RegistrationPage:
    gathering = await programme_queries.gathering_row(conn, gathering_id=row.gathering_id)
    return (await read_page(conn, gathering.slug))[1]


def _closed_text(page: RegistrationPage) -> str:
    from gathering.registration import windows  # the registration windows' own words

    return windows.why_closed(page)


async def add_page(db: Database, token: str, *, secret_key: str) -> AddPage:
    """The sessions the person may add now, with places left (a full one: its waiting list)."""

    async def _read(conn: AsyncConnection) -> AddPage:
        row = await registration_for_token(conn, token, secret_key)
        booking = await booking_of(conn, row, token)
        page = await _offered(conn, row)
        held = {p.session.id for p in booking.places if p.status in LIVE}
        return AddPage(
            booking=booking,
            is_open=page.is_open and row.status == "confirmed",
            closed_text="" if page.is_open else _closed_text(page),
            choices=tuple(s for s in page.sessions if s.id not in held),
            ticket_types=page.ticket_types,
        )

    return await db.read(_read)


@dataclass(frozen=True)
class Added:
    places: dict[int, str]  # session id -> confirmed | waitlisted (already held: left out)


async def add_sessions(
    db: Database,
    token: str,
    session_ids: tuple[str, ...],
    invite_codes: dict[str, str],
    *,
    links: Links,
    now: dt.datetime | None = None,
) -> Added:
    """Add sessions to a confirmed booking: a place while one is left, else the waiting list.
    InvalidInput (field ``session_ids`` or ``invite_<id>``) says what is wrong."""

    async def _write(conn: AsyncConnection) -> Added:
        moment = now or dt.datetime.now(dt.UTC)
        row = await registration_for_token(conn, token, links.secret_key)
        if row.status != "confirmed":
            pending = row.status == "pending"
            why = (
                gettext(words.CONFIRM_BEFORE_ADDING)
                if pending
                else gettext(words.REGISTRATION_CANCELLED)
            )
            raise InvalidInput({"session_ids": why})
        page = await _offered(conn, row)
        if not page.is_open:
            raise InvalidInput({"session_ids": _closed_text(page)})
        sessions = _chosen(page, session_ids)
        missing = {
            f"invite_{s.id}": words.invite_code_needed(s.title)
            for s in sessions
            if s.access == "invite" and not invite_codes.get(str(s.id), "").strip()
        }
        if missing:
            raise InvalidInput(missing)
        await check_invite_codes(conn, sessions, RegistrationInput(invite_codes=invite_codes))
        refused = [
            s.title
            for s in sessions
            if s.access == "supporters"
            and not await supporter_queries.is_eligible_supporter(
                conn, s.id, row.gathering_id, row.email
            )
        ]
        if refused:
            raise InvalidInput({"session_ids": words.supporters_only(refused)})
        existing = {p.session_id: p for p in await place_queries.places_of(conn, row.id)}
        added: dict[int, str] = {}
        changes: list[str] = []
        for session in sessions:
            status = await _add_one(conn, row.id, session.id, existing.get(session.id), moment)
            if status is None:
                continue
            added[session.id] = status
            changes.append(words.added(session.title, status))
        if added:
            await queue_booking_mail(conn, row, links, moment, changes=changes)
        return Added(added)

    try:
        return await db.write(_write, serializable=False)
    except exc.IntegrityError:
        # The same session added twice at once (a double click): the first one stands.
        return Added({})


def _chosen(page: RegistrationPage, session_ids: tuple[str, ...]) -> tuple[PublicSession, ...]:
    offered = {str(s.id): s for s in page.sessions}
    wanted = tuple(dict.fromkeys(session_ids))
    if not wanted:
        raise InvalidInput({"session_ids": gettext(words.CHOOSE_SESSIONS_TO_ADD)})
    if any(value not in offered for value in wanted):
        raise InvalidInput({"session_ids": gettext(words.CHOOSE_SESSIONS)})
    return tuple(offered[value] for value in wanted)


async def _add_one(
    conn: AsyncConnection,
    registration_id: int,
    session_id: int,
    place: place_queries.PlaceRow | None,
    now: dt.datetime,
) -> str | None:
    """Book one session; its status, or None if it was in the booking already."""
    if place is None:
        return await book_place(conn, registration_id, session_id, now)
    if place.status in LIVE:
        return None
    taken_back = await place_queries.undo_give_up(conn, place.id, now)
    if taken_back is not None:
        return taken_back  # still in its undo window: the place (or queue spot) it had
    return await rebook_place(conn, place, now)


async def change_ticket_type(
    db: Database, token: str, ticket_type_id: str, *, links: Links, now: dt.datetime | None = None
) -> bool:
    """Change the ticket type to one the gathering offers, while registration is open (as for
    adding sessions); whether anything changed."""

    async def _write(conn: AsyncConnection) -> bool:
        moment = now or dt.datetime.now(dt.UTC)
        row = await registration_for_token(conn, token, links.secret_key)
        if row.status not in ("pending", "confirmed"):
            raise InvalidInput({"ticket_type_id": gettext(words.REGISTRATION_CANCELLED)})
        # The same window as adding sessions: closed registration, or an ended gathering,
        # changes nothing.
        page = await _offered(conn, row)
        if not page.is_open:
            raise InvalidInput({"ticket_type_id": _closed_text(page)})
        types = {str(t.id): t.name for t in await queries.ticket_types(conn, row.gathering_id)}
        if ticket_type_id not in types:
            raise InvalidInput({"ticket_type_id": gettext(words.CHOOSE_TICKET_TYPE)})
        if str(row.ticket_type_id) == ticket_type_id:
            return False
        await queries.update_registration(conn, row.id, {"ticket_type_id": int(ticket_type_id)})
        if row.status == "confirmed":
            change = words.ticket_type_changed(types[ticket_type_id])
            await queue_booking_mail(conn, row, links, moment, changes=[change])
        return True

    return await db.write(_write, serializable=False)
