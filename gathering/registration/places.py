"""Session places: holds for unconfirmed registrations, waiting lists and offers.

Places are taken with one atomic conditional UPDATE (``place_queries.take_place``); when a
session is full the person joins its waiting list. A freed place is offered at once to the
longest-waiting person who has confirmed their address, held for them for ``offer_hours``, then
passed on. An unconfirmed registration holds its places only for the hold (``Limits``): then
they go back to the waiting list, and confirming takes a place again while one is left.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext, use_language
from gathering.mail import messages as mail
from gathering.programme import localised
from gathering.programme import queries as programme_queries
from gathering.programme.release import programme_for_row
from gathering.registration import place_queries, queries, tokens, words
from gathering.registration.booking_mail import booking_mail, queue_booking_mail
from gathering.registration.mail_text import moment_text, session_context
from gathering.registration.place_queries import PlaceRow
from gathering.registration.queries import RegistrationRow
from gathering.registration.tokens import Links

OLDEST_COUNT = dt.timedelta(days=7)


async def book_place(
    conn: AsyncConnection,
    registration_id: int,
    session_id: int,
    now: dt.datetime,
    *,
    holds: bool = True,
    held_until: dt.datetime | None = None,
) -> str:
    """Take a place on the session while one is left (one conditional UPDATE), else join its
    waiting list: registering and adding a session from the manage link both come here."""
    took = holds and await place_queries.take_place(conn, session_id)
    status = "confirmed" if took else "waitlisted"
    await place_queries.insert_place(
        conn, registration_id, session_id, status, now, held_until=held_until if took else None
    )
    return status


async def rebook_place(conn: AsyncConnection, place: PlaceRow, now: dt.datetime) -> str | None:
    """Book again a session whose place was given up for good: a place while one is left, else
    the back of the waiting list. None if the place changed meanwhile (a concurrent request)."""
    took = await place_queries.take_place(conn, place.session_id)
    status = "confirmed" if took else "waitlisted"
    if await place_queries.reopen_place(conn, place.id, status, now):
        return status
    if took:
        await place_queries.release_place(conn, place.session_id)
    return None


async def free_place(
    conn: AsyncConnection, place: PlaceRow, links: Links, offer_hours: int, now: dt.datetime
) -> None:
    """Cancel a place; if it held a seat, offer the seat to the next person waiting."""
    was = place.status
    if not await place_queries.set_place_status(conn, place.id, "cancelled", now, from_status=was):
        return  # someone else changed it first
    if was in ("confirmed", "offered"):
        await place_queries.release_place(conn, place.session_id)
        await offer_next(conn, place.session_id, links, offer_hours, now)


async def offer_next(
    conn: AsyncConnection, session_id: int, links: Links, offer_hours: int, now: dt.datetime
) -> None:
    """Offer a free place of the session to the longest-waiting confirmed person, if any."""
    while True:
        waiting = await place_queries.next_waiting(conn, session_id)
        if waiting is None or not await place_queries.take_place(conn, session_id):
            return
        until = now + dt.timedelta(hours=offer_hours)
        if await place_queries.set_place_status(
            conn, waiting.id, "offered", now, from_status="waitlisted", offered_until=until
        ):
            break
        await place_queries.release_place(conn, session_id)  # lost a race: the next one
    person = await queries.registration_by_id(conn, waiting.registration_id)
    if person is None or person.manage_key is None:
        return  # cannot happen: only confirmed people still holding their link wait here
    gathering = await programme_queries.gathering_row(conn, gathering_id=person.gathering_id)
    # Worded in their language (issue 18), not that of whoever freed the place.
    with use_language(await queries.registrant_language(conn, person)):
        programme = await programme_for_row(conn, gathering)
        session = programme.session(session_id)
        title = session.title if session else gettext(words.A_SESSION)
        when = (
            session_context(session, gathering.timezone, "offered")["when_text"] if session else ""
        )
        expires_text = moment_text(until, gathering.timezone)
        # Issue 16: the rest of the booking too, places and waiting-list entries apart.
        made = await booking_mail(conn, person, links, programme=programme, with_files=False)
    booked = made.context
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
            "offer_expires_text": expires_text,
            "manage_url": links.manage_url(person.id, person.manage_key),
            "places": booked["places"],
            "waiting": booked["waiting"],
        },
    )


async def release_lapsed_holds(
    conn: AsyncConnection,
    now: dt.datetime,
    links: Links,
    offer_hours: int,
    *,
    session_id: int | None = None,
) -> int:
    """Send places held past their hold for unconfirmed registrations back to the waiting
    list; each freed seat is offered to the next confirmed person waiting. Returns how many."""
    released = 0
    for place in await place_queries.lapsed_holds(conn, now, session_id=session_id):
        if await place_queries.set_place_status(
            conn, place.id, "waitlisted", now, from_status="confirmed"
        ):
            await place_queries.release_place(conn, place.session_id)
            await offer_next(conn, place.session_id, links, offer_hours, now)
            released += 1
    return released


async def claim_waiting_places(
    conn: AsyncConnection, registration_id: int, now: dt.datetime
) -> None:
    """On confirming: each waiting place takes a free seat if this person is first in line
    (a hold that lapsed, or a registration past its client's share of holds)."""
    await place_queries.end_holds(conn, registration_id)
    for place in await place_queries.places_of(conn, registration_id):
        if place.status != "waitlisted":
            continue
        first = await place_queries.next_waiting(
            conn, place.session_id, registration_id=registration_id
        )
        if first is None or not await place_queries.take_place(conn, place.session_id):
            continue
        if not await place_queries.set_place_status(
            conn, place.id, "confirmed", now, from_status="waitlisted"
        ):
            await place_queries.release_place(conn, place.session_id)


async def cancel_all(
    conn: AsyncConnection,
    row: RegistrationRow,
    links: Links,
    offer_hours: int,
    now: dt.datetime,
    *,
    status: str,
) -> None:
    """Free every place of the registration (offering them on) and set its status; places
    given up but still undoable are freed at once too."""
    for gone in await place_queries.given_up_places(conn, registration_id=row.id):
        await _close_window(conn, gone, links, offer_hours, now)
    for place in await place_queries.places_of(conn, row.id):
        if place.status != "cancelled":
            await free_place(conn, place, links, offer_hours, now)
    await queries.update_registration(
        conn, row.id, {"status": status, "ticket_code": None, "undo_until": None}
    )


async def _close_window(
    conn: AsyncConnection,
    place: place_queries.GivenUp,
    links: Links,
    offer_hours: int,
    now: dt.datetime,
) -> bool:
    """End a given-up place's undo window: a seat it held goes to the next person waiting.
    Once only: an undo or another replica closing it at the same time makes this a no-op."""
    if not await place_queries.end_undo_window(conn, place.id):
        return False
    if place.undo_status in ("confirmed", "offered"):
        await place_queries.release_place(conn, place.session_id)
        await offer_next(conn, place.session_id, links, offer_hours, now)
    return True


async def close_undo_windows(
    conn: AsyncConnection, now: dt.datetime, links: Links, offer_hours: int
) -> int:
    """Make final what was given up and not undone in time (issue 16): seats go to the next
    person waiting, tickets of cancelled registrations stop, and each person is mailed once
    what became final. Returns how many places and registrations were closed."""
    closed = 0
    given_up: dict[int, list[tuple[int, bool]]] = {}
    for place in await place_queries.given_up_places(conn, due_by=now):
        if await _close_window(conn, place, links, offer_hours, now):
            given_up.setdefault(place.registration_id, []).append(
                (place.session_id, place.undo_status == "waitlisted")
            )
            closed += 1
    for registration_id in await queries.lapsed_cancellations(conn, now):
        if await queries.end_cancellation(conn, registration_id):
            closed += 1
            row = await queries.registration_by_id(conn, registration_id)
            if row is not None:
                await _mail_cancelled(conn, row, now)
            given_up.pop(registration_id, None)
    for registration_id, gone in given_up.items():
        row = await queries.registration_by_id(conn, registration_id)
        if row is None or row.status != "confirmed" or row.manage_key is None:
            continue
        gathering = await programme_queries.gathering_row(conn, gathering_id=row.gathering_id)
        with use_language(await queries.registrant_language(conn, row)):  # issue 18
            programme = await programme_for_row(conn, gathering)
            changes = [
                words.given_up(s.title, was_waiting=waiting)
                for i, waiting in gone
                if (s := programme.session(i)) is not None
            ]
        await queue_booking_mail(conn, row, links, now, changes=changes)
    return closed


async def _mail_cancelled(conn: AsyncConnection, row: RegistrationRow, now: dt.datetime) -> None:
    gathering = await programme_queries.gathering_row(conn, gathering_id=row.gathering_id)
    with use_language(await queries.registrant_language(conn, row)):  # issue 18
        what = gettext(words.EVERYTHING_CANCELLED)
        title = localised.title_of(gathering.title, gathering.translations)
    await mail.queue(
        conn,
        kind="registration_cancelled",
        to_address=row.email,
        registration_id=row.id,
        now=now,
        context={
            "name": row.name,
            "gathering_title": title,
            "what_text": what,
        },
    )


async def accept_offer(db: Database, token: str, *, links: Links, offer_hours: int) -> str:
    """Take up an offered place; returns the manage URL. InvalidInput if it has lapsed."""
    place_id = tokens.offer_id(token, links.secret_key)

    async def _write(conn: AsyncConnection) -> str:
        now = dt.datetime.now(dt.UTC)
        place = await place_queries.place_by_id(conn, place_id)
        person = (
            None if place is None else await queries.registration_by_id(conn, place.registration_id)
        )
        if place is None or person is None or person.manage_key is None:
            raise InvalidInput({"token": gettext(words.OFFER_LINK_INVALID)})
        manage_url = links.manage_url(person.id, person.manage_key)
        if place.status == "confirmed":
            return manage_url  # accepted before: harmless
        if place.status != "offered" or (place.offered_until and place.offered_until < now):
            raise InvalidInput({"token": gettext(words.OFFER_LAPSED)})
        if not await place_queries.set_place_status(
            conn, place.id, "confirmed", now, from_status="offered"
        ):
            raise InvalidInput({"token": gettext(words.OFFER_LAPSED)})
        # Issue 16: the booking as it now stands, with the ticket if this is the first place.
        gathering = await programme_queries.gathering_row(conn, gathering_id=person.gathering_id)
        session = (await programme_for_row(conn, gathering)).session(place.session_id)
        title = session.title if session else gettext(words.A_SESSION)
        await queue_booking_mail(conn, person, links, now, changes=[words.offer_taken(title)])
        return manage_url

    return await db.write(_write, serializable=False)


async def expire_overdue(
    db: Database, *, links: Links, offer_hours: int, now: dt.datetime | None = None
) -> tuple[int, int]:
    """Expire unconfirmed registrations, end lapsed holds and lapsed offers, passing their
    places on, and forget the form's old throttle counts. Returns (registrations expired,
    offers lapsed). Run on a schedule; idempotent."""

    async def _write(conn: AsyncConnection) -> tuple[int, int]:
        moment = now or dt.datetime.now(dt.UTC)
        expired = await queries.expired_pending(conn, moment)
        for registration_id in expired:
            row = await queries.registration_by_id(conn, registration_id)
            if row is not None:
                await cancel_all(conn, row, links, offer_hours, moment, status="cancelled")
        await release_lapsed_holds(conn, moment, links, offer_hours)
        await close_undo_windows(conn, moment, links, offer_hours)
        # Every limit's window is at most 10 000 minutes (settings): older counts are over.
        await queries.forget_old_counts(conn, moment - OLDEST_COUNT)
        lapsed = await place_queries.expired_offers(conn, moment)
        for offer in lapsed:
            await free_place(conn, offer, links, offer_hours, moment)
        return len(expired), len(lapsed)

    return await db.write(_write, serializable=False)
