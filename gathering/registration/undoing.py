"""Undoing "give up this place" and "cancel my whole registration" (issue 16).

The choice: giving up is undoable for ``undo_minutes`` (a setting, 5 by default), and the place
stays the person's meanwhile: its seat is not released, so nobody can take it, and undoing always
gives back exactly what was given up (the place, an offer, or the spot in the waiting-list
queue). When the window ends, the housekeeping (every minute) makes it final in one conditional
UPDATE per place (``places.close_undo_windows``): the seat goes to the next person waiting,
offered once. An undo and the closing race on the same row with conditions that exclude each
other, so exactly one of them wins on either engine, and an offer is neither lost nor made
twice. The cost is that the next person waiting hears of the place a few minutes later; the
other way (release at once, re-take the place on undo if it is still free) would make "undo"
fail precisely when someone is waiting, which is when it matters.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import Conflict, NotFound
from gathering.core.i18n import gettext
from gathering.registration import place_queries, queries, words
from gathering.registration.manage import registration_for_token


async def undo_give_up(
    db: Database, token: str, place_id: int, *, secret_key: str, now: dt.datetime | None = None
) -> str:
    """Take back a place given up, while its window is open; the status it is back to.
    Conflict (in words) when it is too late."""

    async def _write(conn: AsyncConnection) -> str:
        moment = now or dt.datetime.now(dt.UTC)
        row = await registration_for_token(conn, token, secret_key)
        place = await place_queries.place_by_id(conn, place_id) if 0 < place_id < 2**31 else None
        if place is None or place.registration_id != row.id:
            raise NotFound(gettext(words.NOT_YOUR_PLACE))
        if row.status not in ("pending", "confirmed"):
            raise Conflict(gettext(words.UNDO_CANCELLED_FIRST))
        status = await place_queries.undo_give_up(conn, place.id, moment)
        if status is None:
            raise Conflict(gettext(words.TOO_LATE_TO_UNDO))
        return status

    return await db.write(_write, serializable=False)


async def undo_cancellation(
    db: Database, token: str, *, secret_key: str, now: dt.datetime | None = None
) -> None:
    """Bring back a registration cancelled within the window, with the places it had then."""

    async def _write(conn: AsyncConnection) -> None:
        moment = now or dt.datetime.now(dt.UTC)
        row = await registration_for_token(conn, token, secret_key)
        deadline = row.undo_until
        if row.status != "cancelled" or deadline is None:
            raise Conflict(gettext(words.TOO_LATE_TO_UNDO))
        # Places first, then the registration: the order the housekeeping's closing takes its
        # rows in, so the two never wait for each other. Only the places the cancellation gave
        # up come back (a place given up before has its own window); if the registration cannot
        # come back, raising rolls them back too.
        for place in await place_queries.given_up_places(conn, registration_id=row.id):
            if place.undo_until == deadline:
                await place_queries.undo_give_up(conn, place.id, moment, batch=deadline)
        status = "confirmed" if row.confirmed_at is not None else "pending"
        if not await queries.undo_cancellation(conn, row.id, status, moment):
            raise Conflict(gettext(words.TOO_LATE_TO_UNDO))

    try:
        await db.write(_write, serializable=False)
    except exc.IntegrityError:
        # One live registration per address: they registered again since.
        raise Conflict(gettext(words.REGISTERED_AGAIN_SINCE)) from None
