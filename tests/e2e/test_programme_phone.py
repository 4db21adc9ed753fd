"""Issue 16 #7 and #8 in a real browser: the programme on a 360 × 640 phone shows a session in
the first screen; two stars survive a reload and their calendar feed holds exactly those two;
the timetable grid at 1280 px; the page without script; axe-core on every new page."""

from __future__ import annotations

import urllib.request

import pytest
from icalendar import Calendar

from tests.e2e.conftest import LiveServer, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.browser
NATIONAL = "dont-leave-organise-2021"
WELCOME = "Welcome: reclaiming our party"
CLOSING = "Closing plenary"


def _phone(browser: object, *, script: bool = True) -> tuple[object, object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 360, "height": 640}, java_script_enabled=script
    )
    return context, context.new_page()


def test_programme_on_a_phone_stars_and_grid(live_server: LiveServer, browser: object) -> None:
    url = live_server.url
    context, p = _phone(browser)
    csp_errors: list[str] = []
    p.on(  # type: ignore[attr-defined]
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    try:
        # Every listed gathering's programme shows a session within the first screen.
        p.goto(url)  # type: ignore[attr-defined]
        listed = p.locator("main article h2 a").evaluate_all("links => links.map(a => a.href)")  # type: ignore[attr-defined]
        assert f"{url}/g/{NATIONAL}" in listed
        for programme in [*(u for u in listed if not u.endswith(NATIONAL)), f"{url}/g/{NATIONAL}"]:
            p.goto(programme)  # type: ignore[attr-defined]
            first = p.locator("main li.session h3 a").first  # type: ignore[attr-defined]
            box = first.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 640, (programme, box)
        assert first.inner_text() == WELCOME
        # The folds are closed; the filter opens with a tap and its form is there.
        assert p.locator("details.filters select#filter-track").is_visible() is False  # type: ignore[attr-defined]
        p.get_by_text("Filter", exact=False).first.click()  # type: ignore[attr-defined]
        assert p.locator("details.filters select#filter-track").is_visible()  # type: ignore[attr-defined]
        assert p.locator(".tt-head").first.is_visible() is False  # type: ignore[attr-defined]
        assert serious_accessibility_violations(p) == []
        screenshot(p, "programme-phone", 360)

        # Star two sessions; the stars are kept on the device across a reload.
        p.get_by_role("button", name=f"Star: {WELCOME}").click()  # type: ignore[attr-defined]
        p.get_by_role("button", name=f"Star: {CLOSING}").click()  # type: ignore[attr-defined]
        p.reload()  # type: ignore[attr-defined]
        pressed = p.locator("button.star[aria-pressed='true']")  # type: ignore[attr-defined]
        assert pressed.count() == 2
        labels = sorted(pressed.nth(i).get_attribute("aria-label") for i in range(2))
        assert labels == [f"Star: {CLOSING}", f"Star: {WELCOME}"]
        bar = p.locator("#starred-bar")  # type: ignore[attr-defined]
        assert bar.is_visible()
        assert bar.locator("h2").inner_text() == "2 sessions starred on this device"
        feed = bar.locator("a.starred-ics").get_attribute("href")
        assert feed.startswith(f"{url}/g/{NATIONAL}/starred.ics?s=")
        with urllib.request.urlopen(feed, timeout=10) as response:  # noqa: S310 - our server
            calendar = Calendar.from_ical(response.read())
        assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == [WELCOME, CLOSING]
        assert bar.locator("a.starred-webcal").get_attribute("href") == feed.replace(
            "http:", "webcal:", 1
        )
        assert serious_accessibility_violations(p) == []

        # The starred page, now and next, and the indexes.
        bar.locator("a.starred-page").click()
        p.wait_for_url(f"{url}/g/{NATIONAL}/starred?s=*")  # type: ignore[attr-defined]
        titles = p.locator("main li.session h2 a").all_inner_texts()  # type: ignore[attr-defined]
        assert titles == [WELCOME, CLOSING]
        assert serious_accessibility_violations(p) == []
        screenshot(p, "programme-starred", 360)
        for path, heading in (
            (f"/g/{NATIONAL}/now", "Now and next"),
            ("/speakers", "Speakers"),
            ("/organisations", "Organisations"),
        ):
            p.goto(f"{url}{path}")  # type: ignore[attr-defined]
            assert p.locator("h1").inner_text() == heading  # type: ignore[attr-defined]
            assert serious_accessibility_violations(p) == [], path
            screenshot(p, "programme-" + path.rsplit("/", 1)[-1], 360)

        # The timetable on a wide screen: rooms side by side, time down the page.
        p.set_viewport_size({"width": 1280, "height": 900})  # type: ignore[attr-defined]
        p.goto(f"{url}/g/{NATIONAL}")  # type: ignore[attr-defined]
        grid = p.locator("ul.timetable").first  # type: ignore[attr-defined]
        assert grid.evaluate("e => getComputedStyle(e).display") == "grid"
        assert p.locator(".tt-head").first.is_visible()  # type: ignore[attr-defined]

        def box_of(title: str) -> dict[str, float]:
            item = p.locator("li.session", has=p.get_by_role("link", name=title, exact=True))  # type: ignore[attr-defined]
            found = item.bounding_box()
            assert found is not None
            return dict(found)

        democracy = box_of("Restoring democracy throughout our party")
        unions = box_of("Repeal the anti-union laws")
        welcome = box_of(WELCOME)
        assert abs(democracy["y"] - unions["y"]) < 1  # same start, side by side
        assert democracy["x"] != unions["x"]
        assert welcome["y"] + welcome["height"] <= democracy["y"] + 1  # earlier is higher
        assert serious_accessibility_violations(p) == []
        screenshot(p, "programme-grid", 1280)
        assert csp_errors == []
    finally:
        context.close()  # type: ignore[attr-defined]


def test_programme_without_script_still_lists_and_filters(
    live_server: LiveServer, browser: object
) -> None:
    context, p = _phone(browser, script=False)
    try:
        p.goto(f"{live_server.url}/g/{NATIONAL}")  # type: ignore[attr-defined]
        assert p.locator("button.star").count() == 0  # type: ignore[attr-defined]
        assert p.locator("#starred-bar").is_visible() is False  # type: ignore[attr-defined]
        p.locator("details.filters summary").click()  # type: ignore[attr-defined]
        p.locator("#filter-track").select_option("plenary")  # type: ignore[attr-defined]
        p.get_by_role("button", name="Show sessions").click()  # type: ignore[attr-defined]
        p.wait_for_url("**track=plenary**")  # type: ignore[attr-defined]
        titles = p.locator("main li.session h3 a").all_inner_texts()  # type: ignore[attr-defined]
        assert titles == [WELCOME, CLOSING]
    finally:
        context.close()  # type: ignore[attr-defined]
