"""Live door counts over Server-Sent Events, through real uvicorn servers on 127.0.0.1.

On PostgreSQL two app replicas share the database: a scan through one updates the stream held
open on the other (LISTEN/NOTIFY). On SQLite one process serves the file and wakes its own
streams. A revoked pass ends the stream with a ``refused`` event.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from gathering.app import create_app
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.settings import Settings
from gathering.door import api as steward
from tests.helpers import csrf_from
from tests.integration.test_checkin import _execute, _live_door, _open_over_http

pytestmark = pytest.mark.anyio


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[str]:
    """One app replica under uvicorn, in this process; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:  # noqa: ASYNC110 - uvicorn has no started event
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Stream:
    """The events of one open ``/door/api/events`` stream, parsed as they arrive."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def next_event(self, seconds: float = 10.0) -> tuple[str, dict[str, Any]]:
        name, data = "message", ""
        async with asyncio.timeout(seconds):
            async for line in self._lines:
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    data += line.split(":", 1)[1].strip()
                elif line == "" and data:
                    self.events.append((name, json.loads(data)))
                    return self.events[-1]
        raise AssertionError("the stream ended")


async def _scan(client: httpx.AsyncClient, code: str, session_id: int, nonce: str) -> Any:
    headers = {"x-csrftoken": await csrf_from(client, "/signin")}
    body = {"code": code, "session_id": session_id, "nonce": nonce, "door": "Main"}
    response = await client.post("/door/api/scan", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_scan_updates_every_open_stream_across_replicas(
    db: Database, settings: Settings, engine_name: str
) -> None:
    door = await _live_door(db)
    session_id = door.sessions[0].id
    async with _serving(settings) as watched_url, _serving(settings) as other_url:
        # On SQLite one process serves the file: the scan goes through the same server.
        scan_url = other_url if engine_name == "postgresql" else watched_url
        async with (
            httpx.AsyncClient(base_url=watched_url, timeout=15) as watcher,
            httpx.AsyncClient(base_url=scan_url, timeout=15) as scanner,
        ):
            await _open_over_http(watcher)
            await _open_over_http(scanner)
            url = f"/door/api/events?session_id={session_id}"
            async with watcher.stream("GET", url) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                assert response.headers["cache-control"] == "no-store"
                stream = Stream(response)
                assert await stream.next_event() == (
                    "counts",
                    {
                        "session_id": session_id,
                        "checked_in": 0,
                        "registered": 1,
                        "capacity_left": 120,
                    },
                )
                admitted = await _scan(scanner, door.people[0].ticket_code, session_id, "live-1")
                assert admitted["status"] == "green"
                name, data = await stream.next_event(5)
                assert (name, data["checked_in"], data["capacity_left"]) == ("counts", 1, 119)
                # An answer that changes nothing (already inside) sends nothing new.
                again = await _scan(scanner, door.people[0].ticket_code, session_id, "live-2")
                assert again["status"] == "amber"
                headers = {"x-csrftoken": await csrf_from(scanner, "/signin")}
                await scanner.post("/door/api/undo", json={"nonce": "live-1"}, headers=headers)
                name, data = await stream.next_event(5)
                assert (name, data["checked_in"]) == ("counts", 0)
                assert [e[1]["checked_in"] for e in stream.events] == [0, 1, 0]


async def test_a_revoked_pass_ends_the_stream(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steward, "PING_SECONDS", 0.3)  # re-check the pass often
    door = await _live_door(db)
    async with _serving(settings) as url, httpx.AsyncClient(base_url=url, timeout=15) as client:
        await _open_over_http(client)
        async with client.stream("GET", "/door/api/events") as response:
            stream = Stream(response)
            assert (await stream.next_event())[0] == "counts"
            sp = schema.steward_pass
            await _execute(
                db,
                sa.update(sp).where(sp.c.id == door.pass_id).values(revoked_at=sa.func.now()),
            )
            name, data = await stream.next_event(5)
            assert (name, data["error"]) == ("refused", "pass_revoked")
        # A new stream is refused before it starts, in JSON.
        refused = await client.get("/door/api/events")
        assert (refused.status_code, refused.json()["error"]) == (403, "pass_revoked")


async def test_events_need_a_device_and_a_session_on_the_pass(
    db: Database, settings: Settings
) -> None:
    await _live_door(db)
    async with _serving(settings) as url, httpx.AsyncClient(base_url=url, timeout=15) as client:
        nobody = await client.get("/door/api/events")
        assert (nobody.status_code, nobody.json()["error"]) == (401, "not_signed_in")
        await _open_over_http(client)
        elsewhere = await client.get("/door/api/events?session_id=999999")
        assert (elsewhere.status_code, elsewhere.json()["error"]) == (403, "session_not_on_pass")
        bad = await client.get("/door/api/events?session_id=abc")
        assert bad.status_code == 400
