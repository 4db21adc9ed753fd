"""Issue 18's acceptance in Chromium at 360 px: a visitor switches the programme to Cymraeg,
registers, gets the confirmation mail in Welsh over real SMTP, confirms, and a steward (who also
chose Cymraeg) scans the new ticket at the door and reads the answer in Welsh; axe-core finds no
serious issue on the Welsh pages.

Expected words are read from the Welsh catalogue (gettext), not copied here, so the test checks
that the pages say what the catalogue says and that it differs from the English."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gathering.core import i18n
from gathering.core.database import Database
from gathering.door.page_words import scan_page_words
from gathering.programme.release import release_programme
from tests.door_data import SESSION_TITLE, DoorData, insert_open_door
from tests.e2e import test_registration_flow
from tests.e2e.conftest import LiveServer, screenshot, serious_accessibility_violations
from tests.e2e.test_door_camera import _in_thread, _moves
from tests.e2e.test_registration_flow import Inbox, _text

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 780}
EMAIL = "rhian@example.org"
# The registration flow's fixtures: a real SMTP server and the live server sending to it.
inbox = test_registration_flow.inbox
server_env = test_registration_flow.server_env


def cy(message: str) -> str:
    with i18n.use_language("cy"):
        welsh = i18n.gettext(message)
    assert welsh != message, f"no Welsh for {message!r}"
    return welsh


@pytest.fixture
def door(live_server: LiveServer) -> DoorData:
    """A gathering happening now with a released programme (so it takes registrations) and a
    steward pass for its session."""

    async def _make(db: Database) -> DoorData:
        made = await insert_open_door(db)
        await release_programme(db, made.gathering_id, released_by=None)
        return made

    return _in_thread(live_server.database_url, _make)


def _lang(p: Any) -> str:
    return str(p.locator("html").get_attribute("lang"))


def test_a_welsh_speaker_registers_gets_welsh_mail_and_is_admitted_in_welsh(
    live_server: LiveServer, inbox: Inbox, door: DoorData, browser: Any
) -> None:
    from playwright.sync_api import expect

    visitor = browser.new_context(viewport=PHONE, locale="en-GB")
    p = visitor.new_page()
    csp: list[str] = []
    p.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    p.goto(f"{live_server.url}/g/{door.slug}")
    assert _lang(p) == "en-GB"  # the browser asks for English
    p.get_by_role("link", name="Cymraeg").click()  # the switch in the page's header
    expect(p.locator("html")).to_have_attribute("lang", "cy")
    assert p.url.endswith(f"/g/{door.slug}")  # back on the same page
    assert any(c["name"] == i18n.COOKIE and c["value"] == "cy" for c in visitor.cookies())
    screenshot(p, "welsh-programme", 360)
    assert serious_accessibility_violations(p) == []

    p.goto(f"{live_server.url}/g/{door.slug}/register")
    assert _lang(p) == "cy"  # remembered
    p.get_by_label(cy("Your name")).fill("Rhian Example")
    p.get_by_label(cy("Email address")).fill(EMAIL)
    p.get_by_label(SESSION_TITLE).check()  # the session's title is the organisers' words
    ticket = p.locator("input[name='ticket_type_id']")
    if ticket.count() and ticket.first.get_attribute("type") == "radio":
        ticket.first.check()
    screenshot(p, "welsh-register-form", 360)
    assert serious_accessibility_violations(p) == []
    p.get_by_role("button", name=cy("Register"), exact=True).click()
    expect(p.locator("h1")).to_have_text(cy("Check your email"))
    assert serious_accessibility_violations(p) == []

    # The confirmation mail, in Welsh: its words are the catalogue's, none of its English.
    mail = inbox.wait_for("", EMAIL)
    text = _text(mail)
    title = "Door test gathering"  # the organisers' words, in the language they wrote them
    assert str(mail["Subject"]) == cy("Confirm your email to book %(title)s") % {"title": title}
    assert "Please confirm your email address" not in text
    welsh_line = cy(
        "If you did not register, ignore this email: nothing is booked and we will not write again."
    )
    assert welsh_line in " ".join(text.split()), text
    link = re.search(r"http://127\.0\.0\.1:\d+/r/confirm/\S+", text)
    assert link, text
    p.goto(link.group(0))
    assert _lang(p) == "cy"
    p.get_by_role("button", name=cy("Confirm my registration")).click()
    expect(p.locator("html")).to_have_attribute("lang", "cy")
    p.get_by_role("link", name=cy("Show my ticket")).click()
    code = p.locator(".ticket-code code").inner_text()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{26}", code)
    screenshot(p, "welsh-ticket", 360)
    assert serious_accessibility_violations(p) == []
    visitor.close()

    # The steward's phone: English at first, Cymraeg from the switch, then the pass and a scan.
    steward = browser.new_context(viewport=PHONE, locale="en-GB")
    s = steward.new_page()
    s.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    s.goto(f"{live_server.url}/door/{door.token}")
    s.get_by_role("link", name="Cymraeg").click()
    expect(s.locator("html")).to_have_attribute("lang", "cy")
    s.locator("#pin").fill(door.pin)  # "PIN" in both languages
    s.locator("#door-open-submit").click()
    s.wait_for_url(f"{live_server.url}/door/scan")
    assert _lang(s) == "cy"
    words = json.loads(str(s.locator("#door").get_attribute("data-words")))
    with i18n.use_language("en"):
        english = scan_page_words()
    with i18n.use_language("cy"):
        welsh = scan_page_words()
    assert words["language"] == "cy"
    s.get_by_label(cy("Or type the ticket code")).fill(code)
    with i18n.use_language("cy"):
        check = i18n.pgettext("door: a typed ticket code", "Check")
    s.get_by_role("button", name=check, exact=True).click()
    result = s.locator("#door-result")
    expect(result).to_have_attribute("data-status", re.compile("green|amber|red"))
    status = result.get_attribute("data-status")
    assert status == "green", s.locator("#door-result").inner_text()
    title = s.locator("#door-result-title").inner_text()
    assert title == welsh["admitted"] != english["admitted"], (title, welsh.get("admitted"))
    expect(s.locator("#door-result-name")).to_have_text("Rhian Example")
    screenshot(s, "welsh-door-admitted", 360)
    assert len(_moves(live_server.database_url, _registration_of(live_server, code))) == 1
    steward.close()
    assert csp == []


def _registration_of(server: LiveServer, code: str) -> int:
    import sqlalchemy as sa

    from gathering.core import schema

    async def _read(db: Database) -> int:
        r = schema.registration
        return int(
            await db.read(
                lambda conn: conn.scalar(sa.select(r.c.id).where(r.c.ticket_code == code))
            )
        )

    return _in_thread(server.database_url, _read)
