"""Read and write units of work over one async engine, SQLite or PostgreSQL.

``await db.write(fn)`` runs ``fn(conn)`` as one whole transaction that behaves as if it ran alone:
on SQLite, writes are serialised by one in-process lock plus ``BEGIN IMMEDIATE`` (so another
process, such as ``gathering demo`` beside a running server, waits on ``busy_timeout``); on
PostgreSQL the unit runs SERIALIZABLE and is retried on a serialisation failure. ``fn`` must do no
network or mail I/O: it may run more than once on PostgreSQL, and side effects belong in outbox rows
written by the same transaction.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gathering.errors import Busy, DatabaseUnavailable

T = TypeVar("T")
Unit = Callable[[AsyncConnection], Awaitable[T]]

log = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs that mean "run the whole transaction again".
_RETRY_SQLSTATES = {"40001", "40P01"}
_MAX_ATTEMPTS = 40


class Database:
    """The one way the service talks to its database."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._write_lock = asyncio.Lock()
        self._busy_timeout_ms = int(busy_timeout_ms)
        if self.is_sqlite:
            self.engine = self._sqlite_engine(url, busy_timeout_ms)
        else:
            # hide_parameters: a logged database error never carries the names, addresses and
            # answers bound to the statement.
            self.engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                hide_parameters=True,
            )
            self._write_engine = self.engine.execution_options(isolation_level="SERIALIZABLE")

    @staticmethod
    def _sqlite_engine(url: str, busy_timeout_ms: int) -> AsyncEngine:
        database = make_url(url).database
        if database:
            parent = Path(database).parent
            if not parent.is_dir():
                raise DatabaseUnavailable(
                    f"cannot open the SQLite database {database}: folder {parent} does not exist"
                )
        engine = create_async_engine(url, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin
            # (SQLAlchemy's aiosqlite notes, "Serializable isolation / Savepoints").
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Deleted and overwritten content is zeroed, so erased personal data leaves no copy in
            # free space and no VACUUM is needed (https://sqlite.org/pragma.html#pragma_secure_delete).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    async def read(self, fn: Unit[T]) -> T:
        """Run ``fn`` in a read transaction (concurrent with other reads and with writes)."""
        try:
            async with self.engine.connect() as conn, conn.begin():
                return await fn(conn)
        except exc.OperationalError as error:
            raise _translated(error) from error
        except (OSError, exc.InterfaceError) as error:
            raise DatabaseUnavailable(f"the database is unreachable: {error}") from error

    async def write(self, fn: Unit[T], *, serializable: bool = True) -> T:
        """Run ``fn`` as one atomic unit of work that behaves as if no other write ran meanwhile.

        ``serializable=False`` is for hot paths that close their races with atomic conditional
        updates (taking a place, checking in): on PostgreSQL they then run READ COMMITTED, where
        a conditional UPDATE re-checks its condition on the newest row after waiting for the
        lock, instead of failing and retrying whole. SQLite serialises every write regardless.
        """
        if self.is_sqlite:
            return await self._write_sqlite(fn)
        return await self._write_postgres(fn, self._write_engine if serializable else self.engine)

    async def _write_sqlite(self, fn: Unit[T]) -> T:
        async with self._write_lock:
            try:
                async with self.engine.connect() as conn:
                    conn = await conn.execution_options(sqlite_begin="IMMEDIATE")
                    async with conn.begin():
                        return await fn(conn)
            except exc.OperationalError as error:
                raise _translated(error) from error

    async def _write_postgres(self, fn: Unit[T], engine: AsyncEngine) -> T:
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                async with engine.connect() as conn, conn.begin():
                    return await fn(conn)
            except exc.DBAPIError as error:
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
        blocks (https://sqlite.org/c3ref/wal_checkpoint_v2.html). Runs outside any transaction,
        so it uses the driver's connection (the engine's ``begin`` hook would open one).
        """
        if not self.is_sqlite:
            return True
        async with self._write_lock:
            try:
                async with self.engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver: Any = raw.driver_connection
                    await (await driver.execute("PRAGMA busy_timeout=0")).close()
                    try:
                        cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                        busy, _frames, _copied = await cursor.fetchone()
                        await cursor.close()
                    finally:
                        restore = f"PRAGMA busy_timeout={self._busy_timeout_ms}"
                        await (await driver.execute(restore)).close()
                    return not busy
            except exc.OperationalError as error:
                raise _translated(error) from error
            except sqlite3.Error as error:  # from the driver's connection, not through SQLAlchemy
                raise _refused(str(error)) from error

    async def ping(self) -> None:
        """Raise DatabaseUnavailable unless a trivial query answers."""
        await self.read(_select_one)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _select_one(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("SELECT 1"))


def _sqlstate(error: exc.DBAPIError) -> str | None:
    orig = error.orig
    for candidate in (orig, getattr(orig, "__cause__", None)):
        for attribute in ("sqlstate", "pgcode"):
            value = getattr(candidate, attribute, None)
            if isinstance(value, str):
                return value
    return None


def _translated(error: exc.OperationalError) -> Exception:
    return _refused(str(error.orig) if error.orig is not None else str(error))


def _refused(text: str) -> Exception:
    if "database is locked" in text or "database is busy" in text:
        return Busy("the database is busy; please try again in a moment")
    return DatabaseUnavailable(f"the database cannot be used: {text}")
