"""Queries for sign-in: accounts and server-side sessions, as typed rows."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import account, login_session, membership


class AccountRow(NamedTuple):
    id: int
    email: str
    display_name: str
    password_hash: str
    is_admin: bool
    is_active: bool


_ACCOUNT = sa.select(
    account.c.id,
    account.c.email,
    account.c.display_name,
    account.c.password_hash,
    account.c.is_admin,
    account.c.is_active,
)


def _account(row: sa.Row[*tuple[Any, ...]] | None) -> AccountRow | None:
    if row is None:
        return None
    return AccountRow(
        int(row.id),
        str(row.email),
        str(row.display_name),
        str(row.password_hash),
        bool(row.is_admin),
        bool(row.is_active),
    )


async def account_by_email(conn: AsyncConnection, email: str) -> AccountRow | None:
    return _account((await conn.execute(_ACCOUNT.where(account.c.email == email))).first())


async def account_by_id(conn: AsyncConnection, account_id: int) -> AccountRow | None:
    return _account((await conn.execute(_ACCOUNT.where(account.c.id == account_id))).first())


async def organisation_ids_of(
    conn: AsyncConnection, account_id: int, role: str = "organiser"
) -> frozenset[int]:
    """The organisations where the account has this role (organiser, or viewer: counts only)."""
    query = sa.select(membership.c.organisation_id).where(
        membership.c.account_id == account_id, membership.c.role == role
    )
    return frozenset(int(i) for i in (await conn.execute(query)).scalars())


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


async def live_session_account(
    conn: AsyncConnection, token_hash: str, now: dt.datetime
) -> AccountRow | None:
    """The active account behind a live session token, or None."""
    query = _ACCOUNT.join_from(account, login_session, login_session.c.account_id == account.c.id)
    query = query.where(
        login_session.c.token_hash == token_hash,
        login_session.c.expires_at > now,
        account.c.is_active.is_(True),
    )
    return _account((await conn.execute(query)).first())


async def delete_login_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(sa.delete(login_session).where(login_session.c.token_hash == token_hash))


async def delete_sessions_of(conn: AsyncConnection, account_id: int) -> None:
    await conn.execute(sa.delete(login_session).where(login_session.c.account_id == account_id))


async def set_password_hash(conn: AsyncConnection, account_id: int, password_hash: str) -> None:
    await conn.execute(
        sa.update(account).where(account.c.id == account_id).values(password_hash=password_hash)
    )
