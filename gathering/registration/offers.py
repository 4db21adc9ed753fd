"""What an offer link's page shows before anyone presses its button (issue 16: it names the
session, when it is and until when the place is held), read only: mail scanners fetch links."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.programme import queries as programme_queries
from gathering.programme.release import programme_for_row
from gathering.registration import place_queries, queries, tokens, words
from gathering.registration.mail_text import moment_text, session_context


@dataclass(frozen=True)
class OfferView:
    session_title: str
    when_text: str
    where_text: str
    gathering_title: str
    until_text: str  # until when the place is held for the person


async def offer_view(
    db: Database, token: str, *, secret_key: str, now: dt.datetime | None = None
) -> OfferView:
    """The offer behind a link; InvalidInput (in words) if forged, lapsed or taken up already."""
    place_id = tokens.offer_id(token, secret_key)

    async def _read(conn: AsyncConnection) -> OfferView:
        moment = now or dt.datetime.now(dt.UTC)
        place = await place_queries.place_by_id(conn, place_id)
        person = (
            None if place is None else await queries.registration_by_id(conn, place.registration_id)
        )
        if place is None or person is None or person.manage_key is None:
            raise InvalidInput({"token": gettext(words.OFFER_LINK_INVALID)})
        if place.status == "confirmed":
            raise InvalidInput({"token": gettext(words.OFFER_TAKEN)})
        if place.status != "offered" or (place.offered_until and place.offered_until < moment):
            raise InvalidInput({"token": gettext(words.OFFER_LAPSED)})
        gathering = await programme_queries.gathering_row(conn, gathering_id=person.gathering_id)
        session = (await programme_for_row(conn, gathering)).session(place.session_id)
        if session is None:
            raise InvalidInput({"token": gettext(words.OFFER_LAPSED)})
        shown = session_context(session, gathering.timezone, "offered")
        until = place.offered_until
        return OfferView(
            session_title=session.title,
            when_text=shown["when_text"],
            where_text=shown["where_text"],
            gathering_title=gathering.title,
            until_text=moment_text(until, gathering.timezone) if until else "",
        )

    return await db.read(_read)
