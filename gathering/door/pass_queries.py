"""Queries for organisers managing steward passes (the door itself is in ``queries``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    account,
    check_in,
    programme_session,
    scan,
    session_host,
    steward_pass,
    steward_pass_session,
)


class HostedSession(NamedTuple):
    """A session of the gathering with the organisations that host it (not co-hosts)."""

    id: int
    title: str
    starts_at: dt.datetime
    status: str
    host_ids: frozenset[int]


class PassSummary(NamedTuple):
    """A pass as the organisers' list shows it: no token, no PIN, how much it was used."""

    id: int
    label: str
    all_sessions: bool
    valid_from: dt.datetime
    valid_until: dt.datetime
    revoked_at: dt.datetime | None
    created_at: dt.datetime
    created_by: int | None
    made_by_admin: bool  # by the network admin or the command line: it may cover every session
    scans: int
    admitted: int


async def sessions_with_hosts(conn: AsyncConnection, gathering_id: int) -> list[HostedSession]:
    """The gathering's sessions in programme order, each with its hosts' ids (not co-hosts)."""
    sessions = (
        await conn.execute(
            sa.select(
                programme_session.c.id,
                programme_session.c.title,
                programme_session.c.starts_at,
                programme_session.c.status,
            )
            .where(programme_session.c.gathering_id == gathering_id)
            .order_by(programme_session.c.starts_at, programme_session.c.id)
        )
    ).all()
    hosts: dict[int, set[int]] = defaultdict(set)
    rows = await conn.execute(
        sa.select(session_host.c.session_id, session_host.c.organisation_id)
        .join(programme_session)
        .where(programme_session.c.gathering_id == gathering_id, session_host.c.role == "host")
    )
    for session_id, organisation_id in rows:
        hosts[session_id].add(organisation_id)
    return [HostedSession(*s, frozenset(hosts[s.id])) for s in sessions]


async def passes_of_gathering(conn: AsyncConnection, gathering_id: int) -> list[PassSummary]:
    """Every pass of the gathering, newest first, with how many scans and admissions it made."""
    scans = sa.select(sa.func.count()).where(scan.c.pass_id == steward_pass.c.id).scalar_subquery()
    admitted = (
        sa.select(sa.func.count())
        .where(
            check_in.c.pass_id == steward_pass.c.id,
            check_in.c.kind == "entry",
            check_in.c.undone_at.is_(None),
        )
        .scalar_subquery()
    )
    query = (
        sa.select(
            steward_pass.c.id,
            steward_pass.c.label,
            steward_pass.c.all_sessions,
            steward_pass.c.valid_from,
            steward_pass.c.valid_until,
            steward_pass.c.revoked_at,
            steward_pass.c.created_at,
            steward_pass.c.created_by,
            account.c.is_admin,
            scans.label("scans"),
            admitted.label("admitted"),
        )
        .select_from(steward_pass.outerjoin(account, account.c.id == steward_pass.c.created_by))
        .where(steward_pass.c.gathering_id == gathering_id)
        .order_by(steward_pass.c.created_at.desc(), steward_pass.c.id.desc())
    )
    return [
        PassSummary(
            *row[:8],
            row.created_by is None or bool(row.is_admin),
            int(row.scans),
            int(row.admitted),
        )
        for row in await conn.execute(query)
    ]


async def sessions_by_pass(conn: AsyncConnection, gathering_id: int) -> dict[int, list[int]]:
    """For passes of some sessions: their session ids."""
    query = (
        sa.select(steward_pass_session.c.pass_id, steward_pass_session.c.session_id)
        .join(steward_pass)
        .where(steward_pass.c.gathering_id == gathering_id)
    )
    found: dict[int, list[int]] = defaultdict(list)
    for pass_id, session_id in await conn.execute(query):
        found[int(pass_id)].append(int(session_id))
    return found


async def insert_pass(
    conn: AsyncConnection,
    *,
    gathering_id: int,
    label: str,
    token_hash: str,
    pin_hash: str,
    all_sessions: bool,
    session_ids: list[int],
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    created_by: int | None,
    now: dt.datetime,
) -> int:
    result = await conn.execute(
        sa.insert(steward_pass)
        .values(
            gathering_id=gathering_id,
            label=label,
            token_hash=token_hash,
            pin_hash=pin_hash,
            all_sessions=all_sessions,
            valid_from=valid_from,
            valid_until=valid_until,
            created_by=created_by,
            created_at=now,
        )
        .returning(steward_pass.c.id)
    )
    pass_id = int(result.scalar_one())
    if session_ids:
        await conn.execute(
            sa.insert(steward_pass_session),
            [{"pass_id": pass_id, "session_id": s} for s in session_ids],
        )
    return pass_id


async def revoke_pass(conn: AsyncConnection, pass_id: int, now: dt.datetime) -> bool:
    """Revoke unless already revoked; True if this call did it."""
    result = await conn.execute(
        sa.update(steward_pass)
        .where(steward_pass.c.id == pass_id, steward_pass.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1
