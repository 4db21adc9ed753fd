"""SQLite statements run in the calling thread, behind the awaitable interface SQLAlchemy's
aiosqlite dialect drives.

aiosqlite runs each call (cursor, execute, fetch, close, commit) on its own thread and waits for
the answer: four thread hand-offs per statement, 100-150 µs each on a small VM, where the
statement itself (an index lookup in a file the page cache holds) takes 5-50 µs. A unit of work
of eight statements paid ~5 ms in hand-offs for ~0.2 ms of SQLite (``bench/RESULTS.md``). Here
each awaitable does its work at once and completes without suspending, so a unit of work costs
what its statements cost.

The price is that a statement holds the event loop while it runs. ``Database`` keeps that short
and bounded: busy waits never happen here (``busy_timeout=0``; a unit that meets another
process's lock is retried after an ``asyncio.sleep``), write-ahead-log checkpoints run on a
worker thread, and units are small by design (batched purges, paged lists).

Only what the dialect's adapter (``sqlalchemy.dialects.sqlite.aiosqlite``) calls is provided.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Self

# The adapter checks ``aiosqlite.Error`` and friends on the driver module, which is still
# aiosqlite's (the same sqlite3 exception classes), so errors map exactly as before.


class InlineCursor:
    """One ``sqlite3.Cursor``; every method completes at once."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> Self:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Self:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        if size is None:
            return self._cursor.fetchmany()
        return self._cursor.fetchmany(size)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def setinputsizes(self, *sizes: Any) -> None:
        self._cursor.setinputsizes(*sizes)

    async def close(self) -> None:
        self._cursor.close()

    async def __aiter__(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row


class _Immediately:
    """Stands in for aiosqlite's request queue, which the adapter's ``isolation_level`` setter
    writes to directly: the function runs now and its future is settled before it is awaited."""

    __slots__ = ()

    @staticmethod
    def put_nowait(item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to whoever awaits the future, as aiosqlite does
            future.set_exception(error)


class InlineConnection:
    """One ``sqlite3.Connection`` with the subset of ``aiosqlite.Connection`` the adapter uses."""

    _tx = _Immediately()

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = connection

    @property
    def _connection(self) -> sqlite3.Connection | None:
        """What aiosqlite calls its open connection (the adapter checks it before commit)."""
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("Connection closed")
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open().cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return InlineCursor(self._open().execute(sql, parameters))

    async def commit(self) -> None:
        self._open().commit()

    async def rollback(self) -> None:
        self._open().rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)

    async def set_progress_handler(self, handler: Callable[[], int] | None, n: int) -> None:
        self.set_progress_handler_now(handler, n)

    def set_progress_handler_now(self, handler: Callable[[], int] | None, n: int) -> None:
        """``sqlite3.Connection.set_progress_handler``, at once (the time limit's hook)."""
        self._open().set_progress_handler(handler, n)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (also the pool's terminate)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def creator(path: str) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine`` opening ``path`` with ``sqlite3``.

    ``check_same_thread=False``: a connection is only ever used by one unit of work at a time (the
    pool hands it out whole), but a test or a CLI command may close a pool from another thread
    than the one that filled it. ``isolation_level=None``: SQLAlchemy, not the sqlite3 module,
    says where transactions begin (SQLAlchemy's pysqlite notes, "Serializable isolation").
    """

    async def _connect() -> InlineConnection:
        connection = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        return InlineConnection(connection)

    return _connect
