"""Queries for the outbox: mail written in the same transaction as the change that causes it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.db.schema import outbox


async def queue_message(
    conn: AsyncConnection,
    *,
    kind: str,
    to_address: str,
    subject: str,
    body_text: str,
    now: dt.datetime,
    body_html: str = "",
    attachments: list[dict[str, Any]] | None = None,
    registration_id: int | None = None,
) -> int:
    result = await conn.execute(
        sa.insert(outbox)
        .values(
            kind=kind,
            to_address=to_address,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            attachments=attachments or [],
            registration_id=registration_id,
            created_at=now,
            send_after=now,
        )
        .returning(outbox.c.id)
    )
    return int(result.scalar_one())
