"""Issue 16, item 11 in a real browser at 360 px: an organiser invites a viewer, the viewer
accepts the emailed link, signs in and sees a dashboard's numbers, never a list of people."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from tests.e2e.conftest import LiveServer, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.browser


def _invitation_link(database_url: str) -> str:
    """The link the invitation mail holds (no SMTP here: the outbox keeps the message)."""

    async def _run() -> str:
        db = Database(database_url)

        async def _read(conn: AsyncConnection) -> str:
            o = schema.outbox
            query = sa.select(o.c.context).where(o.c.kind == "organiser_invitation")
            [context] = (await conn.execute(query)).scalars().all()
            return str(context["accept_url"])

        try:
            return await db.read(_read)
        finally:
            await db.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _run()).result()


def _sign_in(page: object, server: LiveServer, email: str, password: str) -> None:
    page.goto(f"{server.url}/signin")  # type: ignore[attr-defined]
    page.get_by_label("Email address").fill(email)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{server.url}/organiser")  # type: ignore[attr-defined]


def test_an_organiser_invites_a_viewer_who_sees_numbers_only(
    live_server: LiveServer, browser: object
) -> None:
    csp_errors: list[str] = []
    context = browser.new_context(viewport={"width": 360, "height": 800})  # type: ignore[attr-defined]
    p = context.new_page()
    p.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    _sign_in(p, live_server, "organiser@example.org", "demo-organiser-password")
    p.get_by_role("link", name="Your organisations: members and invitations").click()
    p.get_by_role("link", name="Labour Left Alliance: members and invitations").click()
    p.get_by_label("Their email address").fill("volunteer@example.org")
    p.get_by_label("Viewer (numbers only)", exact=False).check()
    p.get_by_role("button", name="Send the invitation").click()
    assert p.get_by_role("status").inner_text() == (
        "Invitation sent to volunteer@example.org. The link works for 7 days."
    )
    assert "volunteer@example.org" in p.locator("li.invitation").inner_text()
    for width in (360, 1280):
        screenshot(p, "organiser-members", width)
    assert serious_accessibility_violations(p) == []
    context.close()

    link = _invitation_link(live_server.database_url)
    assert link.startswith(f"{live_server.url}/invitation/")
    invitee = browser.new_context(viewport={"width": 360, "height": 800})  # type: ignore[attr-defined]
    v = invitee.new_page()
    v.goto(link)
    assert v.get_by_role("heading", level=1).inner_text() == "Join Labour Left Alliance"
    v.get_by_label("Your name").fill("Vol Unteer")
    v.get_by_label("Choose a password").fill("short")
    v.get_by_role("button", name="Create my account and join").click()
    assert v.get_by_label("Your name").input_value() == "Vol Unteer"  # kept
    assert "at least 10 characters" in v.locator(".error-summary").inner_text()
    screenshot(v, "invitation-accept", 360)
    assert serious_accessibility_violations(v) == []
    v.get_by_label("Choose a password").fill("a long enough password")
    v.get_by_role("button", name="Create my account and join").click()
    assert "you are now viewer (numbers only) of Labour Left Alliance" in (
        v.get_by_role("status").inner_text()
    )
    v.get_by_label("Password").fill("a long enough password")
    v.get_by_role("button", name="Sign in").click()
    v.wait_for_url(f"{live_server.url}/organiser")
    v.get_by_role("link", name="Numbers you may see").click()
    screenshot(v, "viewer-dashboards", 360)
    assert serious_accessibility_violations(v) == []
    v.locator("a[href*='/sessions/'][href$='/dashboard']").first.click()
    v.wait_for_load_state()  # the click only starts the page; count() does not wait
    assert v.get_by_role("heading", level=1).inner_text().startswith("Dashboard: ")
    assert v.get_by_role("link", name="Attendee list").count() == 0
    attendees = v.url.replace("/dashboard", "/attendees")
    refused = v.goto(attendees)
    assert refused is not None and refused.status == 403
    assert "You are a viewer of this organisation" in v.locator("main").inner_text()
    invitee.close()
    assert csp_errors == []
