"""Issue 5's acceptance in a real browser: from the public session page to a ticket whose QR
code decodes to the ticket code, through the confirmation email sent over real SMTP."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from gathering.demo_data import NEXT_SLUG
from tests.e2e.conftest import LiveServer, screenshot, serious_accessibility_violations
from tests.helpers import decode_qr

pytestmark = pytest.mark.browser
SLUG = NEXT_SLUG  # the demo's upcoming gathering: past ones take no registrations


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        raw = envelope.content  # type: ignore[attr-defined]
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def wait_for(self, subject_part: str, to: str, timeout: float = 20) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if subject_part in str(message["Subject"]) and to in str(message["To"]):
                    return message
            time.sleep(0.2)
        subjects = [str(m["Subject"]) for m in self.messages]
        raise AssertionError(f"no mail '{subject_part}' to {to}; got {subjects}")


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port  # type: ignore[attr-defined]
    yield handler
    controller.stop()


@pytest.fixture
def server_env(inbox: Inbox) -> dict[str, str]:
    return {
        "GATHERING_SMTP_HOST": "127.0.0.1",
        "GATHERING_SMTP_PORT": str(inbox.port),  # type: ignore[attr-defined]
        "GATHERING_SMTP_STARTTLS": "false",
        "GATHERING_MAIL_FROM": "Gathering <gathering@example.org>",
    }


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_register_from_the_session_page_to_a_scannable_ticket(
    live_server: LiveServer, inbox: Inbox, page: object
) -> None:
    p = page
    csp_errors: list[str] = []
    p.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )  # type: ignore[attr-defined]
    p.goto(f"{live_server.url}/g/{SLUG}")  # type: ignore[attr-defined]
    p.get_by_role("link", name="Repeal the anti-union laws").click()  # type: ignore[attr-defined]
    p.get_by_role("link", name="Register for this session").click()  # type: ignore[attr-defined]
    assert p.get_by_label("Repeal the anti-union laws").is_checked()  # type: ignore[attr-defined]
    p.get_by_label("Your name").fill("Rosa Example")  # type: ignore[attr-defined]
    p.get_by_label("Email address").fill("rosa@example.org")  # type: ignore[attr-defined]
    p.get_by_label("Concession").check()  # type: ignore[attr-defined]
    screenshot(p, "register-form", 360)
    assert serious_accessibility_violations(p) == []
    p.get_by_role("button", name="Register").click()  # type: ignore[attr-defined]
    assert p.locator("h1").inner_text() == "Check your email"  # type: ignore[attr-defined]

    confirm_mail = inbox.wait_for("Confirm", "rosa@example.org")
    match = re.search(r"http://127\.0\.0\.1:\d+/r/confirm/\S+", _text(confirm_mail))
    assert match, _text(confirm_mail)
    p.goto(match.group(0))  # type: ignore[attr-defined]
    p.get_by_role("button", name="Confirm my registration").click()  # type: ignore[attr-defined]
    assert "your registration is confirmed" in p.get_by_role("status").inner_text()  # type: ignore[attr-defined]
    p.get_by_role("link", name="Show my ticket").click()  # type: ignore[attr-defined]

    code = p.locator(".ticket-code code").inner_text()  # type: ignore[attr-defined]
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{26}", code)
    p.wait_for_load_state("load")  # type: ignore[attr-defined]  # images loaded; no eval under our CSP
    shot = p.locator("img.ticket-qr").screenshot()  # type: ignore[attr-defined]
    assert decode_qr(shot) == [code]  # the QR as a phone screen shows it
    for width in (360, 1280):
        screenshot(p, "ticket", width)
    assert serious_accessibility_violations(p) == []

    ticket_mail = inbox.wait_for("", "rosa@example.org", timeout=20)
    ticket_mail = next(m for m in inbox.messages if code in _text(m))
    [qr] = [part for part in ticket_mail.walk() if part.get_content_type() == "image/png"]
    assert decode_qr(qr.get_content()) == [code]
    [ics] = [part for part in ticket_mail.walk() if part.get_content_type() == "text/calendar"]
    assert "Repeal the anti-union laws" in ics.get_content()
    assert csp_errors == []
