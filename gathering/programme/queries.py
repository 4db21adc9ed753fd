"""Queries of the programme: gatherings, their sessions as released, releases, and the public
catalogue of speakers and organisations. Every query returns typed rows (named tuples) or plain
values; a release's stored JSON is typed by the documents in ``programme.documents``. The
public catalogue's own reads (speakers, organisations) are in ``programme.catalogue_queries``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple, overload

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import prepared
from gathering.core.schema import (
    gathering,
    organisation,
    programme_release,
    programme_session,
    room,
    session_host,
    session_speaker,
    speaker,
    track,
    venue,
)
from gathering.programme.documents import ChangeJson, SnapshotJson

# --- rows ------------------------------------------------------------------------------------


class GatheringRow(NamedTuple):
    """A gathering as stored (every column)."""

    id: int
    slug: str
    title: str
    description: str
    starts_on: dt.date
    ends_on: dt.date
    timezone: str
    mode: str
    location: str
    host_organisation_id: int | None
    is_listed: bool
    registration_open: bool
    data_controller: str
    privacy_contact: str
    retention_days: int
    released_version: int
    anonymised_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    default_language: str = "en"  # issue 18
    translations: object = None  # issue 18: its JSON, read with core.content


class GatheringSummary(NamedTuple):
    """A listed gathering with its count of published or cancelled sessions."""

    id: int
    slug: str
    title: str
    description: str
    starts_on: dt.date
    ends_on: dt.date
    timezone: str
    mode: str
    location: str
    session_count: int
    translations: object = None  # issue 18: read with core.content (programme.gatherings)
    title_lang: str = "en"  # the language ``title`` is in, once localised
    default_language: str = "en"  # the gathering's own: its location is written in it


class ReleasableSession(NamedTuple):
    """A published or cancelled session with its room, venue and track (None: not set)."""

    id: int
    title: str
    description: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    format: str
    access: str
    access_note: str
    capacity: int | None
    language: str
    version: int
    public_changed_at: dt.datetime | None
    updated_at: dt.datetime
    room_id: int | None
    room_name: str | None
    room_capacity: int | None
    room_step_free: bool | None
    room_access_notes: str | None
    venue_id: int | None
    venue_name: str | None
    venue_address: str | None
    venue_step_free: bool | None
    venue_hearing_loop: bool | None
    venue_bsl: bool | None
    venue_quiet_room: bool | None
    venue_access_notes: str | None
    track_slug: str | None
    track_name: str | None
    translations: object = None  # issue 18: its JSON, read with core.content


class SessionHostRow(NamedTuple):
    session_id: int
    role: str  # host | co_host
    id: int  # the organisation's
    slug: str
    name: str
    short_name: str


class SessionSpeakerRow(NamedTuple):
    session_id: int
    role: str  # chair | speaker
    id: int  # the speaker's
    slug: str
    name: str
    affiliation: str
    bio: str
    photo: str | None


class ReleaseHead(NamedTuple):
    """A release's identity, without its (large) snapshot and changes."""

    id: int
    number: int
    released_at: dt.datetime


class ReleaseRow(NamedTuple):
    id: int
    number: int
    released_at: dt.datetime
    note: str
    snapshot: SnapshotJson
    changes: list[ChangeJson]


class ReleaseSummary(NamedTuple):
    number: int
    released_at: dt.datetime
    note: str
    changes: list[ChangeJson]


class SessionInGathering(NamedTuple):
    """Any session (drafts too) with its gathering, for organisers."""

    id: int
    title: str
    starts_at: dt.datetime
    status: str
    room_id: int | None
    gathering_id: int
    gathering_slug: str
    gathering_title: str
    timezone: str
    host_organisation_id: int | None


# --- statements built once ---------------------------------------------------------------------

# Every public page, feed and export reads these, and building a select costs more than
# SQLAlchemy's compiled cache saves when it is rebuilt on every request.
_GATHERING_COLUMNS = [gathering.c[name] for name in GatheringRow._fields]
_GATHERING_BY_SLUG = sa.select(*_GATHERING_COLUMNS).where(gathering.c.slug == sa.bindparam("slug"))
_GATHERING_BY_ID = sa.select(*_GATHERING_COLUMNS).where(
    gathering.c.id == sa.bindparam("gathering_id")
)
_LATEST_RELEASE_HEAD = (
    sa.select(programme_release.c.id, programme_release.c.number, programme_release.c.released_at)
    .where(programme_release.c.gathering_id == sa.bindparam("gathering_id"))
    .order_by(programme_release.c.number.desc())
    .limit(1)
)
_RELEASE_COLUMNS = [programme_release.c[name] for name in ReleaseRow._fields]
_PLACES_TAKEN = sa.select(programme_session.c.id, programme_session.c.places_taken).where(
    programme_session.c.gathering_id == sa.bindparam("gathering_id")
)
_VISIBLE = programme_session.c.status.in_(["published", "cancelled"])


# --- gatherings ------------------------------------------------------------------------------


@overload
async def gathering_row(conn: AsyncConnection, *, slug: str) -> GatheringRow | None: ...
@overload
async def gathering_row(conn: AsyncConnection, *, gathering_id: int) -> GatheringRow: ...
async def gathering_row(
    conn: AsyncConnection, *, slug: str | None = None, gathering_id: int | None = None
) -> GatheringRow | None:
    """The gathering ``slug`` (None if there is none), or the gathering ``gathering_id`` of a
    stored row (its foreign key guarantees one: NoResultFound otherwise; for an id a person gave,
    use ``gathering_by_id``)."""
    if slug is not None:
        row = await prepared.first(conn, _GATHERING_BY_SLUG, {"slug": slug})
        return None if row is None else GatheringRow._make(row)
    row = await prepared.first(conn, _GATHERING_BY_ID, {"gathering_id": gathering_id})
    if row is None:
        raise sa.exc.NoResultFound(f"no gathering {gathering_id}")
    return GatheringRow._make(row)


async def gathering_by_id(conn: AsyncConnection, gathering_id: int) -> GatheringRow | None:
    """The gathering ``gathering_id``, or None if there is none."""
    row = await prepared.first(conn, _GATHERING_BY_ID, {"gathering_id": gathering_id})
    return None if row is None else GatheringRow._make(row)


async def listed_gatherings(conn: AsyncConnection) -> list[GatheringSummary]:
    """Listed gatherings, newest first, each with its count of published or cancelled sessions."""
    session_count = (
        sa.select(sa.func.count())
        .where(programme_session.c.gathering_id == gathering.c.id, _VISIBLE)
        .scalar_subquery()
    )
    fields = GatheringSummary._fields
    columns = [gathering.c[name] for name in fields[: fields.index("session_count")]]
    query = (
        sa.select(
            *columns,
            session_count.label("session_count"),
            gathering.c.translations,
            gathering.c.default_language,
        )
        .where(gathering.c.is_listed.is_(True))
        .order_by(gathering.c.starts_on.desc(), gathering.c.id)
    )
    return [GatheringSummary(**row._mapping) for row in await conn.execute(query)]


async def listed_gathering_slugs(conn: AsyncConnection) -> list[str]:
    """Slugs of listed gatherings, newest first."""
    query = (
        sa.select(gathering.c.slug)
        .where(gathering.c.is_listed.is_(True))
        .order_by(gathering.c.starts_on.desc(), gathering.c.id)
    )
    return [str(slug) for slug in (await conn.execute(query)).scalars()]


# --- sessions --------------------------------------------------------------------------------


async def releasable_sessions(conn: AsyncConnection, gathering_id: int) -> list[ReleasableSession]:
    """Published and cancelled sessions (drafts never reach the public), with room and venue."""
    session_columns = [programme_session.c[name] for name in ReleasableSession._fields[:14]]
    query = (
        sa.select(
            *session_columns,
            programme_session.c.room_id,
            room.c.name.label("room_name"),
            room.c.capacity.label("room_capacity"),
            room.c.step_free.label("room_step_free"),
            room.c.access_notes.label("room_access_notes"),
            venue.c.id.label("venue_id"),
            venue.c.name.label("venue_name"),
            venue.c.address.label("venue_address"),
            venue.c.step_free.label("venue_step_free"),
            venue.c.hearing_loop.label("venue_hearing_loop"),
            venue.c.bsl.label("venue_bsl"),
            venue.c.quiet_room.label("venue_quiet_room"),
            venue.c.access_notes.label("venue_access_notes"),
            track.c.slug.label("track_slug"),
            track.c.name.label("track_name"),
            programme_session.c.translations,
        )
        .select_from(
            programme_session.outerjoin(room, room.c.id == programme_session.c.room_id)
            .outerjoin(venue, venue.c.id == room.c.venue_id)
            .outerjoin(track, track.c.id == programme_session.c.track_id)
        )
        .where(programme_session.c.gathering_id == gathering_id, _VISIBLE)
        .order_by(programme_session.c.starts_at, programme_session.c.id)
    )
    return [ReleasableSession._make(row) for row in await conn.execute(query)]


async def hosts_for_sessions(
    conn: AsyncConnection, session_ids: Sequence[int]
) -> list[SessionHostRow]:
    """The hosting and co-hosting organisations of the sessions, hosts first."""
    query = (
        sa.select(
            session_host.c.session_id,
            session_host.c.role,
            organisation.c.id,
            organisation.c.slug,
            organisation.c.name,
            organisation.c.short_name,
        )
        .join(organisation, organisation.c.id == session_host.c.organisation_id)
        .where(session_host.c.session_id.in_(session_ids))
        .order_by(session_host.c.session_id, session_host.c.role.desc(), organisation.c.name)
    )
    return [SessionHostRow._make(row) for row in await conn.execute(query)]


async def speakers_for_sessions(
    conn: AsyncConnection, session_ids: Sequence[int]
) -> list[SessionSpeakerRow]:
    """The speakers of the sessions, in their order on each session."""
    query = (
        sa.select(
            session_speaker.c.session_id,
            session_speaker.c.role,
            speaker.c.id,
            speaker.c.slug,
            speaker.c.name,
            speaker.c.affiliation,
            speaker.c.bio,
            speaker.c.photo,
        )
        .join(speaker, speaker.c.id == session_speaker.c.speaker_id)
        .where(session_speaker.c.session_id.in_(session_ids))
        .order_by(session_speaker.c.session_id, session_speaker.c.position, speaker.c.name)
    )
    return [SessionSpeakerRow._make(row) for row in await conn.execute(query)]


async def bump_session_version(conn: AsyncConnection, session_id: int, now: dt.datetime) -> int:
    """Raise a session's public version by one; return the new version."""
    result = await conn.execute(
        sa.update(programme_session)
        .where(programme_session.c.id == session_id)
        .values(version=programme_session.c.version + 1, public_changed_at=now)
        .returning(programme_session.c.version)
    )
    return int(result.scalar_one())


async def places_taken(conn: AsyncConnection, gathering_id: int) -> dict[int, int]:
    """Places taken at each session of a gathering, by session id."""
    rows = (await conn.execute(_PLACES_TAKEN, {"gathering_id": gathering_id})).all()
    return {int(row.id): int(row.places_taken) for row in rows}


async def add_places_taken(conn: AsyncConnection, session_id: int, places: int) -> None:
    """Count ``places`` more places taken at a session."""
    await conn.execute(
        sa.update(programme_session)
        .where(programme_session.c.id == session_id)
        .values(places_taken=programme_session.c.places_taken + places)
    )


async def host_ids_by_session(conn: AsyncConnection) -> dict[int, list[int]]:
    """Organisation ids hosting or co-hosting each session."""
    rows = (
        await conn.execute(sa.select(session_host.c.session_id, session_host.c.organisation_id))
    ).all()
    by_session: dict[int, list[int]] = {}
    for row in rows:
        by_session.setdefault(int(row.session_id), []).append(int(row.organisation_id))
    return by_session


async def all_sessions_with_gathering(conn: AsyncConnection) -> list[SessionInGathering]:
    """Every session (drafts too) with its gathering, newest gathering first."""
    query = (
        sa.select(
            programme_session.c.id,
            programme_session.c.title,
            programme_session.c.starts_at,
            programme_session.c.status,
            programme_session.c.room_id,
            gathering.c.id.label("gathering_id"),
            gathering.c.slug.label("gathering_slug"),
            gathering.c.title.label("gathering_title"),
            gathering.c.timezone,
            gathering.c.host_organisation_id,
        )
        .join(gathering, gathering.c.id == programme_session.c.gathering_id)
        .order_by(
            gathering.c.starts_on.desc(), programme_session.c.starts_at, programme_session.c.id
        )
    )
    return [SessionInGathering._make(row) for row in await conn.execute(query)]


# --- releases --------------------------------------------------------------------------------


async def latest_release(conn: AsyncConnection, gathering_id: int) -> ReleaseRow | None:
    """The newest release of a gathering with its snapshot, or None before the first."""
    query = (
        sa.select(*_RELEASE_COLUMNS)
        .where(programme_release.c.gathering_id == gathering_id)
        .order_by(programme_release.c.number.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else ReleaseRow._make(row)


async def latest_release_head(conn: AsyncConnection, gathering_id: int) -> ReleaseHead | None:
    """The newest release's id, number and time, without its (large) snapshot and changes."""
    row = await prepared.first(conn, _LATEST_RELEASE_HEAD, {"gathering_id": gathering_id})
    return None if row is None else ReleaseHead._make(row)


async def release_by_id(conn: AsyncConnection, release_id: int) -> ReleaseRow | None:
    """One release with its snapshot, or None."""
    query = sa.select(*_RELEASE_COLUMNS).where(programme_release.c.id == release_id)
    row = (await conn.execute(query)).first()
    return None if row is None else ReleaseRow._make(row)


async def releases(conn: AsyncConnection, gathering_id: int) -> list[ReleaseSummary]:
    """Every release of a gathering, newest first, without snapshots."""
    query = (
        sa.select(*(programme_release.c[name] for name in ReleaseSummary._fields))
        .where(programme_release.c.gathering_id == gathering_id)
        .order_by(programme_release.c.number.desc())
    )
    return [ReleaseSummary._make(row) for row in await conn.execute(query)]


async def insert_release(
    conn: AsyncConnection,
    *,
    gathering_id: int,
    number: int,
    released_at: dt.datetime,
    released_by: int | None,
    note: str,
    snapshot: SnapshotJson,
    changes: list[ChangeJson],
) -> None:
    """Store a release and mark it as the gathering's released version."""
    await conn.execute(
        sa.insert(programme_release).values(
            gathering_id=gathering_id,
            number=number,
            released_at=released_at,
            released_by=released_by,
            note=note,
            snapshot=snapshot,
            changes=changes,
        )
    )
    await conn.execute(
        sa.update(gathering).where(gathering.c.id == gathering_id).values(released_version=number)
    )
