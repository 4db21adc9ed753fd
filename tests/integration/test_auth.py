"""Organiser sign-in: server-side sessions, throttling, CSRF, password reset."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
ORGANISER = ("organiser@example.org", "demo-organiser-password")


async def _count(db: Database, table: sa.Table) -> int:
    async def _read(conn: AsyncConnection) -> int:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())

    return await db.read(_read)


async def test_sign_in_opens_a_server_side_session_and_sign_out_ends_it(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    response = await sign_in(client, *ORGANISER)
    assert response.status_code == 303
    assert response.headers["location"] == "/organiser"
    set_cookie = response.headers["set-cookie"]
    assert "gathering_session=" in set_cookie
    assert "HttpOnly" in set_cookie
    assert "samesite=lax" in set_cookie.lower()
    assert await _count(db, schema.login_session) == 1

    page = await client.get("/organiser")
    assert page.status_code == 200
    assert "LLA organiser" in texts(parse_html(page.text), "//main/p[@class='lede']")[0]
    stolen = client.cookies.get("gathering_session")

    token = parse_html(page.text).xpath(
        "//form[contains(@action, '/signout')]//input[@name='csrftoken']/@value"
    )[0]
    out = await client.post("/signout", data={"csrftoken": token})
    assert out.status_code == 303
    assert await _count(db, schema.login_session) == 0

    # A copy of the old cookie no longer opens anything.
    client.cookies.set("gathering_session", stolen)
    again = await client.get("/organiser")
    assert again.status_code == 303
    assert again.headers["location"] == "/signin?next=%2Forganiser"


async def test_wrong_password_keeps_the_email_and_says_why(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    response = await sign_in(client, "organiser@example.org", "wrong password")
    assert response.status_code == 422
    doc = parse_html(response.text)
    assert doc.xpath("//input[@name='email']/@value") == ["organiser@example.org"]
    assert texts(doc, "//p[@id='password-error']") == [
        "That email address and password do not match an account."
    ]
    assert doc.xpath("//input[@name='password']/@aria-invalid") == ["true"]
    assert await _count(db, schema.login_session) == 0


async def test_repeated_failures_are_throttled_even_with_the_right_password(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    for _ in range(5):
        assert (await sign_in(client, "organiser@example.org", "guess")).status_code == 422
    response = await sign_in(client, *ORGANISER)
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.text
    assert await _count(db, schema.login_session) == 0


async def test_sign_in_without_a_csrf_token_is_refused(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    response = await client.post("/signin", data={"email": ORGANISER[0], "password": ORGANISER[1]})
    assert response.status_code == 403
    assert texts(parse_html(response.text), "//h1") == ["This form has expired"]
    assert await _count(db, schema.login_session) == 0


async def test_next_cannot_redirect_off_site(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    token = await csrf_from(client, "/signin?next=//evil.example/x")
    response = await client.post(
        "/signin",
        data={
            "csrftoken": token,
            "email": ORGANISER[0],
            "password": ORGANISER[1],
            "next": "//evil.example/x",
        },
    )
    assert response.headers["location"] == "/organiser"


async def test_organiser_pages_send_anonymous_visitors_to_sign_in(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/organiser")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Forganiser"


# The password reset's tests: test_auth_reset.py (its mail goes through a real SMTP server).
