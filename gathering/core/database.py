"""Read and write units of work over one async engine, SQLite or PostgreSQL.

``await db.write(fn)`` runs ``fn(conn)`` as one whole transaction that behaves as if it ran alone:
on SQLite, writes are serialised by one in-process lock plus ``BEGIN IMMEDIATE`` (so another
process, such as ``gathering demo`` beside a running server, is waited for); on PostgreSQL the unit
runs SERIALIZABLE and is retried on a serialisation failure. ``fn`` must do no network or mail
I/O: it may run more than once (a serialisation failure on PostgreSQL, another process's lock on
SQLite), and side effects belong in outbox rows written by the same transaction.

On SQLite the statements run in the event loop's own thread (``gathering.core.sqlite_inline``):
each takes microseconds, where handing it to aiosqlite's thread took four round trips of
100-150 µs. So that nothing holds the loop for long, SQLite never waits inside a statement: its
busy timeout is 0, and a unit that meets another process's lock is rolled back and run again
after an ``asyncio.sleep``, until ``busy_timeout_ms`` has passed (then ``Busy``, a 503). The
write-ahead log is copied into the database file by a worker thread, not by the commit that
happens to fill it. Units whose statements grow with a gathering (a dashboard, a whole list, the
retention purge) pass ``offload=True`` and run on aiosqlite's thread instead, as every unit did
before: a thread hand-off per call, but the loop serves others meanwhile.

A unit that still runs long is stopped (``time_limit_ms``, ``GATHERING_SQLITE_TIME_LIMIT_MS``): a
progress handler, as in Datasette's ``sqlite_timelimit``, interrupts its statement once the unit
has run that long, and the request is answered 503 in words (``StatementTooSlow``). Offloaded
units get at least ``OFFLOADED_TIME_LIMIT_MS``: they do not hold the loop, only a worker thread
(and, when writing, the write lock), and they are the ones that legitimately grow with a
gathering (a whole list, an export, the purge), so they are cut only when plainly runaway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

from gathering.core import sqlite_inline
from gathering.core.errors import Busy, DatabaseUnavailable
from gathering.core.private_files import keep_private

T = TypeVar("T")
Unit = Callable[[AsyncConnection], Awaitable[T]]

log = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs that mean "run the whole transaction again".
_RETRY_SQLSTATES = {"40001", "40P01"}
_MAX_ATTEMPTS = 40
# SQLite: how many write units between two PASSIVE checkpoints on a worker thread (SQLite's own
# automatic checkpoint, off here, runs at 1 000 pages of log: a few dozen writes).
_CHECKPOINT_EVERY_WRITES = 32
# SQLite: the least time an offloaded unit may run (see the module notes), and how many virtual
# machine instructions run between two looks at the clock (Datasette's figure: some microseconds
# of SQLite's work between looks, so a stop comes well within a millisecond of the limit).
OFFLOADED_TIME_LIMIT_MS = 30_000
_INSTRUCTIONS_PER_CHECK = 1000


# Write units finished (committed, rolled back or failed) by any Database of this process. A memo
# of what the database says is good only while this stays put (``programme.page_cache``): a
# write made here shows on the very next request, whichever Database object made it.
_writes_finished = 0


def write_epoch() -> int:
    """How many write units this process has finished so far (see ``_writes_finished``)."""
    return _writes_finished


def _write_finished() -> None:
    global _writes_finished
    _writes_finished += 1


class StatementTooSlow(Busy):
    """A SQLite unit of work ran past its time limit and was stopped (503, try again)."""


class _Deadline:
    """When the unit holding a connection must stop; the progress handler reads it."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at = float("inf")

    def passed(self) -> int:
        return 1 if time.monotonic() > self.at else 0


class Database:
    """The one way the service talks to its database."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_ms: int = 5000,
        pool_size: int = 10,
        time_limit_ms: int = 0,
        offloaded_time_limit_ms: int | None = None,
    ) -> None:
        self.url = url
        # 0: no limit (scripts and the CLI); the service passes GATHERING_SQLITE_TIME_LIMIT_MS.
        self._time_limit_s = max(0, time_limit_ms) / 1000
        if offloaded_time_limit_ms is None:
            offloaded_time_limit_ms = max(time_limit_ms, OFFLOADED_TIME_LIMIT_MS)
        self._offloaded_time_limit_s = (
            max(0, offloaded_time_limit_ms) / 1000 if time_limit_ms > 0 else 0
        )
        self.is_sqlite = url.startswith("sqlite")
        self._write_lock = asyncio.Lock()
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._sqlite_file: str | None = None
        self._writes_since_checkpoint = 0
        self._checkpointing: asyncio.Task[None] | None = None
        self._threaded: AsyncEngine | None = None
        if self.is_sqlite:
            self.engine = self._sqlite_engine(url, inline=True)
        else:
            # hide_parameters: a logged database error never carries the names, addresses and
            # answers bound to the statement. No pre-ping (a round trip before every unit):
            # a connection the server dropped fails its unit's first statement, SQLAlchemy then
            # invalidates the whole pool, and the unit runs again once on a new connection
            # (``_lost``), which for a write is only when nothing can have been committed.
            self.engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=False,
                hide_parameters=True,
            )
            self._write_engine = self.engine.execution_options(isolation_level="SERIALIZABLE")
            # Reads run in autocommit: PostgreSQL's READ COMMITTED gives each statement its own
            # snapshot inside a transaction too, so BEGIN and COMMIT bought two round trips and
            # nothing else.
            self._read_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def busy_timeout_ms(self) -> int:
        """How long a unit of work waits for another process's lock before ``Busy``."""
        return self._busy_timeout_ms

    def _sqlite_engine(self, url: str, *, inline: bool) -> AsyncEngine:
        parsed = make_url(url)
        database = parsed.database or ":memory:"
        if parsed.query:
            raise DatabaseUnavailable(
                "a SQLite database URL takes no options: sqlite+aiosqlite:///FILE "
                f"(not {parsed.render_as_string(hide_password=True)})"
            )
        if database != ":memory:":
            parent = Path(database).parent
            if not parent.is_dir():
                raise DatabaseUnavailable(
                    f"cannot open the SQLite database {database}: folder {parent} does not exist"
                )
            try:
                keep_private(database)  # 0600, and so its -wal and -shm (core/private_files.py)
            except OSError as error:
                raise DatabaseUnavailable(f"cannot create {database}: {error}") from error
            self._sqlite_file = database
        if inline:
            engine = sqlite_inline.engine(url, database)
        else:
            engine = create_async_engine(url, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin
            # (SQLAlchemy's aiosqlite notes, "Serializable isolation / Savepoints").
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Never wait inside a statement (it would hold the event loop): units are retried.
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Checkpoints run on a worker thread (``_after_write``), not inside a commit.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            # Deleted and overwritten content is zeroed, so erased personal data leaves no copy in
            # free space and no VACUUM is needed (https://sqlite.org/pragma.html#pragma_secure_delete).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            if inline:  # straight to sqlite3: a unit's two plainest statements cost the most
                sqlite_inline.run_on(conn, f"BEGIN {mode}")
            else:
                conn.exec_driver_sql(f"BEGIN {mode}")

        if (self._time_limit_s if inline else self._offloaded_time_limit_s) > 0:
            _limit_units(engine, inline=inline)
        return engine

    async def read(self, fn: Unit[T], *, offload: bool = False) -> T:
        """Run ``fn`` in a read transaction (concurrent with other reads and with writes).

        ``offload=True`` is for units whose statements grow with a gathering (dashboards, whole
        lists, exports, the retention purge): on SQLite they run on aiosqlite's thread, so
        their statements do not hold the event loop (each costs a thread hand-off instead).
        """
        if self.is_sqlite:
            return await self._sqlite_unit(self._read_sqlite_once, fn, offload)
        try:
            return await self._read_once(fn)
        except exc.OperationalError as error:
            raise _translated(error) from error
        except (OSError, exc.InterfaceError) as error:
            raise DatabaseUnavailable(f"the database is unreachable: {error}") from error

    async def _read_once(self, fn: Unit[T]) -> T:
        try:
            async with self._read_engine.connect() as conn:
                return await fn(conn)
        except exc.DBAPIError as error:
            if not _lost(error):
                raise
        async with self._read_engine.connect() as conn:  # once more, on a new connection
            return await fn(conn)

    # On SQLite the connection is closed by a plain await, not ``async with``: SQLAlchemy's
    # context manager closes in a task of its own (so a cancelled caller cannot abandon a close
    # halfway through I/O), which hands the loop round three times per unit. Meanwhile other
    # units check out more connections than the pool keeps, and each extra one is opened and
    # closed again. Here nothing suspends (``sqlite_inline``), so a close cannot be interrupted.

    @contextlib.asynccontextmanager
    async def _sqlite_connection(self, offload: bool) -> AsyncIterator[AsyncConnection]:
        if offload:  # real I/O on a thread: SQLAlchemy's own (shielded) close
            async with self._threaded_engine().connect() as conn:
                with _time_limited(conn, self._offloaded_time_limit_s):
                    yield conn
            return
        conn = await self.engine.connect()
        try:
            with _time_limited(conn, self._time_limit_s):
                yield conn
        finally:
            await conn.close()

    async def _read_sqlite_once(self, fn: Unit[T], offload: bool) -> T:
        async with self._sqlite_connection(offload) as conn, conn.begin():
            return await fn(conn)

    def _threaded_engine(self) -> AsyncEngine:
        """The engine on aiosqlite's own threads, made on first use (see ``offload``)."""
        if self._threaded is None:
            self._threaded = self._sqlite_engine(self.url, inline=False)
        return self._threaded

    async def write(self, fn: Unit[T], *, serializable: bool = True, offload: bool = False) -> T:
        """Run ``fn`` as one atomic unit of work that behaves as if no other write ran meanwhile.

        ``serializable=False`` is for hot paths that close their races with atomic conditional
        updates (taking a place, checking in): on PostgreSQL they then run READ COMMITTED, where
        a conditional UPDATE re-checks its condition on the newest row after waiting for the
        lock, instead of failing and retrying whole. SQLite serialises every write regardless.
        ``offload`` as for ``read`` (the unit still holds the write lock while it runs).
        """
        try:
            if self.is_sqlite:
                async with self._write_lock:
                    result = await self._sqlite_unit(self._write_sqlite_once, fn, offload)
                self._after_write()
                return result
            return await self._write_postgres(
                fn, self._write_engine if serializable else self.engine
            )
        finally:  # also on failure: a commit whose answer was lost may still have happened
            _write_finished()

    async def _write_sqlite_once(self, fn: Unit[T], offload: bool) -> T:
        async with self._sqlite_connection(offload) as conn:
            immediate = await conn.execution_options(sqlite_begin="IMMEDIATE")
            async with immediate.begin():
                return await fn(immediate)

    async def _sqlite_unit(
        self, once: Callable[[Unit[T], bool], Awaitable[T]], fn: Unit[T], offload: bool
    ) -> T:
        """Run one SQLite unit; while another process holds a lock it needs, roll back, sleep
        and run it again, for up to the busy timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._busy_timeout_ms / 1000
        pause = 0.001
        while True:
            try:
                return await once(fn, offload)
            except exc.OperationalError as error:
                remaining = deadline - loop.time()
                if not _is_busy(error) or remaining <= 0:
                    raise _translated(error) from error
            except (OSError, exc.InterfaceError) as error:
                raise DatabaseUnavailable(f"the database cannot be used: {error}") from error
            await asyncio.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.05)

    def _after_write(self) -> None:
        """Every so many writes, copy the write-ahead log into the file on a worker thread.

        A PASSIVE checkpoint never waits for a reader or a writer and copies what no reader
        still needs; with ``wal_autocheckpoint`` off, the commit that filled the log no longer
        does the copy (and its fsync) itself while the event loop waits."""
        self._writes_since_checkpoint += 1
        if (
            self._writes_since_checkpoint < _CHECKPOINT_EVERY_WRITES
            or self._sqlite_file is None
            or (self._checkpointing is not None and not self._checkpointing.done())
        ):
            return
        self._writes_since_checkpoint = 0
        self._checkpointing = asyncio.get_running_loop().create_task(
            self._checkpoint_in_thread("PASSIVE")
        )

    async def _checkpoint_in_thread(self, mode: str) -> None:
        try:
            await asyncio.to_thread(_checkpoint_file, self._sqlite_file or "", mode)
        except sqlite3.Error as error:
            log.warning("could not checkpoint the write-ahead log: %s", error)

    async def _write_postgres(self, fn: Unit[T], engine: AsyncEngine) -> T:
        reconnected = False
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            committing = False
            try:
                async with engine.connect() as conn, conn.begin():
                    result = await fn(conn)
                    committing = True  # the block's end commits: from here a loss is ambiguous
                return result
            except exc.DBAPIError as error:
                if _lost(error) and not committing and not reconnected:
                    reconnected = True  # the server dropped the connection; nothing was committed
                    continue
                if _sqlstate(error) not in _RETRY_SQLSTATES or attempt == _MAX_ATTEMPTS:
                    if isinstance(error, exc.OperationalError):
                        raise _translated(error) from error
                    raise
                # Jittered backoff so the retrying units do not collide again in lockstep.
                await asyncio.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))  # noqa: S311
            except (OSError, exc.InterfaceError) as error:
                raise DatabaseUnavailable(f"the database is unreachable: {error}") from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def checkpoint(self) -> bool:
        """On SQLite, copy the write-ahead log into the database file and empty it, if that can
        be done without waiting; True when the log is empty afterwards (always on PostgreSQL).

        Taken under the write lock, so no write of this process is held up behind it for longer
        than the copy, and with no busy wait: a reader still using the log (or another process
        writing) leaves it as a plain PASSIVE checkpoint, which copies what it can and never
        blocks (https://sqlite.org/c3ref/wal_checkpoint_v2.html). The copy runs on a worker
        thread with a connection of its own, so the event loop goes on serving reads.
        """
        if not self.is_sqlite or self._sqlite_file is None:
            return True
        async with self._write_lock:
            try:
                return await asyncio.to_thread(_checkpoint_file, self._sqlite_file, "TRUNCATE")
            except sqlite3.Error as error:
                raise _refused(str(error)) from error

    async def ping(self) -> None:
        """Raise DatabaseUnavailable unless a trivial query answers."""
        await self.read(_select_one)

    async def dispose(self) -> None:
        if self._checkpointing is not None:
            try:
                await self._checkpointing
            except Exception as error:  # the engines must be closed whatever happened to it
                log.warning("the last checkpoint did not finish: %s", error)
        if self._threaded is not None:
            await self._threaded.dispose()
        await self.engine.dispose()


async def _select_one(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("SELECT 1"))


def _lost(error: exc.DBAPIError) -> bool:
    """True when the statement failed because the connection was lost (the server restarted,
    or dropped it); SQLAlchemy has then invalidated it and the pool's older connections."""
    return bool(error.connection_invalidated)


def _sqlstate(error: exc.DBAPIError) -> str | None:
    orig = error.orig
    for candidate in (orig, getattr(orig, "__cause__", None)):
        for attribute in ("sqlstate", "pgcode"):
            value = getattr(candidate, attribute, None)
            if isinstance(value, str):
                return value
    return None


def _checkpoint_file(path: str, mode: str) -> bool:
    """Checkpoint the SQLite file at ``path`` on a connection of its own, never waiting; True
    when the whole log was copied (and, for TRUNCATE, emptied)."""
    connection = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    try:
        busy, frames, copied = connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        return not busy and (mode == "TRUNCATE" or frames == copied)
    finally:
        connection.close()


def _is_busy(error: exc.OperationalError) -> bool:
    """SQLITE_BUSY (another connection holds a lock this statement needs), in any variant."""
    code = getattr(error.orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == sqlite3.SQLITE_BUSY
    return "database is locked" in str(error.orig)


def _limit_units(engine: AsyncEngine, *, inline: bool) -> None:
    """Give each connection a progress handler that interrupts its statement once the deadline
    of the unit of work using it has passed (https://sqlite.org/c3ref/progress_handler.html).
    Only units set a deadline (``_time_limited``): migrations and the pool's own resets never
    stop."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        deadline = record.info["deadline"] = _Deadline()
        driver = record.driver_connection
        assert driver is not None  # just connected
        if inline:
            driver.set_progress_handler(deadline.passed, _INSTRUCTIONS_PER_CHECK)
        else:  # aiosqlite: on its own thread, from inside SQLAlchemy's greenlet
            await_only(driver.set_progress_handler(deadline.passed, _INSTRUCTIONS_PER_CHECK))


@contextlib.contextmanager
def _time_limited(conn: AsyncConnection, limit_s: float) -> Iterator[None]:
    """Run the unit on ``conn`` under a deadline ``limit_s`` from now (none when 0)."""
    deadline = conn.info.get("deadline") if limit_s > 0 else None
    if deadline is None:
        yield
        return
    deadline.at = time.monotonic() + limit_s
    try:
        yield
    finally:
        deadline.at = float("inf")


def _translated(error: exc.OperationalError) -> Exception:
    return _refused(str(error.orig) if error.orig is not None else str(error))


def _refused(text: str) -> Exception:
    if text == "interrupted":  # our progress handler stopped the statement (_limit_units)
        return StatementTooSlow(
            "This took too long to answer, so it was stopped to keep the site quick for "
            "everyone. Please try again in a moment."
        )
    if "database is locked" in text or "database is busy" in text:
        return Busy("the database is busy; please try again in a moment")
    return DatabaseUnavailable(f"the database cannot be used: {text}")
