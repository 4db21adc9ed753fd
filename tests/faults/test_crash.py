"""Crash mid-rush: ``kill -9`` the server while people register for the last places, start it
again, and check that every registration answered with success is there, that the places taken
match the place rows, and that no place was sold twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bench import seed
from gathering.core import schema
from gathering.core.database import Database
from tests.faults.conftest import LiveServer, serve

pytestmark = pytest.mark.anyio
CAPACITY = 40
FIRST_WAVE = 160
KILL_AFTER = 30  # successful registrations before the kill
SECOND_WAVE = 60
CSRF = re.compile(r'name="csrftoken" value="([^"]+)"')


@dataclass
class Rush:
    succeeded: list[str] = field(default_factory=list)  # emails answered "check your email"
    unknown: list[str] = field(default_factory=list)  # no answer: the server died under them
    statuses: list[int] = field(default_factory=list)


async def _register(url: str, path: str, email: str, seeded: seed.Seeded) -> int:
    """One person in their own browser: the form page (CSRF cookie and token), then the POST."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        page = await client.get(path)
        token = CSRF.search(page.text)
        assert page.status_code == 200 and token, page.status_code
        answer = await client.post(
            path,
            data={
                "csrftoken": token.group(1),
                "name": f"Person {email.split('@')[0]}",
                "email": email,
                "ticket_type_id": str(seeded.ticket_type_id),
                "session_ids": str(seeded.rush_session_id),
            },
        )
        if answer.status_code == 200:
            assert "Check your email" in answer.text
        return answer.status_code


async def _rush(
    server: LiveServer, seeded: seed.Seeded, emails: list[str], *, kill_after: int | None
) -> Rush:
    rush, gate = Rush(), asyncio.Semaphore(24)
    enough = asyncio.Event()
    path = f"/g/{seeded.slugs[0]}/register"

    async def person(email: str) -> None:
        async with gate:
            try:
                status = await _register(server.url, path, email, seeded)
            except httpx.TransportError:
                rush.unknown.append(email)
                return
        rush.statuses.append(status)
        if status == 200:
            rush.succeeded.append(email)
            if kill_after is not None and len(rush.succeeded) >= kill_after:
                enough.set()

    async def killer() -> None:
        await enough.wait()
        server.kill()

    people = [asyncio.create_task(person(email)) for email in emails]
    stopper = asyncio.create_task(killer()) if kill_after is not None else None
    await asyncio.wait_for(asyncio.gather(*people), timeout=240)
    if stopper is not None:
        assert stopper.done(), "the rush ended before the kill"
    return rush


async def _state(db: Database, session_id: int) -> dict[str, Any]:
    r, p, o, s = schema.registration, schema.session_place, schema.outbox, schema.programme_session

    async def _read(conn: AsyncConnection) -> dict[str, Any]:
        registrations = {
            row.email: row
            for row in (await conn.execute(sa.select(r.c.id, r.c.email, r.c.status))).all()
        }
        places = (
            await conn.execute(
                sa.select(p.c.registration_id, p.c.status).where(p.c.session_id == session_id)
            )
        ).all()
        taken = (
            await conn.execute(sa.select(s.c.places_taken).where(s.c.id == session_id))
        ).scalar_one()
        confirm_mail = (
            await conn.execute(sa.select(o.c.registration_id).where(o.c.kind == "confirm_email"))
        ).all()
        return {
            "registrations": registrations,
            "places": places,
            "taken": taken,
            "mailed": sorted(row.registration_id for row in confirm_mail),
        }

    return await db.read(_read)


async def test_kill_9_mid_rush_keeps_every_answered_registration_and_sells_no_place_twice(
    db: Database, db_url: str, live_servers: list[LiveServer], tmp_path: Path
) -> None:
    seeded = await seed.seed_registration(db, "crash-rush", CAPACITY)
    # Everyone posts from 127.0.0.1: lift the per-address share of unconfirmed holds (issue 14)
    # so the rush fills every place, as people from many addresses would.
    server = serve(
        live_servers, db_url, tmp_path, GATHERING_HELD_REGISTRATIONS_PER_CLIENT="1000000"
    )
    first = await _rush(
        server,
        seeded,
        [f"first{i}@example.org" for i in range(FIRST_WAVE)],
        kill_after=KILL_AFTER,
    )
    assert len(first.succeeded) >= KILL_AFTER
    assert first.unknown, "the kill came after every request had its answer"
    assert 500 not in first.statuses

    server.start()  # the same database, after the crash
    second = await _rush(
        server, seeded, [f"second{i}@example.org" for i in range(SECOND_WAVE)], kill_after=None
    )
    assert second.statuses == [200] * SECOND_WAVE
    assert "Traceback" not in server.logs()

    state = await _state(db, seeded.rush_session_id)
    registrations = state["registrations"]
    # Every answered registration survived the crash, pending its email confirmation.
    for email in first.succeeded + second.succeeded:
        assert registrations[email].status == "pending", email
    # Requests cut off by the kill either committed whole or left nothing; none is half-written:
    # each registration has exactly one place at the session and its confirmation mail.
    by_registration = {place.registration_id: place.status for place in state["places"]}
    assert len(by_registration) == len(state["places"]) == len(registrations)
    assert sorted(by_registration) == sorted(row.id for row in registrations.values())
    assert state["mailed"] == sorted(row.id for row in registrations.values())
    unknown_kept = [e for e in first.unknown if e in registrations]
    assert len(registrations) == len(first.succeeded) + len(second.succeeded) + len(unknown_kept)
    # No place sold twice: the counter matches the rows and the capacity holds exactly.
    statuses = list(by_registration.values())
    assert statuses.count("confirmed") == state["taken"] == CAPACITY
    assert statuses.count("waitlisted") == len(registrations) - CAPACITY
