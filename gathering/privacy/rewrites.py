"""Rewriting stored audit details and door answers: by id, in short write units that read their
rows again and decide afresh (shared by the purge and one person's erasure)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.privacy import retention_queries as queries
from gathering.privacy.scrubbing import (
    AuditRule,
    audit_changes,
    decoded_audit,
    decoded_scans,
    scan_changes,
)

# Rows rewritten per write unit: each unit stays a few milliseconds long, so a door scan waiting
# for SQLite's one writer waits no longer than that.
BATCH = 500


def _batches(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


async def scrub_audit(
    conn: AsyncConnection, events: Sequence[queries.StoredAudit], rule: AuditRule
) -> int:
    """Rewrite the details of these audit events that the rule changes; how many changed."""
    changes = audit_changes(decoded_audit(events), rule)
    await queries.set_audit_details(conn, changes)
    return len(changes)


async def scrub_scans(conn: AsyncConnection, scans: Sequence[queries.StoredScan]) -> int:
    """Strip who they were about from these door answers; how many changed."""
    changes = scan_changes(decoded_scans(scans))
    await queries.set_scan_responses(conn, changes)
    return len(changes)


async def rewrite_audit(db: Database, ids: Sequence[int], rule: AuditRule) -> int:
    """Scrub these audit events in short write units; each reads its rows again."""
    changed = 0
    for batch in _batches(ids):

        async def _write(conn: AsyncConnection, batch: Sequence[int] = batch) -> int:
            return await scrub_audit(conn, await queries.audit_by_ids(conn, batch), rule)

        changed += await db.write(_write)
    return changed


async def rewrite_scans(db: Database, ids: Sequence[int]) -> int:
    """Strip who they were about from these door answers in short write units."""
    changed = 0
    for batch in _batches(ids):

        async def _write(conn: AsyncConnection, batch: Sequence[int] = batch) -> int:
            return await scrub_scans(conn, await queries.scans_by_ids(conn, batch))

        changed += await db.write(_write)
    return changed
