"""Mail as data: outbox rows queued inside the change that causes them, delivered after commit.

``queue`` writes a row inside the caller's write unit. The sender (``gathering.mail.sender``)
renders it from ``templates/email/<kind>.*`` with the stored context, sends it over SMTP outside any
transaction, and records the outcome here. Delivery is at least once: a replica that dies between
the SMTP server's "250 OK" and ``record_sent`` leaves a lease that expires, and the message goes
again with the same Message-ID (``<outbox-{id}@{host}>``) so mail clients can drop the duplicate.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import audit
from gathering.core.database import Database
from gathering.core.errors import NotFound
from gathering.core.i18n import current_language
from gathering.core.permissions import Actor, require_admin
from gathering.mail import queries, words
from gathering.mail.queries import Json, OutboxRow, OutboxSummary

# Kinds rendered from templates/email/<kind>.subject.txt, .txt and .html.
KINDS = frozenset(
    {
        "confirm_email",
        "registration_confirmed",
        "booking_changed",
        "already_registered",
        "place_offered",
        "registration_cancelled",
        "session_changed",
        "session_cancelled",
        "session_reminder",
        "organiser_message",
        "supporters_only",
        "password_reset",
        "introduction",
        "introduction_single",
        "speaker_session_changed",  # issue 16: a speaker's session moved or cancelled
        "organiser_invitation",  # issue 16: join an organisation
    }
)
# CLP introductions (issue 20) are double-blind: not even the network admin may see who was
# introduced to whom, so the outbox pages never show their recipients or what they say.
SEALED_KINDS = frozenset({"introduction", "introduction_single"})
SEALED = "(sealed: a CLP introduction)"
ATTACHMENT_KINDS = frozenset({"qr_png", "file"})

MAX_ATTEMPTS = 28  # 30 s doubling to a 1 h cap: about 22 hours of retrying, then "failed"
FIRST_RETRY = dt.timedelta(seconds=30)
MAX_RETRY = dt.timedelta(hours=1)
LEASE = dt.timedelta(minutes=10)  # longer than a batch can take (BATCH_SIZE × SMTP timeout)
PAGE_SIZE = 50
STATUSES = ("all", "queued", "sent", "failed")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min ... 1 h."""
    seconds = FIRST_RETRY.total_seconds() * 2 ** min(max(attempts - 1, 0), 30)
    return min(dt.timedelta(seconds=seconds), MAX_RETRY)


def _check_attachment(spec: Json) -> None:
    kind = spec.get("kind")
    if kind == "qr_png":
        if not (isinstance(spec.get("cid"), str) and isinstance(spec.get("data"), str)):
            raise ValueError("a qr_png attachment needs string 'cid' and 'data'")
    elif kind == "file":
        for key in ("filename", "content_type", "text"):
            if not isinstance(spec.get(key), str):
                raise ValueError(f"a file attachment needs a string {key!r}")
        if "/" not in spec["content_type"]:
            raise ValueError("a file attachment's content_type must look like text/calendar")
    else:
        raise ValueError(f"unknown attachment kind {kind!r}; use one of {sorted(ATTACHMENT_KINDS)}")


async def queue(
    conn: AsyncConnection,
    *,
    kind: str,
    to_address: str,
    context: Json,
    registration_id: int | None = None,
    attachments: list[Json] | None = None,
    now: dt.datetime,
    send_after: dt.datetime | None = None,
    language: str | None = None,
) -> int:
    """Queue a templated message inside the caller's write unit; returns the outbox id.

    The message is rendered in its recipient's language (issue 18): a registrant's
    (``registration_id``: the one they registered in, else their gathering's default); for
    anyone else ``language``, by default the language of the request that causes the mail.

    ``context`` must be JSON (strings, numbers, booleans, lists, dicts; datetimes as text).
    Attachments are specs rendered at send time: ``{"kind": "qr_png", "cid": "ticket-qr",
    "data": code}`` (an inline QR image the HTML shows as ``cid:ticket-qr``) or ``{"kind": "file",
    "filename": "session.ics", "content_type": "text/calendar", "text": "..."}``.
    Raises ValueError for an unknown kind or a malformed context: a programming error.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown mail kind {kind!r}; use one of {sorted(KINDS)}")
    if "@" not in to_address or "\n" in to_address or "\r" in to_address:
        raise ValueError(f"not an email address: {to_address!r}")
    specs = list(attachments or [])
    for spec in specs:
        _check_attachment(spec)
    # Round-trip now, so a datetime or a set fails here, in the caller's test, not at send time.
    try:
        stored = json.loads(json.dumps(context, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(f"mail context must be plain JSON: {error}") from None
    return await queries.queue_message(
        conn,
        kind=kind,
        to_address=to_address,
        subject="",
        body_text="",
        now=now,
        attachments=specs,
        registration_id=registration_id,
        context=stored,
        send_after=send_after,
        language=language or current_language(),
    )


# --- the sender's side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A message leased to one sender: pre-rendered (subject/body set) or templated (context)."""

    id: int
    kind: str
    to_address: str
    subject: str
    body_text: str
    body_html: str
    attachments: list[Json]
    context: Json | None
    created_at: dt.datetime
    attempts: int
    language: str | None = None  # rendered in it (None: English, queued before 0018)


def _outgoing(row: OutboxRow) -> Outgoing:
    return Outgoing(
        id=row.id,
        kind=row.kind,
        to_address=row.to_address,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        attachments=row.attachments,
        context=row.context,
        created_at=row.created_at,
        attempts=row.attempts,
        language=row.language,
    )


async def claim_due(db: Database, *, now: dt.datetime, limit: int) -> list[Outgoing]:
    """Lease due messages to this sender (safe with several replicas); counts the attempt."""

    async def _write(conn: AsyncConnection) -> list[Outgoing]:
        rows = await queries.claim_due_messages(
            conn, now=now, lease_until=now + LEASE, limit=limit, max_attempts=MAX_ATTEMPTS
        )
        return [_outgoing(row) for row in rows]

    return await db.write(_write)


async def record_sent(db: Database, message_id: int, *, now: dt.datetime) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await queries.mark_message_sent(conn, message_id, now=now)

    await db.write(_write)


async def record_failure(
    db: Database,
    message: Outgoing,
    *,
    now: dt.datetime,
    error: str,
    is_permanent: bool = False,
) -> None:
    """Schedule a retry with backoff, or give up at once for a permanent refusal (SMTP 5xx)."""

    async def _write(conn: AsyncConnection) -> None:
        await queries.mark_message_failed(
            conn,
            message.id,
            error=error[:1000],
            retry_at=now + retry_delay(message.attempts),
            attempts=MAX_ATTEMPTS if is_permanent else None,
        )

    await db.write(_write)


# --- the admin's outbox viewer -------------------------------------------------------------------


def status_of(sent_at: dt.datetime | None, attempts: int) -> str:
    if sent_at is not None:
        return "sent"
    return "failed" if attempts >= MAX_ATTEMPTS else "queued"


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    kind: str
    to_address: str
    subject: str
    status: str
    created_at: dt.datetime
    send_after: dt.datetime
    sent_at: dt.datetime | None
    attempts: int
    last_error: str


@dataclass(frozen=True)
class OutboxPage:
    entries: list[OutboxEntry]
    status: str
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class OutboxMessage:
    entry: OutboxEntry
    message: Outgoing


def _entry(row: OutboxRow | OutboxSummary) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        kind=row.kind,
        to_address=SEALED if row.kind in SEALED_KINDS else row.to_address,
        subject=SEALED if row.kind in SEALED_KINDS else row.subject,
        status=status_of(row.sent_at, row.attempts),
        created_at=row.created_at,
        send_after=row.send_after,
        sent_at=row.sent_at,
        attempts=row.attempts,
        last_error=row.last_error,
    )


async def outbox_page(db: Database, actor: Actor | None, *, status: str, page: int) -> OutboxPage:
    """One page of the outbox, newest first, for a network admin."""
    require_admin(actor)
    status = status if status in STATUSES else "all"

    async def _read(conn: AsyncConnection) -> OutboxPage:
        total = await queries.outbox_count(conn, status=status, max_attempts=MAX_ATTEMPTS)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        current = min(max(page, 1), pages)
        rows = await queries.outbox_messages(
            conn,
            status=status,
            max_attempts=MAX_ATTEMPTS,
            offset=(current - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        return OutboxPage([_entry(r) for r in rows], status, current, pages, total)

    return await db.read(_read)


async def outbox_message(db: Database, actor: Actor | None, message_id: int) -> OutboxMessage:
    """One message with its bodies, for a network admin; the viewing is audit-logged."""
    actor = require_admin(actor)

    async def _write(conn: AsyncConnection) -> OutboxMessage:
        row = await queries.outbox_message(conn, message_id)
        if row is None:
            raise NotFound(words.NO_SUCH_MESSAGE)
        await audit.insert_audit_event(
            conn,
            now=utcnow(),
            actor_kind="account",
            actor_id=actor.account_id,
            action="outbox_message_viewed",
            subject_kind="outbox",
            subject_id=message_id,
        )
        message = _outgoing(row)
        if row.kind in SEALED_KINDS:
            message = replace(
                message,
                to_address=SEALED,
                subject=SEALED,
                body_text=SEALED,
                body_html="",
                attachments=[],
                context=None,
            )
        return OutboxMessage(_entry(row), message)

    return await db.write(_write)
