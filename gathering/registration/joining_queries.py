"""Queries for personal joining links: the place behind a link, its joins, counts of joins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    check_in,
    gathering,
    online_join,
    programme_session,
    registration,
    session_place,
)

ONLINE_FORMATS = ("online", "hybrid")


class JoiningPlace(NamedTuple):
    """A place at an online or hybrid session, as its joining link needs it."""

    place_id: int
    place_status: str
    registration_status: str
    manage_key: str | None
    session_id: int
    session_title: str
    session_status: str
    session_format: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    meeting_url: str  # the raw link: only ever sent as a redirect, inside the window
    timezone: str
    gathering_title: str


class PersonalPlace(NamedTuple):
    """A person's confirmed place at an online or hybrid session (for their feed)."""

    place_id: int
    session_id: int
    manage_key: str
    starts_at: dt.datetime


class JoinRecord(NamedTuple):
    place_id: int
    first_joined_at: dt.datetime
    last_joined_at: dt.datetime | None
    opens: int
    window_started_at: dt.datetime | None
    window_devices: int
    shared_at: dt.datetime | None


class SessionJoins(NamedTuple):
    session_id: int
    joined: int  # places whose link was opened inside the window
    shared: int  # of them, links flagged as opened from many devices


def _places() -> sa.Select[tuple[object, ...]]:
    return sa.select(
        session_place.c.id,
        session_place.c.status,
        registration.c.status,
        registration.c.manage_key,
        programme_session.c.id,
        programme_session.c.title,
        programme_session.c.status,
        programme_session.c.format,
        programme_session.c.starts_at,
        programme_session.c.ends_at,
        programme_session.c.joining_link,
        gathering.c.timezone,
        gathering.c.title,
    ).select_from(
        session_place.join(registration, registration.c.id == session_place.c.registration_id)
        .join(programme_session, programme_session.c.id == session_place.c.session_id)
        .join(gathering, gathering.c.id == programme_session.c.gathering_id)
    )


async def joining_place(conn: AsyncConnection, place_id: int) -> JoiningPlace | None:
    """The place a joining link names, with its session and registration; None if none."""
    row = (await conn.execute(_places().where(session_place.c.id == place_id))).first()
    return None if row is None else JoiningPlace._make(row)


async def personal_places(conn: AsyncConnection, registration_id: int) -> list[PersonalPlace]:
    """The registration's confirmed places at online or hybrid sessions that are not cancelled."""
    query = (
        sa.select(
            session_place.c.id,
            programme_session.c.id,
            registration.c.manage_key,
            programme_session.c.starts_at,
        )
        .select_from(
            session_place.join(
                registration, registration.c.id == session_place.c.registration_id
            ).join(programme_session, programme_session.c.id == session_place.c.session_id)
        )
        .where(
            session_place.c.registration_id == registration_id,
            session_place.c.status == "confirmed",
            registration.c.status == "confirmed",
            registration.c.manage_key.is_not(None),
            programme_session.c.format.in_(ONLINE_FORMATS),
            programme_session.c.status != "cancelled",
        )
    )
    return [PersonalPlace(int(a), int(b), str(c), d) for a, b, c, d in await conn.execute(query)]


async def join_record(conn: AsyncConnection, place_id: int) -> JoinRecord | None:
    """The joins recorded for a place (locked for update on PostgreSQL), or None."""
    query = sa.select(
        online_join.c.place_id,
        online_join.c.first_joined_at,
        online_join.c.last_joined_at,
        online_join.c.opens,
        online_join.c.window_started_at,
        online_join.c.window_devices,
        online_join.c.shared_at,
    ).where(online_join.c.place_id == place_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return None if row is None else JoinRecord._make(row)


async def insert_first_join(conn: AsyncConnection, place_id: int, now: dt.datetime) -> bool:
    """Record a place's first join; False if another request recorded it first."""
    values = {
        "place_id": place_id,
        "first_joined_at": now,
        "last_joined_at": now,
        "opens": 1,
        "window_started_at": now,
        "window_devices": 1,
    }
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(online_join).values(**values).on_conflict_do_nothing()
    return int((await conn.execute(statement)).rowcount) == 1


async def update_join(
    conn: AsyncConnection,
    place_id: int,
    *,
    now: dt.datetime,
    window_started_at: dt.datetime,
    window_devices: int,
    shared_at: dt.datetime | None,
) -> None:
    """Record another opening of a place's link."""
    await conn.execute(
        sa.update(online_join)
        .where(online_join.c.place_id == place_id)
        .values(
            last_joined_at=now,
            opens=online_join.c.opens + 1,
            window_started_at=window_started_at,
            window_devices=window_devices,
            shared_at=shared_at,
        )
    )


async def joins_of_places(conn: AsyncConnection, place_ids: Sequence[int]) -> dict[int, JoinRecord]:
    """Joins recorded for the given places, by place id."""
    if not place_ids:
        return {}
    query = sa.select(
        online_join.c.place_id,
        online_join.c.first_joined_at,
        online_join.c.last_joined_at,
        online_join.c.opens,
        online_join.c.window_started_at,
        online_join.c.window_devices,
        online_join.c.shared_at,
    ).where(online_join.c.place_id.in_(list(place_ids)))
    return {int(row.place_id): JoinRecord._make(row) for row in await conn.execute(query)}


def _joins_of_gathering(gathering_id: int) -> sa.Select[tuple[object, ...]]:
    return (
        sa.select(session_place.c.session_id, session_place.c.registration_id, online_join)
        .select_from(
            online_join.join(session_place, session_place.c.id == online_join.c.place_id).join(
                programme_session, programme_session.c.id == session_place.c.session_id
            )
        )
        .where(programme_session.c.gathering_id == gathering_id)
    )


async def session_joins(conn: AsyncConnection, gathering_id: int) -> dict[int, SessionJoins]:
    """Per session of the gathering: places joined online, and links flagged as shared."""
    joins = _joins_of_gathering(gathering_id).subquery()
    query = sa.select(
        joins.c.session_id,
        sa.func.count(),
        sa.func.count(joins.c.shared_at),
    ).group_by(joins.c.session_id)
    return {
        int(sid): SessionJoins(int(sid), int(n), int(shared))
        for sid, n, shared in await conn.execute(query)
    }


async def attended_counts(conn: AsyncConnection, gathering_id: int) -> dict[int, int]:
    """Per session: people who came in person (a live entry) or joined online, each once."""
    arrived = (
        sa.select(check_in.c.session_id, check_in.c.registration_id)
        .join(registration, registration.c.id == check_in.c.registration_id)
        .where(
            registration.c.gathering_id == gathering_id,
            check_in.c.session_id.is_not(None),
            check_in.c.kind == "entry",
            check_in.c.undone_at.is_(None),
        )
    )
    joined = _joins_of_gathering(gathering_id).with_only_columns(
        session_place.c.session_id, session_place.c.registration_id
    )
    either = sa.union(arrived, joined).subquery()
    query = sa.select(either.c.session_id, sa.func.count()).group_by(either.c.session_id)
    return {int(sid): int(n) for sid, n in await conn.execute(query)}


async def joined_anywhere(conn: AsyncConnection, gathering_id: int) -> int:
    """People of the gathering who joined any session online."""
    joins = _joins_of_gathering(gathering_id).subquery()
    query = sa.select(sa.func.count(sa.distinct(joins.c.registration_id)))
    return int((await conn.execute(query)).scalar_one())


async def forget_joins_of_registration(conn: AsyncConnection, registration_id: int) -> int:
    """On erasure: keep only the fact and first time of each join (as check-ins keep theirs);
    the last time, the openings and the device counts go."""
    places = sa.select(session_place.c.id).where(session_place.c.registration_id == registration_id)
    return await _forget(conn, online_join.c.place_id.in_(places))


async def forget_joins_of_gathering(conn: AsyncConnection, gathering_id: int) -> int:
    """At the retention purge: the same for every place of the gathering."""
    places = (
        sa.select(session_place.c.id)
        .join(programme_session, programme_session.c.id == session_place.c.session_id)
        .where(programme_session.c.gathering_id == gathering_id)
    )
    return await _forget(conn, online_join.c.place_id.in_(places))


async def _forget(conn: AsyncConnection, where: sa.ColumnElement[bool]) -> int:
    result = await conn.execute(
        sa.update(online_join)
        .where(where, online_join.c.last_joined_at.is_not(None))
        .values(
            last_joined_at=None,
            opens=0,
            window_started_at=None,
            window_devices=0,
            shared_at=None,
        )
    )
    return int(result.rowcount)


async def session_formats(conn: AsyncConnection, gathering_id: int) -> dict[int, str]:
    """Each session's format (in_person | online | hybrid), by id."""
    query = sa.select(programme_session.c.id, programme_session.c.format).where(
        programme_session.c.gathering_id == gathering_id
    )
    return {int(sid): str(fmt) for sid, fmt in await conn.execute(query)}


async def format_of_session(conn: AsyncConnection, session_id: int) -> str:
    """The session's format (in_person | online | hybrid); in_person if there is none."""
    query = sa.select(programme_session.c.format).where(programme_session.c.id == session_id)
    return str((await conn.execute(query)).scalar_one_or_none() or "in_person")


async def first_joins_of_session(conn: AsyncConnection, session_id: int) -> dict[int, dt.datetime]:
    """Registration id → when they first joined the session online by their own link."""
    query = (
        sa.select(session_place.c.registration_id, online_join.c.first_joined_at)
        .join(session_place, session_place.c.id == online_join.c.place_id)
        .where(session_place.c.session_id == session_id)
    )
    return {int(rid): at for rid, at in await conn.execute(query)}
