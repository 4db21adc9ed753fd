"""One slow statement cannot freeze every request. On SQLite, statements run on the event loop's
thread; a unit of work that runs past GATHERING_SQLITE_TIME_LIMIT_MS is interrupted and its
request answered 503 in words, and the loop goes on serving. Offloaded units run on a thread
(the loop serves meanwhile) under a longer limit. On PostgreSQL a slow statement never holds
the loop at all."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gathering.core.database import Database, StatementTooSlow
from gathering.core.settings import Settings
from tests.conftest import TEST_SECRET
from tests.helpers import parse_html

pytestmark = pytest.mark.anyio
LIMIT_MS = 300
# Hundreds of millions of rows: about a minute of SQLite's work were it not stopped.
SQLITE_SLOW = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500000000) "
    "SELECT count(*) FROM n"
)
POSTGRES_SLOW = "SELECT count(*) FROM (SELECT pg_sleep(1.5)) AS slept"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key=TEST_SECRET,
        password_hash_cost="test",
        sqlite_time_limit_ms=LIMIT_MS,
    )


def _slow_unit(db: Database) -> Callable[[AsyncConnection], Awaitable[int]]:
    async def _read(conn: AsyncConnection) -> int:
        statement = SQLITE_SLOW if db.is_sqlite else POSTGRES_SLOW
        return int((await conn.execute(sa.text(statement))).scalar_one())

    return _read


async def _slow_page(request: Request) -> Response:
    db: Database = request.app.state.db
    return PlainTextResponse(str(await db.read(_slow_unit(db))))


async def _ping(client: httpx.AsyncClient, stop: asyncio.Event) -> list[float]:
    """Ask /healthz (a database read) again and again until ``stop``: how long each waited."""
    waits = []
    while not stop.is_set():
        started = time.monotonic()
        answer = await client.get("/healthz")
        waits.append(time.monotonic() - started)
        assert answer.status_code == 200
        await asyncio.sleep(0.02)
    return waits


async def test_a_slow_statement_is_stopped_and_the_loop_keeps_serving(
    app: Starlette, client: httpx.AsyncClient, db: Database
) -> None:
    app.router.routes.append(Route("/slow-for-the-test", _slow_page))
    with anyio.fail_after(60):
        assert (await client.get("/healthz")).status_code == 200  # its first answer loads Alembic
        stop = asyncio.Event()
        pinging = asyncio.create_task(_ping(client, stop))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        answer = await client.get("/slow-for-the-test", headers={"accept": "text/html"})
        took = time.monotonic() - started
        await asyncio.sleep(0.3)
        stop.set()
        waits = await pinging
    assert len(waits) >= 4  # health checks before, during (PostgreSQL) and after
    if db.is_sqlite:
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "2"
        [message] = parse_html(answer.text).xpath("//main//p/text()")
        assert "took too long to answer, so it was stopped" in message
        assert LIMIT_MS / 1000 <= took < 10  # stopped, not run for a minute
        # The loop was held at most about the limit, then served the health checks at once.
        assert max(waits) < LIMIT_MS / 1000 + 2
        assert sorted(waits)[len(waits) // 2] < 0.5
        # The interrupted connection is fine for the next unit.
        assert (await client.get("/")).status_code == 200
    else:  # asyncpg: the statement runs in the server, the loop serves meanwhile
        assert answer.status_code == 200 and answer.text == "1"
        assert took >= 1.5 and len(waits) >= 30
        assert max(waits) < 1.0


async def test_an_offloaded_unit_gets_the_longer_limit_and_holds_no_loop(db_url: str) -> None:
    db = Database(db_url, time_limit_ms=LIMIT_MS, offloaded_time_limit_ms=1500)
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    try:
        with anyio.fail_after(60):
            started = time.monotonic()
            if db.is_sqlite:
                with pytest.raises(StatementTooSlow):
                    await db.read(_slow_unit(db), offload=True)
                took = time.monotonic() - started
                assert 1.5 <= took < 10  # the offloaded limit, not the loop's
                with pytest.raises(StatementTooSlow):
                    await db.read(_slow_unit(db))  # the same statement inline: the short one
                assert LIMIT_MS / 1000 <= time.monotonic() - started - took < 5
            else:
                assert await db.read(_slow_unit(db), offload=True) == 1
                took = time.monotonic() - started
        # While the offloaded statement ran, the loop went on ticking.
        during = [t for t in ticks if started < t < started + took]
        gaps = [b - a for a, b in itertools.pairwise(during)]
        assert len(during) > 50 and max(gaps) < 0.5
        assert await db.read(_one) == 1  # and the database answers as usual afterwards
    finally:
        ticker.cancel()
        await db.dispose()


async def _one(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.text("SELECT 1"))).scalar_one())


async def test_only_units_of_work_are_limited(db_url: str) -> None:
    """Migrations (run on the engine's own connections, at start-up) are never stopped, however
    long they take; a unit of work with the same statement is."""
    db = Database(db_url, time_limit_ms=1)
    if not db.is_sqlite:
        await db.dispose()
        pytest.skip("the limit is SQLite's (PostgreSQL statements never hold the loop)")
    statement = sa.text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) "
        "SELECT count(*) FROM n"
    )
    try:
        async with db.engine.connect() as conn:  # as gathering.core.migrate does
            assert (await conn.execute(statement)).scalar_one() == 2000000

        async def _unit(conn: AsyncConnection) -> int:
            return int((await conn.execute(statement)).scalar_one())

        with pytest.raises(StatementTooSlow):
            await db.read(_unit)
        async with db.engine.connect() as conn:  # the same pooled connection, no deadline left
            assert (await conn.execute(statement)).scalar_one() == 2000000
    finally:
        await db.dispose()
