"""The unit-of-work contract of gathering.core.database, on both engines."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.schema import gathering, organisation

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2019, 9, 21, 9, 0, tzinfo=dt.UTC)


async def _insert_gathering(db: Database) -> int:
    async def _write(conn: AsyncConnection) -> int:
        result = await conn.execute(
            sa.insert(gathering)
            .values(
                slug="g",
                title="G",
                starts_on=dt.date(2019, 9, 21),
                ends_on=dt.date(2019, 9, 25),
                created_at=NOW,
                updated_at=NOW,
            )
            .returning(gathering.c.id)
        )
        return int(result.scalar_one())

    return await db.write(_write)


async def _released_version(db: Database, gathering_id: int) -> int:
    async def _read(conn: AsyncConnection) -> int:
        query = sa.select(gathering.c.released_version).where(gathering.c.id == gathering_id)
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


async def test_concurrent_read_modify_write_units_lose_no_update(db: Database) -> None:
    gathering_id = await _insert_gathering(db)

    async def bump(conn: AsyncConnection) -> None:
        query = sa.select(gathering.c.released_version).where(gathering.c.id == gathering_id)
        value = (await conn.execute(query)).scalar_one()
        await asyncio.sleep(0)  # let the other units interleave here if they can
        await conn.execute(
            sa.update(gathering)
            .where(gathering.c.id == gathering_id)
            .values(released_version=value + 1)
        )

    await asyncio.gather(*(db.write(bump) for _ in range(50)))
    assert await _released_version(db, gathering_id) == 50


async def test_a_failed_unit_leaves_nothing_behind(db: Database) -> None:
    class Boom(Exception):
        pass

    async def half_then_fail(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.insert(organisation).values(slug="half", name="Half written", created_at=NOW)
        )
        raise Boom

    with pytest.raises(Boom):
        await db.write(half_then_fail)

    async def count(conn: AsyncConnection) -> int:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(organisation))).scalar_one()
        )

    assert await db.read(count) == 0


async def test_instants_round_trip_as_aware_utc(db: Database) -> None:
    london = dt.datetime(2019, 9, 22, 17, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))

    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(sa.insert(organisation).values(slug="o", name="O", created_at=london))

    await db.write(_write)

    async def _read(conn: AsyncConnection) -> dt.datetime:
        return (await conn.execute(sa.select(organisation.c.created_at))).scalar_one()

    stored = await db.read(_read)
    assert stored == london
    assert stored.tzinfo == dt.UTC
    assert stored.hour == 16


async def test_foreign_keys_are_enforced(db: Database) -> None:
    from gathering.core.schema import venue

    async def orphan(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.insert(venue).values(gathering_id=999, name="Nowhere", created_at=NOW)
        )

    with pytest.raises(sa.exc.IntegrityError):
        await db.write(orphan)


async def test_sqlite_uses_wal_and_reads_while_a_write_is_open(
    db: Database, engine_name: str
) -> None:
    if engine_name != "sqlite":
        pytest.skip("SQLite journal mode")

    async def pragmas(conn: AsyncConnection) -> tuple[str, int, int, int]:
        mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
        fks = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
        busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
        autocheckpoint = (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one()
        return mode, fks, busy, autocheckpoint

    # SQLite never waits inside a statement (units are retried instead), and never checkpoints
    # inside a commit (a worker thread does).
    assert await db.read(pragmas) == ("wal", 1, 0, 0)

    writing = asyncio.Event()
    release = asyncio.Event()

    async def slow_write(conn: AsyncConnection) -> None:
        await conn.execute(sa.insert(organisation).values(slug="w", name="W", created_at=NOW))
        writing.set()
        await release.wait()

    task = asyncio.create_task(db.write(slow_write))
    await writing.wait()

    async def count(conn: AsyncConnection) -> int:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(organisation))).scalar_one()
        )

    # The reader does not wait for the open write, and does not see its uncommitted row.
    assert await asyncio.wait_for(db.read(count), timeout=2) == 0
    release.set()
    await task
    assert await db.read(count) == 1


class _Ticker:
    """A task that counts the event loop's turns: what other requests would get meanwhile."""

    def __init__(self) -> None:
        self.turns = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.turns += 1
            await asyncio.sleep(0)

    async def __aenter__(self) -> _Ticker:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def _sqlite_file(db: Database) -> str:
    database = sa.engine.make_url(db.url).database
    assert database
    return database


async def test_sqlite_units_run_without_handing_the_loop_round(
    db: Database, engine_name: str
) -> None:
    """On SQLite a unit's statements run in the loop's own thread: no thread hand-off, no task
    switch from connecting to closing (SQLAlchemy's context manager would add three)."""
    if engine_name != "sqlite":
        pytest.skip("SQLite runs statements inline; PostgreSQL waits on the network")
    gathering_id = await _insert_gathering(db)

    async def read(conn: AsyncConnection) -> int:
        return await _released_version_in(conn, gathering_id)

    async def write(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.update(gathering).where(gathering.c.id == gathering_id).values(released_version=3)
        )

    async with _Ticker() as ticker:
        before = ticker.turns
        assert await db.read(read) == 0
        await db.write(write)
        assert await db.read(read) == 3
        assert ticker.turns == before
    pool = db.engine.sync_engine.pool
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_sqlite_units_that_suspend_never_wait_for_a_connection(
    db: Database, engine_name: str
) -> None:
    """The inline pool never waits (a wait would need SQLAlchemy's greenlet, which inline units
    do not run in): 40 read units suspended at once, more than the pool keeps, each get a
    connection and see the same data; afterwards the pool keeps only its usual few."""
    if engine_name != "sqlite":
        pytest.skip("the inline pool is SQLite's")
    gathering_id = await _insert_gathering(db)
    inside = 0
    most_inside = 0

    async def read(conn: AsyncConnection) -> int:
        nonlocal inside, most_inside
        inside += 1
        most_inside = max(most_inside, inside)
        await asyncio.sleep(0.01)  # every unit is inside at once
        inside -= 1
        return await _released_version_in(conn, gathering_id)

    assert await asyncio.gather(*(db.read(read) for _ in range(40))) == [0] * 40
    assert most_inside == 40
    pool = db.engine.sync_engine.pool
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    assert pool.checkedin() <= 5  # type: ignore[attr-defined]


async def _released_version_in(conn: AsyncConnection, gathering_id: int) -> int:
    query = sa.select(gathering.c.released_version).where(gathering.c.id == gathering_id)
    return int((await conn.execute(query)).scalar_one())


async def test_sqlite_waits_for_another_process_without_holding_the_loop(
    db: Database, engine_name: str
) -> None:
    """Another process holds the write lock: the write is retried after sleeps (other tasks run
    meanwhile), lands exactly once when the lock goes, and a write that outwaits the busy
    timeout is refused as Busy with nothing written."""
    if engine_name != "sqlite":
        pytest.skip("SQLite's file lock")
    import sqlite3

    from gathering.core.errors import Busy

    other = sqlite3.connect(_sqlite_file(db), isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    attempts = 0

    async def write(conn: AsyncConnection) -> None:
        nonlocal attempts
        attempts += 1
        await conn.execute(sa.insert(organisation).values(slug="w", name="W", created_at=NOW))

    try:
        async with _Ticker() as ticker:
            task = asyncio.create_task(db.write(write))
            await asyncio.sleep(0.2)
            assert not task.done()
            assert ticker.turns > 20  # the loop went on serving while the write waited
            other.execute("ROLLBACK")
            await asyncio.wait_for(task, timeout=5)
        assert attempts == 1  # refused at BEGIN IMMEDIATE, so the unit itself ran once

        quick = Database(db.url, busy_timeout_ms=150)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(Busy):
                await quick.write(write)
            other.execute("ROLLBACK")
        finally:
            await quick.dispose()
    finally:
        other.close()

    async def count(conn: AsyncConnection) -> int:
        query = (
            sa.select(sa.func.count()).select_from(organisation).where(organisation.c.slug == "w")
        )
        return int((await conn.execute(query)).scalar_one())

    assert await db.read(count) == 1


async def test_sqlite_log_is_copied_into_the_file_by_a_worker_thread(
    db: Database, engine_name: str
) -> None:
    """No commit checkpoints (``wal_autocheckpoint=0``); every few dozen writes a worker thread
    copies the write-ahead log into the database file, while the service's connections stay
    open (so it is not SQLite's checkpoint on closing the last one)."""
    if engine_name != "sqlite":
        pytest.skip("SQLite's write-ahead log")
    path = _sqlite_file(db)
    start = await asyncio.to_thread(os.path.getsize, path)

    async def write(conn: AsyncConnection) -> None:
        slug = f"o{uuid.uuid4().hex}"
        await conn.execute(
            sa.insert(organisation).values(slug=slug, name="x" * 3000, created_at=NOW)
        )

    for _ in range(40):
        await db.write(write)
    assert await asyncio.to_thread(_grows_to, path, start + 40 * 3000)
    # The service's own connection is still open: the pages got there by the worker's copy.
    assert db.engine.sync_engine.pool.checkedin() >= 1  # type: ignore[attr-defined]


def _grows_to(path: str, size: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while os.path.getsize(path) < size:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


async def test_offloaded_sqlite_units_leave_the_loop_free_and_see_the_same_data(
    db: Database, engine_name: str
) -> None:
    """Units that grow with a gathering pass ``offload=True``: on SQLite they run on aiosqlite's
    thread (the loop serves others meanwhile), with the same transactions and the same data."""
    if engine_name != "sqlite":
        pytest.skip("PostgreSQL ignores offload: it always waits on the network")
    gathering_id = await _insert_gathering(db)

    async def write(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.update(gathering).where(gathering.c.id == gathering_id).values(released_version=7)
        )

    async def read(conn: AsyncConnection) -> int:
        return await _released_version_in(conn, gathering_id)

    async with _Ticker() as ticker:
        before = ticker.turns
        await db.write(write, offload=True)
        assert await db.read(read) == 7  # inline sees the offloaded write
        assert await db.read(read, offload=True) == 7
        assert ticker.turns > before  # the loop went round while the thread worked


def test_a_sqlite_url_with_options_is_refused_in_words(tmp_path: Any) -> None:
    """The service opens the file itself (``sqlite_inline``): options such as ``mode=ro`` would be
    silently dropped, so they are refused instead."""
    from gathering.core.errors import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable, match="takes no options"):
        Database(f"sqlite+aiosqlite:///{tmp_path}/x.db?mode=ro&uri=true")


async def _drop_connections(db: Database) -> int:
    """What a PostgreSQL restart does to the pool: every server process of this database (the
    pool's idle connections among them) ends. Returns how many ended."""
    import asyncpg

    url = db.engine.url
    name = url.database
    admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database=name)
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()
    return int(ended)


async def test_units_survive_connections_the_server_dropped(engine_name: str, db: Database) -> None:
    """No pre-ping round trip before each unit: a read or a write that meets a connection the
    server dropped runs again once on a new one, and answers as if nothing happened."""
    if engine_name == "sqlite":
        pytest.skip("SQLite has no server to drop a connection")
    first = await _insert_gathering(db)
    assert await _released_version(db, first) == 0  # the pool now holds live connections

    assert await _drop_connections(db) >= 1
    assert await _released_version(db, first) == 0  # a read: again on a new connection

    assert await _drop_connections(db) >= 1

    async def _rename(conn: AsyncConnection) -> None:
        await conn.execute(sa.update(gathering).where(gathering.c.id == first).values(title="H"))

    await db.write(_rename)  # a write that failed before committing: again, once

    async def _titles(conn: AsyncConnection) -> list[str]:
        return list((await conn.execute(sa.select(gathering.c.title))).scalars())

    assert await db.read(_titles) == ["H"]  # applied exactly once, nothing half-written
