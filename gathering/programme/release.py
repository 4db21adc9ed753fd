"""Released programmes: what the public sees, and what changed between releases.

Organisers edit sessions freely; the public, the exports and the calendar feeds read only the last
*released* programme. A release stores a snapshot (plain JSON: no joining links, invite codes or
live counts) and the list of changes since the release before. Every session whose public details
changed gets its ``version`` raised by one (calendar feeds use it as SEQUENCE) and its
``public_changed_at`` set to the release time (DTSTAMP / LAST-MODIFIED).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import Conflict, NotFound
from gathering.programme import queries

SNAPSHOT_FORMAT = 1

# Fields of a session whose change is a "public change"; each maps to a change kind.
_CHANGE_KINDS = (
    ("status", "cancelled"),
    ("starts_at", "moved_time"),
    ("ends_at", "moved_time"),
    ("room", "moved_room"),
    ("title", "retitled"),
    ("speakers", "speakers_changed"),
)
_DETAIL_FIELDS = (
    "description",
    "format",
    "access",
    "access_note",
    "capacity",
    "language",
    "track",
    "hosts",
)


@dataclass(frozen=True)
class Venue:
    id: int
    name: str
    address: str
    step_free: bool | None
    hearing_loop: bool | None
    bsl: bool | None
    quiet_room: bool | None
    access_notes: str


@dataclass(frozen=True)
class Room:
    id: int
    name: str
    capacity: int | None
    step_free: bool | None
    access_notes: str
    venue: Venue


@dataclass(frozen=True)
class Track:
    slug: str
    name: str


@dataclass(frozen=True)
class Host:
    id: int
    slug: str
    name: str
    short_name: str
    role: str  # host | co_host


@dataclass(frozen=True)
class SpeakerRef:
    id: int
    slug: str
    name: str
    affiliation: str
    bio: str
    photo: str | None
    role: str  # chair | speaker


@dataclass(frozen=True)
class PublicSession:
    id: int
    title: str
    description: str  # Markdown source; render with the safe renderer
    starts_at: dt.datetime  # aware UTC
    ends_at: dt.datetime
    status: str  # published | cancelled
    format: str  # in_person | online | hybrid
    access: str  # public | supporters | invite
    access_note: str
    capacity: int | None
    language: str
    track: Track | None
    room: Room | None  # None: venue tbc
    hosts: tuple[Host, ...]
    speakers: tuple[SpeakerRef, ...]
    version: int
    changed_at: dt.datetime
    places_left: int | None = None  # live, filled in when read; None: no limit

    @property
    def is_cancelled(self) -> bool:
        return self.status == "cancelled"


@dataclass(frozen=True)
class PublicGathering:
    id: int
    slug: str
    title: str
    description: str
    starts_on: dt.date
    ends_on: dt.date
    timezone: str
    mode: str
    location: str
    registration_open: bool = False


@dataclass(frozen=True)
class Change:
    session_id: int
    title: str
    kinds: tuple[str, ...]  # new, withdrawn, cancelled, moved_time, moved_room, retitled, ...
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class Release:
    number: int
    released_at: dt.datetime
    note: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Programme:
    """A gathering as last released. ``release`` is None before the first release."""

    gathering: PublicGathering
    sessions: tuple[PublicSession, ...]
    release: Release | None

    def session(self, session_id: int) -> PublicSession | None:
        return next((s for s in self.sessions if s.id == session_id), None)


# --- reading -------------------------------------------------------------------------------


async def load_programme(db: Database, slug: str, *, live_places: bool = True) -> Programme:
    """The released programme of the gathering ``slug``; NotFound if there is no such gathering.

    ``live_places=False`` skips reading the places taken (every ``places_left`` is None), for
    readers that never show them: the calendar feeds and the exports.
    """

    async def _read(conn: AsyncConnection) -> Programme:
        row = await queries.gathering_row(conn, slug=slug)
        if row is None:
            raise NotFound("There is no gathering at this address.")
        return await programme_for_row(conn, row, live_places=live_places)

    return await db.read(_read)


async def programme_for_row(
    conn: AsyncConnection, row: Any, *, live_places: bool = True
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
_releases: OrderedDict[tuple[str, int, int, int, dt.datetime], _ParsedRelease] = OrderedDict()


async def _parsed_release(conn: AsyncConnection, gathering_id: int, head: Any) -> _ParsedRelease:
    key = (str(conn.engine.url), gathering_id, head.id, head.number, head.released_at)
    parsed = _releases.get(key)
    if parsed is not None:
        _releases.move_to_end(key)
        return parsed
    release_row = await queries.release_by_id(conn, head.id)
    parsed = _ParsedRelease(
        sessions=tuple(_session_from_snapshot(item) for item in release_row.snapshot["sessions"]),
        release=Release(
            number=release_row.number,
            released_at=release_row.released_at,
            note=release_row.note,
            changes=tuple(_change(c) for c in release_row.changes),
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
            raise NotFound("There is no gathering at this address.")
        releases = [
            Release(r.number, r.released_at, r.note, tuple(_change(c) for c in r.changes))
            for r in await queries.releases(conn, row.id)
        ]
        return _gathering(row), releases

    return await db.read(_read)


def _gathering(row: Any) -> PublicGathering:
    return PublicGathering(
        id=row.id,
        slug=row.slug,
        title=row.title,
        description=row.description,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        timezone=row.timezone,
        mode=row.mode,
        location=row.location,
        registration_open=bool(row.registration_open),
    )


def _session_from_snapshot(item: dict[str, Any]) -> PublicSession:
    """A released session as a value; its places left are not read here (None)."""
    room = item["room"]
    return PublicSession(
        id=item["id"],
        title=item["title"],
        description=item["description"],
        starts_at=dt.datetime.fromisoformat(item["starts_at"]),
        ends_at=dt.datetime.fromisoformat(item["ends_at"]),
        status=item["status"],
        format=item["format"],
        access=item["access"],
        access_note=item["access_note"],
        capacity=item["capacity"],
        language=item["language"],
        track=Track(**item["track"]) if item["track"] else None,
        room=Room(**{**room, "venue": Venue(**room["venue"])}) if room else None,
        hosts=tuple(Host(**h) for h in item["hosts"]),
        speakers=tuple(SpeakerRef(**s) for s in item["speakers"]),
        version=item["version"],
        changed_at=dt.datetime.fromisoformat(item["changed_at"]),
    )


def _change(data: dict[str, Any]) -> Change:
    return Change(
        session_id=data["session_id"],
        title=data["title"],
        kinds=tuple(data["kinds"]),
        before=data["before"],
        after=data["after"],
    )


# --- releasing -----------------------------------------------------------------------------


ReleaseHook = Callable[[AsyncConnection, Any, "Release", dt.datetime], Awaitable[None]]


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
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        row = await queries.gathering_row(conn, gathering_id=gathering_id)
        if row is None:
            raise NotFound("There is no such gathering.")
        previous = await queries.latest_release(conn, gathering_id)
        before = {s["id"]: s for s in previous.snapshot["sessions"]} if previous else {}
        current = await _current_sessions(conn, gathering_id)
        changes = diff_sessions(before, current)
        if previous is not None and not changes and note.strip() == "":
            raise Conflict("Nothing has changed since the last release.")
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
        number = (previous.number if previous else 0) + 1
        snapshot = {
            "format": SNAPSHOT_FORMAT,
            "sessions": sorted(current.values(), key=lambda s: (s["starts_at"], s["id"])),
        }
        serialised_changes = [_change_json(c) for c in changes]
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
        return release

    return await db.write(_write)


async def pending_changes(db: Database, gathering_id: int) -> list[Change]:
    """What a release now would publish (for the organiser's release page)."""

    async def _read(conn: AsyncConnection) -> list[Change]:
        previous = await queries.latest_release(conn, gathering_id)
        before = {s["id"]: s for s in previous.snapshot["sessions"]} if previous else {}
        return diff_sessions(before, await _current_sessions(conn, gathering_id))

    return await db.read(_read)


async def _current_sessions(conn: AsyncConnection, gathering_id: int) -> dict[int, dict[str, Any]]:
    rows = await queries.releasable_sessions(conn, gathering_id)
    ids = [row.id for row in rows]
    hosts: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for h in await queries.hosts_for_sessions(conn, ids):
        hosts[h.session_id].append(
            {"id": h.id, "slug": h.slug, "name": h.name, "short_name": h.short_name, "role": h.role}
        )
    speakers: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for s in await queries.speakers_for_sessions(conn, ids):
        speakers[s.session_id].append(
            {
                "id": s.id,
                "slug": s.slug,
                "name": s.name,
                "affiliation": s.affiliation,
                "bio": s.bio,
                "photo": s.photo,
                "role": s.role,
            }
        )
    return {row.id: _session_json(row, hosts[row.id], speakers[row.id]) for row in rows}


def _session_json(
    row: Any, hosts: list[dict[str, Any]], speakers: list[dict[str, Any]]
) -> dict[str, Any]:
    room = None
    if row.room_id is not None:
        room = {
            "id": row.room_id,
            "name": row.room_name,
            "capacity": row.room_capacity,
            "step_free": row.room_step_free,
            "access_notes": row.room_access_notes,
            "venue": {
                "id": row.venue_id,
                "name": row.venue_name,
                "address": row.venue_address,
                "step_free": row.venue_step_free,
                "hearing_loop": row.venue_hearing_loop,
                "bsl": row.venue_bsl,
                "quiet_room": row.venue_quiet_room,
                "access_notes": row.venue_access_notes,
            },
        }
    return {
        "id": row.id,
        "title": row.title,
        "description": row.description,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "status": row.status,
        "format": row.format,
        "access": row.access,
        "access_note": row.access_note,
        "capacity": row.capacity,
        "language": row.language,
        "track": {"slug": row.track_slug, "name": row.track_name} if row.track_slug else None,
        "room": room,
        "hosts": hosts,
        "speakers": speakers,
        "version": row.version,
        "changed_at": (row.public_changed_at or row.updated_at).isoformat(),
    }


def _comparable(item: dict[str, Any], field: str) -> Any:
    value = item[field]
    if field == "room":
        return None if value is None else (value["id"], value["name"], value["venue"]["name"])
    if field == "speakers":
        return [(s["id"], s["role"]) for s in value]
    if field == "hosts":
        return [(h["id"], h["role"]) for h in value]
    if field == "track":
        return None if value is None else value["slug"]
    return value


def _shown(item: dict[str, Any], field: str) -> Any:
    """A field as the changes page words it."""
    value = item[field]
    if field == "room":
        return "Venue tbc" if value is None else f"{value['name']}, {value['venue']['name']}"
    if field == "speakers":
        return [s["name"] for s in value]
    return value


def diff_sessions(
    before: dict[int, dict[str, Any]], after: dict[int, dict[str, Any]]
) -> list[Change]:
    """Changes from one set of session snapshots to another, in programme order."""
    changes = []
    for session_id, new in after.items():
        old = before.get(session_id)
        if old is None:
            changes.append(Change(session_id, new["title"], ("new",), {}, {}))
            continue
        kinds: list[str] = []
        was: dict[str, Any] = {}
        now: dict[str, Any] = {}
        for field, kind in _CHANGE_KINDS:
            if _comparable(old, field) != _comparable(new, field):
                if field == "status" and new["status"] != "cancelled":
                    kind = "reinstated"
                if kind not in kinds:
                    kinds.append(kind)
                was[field], now[field] = _shown(old, field), _shown(new, field)
        if any(_comparable(old, f) != _comparable(new, f) for f in _DETAIL_FIELDS):
            kinds.append("details_changed")
        if kinds:
            changes.append(Change(session_id, new["title"], tuple(kinds), was, now))
    for session_id, old in before.items():
        if session_id not in after:
            changes.append(Change(session_id, old["title"], ("withdrawn",), {}, {}))
    order = {sid: (item["starts_at"], sid) for sid, item in {**before, **after}.items()}
    return sorted(changes, key=lambda c: order[c.session_id])


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "session_id": change.session_id,
        "title": change.title,
        "kinds": list(change.kinds),
        "before": change.before,
        "after": change.after,
    }
