"""Queries about organiser accounts and their memberships."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import account, membership


async def account_id_by_email(conn: AsyncConnection, email: str) -> int | None:
    result = await conn.execute(sa.select(account.c.id).where(account.c.email == email))
    return result.scalar_one_or_none()


async def insert_account(
    conn: AsyncConnection,
    *,
    email: str,
    display_name: str,
    password_hash: str,
    is_admin: bool,
    now: dt.datetime,
) -> int:
    result = await conn.execute(
        sa.insert(account)
        .values(
            email=email,
            display_name=display_name,
            password_hash=password_hash,
            is_admin=is_admin,
            created_at=now,
        )
        .returning(account.c.id)
    )
    return int(result.scalar_one())


async def update_account_password(
    conn: AsyncConnection, account_id: int, *, display_name: str, password_hash: str, is_admin: bool
) -> None:
    await conn.execute(
        sa.update(account)
        .where(account.c.id == account_id)
        .values(display_name=display_name, password_hash=password_hash, is_admin=is_admin)
    )


async def account_is_admin(conn: AsyncConnection, account_id: int) -> bool:
    query = sa.select(account.c.is_admin).where(account.c.id == account_id)
    return bool((await conn.execute(query)).scalar_one())


async def ensure_membership(
    conn: AsyncConnection, account_id: int, organisation_id: int, now: dt.datetime
) -> bool:
    """Make the account an organiser of the organisation; True if it was not one before."""
    exists = await conn.execute(
        sa.select(membership.c.role).where(
            membership.c.account_id == account_id,
            membership.c.organisation_id == organisation_id,
        )
    )
    role = exists.scalar_one_or_none()
    if role is None:
        await conn.execute(
            sa.insert(membership).values(
                account_id=account_id, organisation_id=organisation_id, created_at=now
            )
        )
        return True
    if role != "organiser":  # a viewer (issue 16) made an organiser from the command line
        await conn.execute(
            sa.update(membership)
            .where(
                membership.c.account_id == account_id,
                membership.c.organisation_id == organisation_id,
            )
            .values(role="organiser")
        )
        return True
    return False
