"""Queries for erasing personal data: a whole gathering's after its retention period (the purge),
or one person's (from their manage link), and for making the erased bytes really gone."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.db.database import Database
from gathering.db.schema import (
    audit_event,
    check_in,
    gathering,
    outbox,
    programme_session,
    registration,
    scan,
    steward_pass,
    supporter,
    throttle,
)

log = logging.getLogger(__name__)

# What an erased registration's address becomes; ``.invalid`` can never be delivered (RFC 2606).
ERASED_DOMAIN = "@invalid"
# Tables a purge rewrites, for PostgreSQL's VACUUM afterwards.
_TOUCHED = ("registration", "outbox", "scan", "audit_event", "supporter", "throttle")


def erased_address(registration_id: int | None) -> str:
    return (
        f"erased-{registration_id}{ERASED_DOMAIN}" if registration_id else f"erased{ERASED_DOMAIN}"
    )


# --- which gatherings, which people -------------------------------------------------------------


async def gatherings_for_retention(conn: AsyncConnection) -> Sequence[Any]:
    """Every gathering with what decides when its personal data goes."""
    query = sa.select(
        gathering.c.id,
        gathering.c.slug,
        gathering.c.title,
        gathering.c.ends_on,
        gathering.c.timezone,
        gathering.c.retention_days,
        gathering.c.anonymised_at,
    ).order_by(gathering.c.ends_on, gathering.c.id)
    return (await conn.execute(query)).all()


async def live_personal_values(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
    """Name, email and secrets of every registration of the gathering not yet anonymised."""
    query = sa.select(
        registration.c.id,
        registration.c.name,
        registration.c.email,
        registration.c.ticket_code,
        registration.c.manage_key,
        registration.c.feed_key,
    ).where(registration.c.gathering_id == gathering_id, registration.c.anonymised_at.is_(None))
    return (await conn.execute(query)).all()


def _registrations_of(gathering_id: int) -> sa.Select[Any]:
    return sa.select(registration.c.id).where(registration.c.gathering_id == gathering_id)


# --- registrations ------------------------------------------------------------------------------


async def anonymise_registrations(
    conn: AsyncConnection, gathering_id: int, now: dt.datetime
) -> int:
    """Erase name, email, answers and every secret of the gathering's registrations, keeping
    their status (so counts of confirmed, cancelled and checked-in people stay as they were)."""
    result = await conn.execute(
        sa.update(registration)
        .where(registration.c.gathering_id == gathering_id, registration.c.anonymised_at.is_(None))
        .values(
            name="",
            email=sa.literal("erased-")
            + sa.cast(registration.c.id, sa.String)
            + sa.literal(ERASED_DOMAIN),
            answers={},
            share_access_needs=False,
            ticket_code=None,
            manage_key=None,
            feed_key=None,
            anonymised_at=now,
        )
        .returning(registration.c.id)
    )
    return len(result.all())


async def mark_gathering_anonymised(
    conn: AsyncConnection, gathering_id: int, now: dt.datetime
) -> None:
    await conn.execute(
        sa.update(gathering)
        .where(gathering.c.id == gathering_id, gathering.c.anonymised_at.is_(None))
        .values(anonymised_at=now)
    )


# --- mail ---------------------------------------------------------------------------------------


def _mail_of_gathering(gathering_id: int, kinds: Collection[str]) -> sa.ColumnElement[bool]:
    """Outbox rows about the gathering's people not yet scrubbed: linked to a registration, or
    (mail queued before a registration existed, such as "supporters only") sent to the address
    of a registration not yet anonymised."""
    live_addresses = sa.select(registration.c.email).where(
        registration.c.gathering_id == gathering_id, registration.c.anonymised_at.is_(None)
    )
    linked = outbox.c.registration_id.in_(_registrations_of(gathering_id))
    unlinked = sa.and_(
        outbox.c.registration_id.is_(None),
        outbox.c.kind.in_(list(kinds)),
        outbox.c.to_address.in_(live_addresses),
    )
    return sa.and_(sa.or_(linked, unlinked), ~outbox.c.to_address.like("erased%" + ERASED_DOMAIN))


async def count_mail_of_gathering(
    conn: AsyncConnection, gathering_id: int, kinds: Collection[str]
) -> int:
    query = sa.select(sa.func.count()).where(_mail_of_gathering(gathering_id, kinds))
    return int((await conn.execute(query)).scalar_one())


async def scrub_mail(conn: AsyncConnection, where: sa.ColumnElement[bool]) -> int:
    """Unsent messages are dropped (mail stops); sent ones stay as a count, with no address,
    subject, body, attachment or context left. Returns how many rows changed."""
    unsent = await conn.execute(
        sa.delete(outbox).where(where, outbox.c.sent_at.is_(None)).returning(outbox.c.id)
    )
    rows = (await conn.execute(sa.select(outbox.c.id, outbox.c.registration_id).where(where))).all()
    for row in rows:
        await conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == row.id)
            .values(
                to_address=erased_address(row.registration_id),
                subject="",
                body_text="",
                body_html="",
                attachments=[],
                context=sa.null(),
                last_error="",
            )
        )
    return len(unsent.all()) + len(rows)


async def scrub_mail_of_gathering(
    conn: AsyncConnection, gathering_id: int, kinds: Collection[str]
) -> int:
    return await scrub_mail(conn, _mail_of_gathering(gathering_id, kinds))


async def scrub_unlinked_mail_to(
    conn: AsyncConnection, address: str, kinds: Collection[str]
) -> int:
    """Mail to ``address`` queued without a registration (templated kinds only: an organiser's
    own password-reset mail to the same address is theirs, not the attendee's)."""
    where = sa.and_(
        outbox.c.registration_id.is_(None),
        outbox.c.kind.in_(list(kinds)),
        outbox.c.to_address == address,
    )
    return await scrub_mail(conn, where)


# --- the door -----------------------------------------------------------------------------------


def steward_passes_of(gathering_id: int) -> sa.Select[Any]:
    return sa.select(steward_pass.c.id).where(steward_pass.c.gathering_id == gathering_id)


async def scans_of_gathering(conn: AsyncConnection, gathering_id: int) -> Sequence[Any]:
    """(id, response) of every scan made with the gathering's passes, for its sessions, or
    recording a check-in of one of its registrations."""
    sessions = sa.select(programme_session.c.id).where(
        programme_session.c.gathering_id == gathering_id
    )
    check_ins = sa.select(check_in.c.id).where(
        check_in.c.registration_id.in_(_registrations_of(gathering_id))
    )
    query = (
        sa.select(scan.c.id, scan.c.response)
        .where(
            sa.or_(
                scan.c.pass_id.in_(steward_passes_of(gathering_id)),
                scan.c.session_id.in_(sessions),
                scan.c.check_in_id.in_(check_ins),
            )
        )
        .order_by(scan.c.id)
    )
    return (await conn.execute(query)).all()


async def set_scan_response(conn: AsyncConnection, scan_id: int, response: dict[str, Any]) -> None:
    await conn.execute(sa.update(scan).where(scan.c.id == scan_id).values(response=response))


# --- supporters lists ---------------------------------------------------------------------------


def _supporters_of(gathering_id: int) -> sa.ColumnElement[bool]:
    return supporter.c.session_id.in_(
        sa.select(programme_session.c.id).where(programme_session.c.gathering_id == gathering_id)
    )


async def count_supporters_of_gathering(conn: AsyncConnection, gathering_id: int) -> int:
    query = sa.select(sa.func.count()).where(_supporters_of(gathering_id))
    return int((await conn.execute(query)).scalar_one())


async def delete_supporters_of_gathering(conn: AsyncConnection, gathering_id: int) -> int:
    result = await conn.execute(
        sa.delete(supporter).where(_supporters_of(gathering_id)).returning(supporter.c.id)
    )
    return len(result.all())


async def delete_supporter_address(conn: AsyncConnection, gathering_id: int, email: str) -> int:
    """Take one address off every supporters list of the gathering's sessions."""
    result = await conn.execute(
        sa.delete(supporter)
        .where(_supporters_of(gathering_id), supporter.c.email == email)
        .returning(supporter.c.id)
    )
    return len(result.all())


# --- audit events and throttles -----------------------------------------------------------------


async def audit_details(conn: AsyncConnection, since: dt.datetime | None = None) -> Sequence[Any]:
    """Who did it, to what, and the detail of audit events, oldest first (from ``since``)."""
    query = sa.select(
        audit_event.c.id,
        audit_event.c.actor_kind,
        audit_event.c.actor_id,
        audit_event.c.subject_kind,
        audit_event.c.subject_id,
        audit_event.c.detail,
    ).order_by(audit_event.c.id)
    if since is not None:
        query = query.where(audit_event.c.at >= since)
    return (await conn.execute(query)).all()


async def pass_ids_of_gathering(conn: AsyncConnection, gathering_id: int) -> set[int]:
    return set((await conn.execute(steward_passes_of(gathering_id))).scalars())


async def session_ids_of_gathering(conn: AsyncConnection, gathering_id: int) -> set[int]:
    query = sa.select(programme_session.c.id).where(
        programme_session.c.gathering_id == gathering_id
    )
    return set((await conn.execute(query)).scalars())


async def set_audit_detail(conn: AsyncConnection, event_id: int, detail: dict[str, Any]) -> None:
    await conn.execute(
        sa.update(audit_event).where(audit_event.c.id == event_id).values(detail=detail)
    )


async def throttle_keys(conn: AsyncConnection) -> list[str]:
    return list((await conn.execute(sa.select(throttle.c.key))).scalars())


async def delete_throttles(conn: AsyncConnection, keys: Collection[str]) -> None:
    if keys:
        await conn.execute(sa.delete(throttle).where(throttle.c.key.in_(list(keys))))


# --- making the bytes really gone ---------------------------------------------------------------


async def secure_delete(conn: AsyncConnection) -> None:
    """On SQLite, overwrite deleted and rewritten content with zeros (for this connection)."""
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("PRAGMA secure_delete=ON")


async def reclaim(db: Database, *, vacuum: bool) -> bool:
    """After erasing, leave no copy of the old values in the database's files.

    SQLite keeps old page images in the write-ahead log until a checkpoint, and freed space in
    the main file until it is reused: ``VACUUM`` rebuilds the file from the live rows only, and a
    TRUNCATE checkpoint copies the log into the file and empties it. Both run outside any
    transaction, so this uses the driver's connection directly (our engine's ``begin`` hook would
    open one). On PostgreSQL a plain ``VACUUM`` of the rewritten tables removes the dead row
    versions (without the exclusive lock ``VACUUM FULL`` would take on a running service).

    Returns False (the erasure itself stands, committed) if the database was too busy: SQLite
    could not empty its log while readers were still using it, or either engine refused.
    """
    try:
        async with db.engine.connect() as conn:
            if not db.is_sqlite:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                if vacuum:
                    await autocommit.exec_driver_sql("VACUUM " + ", ".join(_TOUCHED))
                return True
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            if vacuum:
                await (await driver.execute("VACUUM")).close()
            cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy, _log, _done = await cursor.fetchone()
            await cursor.close()
            return not busy
    except (sqlite3.Error, exc.DBAPIError, OSError) as error:
        log.warning("could not reclaim the space of erased data: %s", error)
        return False
