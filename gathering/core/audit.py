"""Writing the audit log: every feature records who did what to which, in the change's own unit.

Reading it is the privacy feature's (``gathering.privacy.audit``); writing is shared by all, so
it lives in the core. ``detail`` is JSON and must never hold free text that could name a person
(the retention purge scrubs what it knows of, but the first line of defence is not writing it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import audit_event


async def insert_audit_event(
    conn: AsyncConnection,
    *,
    now: dt.datetime,
    actor_kind: str,
    actor_id: int | None,
    action: str,
    subject_kind: str = "",
    subject_id: int | None = None,
    detail: Mapping[str, object] | None = None,
) -> None:
    """Record one audit event inside the caller's write unit."""
    await conn.execute(
        sa.insert(audit_event).values(
            at=now,
            actor_kind=actor_kind,
            actor_id=actor_id,
            action=action,
            subject_kind=subject_kind,
            subject_id=subject_id,
            detail=dict(detail or {}),
        )
    )
