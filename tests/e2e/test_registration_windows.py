"""Issue 16's acceptance in a real browser at 360 px: a past gathering's session page shows no
register button and says why; the demo's next gathering offers one."""

from __future__ import annotations

import pytest

from gathering.demo_data import NEXT_SLUG
from tests.e2e.conftest import LiveServer, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.browser
CONFERENCE = "labour-conference-2019"


def test_a_past_gathering_shows_no_register_button(live_server: LiveServer, page: object) -> None:
    p = page
    p.set_viewport_size({"width": 360, "height": 800})  # type: ignore[attr-defined]
    p.goto(f"{live_server.url}/g/{CONFERENCE}")  # type: ignore[attr-defined]
    state = p.locator("#registration-state")  # type: ignore[attr-defined]
    assert state.inner_text() == "Registration is closed: this gathering has ended."
    p.get_by_role("link", name="Let's Talk about Palestine").first.click()  # type: ignore[attr-defined]
    p.wait_for_load_state()  # type: ignore[attr-defined]  # the click only starts the page
    assert p.locator("h1").inner_text() == "Let's Talk about Palestine"  # type: ignore[attr-defined]
    assert p.get_by_role("link", name="Register for this session").count() == 0  # type: ignore[attr-defined]
    assert p.get_by_role("link", name="Join the waiting list").count() == 0  # type: ignore[attr-defined]
    assert p.locator("p.register").count() == 0  # type: ignore[attr-defined]
    state = p.locator("#registration-state")  # type: ignore[attr-defined]
    assert state.inner_text() == "Registration is closed: this session has ended."
    assert state.is_visible()
    screenshot(p, "session-past", 360)
    assert serious_accessibility_violations(p) == []

    # The network's next gathering, dated after the day the demo was loaded, takes bookings.
    p.goto(f"{live_server.url}/g/{NEXT_SLUG}")  # type: ignore[attr-defined]
    p.get_by_role("link", name="Repeal the anti-union laws").first.click()  # type: ignore[attr-defined]
    p.wait_for_load_state()  # type: ignore[attr-defined]
    register = p.get_by_role("link", name="Register for this session")  # type: ignore[attr-defined]
    assert register.is_visible()
    assert p.locator("#registration-state").inner_text().startswith("Registration is open until")  # type: ignore[attr-defined]
    screenshot(p, "session-upcoming", 360)
    register.click()
    p.wait_for_load_state()  # type: ignore[attr-defined]
    assert p.get_by_label("Repeal the anti-union laws").is_checked()  # type: ignore[attr-defined]
    field = p.locator("input[name='answer_constituency']")  # type: ignore[attr-defined]
    assert field.get_attribute("list") == "constituency-names"
    assert p.locator("#constituency-names option").count() == 650  # type: ignore[attr-defined]


def test_the_host_closes_registration_on_a_phone(live_server: LiveServer, page: object) -> None:
    p = page
    p.set_viewport_size({"width": 360, "height": 800})  # type: ignore[attr-defined]
    p.goto(f"{live_server.url}/signin")  # type: ignore[attr-defined]
    p.get_by_label("Email address").fill("dlo@example.org")  # type: ignore[attr-defined]
    p.get_by_label("Password").fill("demo-organiser-password")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{live_server.url}/organiser")  # type: ignore[attr-defined]
    p.get_by_role("link", name="Registration").first.click()  # type: ignore[attr-defined]
    assert p.locator("h1").inner_text().startswith("Registration for")  # type: ignore[attr-defined]
    screenshot(p, "organiser-registration", 360)
    assert serious_accessibility_violations(p) == []
    p.get_by_label("Registration is open").uncheck()  # type: ignore[attr-defined]
    p.get_by_role("button", name="Save", exact=True).click()  # type: ignore[attr-defined]
    assert p.get_by_role("status").inner_text() == "Registration settings saved."  # type: ignore[attr-defined]
    assert p.locator("#registration-state").inner_text() == (  # type: ignore[attr-defined]
        "Registration is not open: the organisers have not opened it."
    )
    p.goto(f"{live_server.url}/g/{NEXT_SLUG}")  # type: ignore[attr-defined]
    assert p.locator("p.register").count() == 0  # type: ignore[attr-defined]
