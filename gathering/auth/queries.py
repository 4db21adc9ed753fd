"""Queries for sign-in: accounts, server-side sessions, throttles, audit events."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import throttles
from gathering.core.schema import account, audit_event, login_session, membership, throttle


async def account_by_email(conn: AsyncConnection, email: str) -> Any:
    query = sa.select(account).where(account.c.email == email)
    return (await conn.execute(query)).first()


async def account_by_id(conn: AsyncConnection, account_id: int) -> Any:
    return (await conn.execute(sa.select(account).where(account.c.id == account_id))).first()


async def organisation_ids_of(conn: AsyncConnection, account_id: int) -> frozenset[int]:
    query = sa.select(membership.c.organisation_id).where(membership.c.account_id == account_id)
    return frozenset((await conn.execute(query)).scalars())


async def insert_login_session(
    conn: AsyncConnection, token_hash: str, account_id: int, now: dt.datetime, expires: dt.datetime
) -> None:
    await conn.execute(
        sa.insert(login_session).values(
            token_hash=token_hash,
            account_id=account_id,
            created_at=now,
            expires_at=expires,
            last_seen_at=now,
        )
    )
    await conn.execute(
        sa.update(account).where(account.c.id == account_id).values(last_login_at=now)
    )


async def live_session_account(conn: AsyncConnection, token_hash: str, now: dt.datetime) -> Any:
    """The active account behind a live session token, or None."""
    query = (
        sa.select(account)
        .join(login_session, login_session.c.account_id == account.c.id)
        .where(
            login_session.c.token_hash == token_hash,
            login_session.c.expires_at > now,
            account.c.is_active.is_(True),
        )
    )
    return (await conn.execute(query)).first()


async def delete_login_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(sa.delete(login_session).where(login_session.c.token_hash == token_hash))


async def delete_sessions_of(conn: AsyncConnection, account_id: int) -> None:
    await conn.execute(sa.delete(login_session).where(login_session.c.account_id == account_id))


async def set_password_hash(conn: AsyncConnection, account_id: int, password_hash: str) -> None:
    await conn.execute(
        sa.update(account).where(account.c.id == account_id).values(password_hash=password_hash)
    )


async def hit_throttle(
    conn: AsyncConnection, key: str, now: dt.datetime, window: dt.timedelta
) -> tuple[int, dt.datetime]:
    """Count one more hit on ``key`` in its window; return (hits, window start).

    Kept for the door and the registration API until they move onto ``core.throttles``; now one
    atomic upsert (it was read-then-write, which lost counts under concurrency)."""
    row = await throttles.hit(conn, key, now, window)
    return row.hits, row.window_start


async def clear_throttle(conn: AsyncConnection, key: str) -> None:
    await conn.execute(sa.delete(throttle).where(throttle.c.key == key))


async def insert_audit_event(
    conn: AsyncConnection,
    *,
    now: dt.datetime,
    actor_kind: str,
    actor_id: int | None,
    action: str,
    subject_kind: str = "",
    subject_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        sa.insert(audit_event).values(
            at=now,
            actor_kind=actor_kind,
            actor_id=actor_id,
            action=action,
            subject_kind=subject_kind,
            subject_id=subject_id,
            detail=detail or {},
        )
    )
