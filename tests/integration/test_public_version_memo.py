"""Kept public pages answered from a remembered version (issue 17, programme.page_cache): no
statement while it is young, every write of this process shown on the next request (registering,
giving a place up, places freed, a cancelled session released), another process's within
``VERSION_MEMO_SECONDS``. Both engines."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from gathering.core import schema
from gathering.core.database import Database, write_epoch
from gathering.programme.page_cache import VERSION_MEMO_SECONDS, VersionMemo
from gathering.programme.release import load_programme, release_programme
from gathering.registration import rules as reg
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, texts
from tests.integration.test_public_speed_cache import assert_remembered, counted, remember_long
from tests.integration.test_registration_changes import (
    LINKS,
    SLUG,
    UNIONS,
    WELCOME,
    _booked,
    _session,
    _taken,
)

pytestmark = pytest.mark.anyio
PS = schema.programme_session


async def _places_left(client: httpx.AsyncClient, path: str) -> tuple[list[str], str]:
    """The page's places (its <dd class='places'>) and whether it was kept."""
    response = await client.get(path)
    assert response.status_code == 200
    places = texts(parse_html(response.text), "//dd[contains(@class,'places')]")
    return places, response.headers["x-page-cache"]


async def _released_capacity(db: Database, session_id: int) -> int:
    """The capacity the public page shows: the released one (places taken are live)."""
    session = next(s for s in (await load_programme(db, SLUG)).sessions if s.id == session_id)
    assert session.capacity is not None
    return session.capacity


def _left(capacity: int, taken: int) -> list[str]:
    return [f"{capacity - taken} places left (capacity {capacity})"]


async def _execute(db: Database, statement: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_write)


async def test_registering_giving_up_and_a_cancelled_session_show_on_the_next_request(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    unions = await _session(db, UNIONS)
    capacity = await _released_capacity(db, unions)
    path = f"/g/{SLUG}/s/{unions}"
    token = await _booked(db, "memo@example.org", [WELCOME])
    taken = await _taken(db, unions)
    since = remember_long(app)
    assert (await _places_left(client, path))[0] == _left(capacity, taken)
    with counted(app) as kept:
        assert (await _places_left(client, path))[1] == "hit"
    assert_remembered(kept, since)  # no statement

    # Registering for it through the app takes a place: the very next request shows it.
    form = await csrf_from(client, f"/r/{token}/sessions")
    added = await client.post(
        f"/r/{token}/sessions", data={"csrftoken": form, "session_ids": [str(unions)]}
    )
    assert added.status_code == 303
    assert await _taken(db, unions) == taken + 1
    assert await _places_left(client, path) == (_left(capacity, taken + 1), "miss")

    # Given up: held for the undo window, then freed by housekeeping (another Database object
    # of this process, as the app's housekeeping task is).
    booking = await reg.booking(db, token, secret_key=TEST_SECRET)
    place = next(p.id for p in booking.places if p.session.id == unions)
    form = await csrf_from(client, f"/r/{token}")
    gone = await client.post(f"/r/{token}/places/{place}/cancel", data={"csrftoken": form})
    assert gone.status_code == 303
    assert (await _places_left(client, path))[0] == _left(capacity, taken + 1)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    await reg.expire_overdue(db, links=LINKS, offer_hours=24, now=later)
    assert await _taken(db, unions) == taken
    assert await _places_left(client, path) == (_left(capacity, taken), "miss")

    # The organisers cancel the session and release: the page says so at once, with no places.
    await _execute(db, sa.update(PS).where(PS.c.id == unions).values(status="cancelled"))
    programme = await load_programme(db, SLUG)
    await release_programme(db, programme.gathering.id, released_by=None)
    response = await client.get(path)
    assert response.headers["x-page-cache"] == "miss"
    doc = parse_html(response.text)
    assert texts(doc, "//p[contains(@class,'notice-cancelled')]")
    assert texts(doc, "//dd[contains(@class,'places')]") == []


async def _write_elsewhere(db: Database, statement: sa.Executable) -> None:
    """A write this process does not make through ``Database.write``: as another replica's or
    ``gathering demo``'s would be, nothing here learns of it but the database."""
    async with db.engine.begin() as conn:
        await conn.execute(statement)


async def test_another_process_write_shows_within_the_memo_time(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    unions = await _session(db, UNIONS)
    capacity = await _released_capacity(db, unions)
    path = f"/g/{SLUG}/s/{unions}"
    taken = await _taken(db, unions)

    # Remembered for a minute: the other process's write is not seen...
    since = remember_long(app)
    assert (await _places_left(client, path))[0] == _left(capacity, taken)
    await _write_elsewhere(db, sa.update(PS).where(PS.c.id == unions).values(places_taken=0))
    remembered = await _places_left(client, path)
    if write_epoch() == since:  # (unless the app's mail sender or housekeeping wrote meanwhile)
        assert remembered == (_left(capacity, taken), "hit")
    # ...until any write of this process, which voids the memo whatever it wrote.
    await _execute(db, sa.update(PS).where(PS.c.id == -1).values(places_taken=0))
    assert await _places_left(client, path) == (_left(capacity, 0), "miss")

    # As served: another process's change of places shows within VERSION_MEMO_SECONDS.
    app.state.version_memo = VersionMemo()
    assert (await _places_left(client, path))[0] == _left(capacity, 0)
    await _write_elsewhere(db, sa.update(PS).where(PS.c.id == unions).values(places_taken=2))
    written = time.monotonic()
    while (await _places_left(client, path))[0] != _left(capacity, 2):
        assert time.monotonic() - written < VERSION_MEMO_SECONDS + 1.0, "not shown in time"
        await asyncio.sleep(0.05)
    assert VERSION_MEMO_SECONDS <= 1.0  # issue 17 allows 5 s; the memo keeps well inside it


async def test_a_release_elsewhere_shows_on_every_kept_page_within_the_memo_time(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    """The generation (every page's version) is remembered like the places."""
    await load_demo(db, secret_key=TEST_SECRET)
    G = schema.gathering
    app.state.version_memo = VersionMemo(fresh_for=0.3)
    first = parse_html((await client.get(f"/g/{SLUG}")).text)
    await _write_elsewhere(db, sa.update(G).where(G.c.slug == SLUG).values(title="Renamed"))
    # The trigger raised the generation in the other "process"; nothing here wrote.
    written = time.monotonic()
    while texts(parse_html((await client.get(f"/g/{SLUG}")).text), "//h1") != ["Renamed"]:
        assert time.monotonic() - written < 0.3 + 1.0, "not shown in time"
        await asyncio.sleep(0.05)
    assert texts(first, "//h1") != ["Renamed"]


async def test_requests_finding_the_version_old_at_once_share_one_read(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    unions = await _session(db, UNIONS)
    path = f"/g/{SLUG}/s/{unions}"
    first = await client.get(path)
    app.state.version_memo = VersionMemo()  # nothing remembered: as when a second has passed
    since = write_epoch()
    with counted(app) as statements:
        answers = await asyncio.gather(*(client.get(path) for _ in range(16)))
    assert [a.text for a in answers] == [first.text] * 16
    assert {a.headers["x-page-cache"] for a in answers} == {"hit"}
    # One read; one more for each write of the app's own background work meanwhile, if any.
    assert 1 <= len(statements) <= 1 + write_epoch() - since, statements
    assert all("public_generation" in statement for statement in statements)
