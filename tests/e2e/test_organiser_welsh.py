"""The organiser's pages in Welsh in Chromium (issue 18): Welsh words run longer than English, so
each page an organiser uses holds at 360 px (nothing scrolls sideways) and at 1280 px, with no
serious accessibility fault, once the organiser has chosen Cymraeg with the switch."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, screenshot, serious_accessibility_violations
from tests.e2e.test_dashboard import NETWORKING, SLUG, _check_in_demo_attendees

pytestmark = pytest.mark.browser


def test_an_organiser_reads_their_pages_in_welsh_on_a_phone(
    live_server: LiveServer, page: Any
) -> None:
    from playwright.sync_api import expect

    session_id = _check_in_demo_attendees(live_server.database_url)
    p = page
    p.set_viewport_size({"width": 360, "height": 800})
    p.goto(f"{live_server.url}/signin")
    p.get_by_label("Email address").fill("organiser@example.org")
    p.get_by_label("Password").fill("demo-organiser-password")
    p.get_by_role("button", name="Sign in").click()
    p.wait_for_url(f"{live_server.url}/organiser")
    # The switch remembers the choice in the language cookie, as an organiser chooses once.
    p.context.add_cookies([{"name": "gathering_lang", "value": "cy", "url": live_server.url}])
    p.reload()
    expect(p.locator("html")).to_have_attribute("lang", "cy")
    expect(p.locator("h1")).to_have_text("Eich sesiynau")

    base = f"{live_server.url}/organiser/g/{SLUG}"
    pages = [
        ("organiser-home", f"{live_server.url}/organiser", "Eich sesiynau"),
        ("organiser-dashboard", f"{base}/dashboard", "Dangosfwrdd: "),
        ("organiser-session-dashboard", f"{base}/sessions/{session_id}/dashboard", "Dangosfwrdd: "),
        ("organiser-people", f"{base}/sessions/{session_id}/attendees", "Pobl sydd wedi cadw lle"),
        ("organiser-message", f"{base}/sessions/{session_id}/message", "Ysgrifennu at y bobl"),
        ("organiser-registration", f"{base}/registration", "Cofrestru ar gyfer"),
        ("organiser-session-form", f"{base}/sessions/{session_id}", "Golygu sesiwn"),
        ("organiser-stewards", f"{base}/stewards", "Pasys stiward"),
        ("organiser-supporters", f"{base}/sessions/{session_id}/supporters", "Pwy sy'n cyfrif"),
        ("organiser-members", f"{live_server.url}/organiser/o/lla/members", "Aelodau "),
    ]
    for name, url, heading in pages:
        p.goto(url)
        expect(p.locator("html")).to_have_attribute("lang", "cy")
        assert p.locator("h1").inner_text().startswith(heading), (
            name,
            p.locator("h1").inner_text(),
        )
        screenshot(p, f"{name}-cy", 360)
        screenshot(p, f"{name}-cy", 1280)
        assert serious_accessibility_violations(p) == [], name

    # The arrivals chart's numbers, in Welsh, from the check-ins just made.
    p.goto(f"{base}/sessions/{session_id}/dashboard")
    p.get_by_text("Cyrraedd dros amser: y ffigurau").click()
    expect(p.locator("#arrivals-table thead th").first).to_have_text("15 munud")
    assert NETWORKING in p.locator("h1").inner_text()
