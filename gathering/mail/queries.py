"""Queries for the outbox: mail written in the same transaction as the change that causes it."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import prepared
from gathering.core.schema import gathering, outbox, registration

# A JSON object as stored (a message's template context, an attachment spec): checked to be
# plain JSON when queued (``gathering.mail.messages.queue``), so its values are JSON values.
Json = dict[str, Any]


class OutboxRow(NamedTuple):
    """One outbox message with its bodies, as the sender and the viewer use it."""

    id: int
    kind: str
    to_address: str
    subject: str
    body_text: str
    body_html: str
    attachments: list[Json]
    context: Json | None
    created_at: dt.datetime
    send_after: dt.datetime
    attempts: int
    last_error: str
    sent_at: dt.datetime | None
    language: str | None = None  # None: queued before migration 0018 (English)


class OutboxSummary(NamedTuple):
    """One line of the outbox list: no bodies, no context."""

    id: int
    kind: str
    to_address: str
    subject: str
    created_at: dt.datetime
    send_after: dt.datetime
    attempts: int
    last_error: str
    sent_at: dt.datetime | None


_ROW = sa.select(*(outbox.c[name] for name in OutboxRow._fields))
_SUMMARY = sa.select(*(outbox.c[name] for name in OutboxSummary._fields))


def _outbox_row(row: sa.Row[*tuple[Any, ...]]) -> OutboxRow:
    values = row._mapping
    return OutboxRow(
        id=int(values["id"]),
        kind=str(values["kind"]),
        to_address=str(values["to_address"]),
        subject=str(values["subject"]),
        body_text=str(values["body_text"]),
        body_html=str(values["body_html"] or ""),
        attachments=list(values["attachments"] or []),
        context=values["context"],
        created_at=values["created_at"],
        send_after=values["send_after"],
        attempts=int(values["attempts"]),
        last_error=str(values["last_error"] or ""),
        sent_at=values["sent_at"],
        language=values["language"],
    )


def _summary(row: sa.Row[*tuple[Any, ...]]) -> OutboxSummary:
    values = row._mapping
    return OutboxSummary(
        id=int(values["id"]),
        kind=str(values["kind"]),
        to_address=str(values["to_address"]),
        subject=str(values["subject"]),
        created_at=values["created_at"],
        send_after=values["send_after"],
        attempts=int(values["attempts"]),
        last_error=str(values["last_error"] or ""),
        sent_at=values["sent_at"],
    )


async def queue_message(
    conn: AsyncConnection,
    *,
    kind: str,
    to_address: str,
    subject: str,
    body_text: str,
    now: dt.datetime,
    body_html: str = "",
    attachments: list[Json] | None = None,
    registration_id: int | None = None,
    context: Json | None = None,
    send_after: dt.datetime | None = None,
    language: str = "en",
) -> int:
    """Insert one outbox row and return its id; ``context`` set means "render at send time".

    Its language is the registrant's (``registration_id``): the one they registered in, else
    their gathering's default; for mail to no registrant, ``language`` (the request's).
    """
    values = {
        "registrant": registration_id,
        "fallback_language": language,
        "kind": kind,
        "to_address": to_address,
        "subject": subject,
        "body_text": body_text,
        "body_html": body_html,
        "attachments": attachments or [],
        "context": context,
        "registration_id": registration_id,
        "created_at": now,
        "send_after": send_after or now,
    }
    (message_id,) = await prepared.rows(conn, _QUEUE, values)
    return int(message_id[0])


# The registrant's language, read inside the INSERT: no round trip per message (a release may
# queue one "session changed" mail per registrant of every session it changes).
_REGISTRANT_LANGUAGE = (
    sa.select(sa.func.coalesce(registration.c.language, gathering.c.default_language))
    .join(gathering, gathering.c.id == registration.c.gathering_id)
    .where(registration.c.id == sa.bindparam("registrant"))
    .scalar_subquery()
)
# Built once (every registration queues mail inside its write).
_QUEUE = (
    sa.insert(outbox)
    .values(
        language=sa.func.coalesce(
            _REGISTRANT_LANGUAGE, sa.bindparam("fallback_language", type_=sa.String)
        )
    )
    .returning(outbox.c.id)
)


async def claim_due_messages(
    conn: AsyncConnection,
    *,
    now: dt.datetime,
    lease_until: dt.datetime,
    limit: int,
    max_attempts: int,
) -> list[OutboxRow]:
    """Lease up to ``limit`` due, unsent messages to the caller and count the attempt.

    On PostgreSQL the candidate rows are locked with ``FOR UPDATE SKIP LOCKED`` so replicas claiming
    at the same moment take disjoint batches; on SQLite the write unit (``BEGIN IMMEDIATE``) already
    runs alone. Either way the rows are returned with ``locked_until = lease_until``.
    """
    candidates = (
        sa.select(outbox.c.id)
        .where(
            outbox.c.sent_at.is_(None),
            outbox.c.send_after <= now,
            outbox.c.attempts < max_attempts,
            sa.or_(outbox.c.locked_until.is_(None), outbox.c.locked_until < now),
        )
        .order_by(outbox.c.send_after, outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list((await conn.execute(candidates)).scalars())
    if not ids:
        return []
    await conn.execute(
        sa.update(outbox)
        .where(outbox.c.id.in_(ids))
        .values(locked_until=lease_until, attempts=outbox.c.attempts + 1)
    )
    rows = await conn.execute(_ROW.where(outbox.c.id.in_(ids)).order_by(outbox.c.id))
    return [_outbox_row(row) for row in rows]


async def mark_message_sent(conn: AsyncConnection, message_id: int, *, now: dt.datetime) -> None:
    await conn.execute(
        sa.update(outbox)
        .where(outbox.c.id == message_id, outbox.c.sent_at.is_(None))
        .values(sent_at=now, locked_until=None, last_error="")
    )


async def mark_message_failed(
    conn: AsyncConnection,
    message_id: int,
    *,
    error: str,
    retry_at: dt.datetime,
    attempts: int | None = None,
) -> None:
    """Record a failed attempt; ``attempts`` (the maximum) given means "do not retry"."""
    values: dict[str, Any] = {"last_error": error, "send_after": retry_at, "locked_until": None}
    if attempts is not None:
        values["attempts"] = attempts
    await conn.execute(
        sa.update(outbox)
        .where(outbox.c.id == message_id, outbox.c.sent_at.is_(None))
        .values(**values)
    )


def _status_filter(status: str, max_attempts: int) -> list[sa.ColumnElement[bool]]:
    if status == "sent":
        return [outbox.c.sent_at.is_not(None)]
    if status == "failed":
        return [outbox.c.sent_at.is_(None), outbox.c.attempts >= max_attempts]
    if status == "queued":
        return [outbox.c.sent_at.is_(None), outbox.c.attempts < max_attempts]
    return []


async def outbox_messages(
    conn: AsyncConnection, *, status: str, max_attempts: int, offset: int, limit: int
) -> list[OutboxSummary]:
    """A page of messages, newest first, without their bodies."""
    query = (
        _SUMMARY.where(*_status_filter(status, max_attempts))
        .order_by(outbox.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_summary(row) for row in await conn.execute(query)]


async def outbox_count(conn: AsyncConnection, *, status: str, max_attempts: int) -> int:
    query = (
        sa.select(sa.func.count()).select_from(outbox).where(*_status_filter(status, max_attempts))
    )
    return int((await conn.execute(query)).scalar_one())


async def outbox_message(conn: AsyncConnection, message_id: int) -> OutboxRow | None:
    row = (await conn.execute(_ROW.where(outbox.c.id == message_id))).first()
    return None if row is None else _outbox_row(row)
