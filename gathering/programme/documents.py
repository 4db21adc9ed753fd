"""The JSON a release stores: its snapshot of the public sessions and its list of changes.

A snapshot holds only public details (no joining links, invite codes or live counts). Releases are
never rewritten, so these shapes are a stored format: add keys, never rename them.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

SNAPSHOT_FORMAT = 1


class VenueJson(TypedDict):
    id: int
    name: str
    address: str
    step_free: bool | None
    hearing_loop: bool | None
    bsl: bool | None
    quiet_room: bool | None
    access_notes: str


class RoomJson(TypedDict):
    id: int
    name: str
    capacity: int | None
    step_free: bool | None
    access_notes: str
    venue: VenueJson


class TrackJson(TypedDict):
    slug: str
    name: str


class HostJson(TypedDict):
    id: int
    slug: str
    name: str
    short_name: str
    role: str  # host | co_host


class SpeakerJson(TypedDict):
    id: int
    slug: str
    name: str
    affiliation: str
    bio: str
    photo: str | None
    role: str  # chair | speaker


class SessionJson(TypedDict):
    id: int
    title: str
    description: str
    starts_at: str  # ISO 8601, UTC
    ends_at: str
    status: str
    format: str
    access: str
    access_note: str
    capacity: int | None
    language: str
    track: TrackJson | None
    room: RoomJson | None  # None: venue tbc
    hosts: list[HostJson]
    speakers: list[SpeakerJson]
    version: int
    changed_at: str
    # Issue 18: {"cy": {"title": ..., "description": ...}}; absent in releases before it.
    translations: NotRequired[dict[str, dict[str, str]]]


class SnapshotJson(TypedDict):
    format: int
    sessions: list[SessionJson]


class ChangeJson(TypedDict):
    session_id: int
    title: str
    kinds: list[str]
    # The changed fields as the changes page words them: str, or a list of names for speakers.
    before: dict[str, Any]
    after: dict[str, Any]
