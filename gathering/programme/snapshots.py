"""A release's snapshot: the current public sessions as stored JSON, that JSON read back as
values, and the changes from one snapshot to the next.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import content
from gathering.programme import localised, queries, wording
from gathering.programme.documents import (
    ChangeJson,
    HostJson,
    RoomJson,
    SessionJson,
    SpeakerJson,
)
from gathering.programme.published import (
    Change,
    Host,
    PublicSession,
    Room,
    SpeakerRef,
    Track,
    Venue,
)

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
    "translations",  # issue 18: a title or description in another language
)

# --- from the tables to JSON -----------------------------------------------------------------


async def current_sessions(conn: AsyncConnection, gathering_id: int) -> dict[int, SessionJson]:
    """The gathering's published and cancelled sessions now, as a snapshot stores them."""
    rows = await queries.releasable_sessions(conn, gathering_id)
    ids = [row.id for row in rows]
    hosts: dict[int, list[HostJson]] = {i: [] for i in ids}
    for h in await queries.hosts_for_sessions(conn, ids):
        hosts[h.session_id].append(
            {"id": h.id, "slug": h.slug, "name": h.name, "short_name": h.short_name, "role": h.role}
        )
    speakers: dict[int, list[SpeakerJson]] = {i: [] for i in ids}
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


def _room_json(row: queries.ReleasableSession) -> RoomJson | None:
    # Room and venue columns are outer-joined, so typed optional; a room always has a venue and
    # its text columns are NOT NULL, so with a room they are all there.
    if row.room_id is None or row.venue_id is None:
        return None
    return {
        "id": row.room_id,
        "name": row.room_name or "",
        "capacity": row.room_capacity,
        "step_free": row.room_step_free,
        "access_notes": row.room_access_notes or "",
        "venue": {
            "id": row.venue_id,
            "name": row.venue_name or "",
            "address": row.venue_address or "",
            "step_free": row.venue_step_free,
            "hearing_loop": row.venue_hearing_loop,
            "bsl": row.venue_bsl,
            "quiet_room": row.venue_quiet_room,
            "access_notes": row.venue_access_notes or "",
        },
    }


def _session_json(
    row: queries.ReleasableSession, hosts: list[HostJson], speakers: list[SpeakerJson]
) -> SessionJson:
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
        "track": (
            {"slug": row.track_slug, "name": row.track_name or ""} if row.track_slug else None
        ),
        "room": _room_json(row),
        "hosts": hosts,
        "speakers": speakers,
        "version": row.version,
        "changed_at": (row.public_changed_at or row.updated_at).isoformat(),
        "translations": content.stored(row.translations),
    }


# --- from JSON to values ---------------------------------------------------------------------


def session_from_json(item: SessionJson, language: str = "en") -> PublicSession:
    """A released session as a value, its title and description in ``language`` where given
    (issue 18); its places left are not read here (None)."""
    room = item["room"]
    track = item["track"]
    value = PublicSession(
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
        track=Track(**track) if track else None,
        room=_room(room) if room else None,
        hosts=tuple(Host(**h) for h in item["hosts"]),
        speakers=tuple(SpeakerRef(**s) for s in item["speakers"]),
        version=item["version"],
        changed_at=dt.datetime.fromisoformat(item["changed_at"]),
    )
    return localised.session(value, item.get("translations"), language)


def _room(room: RoomJson) -> Room:
    return Room(
        id=room["id"],
        name=room["name"],
        capacity=room["capacity"],
        step_free=room["step_free"],
        access_notes=room["access_notes"],
        venue=Venue(**room["venue"]),
    )


def change_from_json(data: ChangeJson) -> Change:
    """A stored change as a value."""
    return Change(
        session_id=data["session_id"],
        title=data["title"],
        kinds=tuple(data["kinds"]),
        before=data["before"],
        after=data["after"],
    )


def change_json(change: Change) -> ChangeJson:
    """A change as a release stores it."""
    return {
        "session_id": change.session_id,
        "title": change.title,
        "kinds": list(change.kinds),
        "before": change.before,
        "after": change.after,
    }


# --- changes between snapshots ---------------------------------------------------------------


def _comparable(item: SessionJson, field: str) -> object:
    if field == "room":
        room = item["room"]
        return None if room is None else (room["id"], room["name"], room["venue"]["name"])
    if field == "speakers":
        return [(s["id"], s["role"]) for s in item["speakers"]]
    if field == "hosts":
        return [(h["id"], h["role"]) for h in item["hosts"]]
    if field == "track":
        track = item["track"]
        return None if track is None else track["slug"]
    if field == "translations":
        return item.get("translations") or {}
    return item[field]  # type: ignore[literal-required]  # one of the plain fields above


def _shown(item: SessionJson, field: str) -> Any:
    """A field as the changes page words it (stored in the release as shown then)."""
    if field == "room":
        room = item["room"]
        return wording.VENUE_TBC if room is None else f"{room['name']}, {room['venue']['name']}"
    if field == "speakers":
        return [s["name"] for s in item["speakers"]]
    return item[field]  # type: ignore[literal-required]  # one of the plain fields above


def diff_sessions(before: dict[int, SessionJson], after: dict[int, SessionJson]) -> list[Change]:
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
