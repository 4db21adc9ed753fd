"""SQLite statements run in the calling thread, with no thread hand-off and no greenlet switch.

aiosqlite runs each call (cursor, execute, fetch, close, commit) on its own thread and waits for
the answer: four thread hand-offs per statement, 100-150 µs each on a small VM, where the
statement itself (an index lookup in a file the page cache holds) takes 5-50 µs. A unit of work
of eight statements paid ~5 ms in hand-offs for ~0.2 ms of SQLite (``bench/RESULTS.md``).

So the service's SQLite engine drives the standard library's ``sqlite3`` directly:
- ``InlineDialect`` is SQLAlchemy's own pysqlite dialect (the same SQL, types and error mapping),
  declared asynchronous so that an ``AsyncEngine`` accepts it, with the asyncio-adapted pool;
- ``InlineConnection`` is an ``AsyncConnection`` (and ``InlineTransaction`` an
  ``AsyncTransaction``) whose methods call the synchronous connection underneath at once.
  SQLAlchemy's own start a greenlet per call and hand each driver call (cursor, execute, fetch,
  close, commit) to the event loop and back: with ``sqlite3``, which never suspends, that was
  the costliest part of a short statement (``bench/RESULTS.md``, issue 14). The pool never
  waits either (its overflow is unbounded: a unit needing a connection while all are out opens
  one more, and the pool keeps ``pool_size`` of them), so only opening a new connection still
  goes through SQLAlchemy's greenlet.

The price is that a statement holds the event loop while it runs. ``Database`` keeps that short
and bounded: busy waits never happen here (``busy_timeout=0``; a unit that meets another
process's lock is retried after an ``asyncio.sleep``), write-ahead-log checkpoints run on a
worker thread, units are small by design (batched purges, paged lists), and a unit that still
runs long is interrupted (``Database``'s time limit).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import exc, pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncTransaction,
    create_async_engine,
)
from sqlalchemy.util.concurrency import greenlet_spawn

DRIVER = "gathering_inline"


class InlineDialect(SQLiteDialect_pysqlite):
    """pysqlite, accepted by ``AsyncEngine`` (its connections are used from the event loop)."""

    driver = DRIVER
    supports_statement_cache = True
    is_async = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        # The asyncio-adapted queue: a unit waiting for a free connection awaits, never blocks.
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool


registry.register(f"sqlite.{DRIVER}", __name__, "InlineDialect")


class InlineTransaction(AsyncTransaction):
    """An ``AsyncTransaction`` that begins and ends at once on the connection underneath."""

    async def start(self, is_ctxmanager: bool = False) -> AsyncTransaction:
        sync = self.connection._proxied
        self.sync_transaction = self._assign_proxied(
            sync.begin_nested() if self.nested else sync.begin()
        )
        if is_ctxmanager:
            self.sync_transaction.__enter__()
        return self

    async def close(self) -> None:
        self._proxied.close()

    async def rollback(self) -> None:
        self._proxied.rollback()

    async def commit(self) -> None:
        self._proxied.commit()

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        self._proxied.__exit__(type_, value, traceback)


class InlineConnection(AsyncConnection):
    """An ``AsyncConnection`` whose every call runs at once on the connection underneath."""

    async def start(self, is_ctxmanager: bool = False) -> AsyncConnection:
        if self.sync_connection:
            raise exc.InvalidRequestError("connection is already started")
        engine = self.sync_engine
        idle = getattr(engine.pool, "checkedin", None)  # a StaticPool (":memory:") has none
        if idle is not None and idle():  # an idle one: its checkout does nothing that waits
            sync = engine.connect()
        else:  # a new one: its first connect takes an asyncio lock (SQLAlchemy's, once)
            sync = await greenlet_spawn(engine.connect)
        self.sync_connection = self._assign_proxied(sync)
        return self

    def begin(self) -> AsyncTransaction:
        assert self._proxied
        return InlineTransaction(self)

    def begin_nested(self) -> AsyncTransaction:
        assert self._proxied
        return InlineTransaction(self, nested=True)

    async def execution_options(self, **opt: Any) -> AsyncConnection:
        self._proxied.execution_options(**opt)
        return self

    async def commit(self) -> None:
        self._proxied.commit()

    async def rollback(self) -> None:
        self._proxied.rollback()

    async def close(self) -> None:
        self._proxied.close()

    def run_now(self, sql: str, parameters: Sequence[Any]) -> sqlite3.Cursor:
        """Run the driver-level ``sql`` on the ``sqlite3`` connection itself, in the unit's
        transaction, past SQLAlchemy's execution machinery: for a statement compiled once on a
        hot path (the throttles' count), where that machinery cost twice the statement. Errors
        are SQLAlchemy's, as from ``exec_driver_sql``; no engine event sees the statement."""
        return run_on(self._proxied, sql, parameters)

    async def execute(
        self,
        statement: sa.Executable,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> sa.CursorResult[Any]:
        return self._proxied.execute(statement, parameters, execution_options=execution_options)

    async def exec_driver_sql(
        self,
        statement: str,
        parameters: Any = None,
        execution_options: Any = None,
    ) -> sa.CursorResult[Any]:
        return self._proxied.exec_driver_sql(statement, parameters, execution_options)


class InlineEngine(AsyncEngine):
    """An ``AsyncEngine`` handing out ``InlineConnection``s."""

    _connection_cls = InlineConnection


def engine(url: str, path: str) -> AsyncEngine:
    """The engine for the SQLite file at ``path`` (``url`` names it), driving ``sqlite3``.

    ``check_same_thread=False``: a connection is only ever used by one unit of work at a time (the
    pool hands it out whole), but a test or a CLI command may close a pool from another thread
    than the one that filled it. ``isolation_level=None``: SQLAlchemy, not the sqlite3 module,
    says where transactions begin (SQLAlchemy's pysqlite notes, "Serializable isolation").
    """

    def _connect() -> sqlite3.Connection:
        return sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)

    inline_url = sa.make_url(url).set(drivername=f"sqlite+{DRIVER}")
    # A file's pool never waits (module notes); ":memory:" is one connection (StaticPool).
    pooling: dict[str, Any] = {} if path == ":memory:" else {"max_overflow": -1}
    made = create_async_engine(inline_url, hide_parameters=True, creator=_connect, **pooling)
    return InlineEngine(made.sync_engine)


def run_on(connection: sa.Connection, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
    """Run the driver-level ``sql`` on the ``sqlite3`` connection under the inline engine's
    ``connection``, in its transaction, with SQLAlchemy's errors (see ``run_now``)."""
    driver = connection.connection.dbapi_connection
    assert driver is not None  # a connection in use holds a checked-out one
    try:
        return cast(sqlite3.Cursor, driver.execute(sql, parameters))
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(
            sql, parameters, error, sqlite3.Error, hide_parameters=True
        ) from error


async def plain_statement(conn: AsyncConnection, sql: str) -> None:
    """Run a driver-level statement that answers no rows (``SAVEPOINT name``, say): on the
    service's inline engine straight on ``sqlite3``, elsewhere through ``exec_driver_sql``."""
    if isinstance(conn, InlineConnection):
        conn.run_now(sql, ())
    else:
        await conn.exec_driver_sql(sql)
