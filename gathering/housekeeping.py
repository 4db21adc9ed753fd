"""Scheduled work inside each app process: expire unconfirmed registrations and lapsed offers,
and queue session reminders.

Every replica may run it: each pass is one write unit that only touches overdue rows, so two
replicas running it at once do the work once (the second finds nothing overdue).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from gathering.db.database import Database
from gathering.domain import registration
from gathering.errors import GatheringError

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 60


async def run_once(
    db: Database, links: registration.Links, offer_hours: int, reminder_hours: int
) -> None:
    expired, lapsed = await registration.expire_overdue(db, links=links, offer_hours=offer_hours)
    if expired or lapsed:
        log.info("expired %d unconfirmed registrations and %d lapsed offers", expired, lapsed)
    reminded = await registration.queue_reminders(db, links=links, reminder_hours=reminder_hours)
    if reminded:
        log.info("queued %d session reminders", reminded)


@contextlib.asynccontextmanager
async def housekeeping(
    db: Database,
    links: registration.Links,
    offer_hours: int,
    reminder_hours: int,
    *,
    interval: float = INTERVAL_SECONDS,
) -> AsyncIterator[None]:
    """Run the scheduled work every ``interval`` seconds while the app serves."""

    async def loop() -> None:
        while True:
            try:
                await run_once(db, links, offer_hours, reminder_hours)
            except GatheringError as error:  # database busy or away: try again next time
                log.warning("housekeeping skipped: %s", error.message)
            await asyncio.sleep(interval)

    # A plain task, not a task group: the lifespan may be entered and left in different tasks.
    task = asyncio.create_task(loop(), name="housekeeping")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
