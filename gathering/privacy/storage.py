"""Erasure to the bytes: after an erasure or a purge has blanked the rows, take the old values
out of the database's files too (ARCHITECTURE.md, "Erasure to the bytes"; issue 14, items 12-13).

SQLite zeroes what it deletes (``secure_delete``, set on every connection by ``Database``), so
the table and index pages hold no erased value; the write-ahead log still holds the pages as they
were until a TRUNCATE checkpoint copies it into the file and empties it. That checkpoint never
waits: a reader still using the log makes it give up, so it is tried again until it succeeds (the
housekeeping loop retries every minute).

PostgreSQL never overwrites a row in place: an update leaves the old version (with the name and
address) in the table file, its TOAST table and every index, until the space is reused. Here the
storage is rewritten: ``VACUUM (FULL, ANALYZE)`` of every table an erasure touches writes new
files holding only live rows (the old ones are truncated at commit), then ``pg_statistic`` (whose
samples held values) is rewritten, then the write-ahead log is moved on to a new segment and
checkpointed, so the segments holding the original INSERTs are removed. VACUUM FULL takes an
exclusive lock: it runs from housekeeping soon after an erasure, waits at most ``LOCK_TIMEOUT_MS``
for each table (then tries again later, never queueing a live door behind it for longer), and only
once no open snapshot could still see the erased rows (else it would copy them into the new file).

An erasure is *complete* when an ``erasure_completed`` audit event covers it; ``complete``
reports whether everything owed is done.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import GatheringError
from gathering.privacy import storage_queries as queries
from gathering.privacy import words

log = logging.getLogger(__name__)

# How long a rewrite waits for one table's lock before giving up this try; tries per table.
LOCK_TIMEOUT_MS = 250
LOCK_TRIES = 4
# Pause between two tries (no lock held meanwhile).
PAUSE = 0.1
# SQLSTATEs: lock_not_available (the lock timeout), insufficient_privilege.
_LOCK_NOT_AVAILABLE = "55P03"
_INSUFFICIENT_PRIVILEGE = "42501"


@dataclass(frozen=True)
class Completion:
    """Whether every erasure so far is gone from the database's files; if not, why not yet
    (a key of ``words.NOT_YET``)."""

    done: bool
    waiting_for: str = ""
    rewritten: bool = False  # this call did the work (False: nothing was owed, or not yet)


async def complete(
    db: Database, *, patience: float = 2.0, now: dt.datetime | None = None
) -> Completion:
    """Take every erased value out of the database's files if that can be done now without
    holding anyone up; tries for at most about ``patience`` seconds, then leaves the rest to
    the next call (housekeeping calls it every minute)."""

    async def _owed(conn: AsyncConnection) -> queries.Owed:
        return await queries.owed(conn, postgres=not db.is_sqlite)

    owed = await db.read(_owed)
    if not owed.is_owed:
        return Completion(True)
    if db.is_sqlite:
        if not await _checkpoint(db, patience):
            return Completion(False, "readers")
        log_cleared = True
    else:
        waiting = await _rewrite_postgres(db, owed.transaction, patience)
        if waiting and waiting != "log":
            return Completion(False, waiting)
        log_cleared = not waiting

    async def _record(conn: AsyncConnection) -> None:
        await queries.record_completed(conn, now or utc_now(), owed.newest, log_cleared=log_cleared)

    await db.write(_record)
    return Completion(True, rewritten=True)


async def _checkpoint(db: Database, patience: float) -> bool:
    """SQLite: empty the write-ahead log, trying again (no lock held between) while readers
    still use it, for about ``patience`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        try:
            if await db.checkpoint():
                return True
        except GatheringError as error:
            log.warning("could not checkpoint the SQLite log: %s", error.message)
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(PAUSE)


async def _rewrite_postgres(db: Database, transaction: int, patience: float) -> str:
    """Rewrite the touched tables, the statistics and the log; "" when all is done, "log" when
    only the log could not be cleared (a privilege the deployment did not grant), else what
    it waits for.

    On a connection of its own, outside the pool: it runs with a short ``lock_timeout``, which
    must not reach the service's other units, and a rewrite cancelled midway (the service
    stopping) leaves nothing to put back, so the cancellation goes through untouched."""
    engine = create_async_engine(db.url, poolclass=NullPool, hide_parameters=True)
    try:
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await _rewrite_on(auto, transaction, patience)
    except (exc.DBAPIError, OSError) as error:
        log.warning("could not rewrite the files after an erasure: %s", type(error).__name__)
        return "refused"
    finally:
        await engine.dispose()


async def _rewrite_on(conn: AsyncConnection, transaction: int, patience: float) -> str:
    if not await _wait_for_readers(conn, transaction, patience):
        return "readers"
    await queries.set_lock_timeout(conn, LOCK_TIMEOUT_MS)
    for table in queries.REWRITTEN:
        if not await _with_lock_retries(conn, table):
            return "locks"
    if await queries.may_rewrite_statistics(conn):
        # The ANALYZE just run replaced the samples; the old rows are dead only once no
        # snapshot from before it is left.
        analysed = await queries.current_transaction(conn)
        if not await _wait_for_readers(conn, analysed, patience):
            return "readers"
        if not await _with_lock_retries(conn, queries.STATISTICS):
            return "locks"
    else:
        log.warning(words.STATISTICS_NOT_REWRITTEN)
    try:
        await queries.clear_write_ahead_log(conn)
    except exc.DBAPIError as error:
        if _sqlstate(error) != _INSUFFICIENT_PRIVILEGE:
            raise
        log.warning(words.LOG_NOT_CLEARED)
        return "log"
    return ""


async def _wait_for_readers(conn: AsyncConnection, transaction: int, patience: float) -> bool:
    """Wait (about ``patience`` seconds at most) until no open snapshot began before
    ``transaction``: VACUUM FULL copies a dead row version that some snapshot might still see."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while not (await queries.horizon(conn, transaction)).is_clear:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(PAUSE)
    return True


async def _with_lock_retries(conn: AsyncConnection, table: str) -> bool:
    for attempt in range(LOCK_TRIES):
        if attempt:
            await asyncio.sleep(PAUSE * attempt)
        try:
            if table == queries.STATISTICS:
                await queries.rewrite_statistics(conn)
            else:
                await queries.rewrite_table(conn, table)
                await queries.forget_statistics_if_empty(conn, table)
            return True
        except exc.DBAPIError as error:
            if _sqlstate(error) != _LOCK_NOT_AVAILABLE:
                raise
    return False


def _sqlstate(error: exc.DBAPIError) -> str | None:
    orig = error.orig
    for candidate in (orig, getattr(orig, "__cause__", None)):
        value = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(value, str):
            return value
    return None


async def finish_owed(db: Database) -> Completion:
    """For housekeeping: complete what erasures are owed, logging (in numbers and reasons, never
    values) what had to wait."""
    try:
        done = await complete(db)
    except GatheringError as error:
        log.warning("%s: %s", words.NOT_YET["refused"], error.message)
        return Completion(False, "refused")
    if done.rewritten:
        log.info(words.COMPLETED_LOG)
    elif not done.done:
        log.info(words.NOT_YET[done.waiting_for])
    return done
