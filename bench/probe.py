"""How many SQL statements, in which units of work, one of our requests runs.

The app is built in this process on a copy of the scenario's database (lifespan and all) and driven
through httpx's ASGI transport. While :meth:`Recorder.recording` is on, every ``db.read`` and
``db.write`` made for the request opens a unit, and every SELECT / INSERT / UPDATE / DELETE the
driver executes on that unit's connection is counted in it; background work (housekeeping) runs
in other tasks and is not counted. The baseline app replays that shape (``bench.baseline_app``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database

Unit = list[Any]  # [is_write, selects, writes]
_RECORDING: contextvars.ContextVar[bool] = contextvars.ContextVar("bench_recording", default=False)
_KEY = "bench_unit"


class Recorder:
    """Counts the units and statements of the requests made while :meth:`recording`."""

    def __init__(self, db: Database) -> None:
        self.units: list[Unit] = []
        read, write = db.read, db.write

        def counted(fn: Callable[[AsyncConnection], Awaitable[Any]], is_write: bool) -> Any:
            if not _RECORDING.get():
                return fn
            unit: Unit = [is_write, 0, 0]
            self.units.append(unit)

            async def _fn(conn: AsyncConnection) -> Any:
                info = conn.sync_connection.info if conn.sync_connection else {}
                info[_KEY] = unit
                try:
                    return await fn(conn)
                finally:
                    info.pop(_KEY, None)

            return _fn

        async def counted_read(fn: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
            return await read(counted(fn, False))

        async def counted_write(fn: Callable[[AsyncConnection], Awaitable[Any]], **kw: Any) -> Any:
            return await write(counted(fn, True), **kw)

        db.read = counted_read  # type: ignore[method-assign]
        db.write = counted_write  # type: ignore[method-assign]
        if db.is_sqlite:
            # SQLite's own trace: it also sees what the service runs on sqlite3 directly, past
            # SQLAlchemy (``InlineConnection.run_now``, the throttles' count).
            event.listen(db.engine.sync_engine, "checkout", self._trace)
        else:
            event.listen(db.engine.sync_engine, "before_cursor_execute", self._statement)

    @staticmethod
    def _trace(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        info = record.info
        dbapi_connection.set_trace_callback(lambda statement: _count(info.get(_KEY), statement))

    @staticmethod
    def _statement(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        _count(conn.info.get(_KEY), statement)

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[Unit]]:
        """Record the units of the requests made inside the block into the yielded list."""
        self.units = []
        token = _RECORDING.set(True)
        try:
            yield self.units
        finally:
            _RECORDING.reset(token)


def _count(unit: Unit | None, statement: str) -> None:
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
    if unit is None or verb not in {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE"}:
        return
    unit[1 if verb in ("SELECT", "WITH") else 2] += 1


def statements(units: list[Unit]) -> int:
    return sum(u[1] + u[2] for u in units)
