"""What a *viewer* of an organisation may open (issue 16, item 11): the dashboards of the
sessions it hosts or co-hosts, and of the gatherings it hosts. Counts only; the rules of the
dashboards themselves decide again on every request (``organiser.dashboard``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.permissions import Actor, require_actor
from gathering.programme import queries


@dataclass(frozen=True)
class ViewedSession:
    id: int
    title: str
    starts_local: dt.datetime


@dataclass(frozen=True)
class ViewedGathering:
    slug: str
    title: str
    whole_dashboard: bool  # its host is one of the viewer's organisations
    sessions: tuple[ViewedSession, ...]


async def viewer_dashboards(db: Database, actor: Actor | None) -> list[ViewedGathering]:
    """The dashboards this actor sees as a viewer only (not those of their own organising)."""
    actor = require_actor(actor)
    viewed = actor.viewer_organisation_ids

    async def _read(conn: AsyncConnection) -> list[ViewedGathering]:
        if not viewed:
            return []
        hosts = await queries.host_ids_by_session(conn)
        found: dict[int, tuple[str, str, bool, list[ViewedSession]]] = {}
        for row in await queries.all_sessions_with_gathering(conn):
            whole = row.host_organisation_id in viewed
            theirs = bool(viewed & set(hosts.get(row.id, [])))
            if not (whole or theirs):
                continue
            entry = found.setdefault(
                row.gathering_id, (row.gathering_slug, row.gathering_title, whole, [])
            )
            zone = zoneinfo.ZoneInfo(row.timezone)
            entry[3].append(ViewedSession(row.id, row.title, row.starts_at.astimezone(zone)))
        return [
            ViewedGathering(slug, title, whole, tuple(sessions))
            for slug, title, whole, sessions in found.values()
        ]

    return await db.read(_read)
