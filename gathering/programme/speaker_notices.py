"""Telling speakers when a release changes their session (issue 16, item 9).

On every release, each speaker (or chair) with a private email address gets one mail per
session of theirs that the release moved in time, moved to another room, cancelled or
reinstated: what changed, when and where it is now, and a link to their own calendar feed
(every session they speak at, across gatherings). The mail is an outbox row written in the
release's own transaction, so a release and its notices are made together or not at all.

The address is private: read here and by the admin's speaker form only. The notices' context
carries the speaker's and gathering's ids, so erasing a speaker or purging a gathering finds
them (``forget_speaker``, ``forget_after_purge``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.audit import insert_audit_event
from gathering.mail import messages as mail
from gathering.programme import speaker_queries as queries
from gathering.programme.published import Programme, PublicSession, Release
from gathering.programme.queries import GatheringRow
from gathering.programme.wording import ONLINE_ROOM, VENUE_TBC, change_lines

# The changes a speaker plans around (issue 16): time, room, cancellation (and its undoing).
NOTICE_KINDS = frozenset({"moved_time", "moved_room", "cancelled", "reinstated"})
# The speaker's public calendar feed (``calendars:speaker``); a test checks it against the
# app's route, as the mail is composed where no request is at hand.
SPEAKER_FEED_PATH = "/speakers/{slug}/calendar.ics"
SPEAKER_PAGE_PATH = "/speakers/{slug}"
ERASED_ACTION = "speaker_email_erased"


def _when_where(session: PublicSession, timezone: str) -> tuple[str, str]:
    zone = zoneinfo.ZoneInfo(timezone)
    start, end = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
    when = f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}–{end:%H:%M} {start.tzname()}"
    if session.room is not None:
        where = f"{session.room.name}, {session.room.venue.name}"
    else:
        where = ONLINE_ROOM if session.format == "online" else VENUE_TBC
    return when, where


async def queue_speaker_notices(
    conn: AsyncConnection,
    gathering: GatheringRow,
    release: Release,
    programme: Programme,
    now: dt.datetime,
) -> int:
    """Queue the notices of one release inside its write unit; how many were queued."""
    notable = {c.session_id: c for c in release.changes if NOTICE_KINDS & set(c.kinds)}
    if not notable:
        return 0
    queued = 0
    for contact in await queries.speaker_contacts(conn, sorted(notable)):
        change = notable[contact.session_id]
        session = programme.session(contact.session_id)
        if session is None:  # withdrawn from the public programme: nothing to point at
            continue
        when, where = _when_where(session, gathering.timezone)
        await mail.queue(
            conn,
            kind=queries.NOTICE_KIND,
            to_address=contact.email,
            now=now,
            context={
                "speaker_id": contact.speaker_id,
                "gathering_id": gathering.id,
                "session_id": session.id,
                "name": contact.name,
                "session_title": session.title,
                "gathering_title": gathering.title,
                "is_cancelled": session.is_cancelled,
                "changes_text": change_lines(change, gathering.timezone),
                "when_text": when,
                "where_text": where,
                "feed_path": SPEAKER_FEED_PATH.format(slug=contact.slug),
                "speaker_page_path": SPEAKER_PAGE_PATH.format(slug=contact.slug),
            },
        )
        queued += 1
    return queued


async def forget_speaker(
    conn: AsyncConnection, speaker_id: int, *, now: dt.datetime, actor_id: int | None
) -> int:
    """Before a speaker is deleted: drop the notices sent to them; how many went.

    A speaker who had an address leaves a ``speaker_email_erased`` event, which makes the
    privacy feature take the old values out of the database's files (``privacy.storage``).
    """
    had_email = bool(await queries.speaker_email(conn, speaker_id))
    dropped = await queries.delete_notices_to_speaker(conn, speaker_id)
    if had_email or dropped:
        await insert_audit_event(
            conn,
            now=now,
            actor_kind="account" if actor_id is not None else "system",
            actor_id=actor_id,
            action=ERASED_ACTION,
            subject_kind="speaker",
            subject_id=speaker_id,
            detail={"mails": dropped},
        )
    return dropped


async def forget_after_purge(conn: AsyncConnection, gathering_id: int) -> int:
    """In the retention purge of a gathering: drop the speaker notices about it, and blank the
    address of every speaker who now speaks only at anonymised gatherings; how many mails went."""
    dropped = await queries.delete_notices_of_gathering(conn, gathering_id)
    for speaker_id in await queries.speakers_past_retention(conn, gathering_id):
        await queries.forget_speaker_email(conn, speaker_id)
    return dropped
