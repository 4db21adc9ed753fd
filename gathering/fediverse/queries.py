"""Queries for the fediverse: actors' keys, followers, blocked instances, the delivery outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    fediverse_actor,
    fediverse_blocked_instance,
    fediverse_delivery,
    fediverse_follower,
    gathering,
    organisation,
    programme_release,
    programme_session,
)
from gathering.fediverse.documents import host_of
from gathering.programme.documents import SessionJson


class SubjectRow(NamedTuple):
    """An organisation or a listed gathering, as an actor names it."""

    kind: str  # organisation | gathering
    id: int
    slug: str
    name: str
    summary: str


class KeyRow(NamedTuple):
    id: int  # the fediverse_actor row
    public_key_pem: str
    private_key_pem: str


class FollowerRow(NamedTuple):
    id: int
    actor_id: int
    follower_uri: str
    inbox_url: str
    shared_inbox_url: str
    follow_activity_id: str

    @property
    def delivery_inbox(self) -> str:
        """The shared inbox when the follower's server has one (one POST per server)."""
        return self.shared_inbox_url or self.inbox_url


class DeliveryRow(NamedTuple):
    id: int
    verb: str
    gathering_id: int | None
    release_number: int | None
    session_id: int | None
    version: int | None
    organisation_id: int | None
    follower_id: int | None
    inbox_url: str
    attempts: int


# --- subjects and keys -----------------------------------------------------------------------


def _subject_column(kind: str) -> sa.Column[int]:
    return (
        fediverse_actor.c.organisation_id
        if kind == "organisation"
        else fediverse_actor.c.gathering_id
    )


async def organisation_subject(
    conn: AsyncConnection, *, slug: str | None = None, organisation_id: int | None = None
) -> SubjectRow | None:
    query = sa.select(
        organisation.c.id, organisation.c.slug, organisation.c.name, organisation.c.description
    )
    query = query.where(
        organisation.c.slug == slug if slug is not None else organisation.c.id == organisation_id
    )
    row = (await conn.execute(query)).first()
    return (
        None
        if row is None
        else SubjectRow("organisation", row.id, row.slug, row.name, row.description)
    )


async def gathering_subject(
    conn: AsyncConnection, *, slug: str | None = None, gathering_id: int | None = None
) -> SubjectRow | None:
    """A listed gathering (unlisted ones are reached by link only, never announced)."""
    query = sa.select(
        gathering.c.id, gathering.c.slug, gathering.c.title, gathering.c.description
    ).where(gathering.c.is_listed.is_(True))
    query = query.where(
        gathering.c.slug == slug if slug is not None else gathering.c.id == gathering_id
    )
    row = (await conn.execute(query)).first()
    return (
        None
        if row is None
        else SubjectRow("gathering", row.id, row.slug, row.title, row.description)
    )


async def session_gathering_id(conn: AsyncConnection, session_id: int) -> int | None:
    query = sa.select(programme_session.c.gathering_id).where(programme_session.c.id == session_id)
    found = (await conn.execute(query)).scalar_one_or_none()
    return None if found is None else int(found)


async def listed_gathering_ids(conn: AsyncConnection) -> list[int]:
    query = (
        sa.select(gathering.c.id).where(gathering.c.is_listed.is_(True)).order_by(gathering.c.id)
    )
    return [int(i) for i in (await conn.execute(query)).scalars()]


async def actor_key(conn: AsyncConnection, kind: str, subject_id: int) -> KeyRow | None:
    query = sa.select(
        fediverse_actor.c.id, fediverse_actor.c.public_key_pem, fediverse_actor.c.private_key_pem
    ).where(_subject_column(kind) == subject_id)
    row = (await conn.execute(query)).first()
    return None if row is None else KeyRow(int(row.id), row.public_key_pem, row.private_key_pem)


async def insert_actor_key(
    conn: AsyncConnection,
    kind: str,
    subject_id: int,
    *,
    public_pem: str,
    private_pem: str,
    now: dt.datetime,
) -> None:
    await conn.execute(
        sa.insert(fediverse_actor).values(
            {
                _subject_column(kind).name: subject_id,
                "public_key_pem": public_pem,
                "private_key_pem": private_pem,
                "created_at": now,
            }
        )
    )


async def actor_subject(conn: AsyncConnection, actor_id: int) -> tuple[str, int] | None:
    """(kind, subject id) of a fediverse_actor row."""
    query = sa.select(fediverse_actor.c.organisation_id, fediverse_actor.c.gathering_id).where(
        fediverse_actor.c.id == actor_id
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    if row.organisation_id is not None:
        return "organisation", int(row.organisation_id)
    return "gathering", int(row.gathering_id)


# --- followers -------------------------------------------------------------------------------

_FOLLOWER = sa.select(*(fediverse_follower.c[name] for name in FollowerRow._fields))


async def add_follower(
    conn: AsyncConnection,
    *,
    actor_id: int,
    follower_uri: str,
    inbox_url: str,
    shared_inbox_url: str,
    instance: str,
    follow_activity_id: str,
    now: dt.datetime,
) -> FollowerRow:
    """Store a follower (a repeated Follow updates the inbox and Follow id); return the row."""
    existing = (
        await conn.execute(
            _FOLLOWER.where(
                fediverse_follower.c.actor_id == actor_id,
                fediverse_follower.c.follower_uri == follower_uri,
            )
        )
    ).first()
    values = {
        "inbox_url": inbox_url,
        "shared_inbox_url": shared_inbox_url,
        "instance": instance,
        "follow_activity_id": follow_activity_id,
    }
    if existing is None:
        await conn.execute(
            sa.insert(fediverse_follower).values(
                actor_id=actor_id, follower_uri=follower_uri, created_at=now, **values
            )
        )
    else:
        await conn.execute(
            sa.update(fediverse_follower)
            .where(fediverse_follower.c.id == existing.id)
            .values(**values)
        )
    row = (
        await conn.execute(
            _FOLLOWER.where(
                fediverse_follower.c.actor_id == actor_id,
                fediverse_follower.c.follower_uri == follower_uri,
            )
        )
    ).one()
    return FollowerRow._make(row)


async def remove_follower(conn: AsyncConnection, *, actor_id: int, follower_uri: str) -> int:
    result = await conn.execute(
        sa.delete(fediverse_follower).where(
            fediverse_follower.c.actor_id == actor_id,
            fediverse_follower.c.follower_uri == follower_uri,
        )
    )
    return int(result.rowcount)


async def is_follower(conn: AsyncConnection, follower_uri: str) -> bool:
    query = sa.select(fediverse_follower.c.id).where(
        fediverse_follower.c.follower_uri == follower_uri
    )
    return (await conn.execute(query.limit(1))).first() is not None


async def remove_follower_everywhere(conn: AsyncConnection, follower_uri: str) -> int:
    result = await conn.execute(
        sa.delete(fediverse_follower).where(fediverse_follower.c.follower_uri == follower_uri)
    )
    return int(result.rowcount)


async def follower_by_id(conn: AsyncConnection, follower_id: int) -> FollowerRow | None:
    row = (await conn.execute(_FOLLOWER.where(fediverse_follower.c.id == follower_id))).first()
    return None if row is None else FollowerRow._make(row)


async def follower_count(conn: AsyncConnection, actor_id: int) -> int:
    query = sa.select(sa.func.count()).where(fediverse_follower.c.actor_id == actor_id)
    return int((await conn.execute(query)).scalar_one())


async def followers_of(
    conn: AsyncConnection, *, organisation_ids: list[int], gathering_id: int
) -> list[FollowerRow]:
    """Followers of any of these organisations or of the gathering."""
    actors = sa.select(fediverse_actor.c.id).where(
        sa.or_(
            fediverse_actor.c.organisation_id.in_(organisation_ids),
            fediverse_actor.c.gathering_id == gathering_id,
        )
    )
    query = _FOLLOWER.where(fediverse_follower.c.actor_id.in_(actors)).order_by(
        fediverse_follower.c.id
    )
    return [FollowerRow._make(row) for row in await conn.execute(query)]


# --- blocked instances ---------------------------------------------------------------------


async def is_blocked(conn: AsyncConnection, host: str) -> bool:
    query = sa.select(fediverse_blocked_instance.c.host).where(
        fediverse_blocked_instance.c.host == host
    )
    return (await conn.execute(query)).first() is not None


async def blocked_instances(conn: AsyncConnection) -> list[str]:
    query = sa.select(fediverse_blocked_instance.c.host).order_by(fediverse_blocked_instance.c.host)
    return [str(h) for h in (await conn.execute(query)).scalars()]


async def block_instance(conn: AsyncConnection, host: str, now: dt.datetime) -> int:
    """Record the block, remove the instance's followers and its undelivered activities;
    return how many followers were removed."""
    if not await is_blocked(conn, host):
        await conn.execute(sa.insert(fediverse_blocked_instance).values(host=host, created_at=now))
    removed = await conn.execute(
        sa.delete(fediverse_follower).where(fediverse_follower.c.instance == host)
    )
    pending = sa.select(fediverse_delivery.c.id, fediverse_delivery.c.inbox_url).where(
        fediverse_delivery.c.delivered_at.is_(None)
    )
    doomed = [row.id for row in await conn.execute(pending) if host_of(row.inbox_url) == host]
    if doomed:
        await conn.execute(sa.delete(fediverse_delivery).where(fediverse_delivery.c.id.in_(doomed)))
    return int(removed.rowcount)


async def unblock_instance(conn: AsyncConnection, host: str) -> None:
    await conn.execute(
        sa.delete(fediverse_blocked_instance).where(fediverse_blocked_instance.c.host == host)
    )


# --- releases ----------------------------------------------------------------------------------


async def release_snapshot(
    conn: AsyncConnection, gathering_id: int, number: int
) -> list[SessionJson] | None:
    """The sessions of release ``number`` of a gathering (stored JSON), None if there is none."""
    query = sa.select(programme_release.c.snapshot).where(
        programme_release.c.gathering_id == gathering_id, programme_release.c.number == number
    )
    snapshot = (await conn.execute(query)).scalar_one_or_none()
    # The stored format of programme.documents, written by programme.release only.
    return None if snapshot is None else cast(list[SessionJson], list(snapshot["sessions"]))


# --- the delivery outbox -------------------------------------------------------------------


async def queue_delivery(conn: AsyncConnection, *, now: dt.datetime, **values: Any) -> None:
    await conn.execute(
        sa.insert(fediverse_delivery).values(created_at=now, send_after=now, **values)
    )


_DELIVERY = sa.select(*(fediverse_delivery.c[name] for name in DeliveryRow._fields))


def _due(now: dt.datetime, max_attempts: int) -> list[sa.ColumnElement[bool]]:
    return [
        fediverse_delivery.c.delivered_at.is_(None),
        fediverse_delivery.c.send_after <= now,
        fediverse_delivery.c.attempts < max_attempts,
        sa.or_(
            fediverse_delivery.c.locked_until.is_(None),
            fediverse_delivery.c.locked_until < now,
        ),
    ]


async def has_due_deliveries(conn: AsyncConnection, *, now: dt.datetime, max_attempts: int) -> bool:
    query = sa.select(fediverse_delivery.c.id).where(*_due(now, max_attempts)).limit(1)
    return (await conn.execute(query)).first() is not None


async def claim_due_deliveries(
    conn: AsyncConnection,
    *,
    now: dt.datetime,
    lease_until: dt.datetime,
    limit: int,
    max_attempts: int,
) -> list[DeliveryRow]:
    """Lease up to ``limit`` due deliveries and count the attempt (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL, so replicas take disjoint batches; SQLite's write unit already runs alone)."""
    candidates = (
        sa.select(fediverse_delivery.c.id)
        .where(*_due(now, max_attempts))
        .order_by(fediverse_delivery.c.send_after, fediverse_delivery.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list((await conn.execute(candidates)).scalars())
    if not ids:
        return []
    await conn.execute(
        sa.update(fediverse_delivery)
        .where(fediverse_delivery.c.id.in_(ids))
        .values(locked_until=lease_until, attempts=fediverse_delivery.c.attempts + 1)
    )
    rows = await conn.execute(
        _DELIVERY.where(fediverse_delivery.c.id.in_(ids)).order_by(fediverse_delivery.c.id)
    )
    return [DeliveryRow._make(row) for row in rows]


async def mark_delivered(conn: AsyncConnection, delivery_id: int, *, now: dt.datetime) -> None:
    await conn.execute(
        sa.update(fediverse_delivery)
        .where(fediverse_delivery.c.id == delivery_id, fediverse_delivery.c.delivered_at.is_(None))
        .values(delivered_at=now, locked_until=None, last_error="")
    )


async def mark_failed(
    conn: AsyncConnection,
    delivery_id: int,
    *,
    error: str,
    retry_at: dt.datetime,
    give_up: int | None,
) -> None:
    """Record a failed attempt; ``give_up`` (the maximum attempts) given means "do not retry"."""
    values: dict[str, Any] = {
        "last_error": error[:1000],
        "send_after": retry_at,
        "locked_until": None,
    }
    if give_up is not None:
        values["attempts"] = give_up
    await conn.execute(
        sa.update(fediverse_delivery)
        .where(fediverse_delivery.c.id == delivery_id, fediverse_delivery.c.delivered_at.is_(None))
        .values(**values)
    )


class DeliveryState(NamedTuple):
    id: int
    verb: str
    session_id: int | None
    inbox_url: str
    attempts: int
    last_error: str
    delivered_at: dt.datetime | None


async def deliveries(conn: AsyncConnection) -> list[DeliveryState]:
    """Every delivery, oldest first (tests and the admin page)."""
    query = sa.select(*(fediverse_delivery.c[name] for name in DeliveryState._fields)).order_by(
        fediverse_delivery.c.id
    )
    return [DeliveryState._make(row) for row in await conn.execute(query)]
