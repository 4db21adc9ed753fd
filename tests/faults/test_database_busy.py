"""Database busy: another process holds SQLite's write lock (``BEGIN IMMEDIATE``). Writes wait up
to the busy timeout; past it they get a clear 503 with Retry-After (an HTML page or JSON, as the
route speaks), never a 500, and nothing half-written. Reads go on meanwhile (WAL). Once the lock
is released, the same requests succeed and write exactly once."""

from __future__ import annotations

import re
import shutil
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from bench import seed
from gathering.app import create_app
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.settings import Settings
from tests.conftest import TEST_SECRET
from tests.helpers import parse_html, texts

pytestmark = pytest.mark.anyio
BASE_URL = "http://127.0.0.1:8000"
CSRF = re.compile(r'name="csrftoken" value="([^"]+)"')
BUSY_TIMEOUT_MS = 400


@pytest.fixture
def sqlite_path(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "busy.db"
    shutil.copyfile(sqlite_template, path)
    return path


@pytest.fixture
async def seeded(sqlite_path: Path) -> AsyncIterator[tuple[seed.Seeded, seed.Seeded]]:
    db = Database(f"sqlite+aiosqlite:///{sqlite_path}")
    try:
        yield (
            await seed.seed_registration(db, "busy-rush", 100),
            await seed.seed_door(db, "busy-door", 5),
        )
    finally:
        await db.dispose()


def _app(sqlite_path: Path, busy_timeout_ms: int) -> Starlette:
    return create_app(
        Settings(
            database_url=f"sqlite+aiosqlite:///{sqlite_path}",
            secret_key=TEST_SECRET,
            base_url=BASE_URL,
            sqlite_busy_timeout_ms=busy_timeout_ms,
        )
    )


@pytest.fixture
async def transport(sqlite_path: Path, seeded: Any) -> AsyncIterator[httpx.ASGITransport]:
    app = _app(sqlite_path, BUSY_TIMEOUT_MS)
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app)


@pytest.fixture
async def client(transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    """A browser: it keeps cookies (the CSRF cookie, the door's device cookie)."""
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


@pytest.fixture
async def other_site(transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    """Another site's form posting to the JSON API: no cookies of ours."""
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


class WriteLock:
    """Another connection (as another process would) holding SQLite's write lock."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.connection.execute("PRAGMA busy_timeout=0")

    def take(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")
        # A write of its own, so its rollback shows nothing of it stays either.
        self.connection.execute("UPDATE gathering SET title = title || ' (locked)'")

    def release(self) -> None:
        self.connection.execute("ROLLBACK")

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def write_lock(sqlite_path: Path) -> Iterator[WriteLock]:
    lock = WriteLock(sqlite_path)
    yield lock
    lock.close()


async def _counts(path: Path) -> dict[str, int]:
    db = Database(f"sqlite+aiosqlite:///{path}")

    async def _read(conn: AsyncConnection) -> dict[str, int]:
        counts = {}
        for table in (schema.registration, schema.session_place, schema.outbox, schema.scan):
            query = sa.select(sa.func.count()).select_from(table)
            counts[table.name] = int((await conn.execute(query)).scalar_one())
        query = sa.select(sa.func.sum(schema.programme_session.c.places_taken))
        counts["places_taken"] = int((await conn.execute(query)).scalar_one() or 0)
        return counts

    try:
        return await db.read(_read)
    finally:
        await db.dispose()


async def _form(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    page = await client.get(path)
    token = CSRF.search(page.text)
    assert token is not None
    return await client.post(path, data={"csrftoken": token.group(1), **fields})


def _person(rush: seed.Seeded, n: int) -> dict[str, str]:
    return {
        "name": f"Person {n}",
        "email": f"person{n}@example.org",
        "ticket_type_id": str(rush.ticket_type_id),
        "session_ids": str(rush.rush_session_id),
    }


async def _open_door(client: httpx.AsyncClient, door: seed.Seeded) -> dict[str, str]:
    page = await client.get("/signin")
    token = CSRF.search(page.text)
    assert token is not None
    headers = {"x-csrftoken": token.group(1)}
    opened = await client.post(
        "/door/api/open",
        json={"token": door.steward_token, "pin": door.steward_pin},
        headers=headers,
    )
    assert opened.status_code == 200, opened.text
    return headers


def _scan(code: str) -> dict[str, Any]:
    return {"code": code, "session_id": None, "door": "Main", "nonce": f"n-{code}", "kind": "entry"}


async def test_writes_past_the_busy_timeout_get_503_with_retry_after_and_write_nothing(
    client: httpx.AsyncClient,
    other_site: httpx.AsyncClient,
    seeded: Any,
    sqlite_path: Path,
    write_lock: WriteLock,
) -> None:
    rush, door = seeded
    door_headers = await _open_door(client, door)
    before = await _counts(sqlite_path)
    api_body = {
        "name": "API person",
        "email": "api@example.org",
        "ticket_type_id": rush.ticket_type_id,
        "session_ids": [rush.rush_session_id],
    }
    api_path = f"/api/gatherings/{rush.slugs[0]}/registrations"
    form_path = f"/g/{rush.slugs[0]}/register"

    write_lock.take()
    try:
        # Reads are not blocked by a writer (WAL): the programme and the form still answer.
        programme = await client.get(f"/g/{rush.slugs[0]}")
        assert programme.status_code == 200
        assert texts(parse_html(programme.text), "//h1") == [f"Benchmark gathering {rush.slugs[0]}"]

        began = time.monotonic()
        page = await _form(client, form_path, **_person(rush, 1))
        waited = time.monotonic() - began
        assert page.status_code == 503
        assert page.headers["retry-after"] == "2"
        assert waited >= BUSY_TIMEOUT_MS / 1000 * 0.9  # it waited the busy timeout first
        doc = parse_html(page.text)
        assert texts(doc, "//h1") == ["Service Unavailable"]
        assert "the database is busy; please try again in a moment" in " ".join(
            texts(doc, "//main")
        )

        api = await other_site.post(api_path, json=api_body)
        assert api.status_code == 503
        assert api.headers["retry-after"] == "2"
        assert api.json() == {
            "error": "busy",
            "message": "the database is busy; please try again in a moment",
        }

        scan = await client.post(
            "/door/api/scan", json=_scan(door.ticket_codes[0]), headers=door_headers
        )
        assert scan.status_code == 503
        assert scan.json()["error"] == "busy"
    finally:
        write_lock.release()

    assert await _counts(sqlite_path) == before  # nothing half-written

    # The same requests once the lock is gone: each succeeds and writes once.
    page = await _form(client, form_path, **_person(rush, 1))
    assert page.status_code == 200
    assert texts(parse_html(page.text), "//h1") == ["Check your email"]
    api = await other_site.post(api_path, json=api_body)
    assert api.status_code == 202
    scan = await client.post(
        "/door/api/scan", json=_scan(door.ticket_codes[0]), headers=door_headers
    )
    assert (scan.status_code, scan.json()["reason"]) == (200, "ok")
    after = await _counts(sqlite_path)
    assert after == {
        "registration": before["registration"] + 2,
        "session_place": before["session_place"] + 2,
        "outbox": before["outbox"] + 2,
        "scan": before["scan"] + 1,
        "places_taken": before["places_taken"] + 2,
    }


async def test_door_scan_while_locked_says_when_to_try_again(
    client: httpx.AsyncClient, seeded: Any, write_lock: WriteLock
) -> None:
    _rush, door = seeded
    headers = await _open_door(client, door)
    write_lock.take()
    try:
        scan = await client.post(
            "/door/api/scan", json=_scan(door.ticket_codes[1]), headers=headers
        )
    finally:
        write_lock.release()
    assert scan.status_code == 503
    assert scan.headers.get("retry-after") == "2"


async def test_a_lock_shorter_than_the_busy_timeout_only_makes_the_write_wait(
    sqlite_path: Path, seeded: Any, write_lock: WriteLock
) -> None:
    rush, _door = seeded
    app = _app(sqlite_path, 5000)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            path = f"/g/{rush.slugs[0]}/register"
            page = await client.get(path)
            token = CSRF.search(page.text)
            assert token is not None
            before = await _counts(sqlite_path)
            write_lock.take()
            threading.Timer(0.5, write_lock.release).start()
            began = time.monotonic()
            answer = await client.post(path, data={"csrftoken": token.group(1), **_person(rush, 7)})
            waited = time.monotonic() - began
    assert answer.status_code == 200
    assert texts(parse_html(answer.text), "//h1") == ["Check your email"]
    assert 0.4 <= waited < 5
    after = await _counts(sqlite_path)
    assert after["registration"] == before["registration"] + 1
    assert after["places_taken"] == before["places_taken"] + 1
