"""The released programme as the public sees it: frozen values read from a release's snapshot.

Pages, feeds, exports, the JSON API and mail all read these; ``programme.release`` loads them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


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
    # Issue 18: title and description above are in the reader's language where given (else
    # English); *_lang says which; ``texts`` holds every other language's (core.content).
    title_lang: str = "en"
    description_lang: str = "en"
    texts: tuple[tuple[str, str, str], ...] = ()
    english_title: str = ""
    english_description: str = ""

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
    # Issue 18: as PublicSession's; ``default_language`` is its pages' language for a reader
    # who chose none.
    default_language: str = "en"
    title_lang: str = "en"
    description_lang: str = "en"
    texts: tuple[tuple[str, str, str], ...] = ()
    english_title: str = ""
    english_description: str = ""
    # The reader's language these values were made for: a key holding the gathering (kept
    # feeds, exports) is then one per language, even where no text differs.
    shown_in: str = "en"


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
