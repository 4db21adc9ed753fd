"""Personal joining links for online and hybrid sessions (issue 20).

Each confirmed place at an online or hybrid session has its own link, ``/j/<place id>-<signature>``
(``tokens.join_token``). The meeting's own address never reaches an attendee in a page, a mail
or a feed: only this link's redirect carries it, and only from ``joining_link_minutes`` before
the start until the end. Before, the link says when it opens; after, that the session has
ended; a place given up or cancelled, a cancelled session or an erased person (no manage key)
make it dead, in the same words whatever the cause.

The link itself appears nowhere before its window opens (issue 16): not on the ticket page, the
personal agenda page or its feed, and never in a mail's calendar attachment or the JSON API. The
one rule is ``is_revealed``; every reader asks it (``ticket_link``, ``personal_links``), with now
from ``gathering.core.clock``. The personal feed gains the link at that moment, and its HTTP
lifetime ends then (``PersonalLinks.next_reveal_at``), so a calendar that polls gets it.

Opening it inside the window records "joined online" for the place (first and last time). A
link opened from many devices in a short time is flagged to the organisers, not blocked: a
device is one browser holding this link's first-party cookie (a random value the server never
stores or reads back), so the database holds only a count of devices per window.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import clock
from gathering.core.database import Database
from gathering.core.errors import NotFound
from gathering.core.i18n import gettext
from gathering.registration import joining_queries as queries
from gathering.registration import words
from gathering.registration.tokens import Links, join_token

# A link opened by this many distinct devices within SHARED_WINDOW is flagged as shared.
SHARED_DEVICES = 4
SHARED_WINDOW = dt.timedelta(minutes=30)
DEVICE_COOKIE = "gathering_device"
DEVICE_COOKIE_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Opening:
    """What opening a joining link gives: the meeting (only when ``state`` is "open")."""

    state: str  # open | early | ended
    session_title: str
    gathering_title: str
    timezone: str
    opens_at: dt.datetime
    ends_at: dt.datetime
    meeting_url: str = ""


def place_of_token(token: str) -> int | None:
    """The place id a joining token names, or None if it cannot be one of ours."""
    head, _, _ = token.partition("-")
    if not (head.isascii() and head.isdigit() and len(head) <= 12) or len(token) > 100:
        return None
    return int(head)


def opens_at(starts_at: dt.datetime, reveal_minutes: int) -> dt.datetime:
    """When a session's joining links start to lead to the meeting, and first appear."""
    return starts_at - dt.timedelta(minutes=reveal_minutes)


def is_revealed(starts_at: dt.datetime, reveal_minutes: int, now: dt.datetime) -> bool:
    """The reveal rule: a personal joining link may be shown from when it opens, never before."""
    return now >= opens_at(starts_at, reveal_minutes)


@dataclass(frozen=True)
class JoiningLink:
    """A place's joining link as the ticket page shows it."""

    session_id: int
    token: str  # ``/j/<token>``, the place's own link; "" until it is revealed
    opens_at: dt.datetime
    ends_at: dt.datetime
    is_open: bool  # inside its window now


def ticket_link(
    secret_key: str,
    place_id: int,
    manage_key: str,
    *,
    session_id: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reveal_minutes: int,
    now: dt.datetime,
) -> JoiningLink:
    """A confirmed place's joining link for the ticket page: the token only once revealed."""
    opens = opens_at(starts_at, reveal_minutes)
    revealed = is_revealed(starts_at, reveal_minutes, now)
    token = join_token(secret_key, place_id, manage_key) if revealed else ""
    return JoiningLink(session_id, token, opens, ends_at, opens <= now < ends_at)


async def _live_place(conn: AsyncConnection, token: str, secret_key: str) -> queries.JoiningPlace:
    place_id = place_of_token(token)
    place = None if place_id is None else await queries.joining_place(conn, place_id)
    if (
        place is None
        or place.manage_key is None
        or not hmac.compare_digest(
            join_token(secret_key, place.place_id, place.manage_key).encode(), token.encode()
        )
        or place.place_status != "confirmed"
        or place.registration_status != "confirmed"
        or place.session_status == "cancelled"
        or place.session_format not in queries.ONLINE_FORMATS
        or not place.meeting_url
    ):
        raise NotFound(gettext(words.JOIN_LINK_DEAD))
    return place


async def open_link(
    db: Database,
    token: str,
    *,
    secret_key: str,
    reveal_minutes: int,
    is_new_device: bool,
    now: dt.datetime | None = None,
) -> Opening:
    """Open a personal joining link: inside the window, record the join and give the meeting's
    address; outside it, say when it opens or that it has ended. NotFound if dead."""

    async def _write(conn: AsyncConnection) -> Opening:
        moment = now or clock.utc_now()
        place = await _live_place(conn, token, secret_key)
        opening = Opening(
            "early",
            place.session_title,
            place.gathering_title,
            place.timezone,
            opens_at(place.starts_at, reveal_minutes),
            place.ends_at,
        )
        if moment < opening.opens_at:
            return opening
        if moment >= place.ends_at:
            return Opening("ended", *_details(opening))
        await _record_join(conn, place.place_id, moment, is_new_device)
        return Opening("open", *_details(opening), meeting_url=place.meeting_url)

    return await db.write(_write, serializable=False)


def _details(o: Opening) -> tuple[str, str, str, dt.datetime, dt.datetime]:
    return (o.session_title, o.gathering_title, o.timezone, o.opens_at, o.ends_at)


async def _record_join(
    conn: AsyncConnection, place_id: int, now: dt.datetime, is_new_device: bool
) -> None:
    record = await queries.join_record(conn, place_id)
    if record is None:
        if await queries.insert_first_join(conn, place_id, now):
            return
        record = await queries.join_record(conn, place_id)
        if record is None:  # erased meanwhile
            return
    started, devices = record.window_started_at, record.window_devices
    if is_new_device:
        if started is None or now - started > SHARED_WINDOW:
            started, devices = now, 1
        else:
            devices += 1
    shared = record.shared_at or (now if devices >= SHARED_DEVICES else None)
    await queries.update_join(
        conn,
        place_id,
        now=now,
        window_started_at=started or now,
        window_devices=devices,
        shared_at=shared,
    )


@dataclass(frozen=True)
class PersonalLinks:
    """A person's revealed joining links, and when each of the others appears (by session)."""

    links: dict[int, str]
    pending: dict[int, dt.datetime]

    @property
    def next_reveal_at(self) -> dt.datetime | None:
        """When the next link appears (a feed must be fetched again then); None if none."""
        return min(self.pending.values(), default=None)


async def personal_links(
    conn: AsyncConnection,
    registration_id: int,
    links: Links | None,
    *,
    reveal_minutes: int,
    now: dt.datetime | None = None,
) -> PersonalLinks:
    """Personal joining links (by session id) of the registration's confirmed places at online
    or hybrid sessions that have been revealed, and when each of the others will be; nothing
    without ``links``."""
    if links is None:
        return PersonalLinks({}, {})
    moment = now or clock.utc_now()
    shown, pending = {}, {}
    for place in await queries.personal_places(conn, registration_id):
        if is_revealed(place.starts_at, reveal_minutes, moment):
            shown[place.session_id] = links.join_url(place.place_id, place.manage_key)
        else:
            pending[place.session_id] = opens_at(place.starts_at, reveal_minutes)
    return PersonalLinks(shown, pending)
