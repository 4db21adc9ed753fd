"""Scheduled work inside each app process: expire unconfirmed registrations and lapsed offers,
queue session reminders, forget ended organiser invitations and take sent invitation links out
of the outbox (every minute), and purge personal data past its retention period
(every ``purge_minutes``, the first run a few minutes after start).

Every replica may run it: each pass is one write unit that only touches overdue rows, so two
replicas running it at once do the work once (the second finds nothing overdue). The purge is
idempotent too, in short write units per gathering; one gathering it cannot purge is logged and
tried again next time, and does not stop the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from gathering.core.database import Database
from gathering.core.errors import GatheringError
from gathering.introductions import rules as introductions
from gathering.organiser import members
from gathering.privacy import retention, storage
from gathering.registration import rules as registration

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 60
# Start-up stays quick, and a process restarted in a loop still purges once it settles.
FIRST_PURGE_AFTER_SECONDS = 300


async def run_once(
    db: Database,
    links: registration.Links,
    offer_hours: int,
    reminder_hours: int,
    joining_minutes: int = 30,
) -> None:
    expired, lapsed = await registration.expire_overdue(db, links=links, offer_hours=offer_hours)
    if expired or lapsed:
        log.info("expired %d unconfirmed registrations and %d lapsed offers", expired, lapsed)
    reminded = await registration.queue_reminders(
        db, links=links, reminder_hours=reminder_hours, joining_minutes=joining_minutes
    )
    if reminded:
        log.info("queued %d session reminders", reminded)
    # CLP introductions whose chosen time has come (once each), and sent ones emptied (issue 20).
    introduced = await introductions.send_due(db, links=links)
    if introduced:
        log.info("queued the CLP introductions of %d gatherings", introduced)
    await introductions.seal_sent(db)
    # Organiser invitations: ended ones forgotten after a while, sent links out of the outbox.
    await members.forget_and_seal(db)


async def purge_once(db: Database) -> list[retention.Erasure]:
    """Run the retention purge and log what it erased (numbers only), and which gatherings it
    could not purge (tried again next time)."""
    failure = None
    try:
        done = await retention.purge(db)
    except retention.PurgeIncomplete as incomplete:
        done, failure = incomplete.erasures, incomplete
    erased = [e for e in done if e.total]
    for erasure in erased:
        counts = ", ".join(f"{k}={n}" for k, n in erasure.counts().items() if n)
        log.info("retention purge of %s: %s", erasure.slug, counts)
    if failure is not None:
        log.warning("%s; trying again at the next purge", failure.message)
    return erased


@contextlib.asynccontextmanager
async def housekeeping(
    db: Database,
    links: registration.Links,
    offer_hours: int,
    reminder_hours: int,
    *,
    interval: float = INTERVAL_SECONDS,
    purge_minutes: int = 60,
    first_purge_after: float = FIRST_PURGE_AFTER_SECONDS,
    joining_minutes: int = 30,
) -> AsyncIterator[None]:
    """Run the scheduled work every ``interval`` seconds while the app serves, and the purge
    every ``purge_minutes`` (0: never; ``gathering purge`` from cron does it then)."""

    async def loop() -> None:
        next_purge = time.monotonic() + first_purge_after
        while True:
            try:
                await run_once(db, links, offer_hours, reminder_hours, joining_minutes)
                # Erased values still in the database's files (a reader held SQLite's log, or
                # PostgreSQL's rewrite waits for housekeeping): take them out now if owed.
                await storage.finish_owed(db)
                if purge_minutes and time.monotonic() >= next_purge:
                    # Set first: a purge that fails waits for the next turn (it is never urgent).
                    next_purge = time.monotonic() + purge_minutes * 60
                    await purge_once(db)
            except GatheringError as error:  # database busy or away: try again next time
                log.warning("housekeeping skipped: %s", error.message)
            except Exception:  # a fault in the purge must not stop expiry and reminders
                log.exception("housekeeping failed; trying again in %s seconds", interval)
            await asyncio.sleep(interval)

    # A plain task, not a task group: the lifespan may be entered and left in different tasks.
    task = asyncio.create_task(loop(), name="housekeeping")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
