"""Issue 3's acceptance in a real browser: an organiser publishes, moves and releases a session."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from tests.e2e.conftest import LiveServer, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.browser
SLUG = "labour-conference-2019"


def _add_room(database_url: str) -> None:
    async def _run() -> None:
        db = Database(database_url)

        async def _write(conn: AsyncConnection) -> None:
            now = dt.datetime.now(dt.UTC)
            gid = (
                await conn.execute(
                    sa.select(schema.gathering.c.id).where(schema.gathering.c.slug == SLUG)
                )
            ).scalar_one()
            vid = (
                await conn.execute(
                    sa.insert(schema.venue)
                    .values(
                        gathering_id=gid,
                        name="Brighthelm Centre",
                        address="North Road, Brighton",
                        step_free=True,
                        created_at=now,
                    )
                    .returning(schema.venue.c.id)
                )
            ).scalar_one()
            await conn.execute(
                sa.insert(schema.room).values(
                    venue_id=vid, name="Main hall", capacity=200, created_at=now
                )
            )

        try:
            await db.write(_write)
        finally:
            await db.dispose()

    # Playwright's sync API keeps an event loop on this thread; seed from another one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _run()).result()


def _sign_in(page: object, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/signin")  # type: ignore[attr-defined]
    page.get_by_label("Email address").fill(email)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill("demo-organiser-password")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{server.url}/organiser")  # type: ignore[attr-defined]


def test_organiser_publishes_moves_and_releases_a_session(
    live_server: LiveServer, page: object
) -> None:
    p = page  # Playwright page
    csp_errors: list[str] = []
    p.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )  # type: ignore[attr-defined]
    _add_room(live_server.database_url)
    _sign_in(p, live_server, "organiser@example.org")
    assert serious_accessibility_violations(p) == []

    p.goto(f"{live_server.url}/organiser/g/{SLUG}/sessions/new")  # type: ignore[attr-defined]
    p.get_by_label("Title", exact=True).fill("Organising in the workplace")  # type: ignore[attr-defined]
    p.get_by_label("Day").fill("2019-09-23")  # type: ignore[attr-defined]
    p.get_by_label("Starts").fill("12:30")  # type: ignore[attr-defined]
    p.get_by_label("Ends").fill("13:30")  # type: ignore[attr-defined]
    p.get_by_label("Hosted by").select_option(label="Labour Left Alliance")  # type: ignore[attr-defined]
    p.get_by_label("Red Labour", exact=True).check()  # type: ignore[attr-defined]
    p.get_by_label("Name (optional)").fill("Alex Example")  # type: ignore[attr-defined]
    p.get_by_label("Status").select_option("published")  # type: ignore[attr-defined]
    screenshot(p, "organiser-session-form", 360)
    assert serious_accessibility_violations(p) == []
    p.get_by_role("button", name="Save session").click()  # type: ignore[attr-defined]
    assert p.get_by_role("status").inner_text().startswith("Saved.")  # type: ignore[attr-defined]
    session_id = int(p.url.split("/sessions/")[1].split("?")[0])  # type: ignore[attr-defined]

    p.goto(f"{live_server.url}/organiser/g/{SLUG}/release")  # type: ignore[attr-defined]
    assert "Organising in the workplace: new" in p.locator("ul.changes").inner_text()  # type: ignore[attr-defined]
    p.get_by_role("button", name="Release").click()  # type: ignore[attr-defined]

    p.goto(f"{live_server.url}/g/{SLUG}/s/{session_id}")  # type: ignore[attr-defined]
    body = p.locator("main").inner_text()  # type: ignore[attr-defined]
    assert "Organising in the workplace" in body
    assert "Venue tbc" in body
    assert "Red Labour" in body
    assert "Alex Example" in body
    for width in (360, 1280):
        screenshot(p, "public-session", width)
    assert serious_accessibility_violations(p) == []

    # Move it into a room and release again: the changes page says what moved.
    p.goto(f"{live_server.url}/organiser/g/{SLUG}/sessions/{session_id}")  # type: ignore[attr-defined]
    p.get_by_label("Room").select_option(label="Main hall, Brighthelm Centre")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Save session").click()  # type: ignore[attr-defined]
    p.goto(f"{live_server.url}/organiser/g/{SLUG}/release")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Release").click()  # type: ignore[attr-defined]
    p.goto(f"{live_server.url}/g/{SLUG}/changes")  # type: ignore[attr-defined]
    changes = p.locator("main").inner_text()  # type: ignore[attr-defined]
    assert "Venue tbc" in changes
    assert "Main hall" in changes

    p.goto(f"{live_server.url}/g/{SLUG}")  # type: ignore[attr-defined]
    for width in (360, 1280):
        screenshot(p, "public-programme", width)
    assert serious_accessibility_violations(p) == []

    # Another organisation's organiser cannot edit it.
    p.get_by_role("button", name="Sign out").count()  # type: ignore[attr-defined]
    p.context.clear_cookies()  # type: ignore[attr-defined]
    _sign_in(p, live_server, "jvl@example.org")
    response = p.goto(f"{live_server.url}/organiser/g/{SLUG}/sessions/{session_id}")  # type: ignore[attr-defined]
    assert response.status == 403
    assert "may change it" in p.locator("main").inner_text()  # type: ignore[attr-defined]
    assert csp_errors == []
