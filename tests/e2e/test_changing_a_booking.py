"""Issue 16's acceptance for changing one's mind, in a real browser at 360 px: a real server,
real SMTP (aiosmtpd). Register for one session, add a second from the manage link (the mail, the
ticket and the personal calendar feed show both), give a place up (asked first) and undo it; a
full session puts the next person on its waiting list, and the mail and page say so."""

from __future__ import annotations

import re
import sqlite3
from email.message import EmailMessage

import icalendar
import pytest

from gathering.demo_data import NEXT_SLUG
from tests.e2e import test_registration_flow as flow
from tests.e2e.conftest import LiveServer, screenshot, serious_accessibility_violations
from tests.e2e.test_registration_flow import Inbox

# The registration flow's real SMTP server (aiosmtpd) and the server settings pointing at it.
inbox = flow.inbox
server_env = flow.server_env

pytestmark = pytest.mark.browser
WELCOME = "Welcome: reclaiming our party"
UNIONS = "Repeal the anti-union laws"
CLOSING = "Closing plenary"


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _ics_titles(message: EmailMessage) -> list[str]:
    [ics] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    calendar = icalendar.Calendar.from_ical(ics.get_content())
    return sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT"))


def _register_and_confirm(
    p: object, server: LiveServer, inbox: Inbox, email: str, title: str
) -> None:
    p.goto(f"{server.url}/g/{NEXT_SLUG}/register")  # type: ignore[attr-defined]
    p.get_by_label(title).check()  # type: ignore[attr-defined]
    p.get_by_label("Your name").fill("Rosa Example")  # type: ignore[attr-defined]
    p.get_by_label("Email address").fill(email)  # type: ignore[attr-defined]
    p.get_by_label("Concession").check()  # type: ignore[attr-defined]
    p.get_by_role("button", name="Register").click()  # type: ignore[attr-defined]
    assert p.locator("h1").inner_text() == "Check your email"  # type: ignore[attr-defined]
    confirm = inbox.wait_for("Confirm", email)
    link = re.search(r"http://127\.0\.0\.1:\d+/r/confirm/\S+", _text(confirm))
    assert link, _text(confirm)
    p.goto(link.group(0))  # type: ignore[attr-defined]
    p.get_by_role("button", name="Confirm my registration").click()  # type: ignore[attr-defined]


def _places(p: object, list_id: str) -> list[str]:
    p.wait_for_load_state()  # type: ignore[attr-defined]  # a click that opens a page only starts it
    return p.locator(f"ul#{list_id} > li > a:first-child").all_inner_texts()  # type: ignore[attr-defined, no-any-return]


def test_add_a_session_then_give_a_place_up_and_undo_it(
    live_server: LiveServer, inbox: Inbox, page: object
) -> None:
    p = page
    p.set_viewport_size({"width": 360, "height": 800})  # type: ignore[attr-defined]
    _register_and_confirm(p, live_server, inbox, "rosa@example.org", WELCOME)
    assert _places(p, "places") == [WELCOME]
    manage_url = p.url.split("?")[0]  # type: ignore[attr-defined]

    p.get_by_role("link", name="Add sessions").click()  # type: ignore[attr-defined]
    p.wait_for_load_state()  # type: ignore[attr-defined]
    assert p.locator("h1").inner_text() == "Add sessions"  # type: ignore[attr-defined]
    assert p.get_by_label(WELCOME).count() == 0  # type: ignore[attr-defined]  # booked already
    p.get_by_label(UNIONS).check()  # type: ignore[attr-defined]
    screenshot(p, "booking-add-sessions", 360)
    assert serious_accessibility_violations(p) == []
    p.get_by_role("button", name="Add", exact=True).click()  # type: ignore[attr-defined]
    assert "Added" in p.get_by_role("status").inner_text()  # type: ignore[attr-defined]
    assert _places(p, "places") == [WELCOME, UNIONS]
    screenshot(p, "booking-manage", 360)

    changed = inbox.wait_for("Your booking has changed", "rosa@example.org")
    body = _text(changed)
    assert "Your places:" in body and WELCOME in body and UNIONS in body
    assert _ics_titles(changed) == sorted([WELCOME, UNIONS])

    p.get_by_role("link", name="Show my ticket").click()  # type: ignore[attr-defined]
    p.wait_for_url(re.compile(r"/ticket(\?.*)?$"))  # type: ignore[attr-defined]  # the click only starts it
    ticket = p.locator("article.ticket li strong").all_inner_texts()  # type: ignore[attr-defined]
    assert [t.strip() for t in ticket] == [WELCOME, UNIONS]
    p.goto(manage_url)  # type: ignore[attr-defined]
    p.get_by_role("link", name="My calendar").click()  # type: ignore[attr-defined]
    p.wait_for_url(re.compile(r"/my/[^/?]+(\?.*)?$"))  # type: ignore[attr-defined]
    agenda = p.url.split("?")[0]  # type: ignore[attr-defined]
    feed = p.request.get(f"{agenda}/agenda.ics")  # type: ignore[attr-defined]
    events = icalendar.Calendar.from_ical(feed.body()).walk("VEVENT")
    assert sorted(str(e["SUMMARY"]) for e in events) == sorted([WELCOME, UNIONS])

    # Give up the added place: asked first, then undoable.
    p.goto(manage_url)  # type: ignore[attr-defined]
    p.locator("ul#places > li", has_text=UNIONS).get_by_role(
        "link", name="Give up this place"
    ).click()  # type: ignore[attr-defined]
    assert p.locator("h1").inner_text() == f"Give up your place at “{UNIONS}”?"  # type: ignore[attr-defined]
    screenshot(p, "booking-give-up", 360)
    assert serious_accessibility_violations(p) == []
    p.get_by_role("button", name="Yes, give up my place").click()  # type: ignore[attr-defined]
    notice = p.get_by_role("status").inner_text()  # type: ignore[attr-defined]
    assert notice.startswith(f"You gave up “{UNIONS}”. Changed your mind? You can undo it until")
    assert _places(p, "places") == [WELCOME]
    assert _places(p, "given-up") == [UNIONS]
    screenshot(p, "booking-undo", 360)
    p.locator("ul#given-up > li", has_text=UNIONS).get_by_role("button", name="Undo").click()  # type: ignore[attr-defined]
    assert p.get_by_role("status").inner_text() == "Undone: the place is yours again."  # type: ignore[attr-defined]
    assert _places(p, "places") == [WELCOME, UNIONS]


def test_a_full_session_puts_the_person_on_its_waiting_list_and_says_so(
    live_server: LiveServer, inbox: Inbox, page: object
) -> None:
    with sqlite3.connect(live_server.workdir / "live.db") as db:
        db.execute(
            "UPDATE programme_session SET capacity = places_taken WHERE title = ? AND "
            "gathering_id = (SELECT id FROM gathering WHERE slug = ?)",
            (CLOSING, NEXT_SLUG),
        )
    p = page
    p.set_viewport_size({"width": 360, "height": 800})  # type: ignore[attr-defined]
    _register_and_confirm(p, live_server, inbox, "wait@example.org", CLOSING)
    status = p.get_by_role("status").inner_text()  # type: ignore[attr-defined]
    assert "You're on the waiting list: no place yet, so no ticket." in status
    assert (
        p.locator("#waiting-only")
        .inner_text()
        .startswith(  # type: ignore[attr-defined]
            f"You're on the waiting list for {CLOSING}."
        )
    )
    assert _places(p, "waiting") == [CLOSING]
    assert p.get_by_role("link", name="Show my ticket").count() == 0  # type: ignore[attr-defined]
    screenshot(p, "booking-waiting-only", 360)
    assert serious_accessibility_violations(p) == []

    mail = inbox.wait_for("You're on the waiting list", "wait@example.org")
    body = _text(mail)
    assert f"You're on the waiting list for {CLOSING}" in body
    assert "You're booked" not in str(mail["Subject"]) and "Your ticket code" not in body
    assert [p.get_content_type() for p in mail.walk() if p.get_content_maintype() == "image"] == []
