"""The attendee's pages in Welsh on a 360 px phone (issue 18): Welsh words run longer than the
English, and no page may scroll sideways for it (the programme with its folds open, a session,
the registration form with its errors, now and next, search, the indexes)."""

from __future__ import annotations

from typing import Any

import pytest

from gathering.demo import NEXT_SLUG
from tests.e2e.conftest import LiveServer, screenshot

pytestmark = pytest.mark.browser


def test_the_attendees_pages_fit_a_phone_in_welsh(live_server: LiveServer, page: Any) -> None:
    p = page
    p.context.add_cookies([{"name": "gathering_lang", "value": "cy", "url": live_server.url}])
    p.goto(f"{live_server.url}/")
    assert p.locator("html").get_attribute("lang") == "cy"
    assert p.locator("h1").inner_text() == "Cynulliadau"
    screenshot(p, "cy-home", 360)

    p.goto(f"{live_server.url}/g/{NEXT_SLUG}")
    for fold in p.locator("details.fold").all():
        fold.evaluate("element => element.open = true")
    assert p.locator("button[type=submit]").first.inner_text() == "Dangos sesiynau"
    screenshot(p, "cy-programme", 360)

    p.locator("section.day a").first.click()
    assert p.locator("dl.facts dt").first.inner_text() == "Pryd"
    screenshot(p, "cy-session", 360)

    p.goto(f"{live_server.url}/g/{NEXT_SLUG}/register")
    p.locator("form.form button[type=submit]").click()
    assert (
        "Rhowch yr enw yr hoffech ei gael ar eich tocyn." in p.locator("#name-error").inner_text()
    )
    screenshot(p, "cy-register-errors", 360)

    for path, name in (
        (f"/g/{NEXT_SLUG}/now", "cy-now"),
        (f"/g/{NEXT_SLUG}/changes", "cy-changes"),
        ("/search?q=union", "cy-search"),
        ("/speakers", "cy-speakers"),
        ("/organisations/lla", "cy-organisation"),
    ):
        p.goto(f"{live_server.url}{path}")
        assert p.locator("html").get_attribute("lang") == "cy"
        screenshot(p, name, 360)
