"""Confirming an email address: the registration gets its ticket code, places and ticket mail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.registration import queries, tokens, words
from gathering.registration.booking_mail import queue_booking_mail
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
            raise InvalidInput({"token": gettext(words.REGISTRATION_GONE)})
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
    """Queue the ticket mail: places and waiting-list entries apart, the QR code and a calendar
    of the places; someone only on waiting lists is told so, with no ticket (issue 16)."""
    await queue_booking_mail(conn, row, links, now, kind="registration_confirmed", ticket_code=code)
