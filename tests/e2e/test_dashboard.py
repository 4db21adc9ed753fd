"""Issue 7's acceptance in a real browser: the dashboard's charts render from the demo data."""

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
NETWORKING = "Labour Left Alliance networking meeting for all signatories"


def _check_in_demo_attendees(database_url: str) -> int:
    """Check the demo's people in at the networking meeting, a few minutes apart; its id."""

    async def _run() -> int:
        db = Database(database_url)

        async def _write(conn: AsyncConnection) -> int:
            s, p = schema.programme_session, schema.session_place
            session = (
                await conn.execute(sa.select(s.c.id, s.c.starts_at).where(s.c.title == NETWORKING))
            ).one()
            people = (
                await conn.execute(
                    sa.select(p.c.registration_id)
                    .where(p.c.session_id == session.id, p.c.status == "confirmed")
                    .order_by(p.c.registration_id)
                )
            ).scalars()
            for index, registration_id in enumerate(people):
                await conn.execute(
                    sa.insert(schema.check_in).values(
                        registration_id=registration_id,
                        session_id=session.id,
                        kind="entry",
                        door="Main door",
                        at=session.starts_at - dt.timedelta(minutes=44 - 15 * index),
                    )
                )
            return int(session.id)

        try:
            return await db.write(_write)
        finally:
            await db.dispose()

    # Playwright's sync API keeps an event loop on this thread; seed from another one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _run()).result()


def _marks(page: object, chart: str) -> int:
    return int(page.locator(f"svg#{chart}-chart rect.chart-bar").count())  # type: ignore[attr-defined]


def test_dashboard_charts_render_from_the_demo(live_server: LiveServer, page: object) -> None:
    p = page  # Playwright page
    csp_errors: list[str] = []
    p.on(  # type: ignore[attr-defined]
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    p.goto(f"{live_server.url}/signin")  # type: ignore[attr-defined]
    p.get_by_label("Email address").fill("organiser@example.org")  # type: ignore[attr-defined]
    p.get_by_label("Password").fill("demo-organiser-password")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{live_server.url}/organiser")  # type: ignore[attr-defined]

    p.locator(f"a[href$='/organiser/g/{SLUG}/dashboard']").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{live_server.url}/organiser/g/{SLUG}/dashboard")  # type: ignore[attr-defined]
    heading = p.get_by_role("heading", level=1).inner_text()  # type: ignore[attr-defined]
    assert heading.startswith("Dashboard: Labour Left")
    # The demo's registrations are drawn; the chart is an image with a name for screen readers.
    assert _marks(p, "registrations") > 0
    chart = p.get_by_role("img", name="Registrations over time")  # type: ignore[attr-defined]
    assert chart.is_visible()
    sessions = p.locator("table#sessions tbody tr")  # type: ignore[attr-defined]
    assert sessions.count() == 4
    assert p.locator("#arrivals-empty").is_visible()  # type: ignore[attr-defined]
    assert serious_accessibility_violations(p) == []
    screenshot(p, "dashboard-gathering", 1280)
    screenshot(p, "dashboard-gathering", 360)
    assert p.locator("svg#registrations-chart").bounding_box()["width"] <= 360  # type: ignore[attr-defined]

    # Stewards scan people in: the arrivals chart fills in.
    session_id = _check_in_demo_attendees(live_server.database_url)
    p.reload()  # type: ignore[attr-defined]
    assert _marks(p, "arrivals") > 0
    arrived = p.locator(f"tr[data-session-id='{session_id}'] [data-count='arrived']")  # type: ignore[attr-defined]
    assert arrived.inner_text() == "4"
    screenshot(p, "dashboard-gathering-arrivals", 360)

    p.set_viewport_size({"width": 1280, "height": 900})  # type: ignore[attr-defined]
    p.locator(f"tr[data-session-id='{session_id}'] th a").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"**/sessions/{session_id}/dashboard")  # type: ignore[attr-defined]
    assert _marks(p, "arrivals") > 0
    bars = p.locator("svg#arrivals-chart rect.chart-bar")  # type: ignore[attr-defined]
    heights = [float(bars.nth(i).get_attribute("height")) for i in range(bars.count())]
    assert sum(1 for h in heights if h > 0) == 4  # one arrival in each of four 15-minute slots
    assert serious_accessibility_violations(p) == []
    screenshot(p, "dashboard-session", 360)
    screenshot(p, "dashboard-session", 1280)

    # The attendee list for the host, searchable, with the door column.
    p.get_by_role("link", name="Attendee list").click()  # type: ignore[attr-defined]
    p.get_by_label("Search by name or email").fill("priya")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Search").click()  # type: ignore[attr-defined]
    # The search is a GET: wait for its page to load before counting (count() does not wait).
    p.wait_for_url("**/attendees?q=priya")  # type: ignore[attr-defined]
    rows = p.locator("table#attendees tbody tr")  # type: ignore[attr-defined]
    assert rows.count() == 1
    assert rows.first.locator("th").inner_text() == "Priya Natarajan"
    assert serious_accessibility_violations(p) == []
    screenshot(p, "attendees", 360)

    # Writing to the registrants: preview first, then send.
    p.goto(f"{live_server.url}/organiser/g/{SLUG}/sessions/{session_id}/message")  # type: ignore[attr-defined]
    assert serious_accessibility_violations(p) == []
    screenshot(p, "message", 360)
    p.get_by_label("Subject").fill("Venue confirmed")  # type: ignore[attr-defined]
    p.get_by_label("Message").fill("We meet at the Brighthelm Centre.\n\nTea from 14:30.")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Preview").click()  # type: ignore[attr-defined]
    assert "It will go to 4 people" in p.locator("#recipients").inner_text()  # type: ignore[attr-defined]
    assert serious_accessibility_violations(p) == []
    screenshot(p, "message-preview", 360)
    p.get_by_role("button", name="Send to 4 people").click()  # type: ignore[attr-defined]
    assert p.locator("#notice").inner_text() == "Your message is on its way to 4 people."  # type: ignore[attr-defined]
    assert csp_errors == []


DLO = "dont-leave-organise-2021"
PLENARY = "Closing plenary"  # hosted by Don't Leave, Organise; six people booked, in the demo


def _make_jvl_a_co_host(database_url: str) -> int:
    """JVL co-hosts the closing plenary; Dana agreed JVL may contact her and came in. Its id."""

    async def _run() -> int:
        db = Database(database_url)

        async def _write(conn: AsyncConnection) -> int:
            s, o, r = schema.programme_session, schema.organisation, schema.registration
            # The 2021 gathering's (the demo's next gathering repeats its titles, issue 16).
            g = schema.gathering
            national = sa.select(g.c.id).where(g.c.slug == DLO).scalar_subquery()
            session = (
                await conn.execute(
                    sa.select(s.c.id, s.c.starts_at).where(
                        s.c.title == PLENARY, s.c.gathering_id == national
                    )
                )
            ).one()
            jvl = (await conn.execute(sa.select(o.c.id).where(o.c.slug == "jvl"))).scalar_one()
            dana = (
                await conn.execute(sa.select(r.c.id).where(r.c.name == "Dana Whitfield"))
            ).scalar_one()
            await conn.execute(
                sa.insert(schema.session_host).values(
                    session_id=session.id, organisation_id=jvl, role="co_host"
                )
            )
            await conn.execute(
                sa.insert(schema.consent).values(
                    registration_id=dana,
                    purpose="contact",
                    organisation_id=jvl,
                    text="Jewish Voice for Labour may contact me about its work",
                    given_at=session.starts_at - dt.timedelta(days=20),
                )
            )
            await conn.execute(
                sa.insert(schema.check_in).values(
                    registration_id=dana,
                    session_id=session.id,
                    kind="entry",
                    door="Main door",
                    at=session.starts_at - dt.timedelta(minutes=5),
                )
            )
            return int(session.id)

        try:
            return await db.write(_write)
        finally:
            await db.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _run()).result()


def test_co_host_sees_only_what_consent_covers(live_server: LiveServer, page: object) -> None:
    p = page  # Playwright page
    session_id = _make_jvl_a_co_host(live_server.database_url)
    base = f"{live_server.url}/organiser/g/{DLO}/sessions/{session_id}"
    p.goto(f"{live_server.url}/signin")  # type: ignore[attr-defined]
    p.get_by_label("Email address").fill("jvl@example.org")  # type: ignore[attr-defined]
    p.get_by_label("Password").fill("demo-organiser-password")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{live_server.url}/organiser")  # type: ignore[attr-defined]

    # The dashboard: six people, but no ticket type has five, so no count is given.
    p.goto(f"{base}/dashboard")  # type: ignore[attr-defined]
    assert p.locator("[data-count='registered']").inner_text() == "6"  # type: ignore[attr-defined]
    cells = p.locator("table#tickets-table tbody td.num")  # type: ignore[attr-defined]
    assert cells.all_inner_texts() == ["Fewer than 5"] * cells.count()
    assert cells.count() >= 4
    assert p.locator("table#tickets-table rect").count() == 0  # type: ignore[attr-defined]
    assert serious_accessibility_violations(p) == []
    screenshot(p, "dashboard-session-co-host", 360)

    # The attendee list: only Dana, who agreed JVL may contact her; name, email and place only.
    p.get_by_role("link", name="Attendee list").click()  # type: ignore[attr-defined]
    p.wait_for_load_state()  # type: ignore[attr-defined]  # the click only starts the page
    headings = p.locator("table#attendees thead th").all_inner_texts()  # type: ignore[attr-defined]
    assert headings == ["Name", "Email", "Place"]
    rows = p.locator("table#attendees tbody tr")  # type: ignore[attr-defined]
    assert rows.count() == 1
    assert rows.first.locator("th").inner_text() == "Dana Whitfield"
    assert "Free" not in rows.first.inner_text()
    assert serious_accessibility_violations(p) == []
    screenshot(p, "attendees-co-host", 360)

    # A message reaches Dana alone.
    p.goto(f"{base}/message")  # type: ignore[attr-defined]
    assert p.locator("#audience").inner_text() == (  # type: ignore[attr-defined]
        "1 person has a confirmed place and agreed to hear from you."
    )
    p.get_by_label("Subject").fill("Thank you")  # type: ignore[attr-defined]
    p.get_by_label("Message").fill("Thank you for coming to the plenary.")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Preview").click()  # type: ignore[attr-defined]
    assert "who agreed that Jewish Voice for Labour may contact them" in (
        p.locator("#recipients").inner_text()  # type: ignore[attr-defined]
    )
    assert serious_accessibility_violations(p) == []
    screenshot(p, "message-preview-co-host", 360)
    p.get_by_role("button", name="Send to 1 person").click()  # type: ignore[attr-defined]
    assert p.locator("#notice").inner_text() == "Your message is on its way to 1 person."  # type: ignore[attr-defined]
