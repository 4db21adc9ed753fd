"""The organiser's view: the sessions an organiser may manage, per gathering."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.admin import queries as manage_queries
from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.permissions import Actor, can_manage_session, can_release, require_actor
from gathering.organiser.host_changes import HostChangeNotice, host_change_notices
from gathering.programme import queries


@dataclass(frozen=True)
class ManagedSession:
    id: int
    title: str
    starts_local: dt.datetime
    status: str
    room_tbc: bool


@dataclass(frozen=True)
class ManagedGathering:
    id: int
    slug: str
    title: str
    timezone: str
    may_release: bool
    may_add_sessions: bool
    sessions: tuple[ManagedSession, ...]


async def dashboard(db: Database, actor: Actor | None) -> list[ManagedGathering]:
    """Gatherings with the sessions this organiser may manage (all of them for an admin)."""
    actor = require_actor(actor)

    async def _read(conn: AsyncConnection) -> list[ManagedGathering]:
        hosts = await queries.host_ids_by_session(conn)
        rows = await queries.all_sessions_with_gathering(conn)
        sessions: dict[int, list[ManagedSession]] = {}
        for row in rows:
            if can_manage_session(actor, hosts.get(row.id, [])):
                zone = zoneinfo.ZoneInfo(row.timezone)
                sessions.setdefault(row.gathering_id, []).append(
                    ManagedSession(
                        row.id,
                        row.title,
                        row.starts_at.astimezone(zone),
                        row.status,
                        row.room_id is None,
                    )
                )
        result = []
        for g in await manage_queries.all_gatherings(conn):
            may_release = can_release(actor, g.host_organisation_id)
            mine = tuple(sessions.get(g.id, ()))
            if mine or may_release or actor.organisation_ids:
                result.append(
                    ManagedGathering(
                        g.id,
                        g.slug,
                        g.title,
                        g.timezone,
                        may_release,
                        actor.is_admin or bool(actor.organisation_ids),
                        mine,
                    )
                )
        return result

    return await db.read(_read)


async def home_notices(db: Database, actor: Actor | None) -> list[HostChangeNotice]:
    """What the organiser home tells this organiser: recent changes of hosts involving them."""
    actor = require_actor(actor)

    async def _read(conn: AsyncConnection) -> list[HostChangeNotice]:
        return await host_change_notices(conn, actor, now=utc_now())

    return await db.read(_read)
