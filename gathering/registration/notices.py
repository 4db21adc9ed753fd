"""Telling people with a place about their sessions: released changes and reminders."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.i18n import use_language
from gathering.mail import messages as mail
from gathering.programme import queries as programme_queries
from gathering.programme.queries import GatheringRow
from gathering.programme.release import Programme, Release, ReleaseHook, programme_for_row
from gathering.programme.wording import CHANGE_CANCELLED, change_lines
from gathering.registration import joining, place_queries
from gathering.registration.mail_text import moment_text, session_context
from gathering.registration.tokens import Links

# Changes worth an email: the public details people plan around.
NOTIFIED_KINDS = frozenset(
    {"cancelled", "reinstated", "moved_time", "moved_room", "retitled", "speakers_changed"}
)


def change_notifier(links: Links) -> ReleaseHook:
    """A release hook queuing mail about released changes: "session changed" to everyone with a
    confirmed place; for a cancellation, "cancelled" to them and to everyone waiting (issue 16:
    a cancellation is titled as one, never "changed ... your place is kept")."""

    async def notify(
        conn: AsyncConnection, gathering: GatheringRow, release: Release, now: dt.datetime
    ) -> None:
        notable = [c for c in release.changes if NOTIFIED_KINDS & set(c.kinds)]
        if not notable:
            return
        # Each person's mail is worded in their language (issue 18): the session as released
        # in it, its times and the changes' lines too, not the organiser's who released.
        programmes: dict[str, Programme] = {}
        people = await place_queries.live_registrants(conn, [c.session_id for c in notable])
        for change in notable:
            cancelled = "cancelled" in change.kinds
            for person in people:
                if person.session_id != change.session_id:
                    continue
                if person.place_status != "confirmed" and not cancelled:
                    continue  # waiting people hear of changes once they have a place
                language = person.language or gathering.default_language
                programme = await _in_language(conn, gathering, language, programmes)
                session = programme.session(change.session_id)
                if session is None:
                    continue
                with use_language(language):
                    details = session_context(session, gathering.timezone, "confirmed")
                    lines = change_lines(change, gathering.timezone)
                context: dict[str, object] = {
                    "name": person.name,
                    "session_title": session.title,
                    "changes_text": [x for x in lines if x != CHANGE_CANCELLED]
                    if cancelled
                    else lines,
                    "when_text": details["when_text"],
                    "where_text": details["where_text"],
                    "status": person.place_status,
                }
                if person.manage_key:
                    context["manage_url"] = links.manage_url(person.id, person.manage_key)
                await mail.queue(
                    conn,
                    kind="session_cancelled" if cancelled else "session_changed",
                    to_address=person.email,
                    registration_id=person.id,
                    now=now,
                    context=context,
                )

    return notify


async def _in_language(
    conn: AsyncConnection, gathering: GatheringRow, language: str, kept: dict[str, Programme]
) -> Programme:
    """The gathering's released programme in ``language``, read once per language."""
    if language not in kept:
        with use_language(language):
            kept[language] = await programme_for_row(conn, gathering)
    return kept[language]


async def queue_reminders(
    db: Database,
    *,
    links: Links,
    reminder_hours: int,
    joining_minutes: int = 30,
    now: dt.datetime | None = None,
) -> int:
    """Queue one reminder per confirmed place whose session starts within ``reminder_hours``.

    Idempotent and safe on several replicas: a place is marked by one conditional UPDATE before
    its mail is queued, in the same transaction.
    """

    async def _write(conn: AsyncConnection) -> int:
        moment = now or dt.datetime.now(dt.UTC)
        due = await place_queries.places_due_a_reminder(
            conn, moment, moment + dt.timedelta(hours=reminder_hours)
        )
        rows: dict[int, GatheringRow] = {}
        programmes: dict[tuple[int, str], Programme] = {}
        queued = 0
        for place in due:
            if place.gathering_id not in rows:
                row = await programme_queries.gathering_row(conn, gathering_id=place.gathering_id)
                rows[place.gathering_id] = row
            gathering = rows[place.gathering_id]
            # Worded in the person's language (issue 18), the programme read once per language.
            language = place.language or gathering.default_language
            if (gathering.id, language) not in programmes:
                with use_language(language):
                    programmes[gathering.id, language] = await programme_for_row(conn, gathering)
            session = programmes[gathering.id, language].session(place.session_id)
            if session is None or not await place_queries.mark_reminded(conn, place.id, moment):
                continue
            with use_language(language):
                details = session_context(session, gathering.timezone, "confirmed")
                opens_text = moment_text(
                    joining.opens_at(session.starts_at, joining_minutes), gathering.timezone
                )
            context = {
                "name": place.name,
                "session_title": session.title,
                "when_text": details["when_text"],
                "where_text": details["where_text"],
            }
            if session.format in ("online", "hybrid") and place.manage_key:
                # The place's personal link, never the meeting's address (issue 20).
                context["joining_link"] = links.join_url(place.id, place.manage_key)
                context["joining_opens_text"] = opens_text
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
