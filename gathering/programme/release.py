"""Released programmes: what the public sees, and publishing a new release.

Organisers edit sessions freely; the public, the exports and the calendar feeds read only the last
*released* programme. A release stores a snapshot (plain JSON: no joining links, invite codes or
live counts) and the list of changes since the release before. Every session whose public details
changed gets its ``version`` raised by one (calendar feeds use it as SEQUENCE) and its
``public_changed_at`` set to the release time (DTSTAMP / LAST-MODIFIED).

The values themselves live in ``programme.published`` and are exported here too, as every reader
of a programme imports them with ``load_programme``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import i18n
from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import Conflict, NotFound
from gathering.fediverse.outbox import queue_release as queue_fediverse_deliveries
from gathering.programme import localised, queries, wording
from gathering.programme.documents import SNAPSHOT_FORMAT, SessionJson, SnapshotJson
from gathering.programme.published import (
    Change,
    Host,
    Programme,
    PublicGathering,
    PublicSession,
    Release,
    Room,
    SpeakerRef,
    Track,
    Venue,
)
from gathering.programme.queries import GatheringRow
from gathering.programme.snapshots import (
    change_from_json,
    change_json,
    current_sessions,
    diff_sessions,
    session_from_json,
)
from gathering.programme.speaker_notices import queue_speaker_notices

__all__ = [
    "Change",
    "Host",
    "Programme",
    "PublicGathering",
    "PublicSession",
    "Release",
    "ReleaseHook",
    "Room",
    "SpeakerRef",
    "Track",
    "Venue",
    "list_releases",
    "load_programme",
    "pending_changes",
    "programme_for_row",
    "release_programme",
]


# --- reading -------------------------------------------------------------------------------


async def load_programme(
    db: Database, slug: str, *, live_places: bool = True, its_pages: bool = True
) -> Programme:
    """The released programme of the gathering ``slug``; NotFound if there is no such gathering.

    ``live_places=False`` skips reading the places taken (every ``places_left`` is None), for
    readers that never show them: the calendar feeds and the exports. ``its_pages`` (the
    gathering's own pages, feeds and exports): a reader who chose no language gets the
    gathering's default (issue 18); False where several gatherings make one page.
    """

    async def _read(conn: AsyncConnection) -> Programme:
        row = await queries.gathering_row(conn, slug=slug)
        if row is None:
            raise NotFound(i18n.gettext(wording.NO_GATHERING_HERE))
        if its_pages:
            i18n.prefer_default(row.default_language)  # issue 18: read in its own language
        return await programme_for_row(conn, row, live_places=live_places)

    programme = await db.read(_read)
    if its_pages:
        i18n.prefer_default(programme.gathering.default_language)  # and rendered in it
    return programme


async def programme_for_row(
    conn: AsyncConnection, row: GatheringRow, *, live_places: bool = True
) -> Programme:
    """The released programme of a gathering row, with live places left."""
    gathering = _gathering(row)
    head = await queries.latest_release_head(conn, row.id)
    if head is None:
        return Programme(gathering, (), None)
    parsed = await _parsed_release(conn, row.id, head)
    if not live_places:
        return Programme(gathering, parsed.sessions, parsed.release)
    taken = await queries.places_taken(conn, row.id)
    return Programme(gathering, parsed.sessions_with(taken), parsed.release)


@dataclass
class _ParsedRelease:
    """A release's snapshot and changes as values, and its sessions as last seen with places."""

    sessions: tuple[PublicSession, ...]  # places_left not read (None)
    release: Release
    taken: tuple[int, ...] | None = None
    with_places: tuple[PublicSession, ...] = ()

    def sessions_with(self, taken: dict[int, int]) -> tuple[PublicSession, ...]:
        """The sessions with their places left, rebuilt only when a count has changed."""
        now = tuple(taken.get(s.id, 0) for s in self.sessions)
        if now != self.taken:
            self.with_places = tuple(
                s
                if s.capacity is None
                else dataclasses.replace(s, places_left=max(s.capacity - count, 0))
                for s, count in zip(self.sessions, now, strict=True)
            )
            self.taken = now
        return self.with_places


# A release is never changed once written (release_programme only inserts), so its snapshot is
# parsed once per process: decoding and building 300 sessions on every read was most of the time
# of the programme page, the feeds and the exports (bench/RESULTS.md). Keyed by the database too,
# so two databases in one process (tests) never share an entry.
_RELEASE_CACHE_SIZE = 64
_releases: OrderedDict[tuple[str, int, int, int, dt.datetime, str], _ParsedRelease] = OrderedDict()


async def _parsed_release(
    conn: AsyncConnection, gathering_id: int, head: queries.ReleaseHead
) -> _ParsedRelease:
    # Per language too: titles and descriptions are in the reader's where given (issue 18).
    language = i18n.current_language()
    key = (str(conn.engine.url), gathering_id, head.id, head.number, head.released_at, language)
    parsed = _releases.get(key)
    if parsed is not None:
        _releases.move_to_end(key)
        return parsed
    release_row = await queries.release_by_id(conn, head.id)
    if release_row is None:  # deleted with its gathering since the head was read
        raise NotFound(i18n.gettext(wording.NO_GATHERING_HERE))
    parsed = _ParsedRelease(
        sessions=tuple(
            session_from_json(item, language) for item in release_row.snapshot["sessions"]
        ),
        release=Release(
            number=release_row.number,
            released_at=release_row.released_at,
            note=release_row.note,
            changes=tuple(change_from_json(c) for c in release_row.changes),
        ),
    )
    _releases[key] = parsed
    if len(_releases) > _RELEASE_CACHE_SIZE:
        _releases.popitem(last=False)
    return parsed


async def list_releases(db: Database, slug: str) -> tuple[PublicGathering, list[Release]]:
    """Every release of a gathering, newest first (for the changes page and Atom feed)."""

    async def _read(conn: AsyncConnection) -> tuple[PublicGathering, list[Release]]:
        row = await queries.gathering_row(conn, slug=slug)
        if row is None:
            raise NotFound(i18n.gettext(wording.NO_GATHERING_HERE))
        i18n.prefer_default(row.default_language)
        releases = [
            Release(r.number, r.released_at, r.note, tuple(change_from_json(c) for c in r.changes))
            for r in await queries.releases(conn, row.id)
        ]
        return _gathering(row), releases

    return await db.read(_read)


def _gathering(row: GatheringRow) -> PublicGathering:
    value = PublicGathering(
        id=row.id,
        slug=row.slug,
        title=row.title,
        description=row.description,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        timezone=row.timezone,
        mode=row.mode,
        location=row.location,
        registration_open=row.registration_open,
        default_language=row.default_language,
    )
    return localised.gathering(value, row.translations, i18n.current_language())


# --- releasing -----------------------------------------------------------------------------


ReleaseHook = Callable[[AsyncConnection, GatheringRow, Release, dt.datetime], Awaitable[None]]


async def release_programme(
    db: Database,
    gathering_id: int,
    *,
    released_by: int | None,
    note: str = "",
    on_release: ReleaseHook | None = None,
) -> Release:
    """Publish the current programme as a new release; Conflict if nothing public changed.

    ``on_release(conn, gathering_row, release, now)`` runs inside the same transaction (to queue
    "session changed" mail atomically with the release). Authorisation is the caller's.
    """

    async def _write(conn: AsyncConnection) -> Release:
        now = utc_now().replace(microsecond=0)
        row = await queries.gathering_by_id(conn, gathering_id)
        if row is None:
            raise NotFound(i18n.gettext(wording.NO_SUCH_GATHERING))
        previous = await queries.latest_release(conn, gathering_id)
        before = _snapshot_sessions(previous)
        current = await current_sessions(conn, gathering_id)
        changes = diff_sessions(before, current)
        if previous is not None and not changes and note.strip() == "":
            raise Conflict(i18n.gettext(wording.NOTHING_TO_RELEASE))
        changed_ids = {c.session_id for c in changes if "withdrawn" not in c.kinds}
        for item in current.values():
            if item["id"] in changed_ids:
                # Strictly later than the previous stamp, so LAST-MODIFIED always moves forward
                # even for two releases within one second.
                stamp = now
                if item["id"] in before:
                    previous_stamp = dt.datetime.fromisoformat(before[item["id"]]["changed_at"])
                    stamp = max(now, previous_stamp + dt.timedelta(seconds=1))
                item["version"] = await queries.bump_session_version(conn, item["id"], stamp)
                item["changed_at"] = stamp.isoformat()
            else:
                old = before[item["id"]]
                item["version"], item["changed_at"] = old["version"], old["changed_at"]
        number = (previous.number if previous is not None else 0) + 1
        snapshot: SnapshotJson = {
            "format": SNAPSHOT_FORMAT,
            "sessions": sorted(current.values(), key=lambda s: (s["starts_at"], s["id"])),
        }
        serialised_changes = [change_json(c) for c in changes]
        await queries.insert_release(
            conn,
            gathering_id=gathering_id,
            number=number,
            released_at=now,
            released_by=released_by,
            note=note.strip(),
            snapshot=snapshot,
            changes=serialised_changes,
        )
        release = Release(number, now, note.strip(), tuple(changes))
        if on_release is not None:
            await on_release(conn, row, release, now)
        programme = await programme_for_row(conn, row, live_places=False)
        await queue_speaker_notices(conn, row, release, programme, now)  # issue 16, item 9
        await queue_fediverse_deliveries(conn, gathering_id, number, now)  # same transaction
        return release

    return await db.write(_write)


async def pending_changes(db: Database, gathering_id: int) -> list[Change]:
    """What a release now would publish (for the organiser's release page)."""

    async def _read(conn: AsyncConnection) -> list[Change]:
        previous = await queries.latest_release(conn, gathering_id)
        before = _snapshot_sessions(previous)
        return diff_sessions(before, await current_sessions(conn, gathering_id))

    return await db.read(_read)


def _snapshot_sessions(release: queries.ReleaseRow | None) -> dict[int, SessionJson]:
    """A release's sessions by id; none before the first release."""
    return {s["id"]: s for s in release.snapshot["sessions"]} if release is not None else {}
