"""The booking as mail shows it: places and waiting-list entries apart, a ticket only with a place.

Issue 16: someone who is only on waiting lists is told so ("you're on the waiting list for …")
and gets no ticket, since the door would refuse them; the ticket comes with their first place.
The confirmation mail, the mail after a change (a session added or given up, a ticket type
changed, an offer taken up) and the manage page all read the booking through here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.calendars import rules as calendars
from gathering.core.i18n import use_language
from gathering.mail import messages as mail
from gathering.programme import queries as programme_queries
from gathering.programme.release import Programme, programme_for_row
from gathering.registration import place_queries, words
from gathering.registration.mail_text import session_context
from gathering.registration.place_queries import PlaceRow
from gathering.registration.queries import RegistrationRow, registrant_language
from gathering.registration.tokens import Links

WAITING = ("waitlisted", "offered")


def has_ticket(status: str, place_statuses: list[str]) -> bool:
    """A confirmed registration has a ticket unless all it holds is waiting-list entries: with a
    place somewhere, or with no session chosen at all (the gathering itself)."""
    if status != "confirmed":
        return False
    return "confirmed" in place_statuses or not any(s in WAITING for s in place_statuses)


@dataclass(frozen=True)
class BookingMail:
    context: dict[str, object]
    attachments: list[dict[str, object]]


async def booking_mail(
    conn: AsyncConnection,
    row: RegistrationRow,
    links: Links,
    *,
    ticket_code: str | None = None,
    changes: list[str] | None = None,
    programme: Programme | None = None,
    places: list[PlaceRow] | None = None,
    with_files: bool = True,
) -> BookingMail:
    """The context and attachments of a mail about the whole booking as it now stands."""
    if programme is None:
        gathering = await programme_queries.gathering_row(conn, gathering_id=row.gathering_id)
        programme = await programme_for_row(conn, gathering)
    g = programme.gathering
    if places is None:
        places = await place_queries.places_of(conn, row.id)
    feed_key = await calendars.ensure_feed_key(conn, row.id)
    placed, waiting, offered, events = [], [], [], []
    for place in places:
        session = programme.session(place.session_id)
        if session is None or place.status == "cancelled":
            continue
        shown = session_context(session, g.timezone, place.status)
        if place.status == "confirmed":
            placed.append(shown)
            url = links.session_url(g.slug, session.id)
            # No joining link: the personal feed adds each place's own link once it opens.
            events.append(calendars.FeedEvent(g, session, url))
        elif place.status == "offered":
            offered.append(shown)
        else:
            waiting.append(shown)
    code = ticket_code or row.ticket_code or ""
    ticket = has_ticket("confirmed", [p.status for p in places]) and bool(code)
    manage_key = row.manage_key or ""
    context: dict[str, object] = {
        "name": row.name,
        "gathering_title": g.title,
        "has_ticket": ticket,
        "ticket_code": code if ticket else "",
        "ticket_url": links.ticket_url(row.id, manage_key) if ticket else "",
        "manage_url": links.manage_url(row.id, manage_key),
        "agenda_url": links.agenda_url(feed_key),
        "places": placed,
        "waiting": waiting,
        "offered": offered,
        "changes": list(changes or []),
    }
    attachments: list[dict[str, object]] = []
    if not with_files:
        return BookingMail(context, attachments)
    if ticket:
        attachments.append({"kind": "qr_png", "cid": "ticket-qr", "data": code})
    if events:
        info = calendars.FeedInfo(
            name=words.my_sessions_calendar(g.title),
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
    return BookingMail(context, attachments)


async def queue_booking_mail(
    conn: AsyncConnection,
    row: RegistrationRow,
    links: Links,
    now: dt.datetime,
    *,
    kind: str = "booking_changed",
    ticket_code: str | None = None,
    changes: list[str] | None = None,
) -> None:
    """Queue the mail of the booking as it now stands (``registration_confirmed`` on confirming,
    ``booking_changed`` after a change)."""
    # Worded in their language (issue 18): its dates, places and the calendar's name.
    with use_language(await registrant_language(conn, row)):
        made = await booking_mail(conn, row, links, ticket_code=ticket_code, changes=changes)
    await mail.queue(
        conn,
        kind=kind,
        to_address=row.email,
        registration_id=row.id,
        now=now,
        context=made.context,
        attachments=made.attachments,
    )
