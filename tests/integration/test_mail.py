"""Mail: outbox rows queued in a write unit, delivered by the sender to a real SMTP server.

The server is aiosmtpd on 127.0.0.1; received messages are parsed with the email package.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import socket
import threading
from email.message import EmailMessage
from typing import Any

import httpx
import icalendar
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.app import create_app
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.settings import Settings
from gathering.mail import messages as mail
from gathering.mail import sender as mailer
from gathering.mail.queries import queue_message
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import decode_qr, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
ADMIN = ("admin@example.org", "demo-admin-password")
ORGANISER = ("organiser@example.org", "demo-organiser-password")
T0 = dt.datetime(2027, 9, 20, 9, 0, tzinfo=dt.UTC)
CODE = "ABCDEFGHJKMNPQRSTUVWXYZ23456"

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Gathering//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:session-7@127.0.0.1\r\nDTSTAMP:20270901T120000Z\r\n"
    "DTSTART:20270921T170000Z\r\nDTEND:20270921T180000Z\r\nSUMMARY:Housing fringe\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
CONFIRMED = {
    "name": "Ada Lovelace",
    "gathering_title": "Autumn Conference 2027",
    "ticket_code": CODE,
    "ticket_url": "http://127.0.0.1:8000/m/1/abc/ticket",
    "manage_url": "http://127.0.0.1:8000/m/1/abc",
    "sessions": [
        {
            "title": "Housing fringe",
            "when_text": "Tuesday 21 September, 18:00",
            "where_text": "Hall B",
        },
        {"title": "Rail reception"},
    ],
}
ATTACHMENTS = [
    {"kind": "qr_png", "cid": "ticket-qr", "data": CODE},
    {"kind": "file", "filename": "sessions.ics", "content_type": "text/calendar", "text": ICS},
]
CONTEXTS: dict[str, dict[str, Any]] = {
    "confirm_email": {
        "name": "Ada",
        "gathering_title": "Autumn Conference 2027",
        "confirm_url": "http://127.0.0.1:8000/confirm/xyz",
        "expires_at_text": "Tuesday 21 September 2027 at 09:00 BST",
    },
    "registration_confirmed": CONFIRMED,
    "booking_changed": {
        **CONFIRMED,
        "has_ticket": False,
        "ticket_code": "",
        "places": [],
        "waiting": [{"title": "Housing fringe", "when_text": "Tuesday 21 September, 18:00"}],
        "changes": ["“Housing fringe” is full: you are on its waiting list."],
    },
    "already_registered": {
        "name": "Ada",
        "gathering_title": "Autumn Conference 2027",
        "manage_url": "http://127.0.0.1:8000/m/1/abc",
        "asked": ["Housing fringe"],
        "add_url": "http://127.0.0.1:8000/m/1/abc/sessions?session=7",
    },
    "session_cancelled": {
        "name": "Ada",
        "session_title": "Housing fringe",
        "changes_text": [],
        "when_text": "Tuesday 21 September, 18:30",
        "where_text": "Hall C",
        "status": "confirmed",
        "manage_url": "http://127.0.0.1:8000/m/1/abc",
    },
    "place_offered": {
        "name": "Ada",
        "session_title": "Housing fringe",
        "when_text": "Tuesday 21 September, 18:00",
        "accept_url": "http://127.0.0.1:8000/offer/5",
        "offer_expires_text": "Wednesday 22 September 2027 at 09:00 BST",
    },
    "registration_cancelled": {
        "name": "Ada",
        "gathering_title": "Autumn Conference 2027",
        "what_text": "your place at Housing fringe",
    },
    "session_changed": {
        "name": "Ada",
        "session_title": "Housing fringe",
        "changes_text": ["It moved to Hall C.", "It starts at 18:30."],
        "when_text": "Tuesday 21 September, 18:30",
        "where_text": "Hall C",
        "manage_url": "http://127.0.0.1:8000/m/1/abc",
    },
    "session_reminder": {
        "name": "Ada",
        "session_title": "Housing fringe",
        "when_text": "Tuesday 21 September, 18:00",
        "where_text": "Online",
        "joining_link": "https://meet.example.org/housing",
    },
    "organiser_message": {
        "name": "Ada",
        "session_title": "Housing fringe",
        "subject": "Bring your <questions>",
        "body_text": "Doors open at 17:45.\nTea provided.\n\nSee you there.",
    },
    "supporters_only": {
        "name": "Ada",
        "gathering_title": "Autumn Conference 2027",
        "sessions": [{"title": "Housing fringe", "access_note": "Sign the appeal first."}],
    },
    "password_reset": {
        "name": "Ada",
        "reset_url": "http://127.0.0.1:8000/password/reset/xyz",
        "minutes": 60,
    },
    "introduction": {
        "name": "Ada",
        "gathering_title": "Autumn Conference 2027",
        "constituency": "Hove and Portslade",
        "others": [{"name": "Bea", "email": "bea@example.org"}],
        "single_contact": "",
    },
    "introduction_single": {
        "name": "Ada",
        "gathering_title": "Autumn Conference 2027",
        "constituency": "Lewes",
        "others": [],
        "single_contact": "south-east@network.example.org",
    },
    "speaker_session_changed": {
        "speaker_id": 1,
        "gathering_id": 1,
        "session_id": 1,
        "name": "Ada",
        "session_title": "Housing for all",
        "gathering_title": "Autumn Conference 2027",
        "is_cancelled": False,
        "changes_text": ["Moved from Venue tbc to Main hall, Brighthelm Centre"],
        "when_text": "Saturday 25 September 2027, 14:30–16:00 BST",
        "where_text": "Main hall, Brighthelm Centre",
        "feed_path": "/speakers/ada/calendar.ics",
        "speaker_page_path": "/speakers/ada",
    },
    "organiser_invitation": {
        "organisation_name": "Labour Left Alliance",
        "invited_by": "Ben",
        "role_label": "Viewer (numbers only)",
        "role_explained": "Sees the dashboards' numbers of the organisation's sessions.",
        "accept_url": "http://127.0.0.1:8000/invitation/xyz",
        "days": 7,
    },
}
SUBJECTS = {
    "confirm_email": "Confirm your email to book Autumn Conference 2027",
    "registration_confirmed": "You're booked: Autumn Conference 2027",
    "booking_changed": "Your booking has changed: Autumn Conference 2027",
    "already_registered": "You're already registered: Autumn Conference 2027",
    "session_cancelled": "Cancelled: Housing fringe",
    "place_offered": "A place is free for you: Housing fringe",
    "registration_cancelled": "Cancelled: your place at Housing fringe · Autumn Conference 2027",
    "session_changed": "Changed: Housing fringe",
    "session_reminder": "Reminder: Housing fringe, Tuesday 21 September, 18:00",
    "organiser_message": "Bring your <questions> · Housing fringe",
    "supporters_only": "Supporters only: Housing fringe · Autumn Conference 2027",
    "password_reset": "Reset your Gathering password",
    "introduction": "Meet others from your constituency · Autumn Conference 2027",
    "introduction_single": "No one else from your constituency, this time · Autumn Conference 2027",
    "speaker_session_changed": "Changed: your session Housing for all",
    "organiser_invitation": "Ben invites you to Labour Left Alliance on Gathering",
}


# --- a real SMTP server ---------------------------------------------------------------------------


class Recorder:
    """aiosmtpd handler keeping every accepted message; refuses addresses at refused.example."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def parsed(self) -> list[EmailMessage]:
        with self.lock:
            return [
                email.message_from_bytes(content, policy=email.policy.default)  # type: ignore[misc]
                for _sender, _rcpts, content in self.messages
            ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SMTPServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.recorder = Recorder()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server():
    server = SMTPServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stopped_smtp_server():
    server = SMTPServer(free_port())
    yield server
    server.stop()


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def mail_settings(db: Database, port: int) -> Settings:
    return Settings(
        database_url=db.url,
        secret_key=TEST_SECRET,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        mail_from="Gathering <mail@127.0.0.1>",
    )


async def queue(db: Database, count: int = 1, **overrides: Any) -> list[int]:
    values: dict[str, Any] = {
        "kind": "registration_confirmed",
        "to_address": "ada@example.org",
        "context": CONFIRMED,
        "attachments": ATTACHMENTS,
        "now": T0,
    }
    values.update(overrides)

    async def _write(conn: AsyncConnection) -> list[int]:
        return [await mail.queue(conn, **values) for _ in range(count)]

    return await db.write(_write)


async def outbox_rows(db: Database) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        query = sa.select(schema.outbox).order_by(schema.outbox.c.id)
        return list((await conn.execute(query)).all())

    return await db.read(_read)


# --- delivery and MIME structure ------------------------------------------------------------------


async def test_confirmed_mail_has_text_html_inline_qr_and_ics(db: Database, smtp_server):
    [message_id] = await queue(db)
    sender = mailer.MailSender(db, mail_settings(db, smtp_server.port), clock=Clock(T0))
    await sender.send_until_idle()

    [(mail_from, rcpts, _content)] = smtp_server.recorder.messages
    assert (mail_from, rcpts) == ("mail@127.0.0.1", ["ada@example.org"])
    [msg] = smtp_server.recorder.parsed()
    assert msg["To"] == "ada@example.org"
    assert msg["Subject"] == "You're booked: Autumn Conference 2027"
    assert msg["Message-ID"] == f"<outbox-{message_id}@127.0.0.1>"
    assert msg["Auto-Submitted"] == "auto-generated"
    structure = [part.get_content_type() for part in msg.walk()]
    assert structure == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "text/calendar",
    ]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert f"Your ticket code: {CODE}" in text
    assert "Hall B" in text and "http://127.0.0.1:8000/m/1/abc" in text
    img = parse_html(html).xpath("//img[@src='cid:ticket-qr']")
    assert len(img) == 1 and CODE in img[0].get("alt")
    assert texts(parse_html(html), "//li/strong") == ["Housing fringe", "Rail reception"]

    [png] = [part for part in msg.walk() if part.get_content_type() == "image/png"]
    assert png["Content-ID"] == "<ticket-qr>"
    data = png.get_content()
    assert decode_qr(data) == [CODE]  # what a steward's scanner reads

    [ics] = [part for part in msg.walk() if part.get_content_type() == "text/calendar"]
    assert ics.get_filename() == "sessions.ics"
    calendar = icalendar.Calendar.from_ical(ics.get_content())
    [event] = calendar.walk("VEVENT")
    assert (str(event["UID"]), str(event["SUMMARY"])) == ("session-7@127.0.0.1", "Housing fringe")

    [row] = await outbox_rows(db)
    assert (row.sent_at, row.attempts, row.last_error, row.locked_until) == (T0, 1, "", None)


async def test_every_kind_renders_text_and_html(db: Database, smtp_server):
    assert set(CONTEXTS) == set(SUBJECTS) == set(mail.KINDS)
    ids = {}
    for kind, context in CONTEXTS.items():
        [ids[kind]] = await queue(db, kind=kind, context=context, attachments=[])

    # A message stored already rendered (as password resets were queued before they had
    # templates) still goes out as it was stored.
    async def _reset(conn: AsyncConnection) -> None:
        await queue_message(
            conn,
            kind="password_reset",
            to_address="admin@example.org",
            subject="Reset your Gathering password",
            body_text="Choose a new password here: http://127.0.0.1:8000/r/x\n",
            now=T0,
        )

    await db.write(_reset)
    sender = mailer.MailSender(db, mail_settings(db, smtp_server.port), clock=Clock(T0))
    await sender.send_until_idle()

    received = {msg["Message-ID"]: msg for msg in smtp_server.recorder.parsed()}
    assert len(received) == len(CONTEXTS) + 1
    for kind, message_id in ids.items():
        msg = received[f"<outbox-{message_id}@127.0.0.1>"]
        assert msg["Subject"] == SUBJECTS[kind]
        assert [p.get_content_type() for p in msg.walk()] == [
            "multipart/alternative",
            "text/plain",
            "text/html",
        ]
        text = msg.get_body(("plain",)).get_content()
        html = parse_html(msg.get_body(("html",)).get_content())
        # An invitation goes to someone whose name is not known yet.
        hello = "Hello Ada" if "name" in CONTEXTS[kind] else "Hello,"
        assert text.startswith(hello)
        assert texts(html, "//p")[0].startswith(hello)
        # Every mail says why it came; the manage link only where it was given.
        assert "You get this email because" in text
        assert ("See or change your booking" in text) == ("manage_url" in CONTEXTS[kind])
    organiser = received[f"<outbox-{ids['organiser_message']}@127.0.0.1>"]
    html = parse_html(organiser.get_body(("html",)).get_content())
    assert "Doors open at 17:45." in texts(html, "//blockquote/p")[0]
    assert html.xpath("//questions") == []  # escaped, not markup
    templated = received[f"<outbox-{ids['password_reset']}@127.0.0.1>"]
    text = templated.get_body(("plain",)).get_content()
    assert "http://127.0.0.1:8000/password/reset/xyz" in text
    assert "within 60 minutes" in text
    html = parse_html(templated.get_body(("html",)).get_content())
    assert html.xpath("//a/@href")[0] == "http://127.0.0.1:8000/password/reset/xyz"
    [reset] = [m for m in received.values() if m["To"] == "admin@example.org"]
    assert reset.get_content_type() == "text/plain"
    assert reset["Subject"] == "Reset your Gathering password"


async def test_queue_refuses_unknown_kind_and_non_json_context(db: Database):
    with pytest.raises(ValueError, match="unknown mail kind"):
        await queue(db, kind="newsletter")
    with pytest.raises(ValueError, match="plain JSON"):
        await queue(db, context={"when": T0})
    with pytest.raises(ValueError, match="attachment"):
        await queue(db, attachments=[{"kind": "qr_png", "cid": "ticket-qr"}])
    assert await outbox_rows(db) == []


async def test_missing_required_key_fails_visibly_and_others_still_go(db: Database, smtp_server):
    [broken] = await queue(db, kind="confirm_email", context={"name": "Ada"})
    [fine] = await queue(db, kind="confirm_email", context=CONTEXTS["confirm_email"])
    sender = mailer.MailSender(db, mail_settings(db, smtp_server.port), clock=Clock(T0))
    await sender.send_until_idle()
    assert [m["Message-ID"] for m in smtp_server.recorder.parsed()] == [
        f"<outbox-{fine}@127.0.0.1>"
    ]
    rows = {row.id: row for row in await outbox_rows(db)}
    assert rows[broken].sent_at is None
    assert "gathering_title" in rows[broken].last_error
    assert rows[broken].send_after == T0 + dt.timedelta(seconds=30)


# --- failures, retries, replicas ------------------------------------------------------------------


async def test_smtp_down_loses_nothing_and_delivers_each_once_when_back(
    db: Database, stopped_smtp_server
):
    server = stopped_smtp_server
    ids = await queue(
        db, 20, kind="confirm_email", context=CONTEXTS["confirm_email"], attachments=[]
    )
    clock = Clock(T0)
    sender = mailer.MailSender(db, mail_settings(db, server.port), clock=clock, batch_size=7)

    await sender.send_until_idle()  # connection refused
    rows = await outbox_rows(db)
    assert [r.id for r in rows] == ids
    assert {(r.sent_at, r.attempts, r.locked_until, r.send_after) for r in rows} == {
        (None, 1, None, T0 + dt.timedelta(seconds=30))
    }
    assert all("refused" in r.last_error.lower() or "connect" in r.last_error.lower() for r in rows)

    clock.now = T0 + dt.timedelta(seconds=31)
    await sender.send_until_idle()  # still down: the second attempt backs off twice as long
    rows = await outbox_rows(db)
    assert {(r.attempts, r.send_after) for r in rows} == {(2, clock.now + dt.timedelta(minutes=1))}

    server.start()
    clock.now += dt.timedelta(seconds=30)
    await sender.send_until_idle()
    assert smtp_server_ids(server) == []  # not due yet: backoff holds
    clock.now += dt.timedelta(seconds=31)
    await sender.send_until_idle()
    clock.now += dt.timedelta(hours=3)
    await sender.send_until_idle()
    assert sorted(smtp_server_ids(server)) == sorted(f"<outbox-{i}@127.0.0.1>" for i in ids)
    rows = await outbox_rows(db)
    assert {(r.attempts, r.last_error, r.sent_at is not None) for r in rows} == {(3, "", True)}


def smtp_server_ids(server: SMTPServer) -> list[str]:
    return [str(m["Message-ID"]) for m in server.recorder.parsed()]


async def test_two_replicas_deliver_each_message_once(db: Database, smtp_server):
    ids = await queue(
        db, 40, kind="confirm_email", context=CONTEXTS["confirm_email"], attachments=[]
    )
    other = Database(db.url)
    try:
        settings = mail_settings(db, smtp_server.port)
        first = mailer.MailSender(db, settings, clock=Clock(T0), batch_size=3)
        second = mailer.MailSender(other, settings, clock=Clock(T0), batch_size=3)
        await asyncio.gather(first.send_until_idle(), second.send_until_idle())
    finally:
        await other.dispose()
    received = smtp_server_ids(smtp_server)
    assert sorted(received) == sorted(f"<outbox-{i}@127.0.0.1>" for i in ids)
    rows = await outbox_rows(db)
    assert {(r.attempts, r.sent_at) for r in rows} == {(1, T0)}


async def test_crashed_replicas_lease_expires_then_another_sends(db: Database, smtp_server):
    [message_id] = await queue(db, kind="confirm_email", context=CONTEXTS["confirm_email"])
    # A replica leases the message and dies before sending.
    assert [m.id for m in await mail.claim_due(db, now=T0, limit=10)] == [message_id]
    clock = Clock(T0 + dt.timedelta(minutes=1))
    sender = mailer.MailSender(db, mail_settings(db, smtp_server.port), clock=clock)
    await sender.send_until_idle()
    assert smtp_server_ids(smtp_server) == []
    clock.now = T0 + mail.LEASE + dt.timedelta(seconds=1)
    await sender.send_until_idle()
    assert smtp_server_ids(smtp_server) == [f"<outbox-{message_id}@127.0.0.1>"]
    [row] = await outbox_rows(db)
    assert (row.attempts, row.sent_at) == (2, clock.now)


async def test_refused_recipient_fails_for_good_and_the_session_goes_on(db: Database, smtp_server):
    context = CONTEXTS["confirm_email"]
    [refused] = await queue(
        db, kind="confirm_email", context=context, to_address="x@refused.example"
    )
    [fine] = await queue(db, kind="confirm_email", context=context, attachments=[])
    sender = mailer.MailSender(db, mail_settings(db, smtp_server.port), clock=Clock(T0))
    await sender.send_until_idle()
    assert smtp_server_ids(smtp_server) == [f"<outbox-{fine}@127.0.0.1>"]
    rows = {row.id: row for row in await outbox_rows(db)}
    assert rows[refused].attempts == mail.MAX_ATTEMPTS
    assert rows[refused].sent_at is None and "550" in rows[refused].last_error


def test_retry_delay_doubles_to_an_hour():
    delays = [mail.retry_delay(n).total_seconds() for n in (1, 2, 3, 7, 8, mail.MAX_ATTEMPTS)]
    assert delays == [30, 60, 120, 1920, 3600, 3600]


async def test_app_lifespan_runs_the_sender_and_wake_sends_at_once(db: Database, smtp_server):
    settings = mail_settings(db, smtp_server.port)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        sender = app.state.mailer
        sender.poll_interval = 60.0  # only wake() can make it send within the test
        await asyncio.sleep(0.2)  # let the first (empty) pass finish and start waiting
        [message_id] = await queue(
            db, kind="confirm_email", context=CONTEXTS["confirm_email"], now=mail.utcnow()
        )
        sender.wake()
        for _ in range(100):
            if smtp_server.recorder.messages:
                break
            await asyncio.sleep(0.05)
    assert smtp_server_ids(smtp_server) == [f"<outbox-{message_id}@127.0.0.1>"]


# --- the admin's outbox viewer --------------------------------------------------------------------


async def test_admin_reads_the_outbox_and_a_message(db: Database, client: httpx.AsyncClient):
    await load_demo(db, secret_key=TEST_SECRET)
    [message_id] = await queue(db, now=mail.utcnow())
    assert (await sign_in(client, *ADMIN)).status_code == 303

    listing = await client.get("/admin/outbox")
    assert listing.status_code == 200
    assert listing.headers["cache-control"] == "no-store"
    page = parse_html(listing.text)
    [row] = page.xpath(f"//tbody/tr[td[1]/a='{message_id}']")
    assert row.xpath("td[1]/a/@href")[0].endswith(f"/admin/outbox/{message_id}")
    cells = texts(row, "td")
    assert cells[2:5] == ["ada@example.org", "registration_confirmed", "Queued"]
    assert "No mail server is configured" in texts(page, "//p[@class='lede']")[0]

    shown = await client.get(f"/admin/outbox/{message_id}")
    assert shown.status_code == 200
    doc = parse_html(shown.text)
    headers = dict(
        zip(
            texts(doc, "//dl[@class='outbox-headers']/dt"),
            texts(doc, "//dl[@class='outbox-headers']/dd"),
            strict=True,
        )
    )
    assert headers["Subject"] == "You're booked: Autumn Conference 2027"
    assert headers["To"] == "ada@example.org"
    assert headers["Message-ID"] == f"<outbox-{message_id}@127.0.0.1>"
    assert f"Your ticket code: {CODE}" in texts(doc, "//pre")[0]
    [frame] = doc.xpath("//iframe")
    assert frame.get("sandbox") == ""
    inner = parse_html(frame.get("srcdoc"))
    assert inner.xpath("//img/@src")[0].startswith("data:image/png;base64,")
    files = [item.rsplit(",", 1)[0] for item in texts(doc, "//section[h2='Attachments']//li")]
    assert files == ["ticket-qr.png image/png", "sessions.ics text/calendar"]

    async def _audit(conn: AsyncConnection) -> list[Any]:
        query = sa.select(schema.audit_event).where(
            schema.audit_event.c.action == "outbox_message_viewed"
        )
        return list((await conn.execute(query)).all())

    [event] = await db.read(_audit)
    assert (event.subject_kind, event.subject_id) == ("outbox", message_id)
    assert (await client.get("/admin/outbox/999999")).status_code == 404


async def test_outbox_viewer_filters_by_status_and_pages(db: Database, client: httpx.AsyncClient):
    await load_demo(db, secret_key=TEST_SECRET)
    ids = await queue(
        db, mail.PAGE_SIZE + 5, kind="confirm_email", context=CONTEXTS["confirm_email"]
    )

    async def _sent(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.update(schema.outbox).where(schema.outbox.c.id == ids[0]).values(sent_at=T0)
        )

    await db.write(_sent)
    await sign_in(client, *ADMIN)
    first = parse_html((await client.get("/admin/outbox?status=queued")).text)
    shown = [int(x) for x in first.xpath("//tbody/tr/td[1]/a/text()")]
    assert shown == sorted(ids[1:], reverse=True)[: mail.PAGE_SIZE]  # newest first
    second = parse_html((await client.get("/admin/outbox?status=queued&page=2")).text)
    assert [int(x) for x in second.xpath("//tbody/tr/td[1]/a/text()")] == sorted(
        ids[1:5], reverse=True
    )
    sent = parse_html((await client.get("/admin/outbox?status=sent")).text)
    assert [int(x) for x in sent.xpath("//tbody/tr/td[1]/a/text()")] == [ids[0]]
    assert texts(sent, "//tbody/tr/td[5]")[0].startswith("Sent 2027-09-20 09:00 UTC")


async def test_outbox_viewer_is_for_admins_only(db: Database, client: httpx.AsyncClient):
    await load_demo(db, secret_key=TEST_SECRET)
    [message_id] = await queue(db)
    anonymous = await client.get(f"/admin/outbox/{message_id}")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/signin?")
    assert (await sign_in(client, *ORGANISER)).status_code == 303
    for path in ("/admin/outbox", f"/admin/outbox/{message_id}"):
        response = await client.get(path)
        assert response.status_code == 403, path
        assert "ada@example.org" not in response.text
