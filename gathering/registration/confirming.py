"""Confirming an email address: the registration gets its ticket code, places and ticket mail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.calendars import rules as calendars
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.mail import messages as mail
from gathering.programme import queries as programme_queries
from gathering.programme.release import programme_for_row
from gathering.registration import place_queries, queries, tokens, words
from gathering.registration.mail_text import session_context
from gathering.registration.places import claim_waiting_places
from gathering.registration.queries import RegistrationRow
from gathering.registration.tickets import new_ticket_code
from gathering.registration.tokens import Links


@dataclass(frozen=True)
class Confirmed:
    manage_url: str
    already: bool  # the link had been used before (a replay is harmless)


async def confirm_registration(
    db: Database, token: str, *, links: Links, confirm_hours: int, now: dt.datetime | None = None
) -> Confirmed:
    """Confirm the email address: places held are kept, places whose hold lapsed are taken
    again while any are left, and the ticket is mailed."""
    registration_id = tokens.confirm_id(token, links.secret_key, confirm_hours)

    async def _write(conn: AsyncConnection) -> Confirmed:
        moment = now or dt.datetime.now(dt.UTC)
        row = await queries.registration_by_id(conn, registration_id)
        if row is None or row.manage_key is None or row.status in ("cancelled", "anonymised"):
            raise InvalidInput({"token": words.REGISTRATION_GONE})
        manage_url = links.manage_url(row.id, row.manage_key)
        if row.status == "confirmed":
            return Confirmed(manage_url, already=True)
        code = new_ticket_code()
        if not await queries.confirm_pending(conn, row.id, code, moment):
            return Confirmed(manage_url, already=True)  # a concurrent click confirmed it
        await claim_waiting_places(conn, row.id, moment)
        await _mail_ticket(conn, row, code, manage_url, links, moment)
        return Confirmed(manage_url, already=False)

    return await db.write(_write, serializable=False)


async def _mail_ticket(
    conn: AsyncConnection,
    row: RegistrationRow,
    code: str,
    manage_url: str,
    links: Links,
    now: dt.datetime,
) -> None:
    """Queue the ticket mail: the code as a QR image, the sessions, and a calendar of them."""
    gathering = await programme_queries.gathering_row(conn, gathering_id=row.gathering_id)
    if row.manage_key is None:
        return  # checked by the caller: a live registration has its link
    programme = await programme_for_row(conn, gathering)
    feed_key = await calendars.ensure_feed_key(conn, row.id)
    places = await place_queries.places_of(conn, row.id)
    sessions, events = [], []
    for place in places:
        session = programme.session(place.session_id)
        if session is None:
            continue
        sessions.append(session_context(session, gathering.timezone, place.status))
        if place.status == "confirmed":
            url = links.session_url(gathering.slug, session.id)
            # No joining link: the personal feed adds each place's own link once it opens.
            events.append(calendars.FeedEvent(programme.gathering, session, url))
    attachments: list[dict[str, object]] = [{"kind": "qr_png", "cid": "ticket-qr", "data": code}]
    if events:
        info = calendars.FeedInfo(
            name=words.my_sessions_calendar(gathering.title),
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
        now=now,
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
