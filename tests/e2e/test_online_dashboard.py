"""Issue 20 in a real browser: a hybrid session's dashboard shows people who came in person and
people who joined online by their own link, side by side and combined, on a 360 px phone."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.registration.tokens import join_token
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import LiveServer, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.browser
DLO = "dont-leave-organise-2021"
PLENARY = "Closing plenary"  # hybrid, six people booked, in the demo


def _open_the_plenary_now(database_url: str) -> tuple[int, list[str]]:
    """Move the plenary to start in ten minutes, check two of its people in at the door; its id
    and the joining paths of its first two people (one of them also came in person)."""

    async def _run() -> tuple[int, list[str]]:
        db = Database(database_url)

        async def _write(conn: AsyncConnection) -> tuple[int, list[str]]:
            s, p, r = schema.programme_session, schema.session_place, schema.registration
            now = dt.datetime.now(dt.UTC)
            # The 2021 gathering's (the demo's next gathering repeats its titles, issue 16).
            g = schema.gathering
            national = sa.select(g.c.id).where(g.c.slug == DLO).scalar_subquery()
            session_id = (
                await conn.execute(
                    sa.select(s.c.id).where(s.c.title == PLENARY, s.c.gathering_id == national)
                )
            ).scalar_one()
            await conn.execute(
                sa.update(s)
                .where(s.c.id == session_id)
                .values(
                    starts_at=now + dt.timedelta(minutes=10), ends_at=now + dt.timedelta(hours=2)
                )
            )
            people = (
                await conn.execute(
                    sa.select(p.c.id, r.c.id.label("registration_id"), r.c.manage_key)
                    .join(r, r.c.id == p.c.registration_id)
                    .where(p.c.session_id == session_id, p.c.status == "confirmed")
                    .where(r.c.status == "confirmed")
                    .order_by(r.c.id)
                )
            ).all()
            assert len(people) >= 3
            for person in people[1:3]:  # the second joins online too; the third only in person
                await conn.execute(
                    sa.insert(schema.check_in).values(
                        registration_id=person.registration_id,
                        session_id=session_id,
                        kind="entry",
                        door="Main door",
                        at=now,
                    )
                )
            paths = ["/j/" + join_token(TEST_SECRET, x.id, x.manage_key) for x in people[:2]]
            return int(session_id), paths

        try:
            return await db.write(_write)
        finally:
            await db.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _run()).result()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _join(url: str) -> str:
    """Open a joining link as a person's phone would; where it sends them."""
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(url, timeout=10)
    answer.value.close()  # the redirect's own connection
    assert answer.value.code == 303
    return str(answer.value.headers["location"])


def test_hybrid_dashboard_shows_both_kinds_of_attendance(
    live_server: LiveServer, page: object
) -> None:
    p = page  # Playwright page
    session_id, paths = _open_the_plenary_now(live_server.database_url)
    for path in paths:
        assert _join(live_server.url + path) == "https://meet.example.org/dlo-plenary"

    p.goto(f"{live_server.url}/signin")  # type: ignore[attr-defined]
    p.get_by_label("Email address").fill("admin@example.org")  # type: ignore[attr-defined]
    p.get_by_label("Password").fill("demo-admin-password")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    p.wait_for_load_state()  # type: ignore[attr-defined]
    p.set_viewport_size({"width": 360, "height": 800})  # type: ignore[attr-defined]
    p.goto(f"{live_server.url}/organiser/g/{DLO}/sessions/{session_id}/dashboard")  # type: ignore[attr-defined]

    def count(key: str) -> str:
        return str(p.locator(f"#totals [data-count='{key}']").inner_text())  # type: ignore[attr-defined]

    assert (count("arrived"), count("joined_online"), count("attended")) == ("2", "2", "3")
    for key in ("arrived", "joined_online", "attended"):
        assert p.locator(f"#totals [data-count='{key}']").is_visible()  # type: ignore[attr-defined]
    assert serious_accessibility_violations(p) == []
    screenshot(p, "dashboard-session-hybrid", 360)

    # The gathering's table has both columns, readable on the phone too.
    p.goto(f"{live_server.url}/organiser/g/{DLO}/dashboard")  # type: ignore[attr-defined]
    row = p.locator(f"tr[data-session-id='{session_id}']")  # type: ignore[attr-defined]
    assert row.locator("[data-count='arrived']").inner_text() == "2"
    assert row.locator("[data-count='joined_online']").inner_text().strip() == "2"
    assert row.locator("[data-count='attended']").inner_text() == "3"
    assert row.locator("[data-count='joined_online']").is_visible()
    assert serious_accessibility_violations(p) == []
    screenshot(p, "dashboard-gathering-hybrid", 360)

    # The attendee list shows who joined online beside who came in, for the host's view.
    p.goto(f"{live_server.url}/organiser/g/{DLO}/sessions/{session_id}/attendees")  # type: ignore[attr-defined]
    joined = p.locator("td[data-field='joined_online']").all_inner_texts()  # type: ignore[attr-defined]
    assert sum(1 for text in joined if text != "Not yet") == 2
    screenshot(p, "attendees-hybrid", 360)
