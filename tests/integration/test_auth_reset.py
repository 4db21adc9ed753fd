"""Password resets: the mail goes through the outbox and its templates, sent by the background
sender to a real SMTP server (aiosmtpd); the link is single use; the log names nobody unless a
setting asks for it."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.app import create_app
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import ConfigError
from gathering.core.settings import Settings
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts
from tests.integration.test_mail import SMTPServer, free_port

pytestmark = pytest.mark.anyio
ORGANISER = ("organiser@example.org", "demo-organiser-password")


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(db_url: str, smtp_server: SMTPServer) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key=TEST_SECRET,
        password_hash_cost="test",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_starttls=False,
        mail_from="Gathering <mail@127.0.0.1>",
    )


async def _received(server: SMTPServer, count: int) -> list[EmailMessage]:
    """The messages the SMTP server has accepted, once there are ``count`` (the sender runs in
    the background, woken by the page)."""
    for _ in range(200):
        if len(server.recorder.messages) >= count:
            break
        await asyncio.sleep(0.05)
    return server.recorder.parsed()


async def _ask_for_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    token = await csrf_from(client, "/password/forgot")
    return await client.post("/password/forgot", data={"csrftoken": token, "email": email})


async def _sessions(db: Database) -> int:
    async def _read(conn: AsyncConnection) -> int:
        query = sa.select(sa.func.count()).select_from(schema.login_session)
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


async def test_password_reset_by_emailed_link_is_single_use(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *ORGANISER)
    assert await _sessions(db) == 1

    sent = await _ask_for_reset(client, "Organiser@Example.org")
    assert "we have sent it a link" in sent.text
    unknown = await _ask_for_reset(client, "nobody@example.org")
    assert "we have sent it a link" in unknown.text  # no account probing

    [mail] = await _received(smtp_server, 1)
    await asyncio.sleep(0.2)  # nothing else is on its way
    assert len(smtp_server.recorder.messages) == 1
    assert mail["To"] == "organiser@example.org"
    assert mail["Subject"] == "Reset your Gathering password"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"http://127\.0\.0\.1:8000(/password/reset/\S+)", text)
    assert link is not None
    html = parse_html(mail.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert html.xpath("//a/@href")[0] == link.group(0)
    assert texts(html, "//a") == ["Choose a new password"]

    async def _outbox(conn: AsyncConnection) -> list[tuple[str, bool, bool]]:
        query = sa.select(schema.outbox.c.kind, schema.outbox.c.context, schema.outbox.c.sent_at)
        rows = (await conn.execute(query)).all()
        return [(r.kind, r.context is not None, r.sent_at is not None) for r in rows]

    # Templated and sent by the background sender, like every other mail.
    assert await db.read(_outbox) == [("password_reset", True, True)]

    path = link.group(1)
    token = await csrf_from(client, path)
    short = await client.post(path, data={"csrftoken": token, "password": "short"})
    assert short.status_code == 422
    done = await client.post(path, data={"csrftoken": token, "password": "a brand new password"})
    assert done.status_code == 200
    assert "Your password has been changed" in done.text
    assert await _sessions(db) == 0  # every session signed out

    reused = await client.post(path, data={"csrftoken": token, "password": "another new password"})
    assert reused.status_code == 422
    assert "already been used" in reused.text
    assert (
        await sign_in(client, "organiser@example.org", "a brand new password")
    ).status_code == 303


async def test_reset_mails_to_one_address_are_limited_and_the_form_answers_alike(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    answers = [await _ask_for_reset(client, ORGANISER[0]) for _ in range(6)]
    assert {a.status_code for a in answers} == {200}
    assert {texts(parse_html(a.text), "//p[@role='status']")[0] for a in answers} == {
        "If organiser@example.org belongs to an account, we have sent it a link to choose a "
        "new password. The link works for one hour."
    }
    received = await _received(smtp_server, 3)
    await asyncio.sleep(0.3)
    assert len(received) == len(smtp_server.recorder.messages) == 3


async def _log_of_reset(settings: Settings, caplog: pytest.LogCaptureFixture) -> str:
    """What the app logs while a reset is asked for, with these settings."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
            with caplog.at_level(logging.DEBUG):
                await _ask_for_reset(c, ORGANISER[0])
    return "\n".join(record.getMessage() for record in caplog.records)


async def test_reset_links_stay_out_of_the_log_by_default(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    assert settings.env == "development"
    logged = await _log_of_reset(settings, caplog)
    assert ORGANISER[0] not in logged
    assert "/password/reset/" not in logged


async def test_reset_links_are_logged_in_development_when_asked(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    logged = await _log_of_reset(settings.replace(log_reset_links=True), caplog)
    assert re.search(
        r"password reset link for organiser@example\.org: "
        r"http://127\.0\.0\.1:8000/password/reset/\S+",
        logged,
    )


async def test_reset_links_are_never_logged_in_production(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    production = settings.replace(env="production", log_reset_links=True)
    logged = await _log_of_reset(production, caplog)
    assert ORGANISER[0] not in logged
    assert "/password/reset/" not in logged


def test_the_test_hash_cost_is_refused_in_production() -> None:
    with pytest.raises(ConfigError, match="GATHERING_PASSWORD_HASH_COST"):
        Settings(env="production", secret_key=TEST_SECRET, password_hash_cost="test").validate()
