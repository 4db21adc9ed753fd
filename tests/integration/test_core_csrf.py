"""Forged state-changing requests (issue 14 #9): a third-party page makes a visitor's browser post
to the attendee forms, which carry no cookie. Browsers say where such a request comes from
(``Sec-Fetch-Site``, ``Origin``); the app refuses what does not come from its own pages, and
stores nothing. The JSON API for other sites' forms stays open, as documented."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.demo import NEXT_SLUG
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import parse_html

pytestmark = pytest.mark.anyio
SLUG = NEXT_SLUG  # open for registration, with questions
OWN = "http://127.0.0.1:8000"
EVIL = "https://evil.example"
CROSS_SITE = {"origin": EVIL, "sec-fetch-site": "cross-site"}


async def _registrations(db: Database) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        r = schema.registration
        return list((await conn.execute(sa.select(r).order_by(r.c.id))).all())

    return await db.read(_read)


def _data(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form pairs as httpx takes them (a name may repeat)."""
    data: dict[str, list[str]] = {}
    for key, value in pairs:
        data.setdefault(key, []).append(value)
    return data


async def _form(client: httpx.AsyncClient, path: str, action_ends: str) -> list[tuple[str, str]]:
    """The fields of the page's form whose action ends so, as a browser would send them."""
    doc = parse_html((await client.get(path)).text)
    [form] = [
        f for f in doc.xpath("//form[@method='post']") if f.get("action").endswith(action_ends)
    ]
    return [(k, v) for k, v in form.form_values()]


async def _registration_fields(client: httpx.AsyncClient, email: str) -> list[tuple[str, str]]:
    fields = dict(await _form(client, f"/g/{SLUG}/register", "/register"))
    doc = parse_html((await client.get(f"/g/{SLUG}/register")).text)
    ticket = doc.xpath("//input[@name='ticket_type_id']/@value")[0]
    fields.update(name="Forged Person", email=email, ticket_type_id=ticket)
    fields.pop("csrftoken", None)  # a third-party page cannot read it
    for question in doc.xpath("//textarea/@name | //input[starts-with(@name,'answer_')]/@name"):
        fields.setdefault(question, "something")
    return list(fields.items())


@pytest.mark.parametrize(
    "headers",
    [
        CROSS_SITE,  # every current browser
        {"origin": EVIL},  # an older browser: Origin only
        {"origin": "null", "sec-fetch-site": "cross-site"},  # a sandboxed or no-referrer page
        {"origin": "https://gathering.example.org", "sec-fetch-site": "same-site"},  # a sibling
        {"origin": "null"},  # an older browser hiding the origin, and no token
    ],
)
async def test_a_third_party_page_cannot_register_a_visitor(
    db: Database, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    fields = await _registration_fields(client, "victim@example.org")
    before = await _registrations(db)
    client.cookies.clear()  # the visitor's browser sends no cookie of ours (none exist yet)
    answer = await client.post(f"/g/{SLUG}/register", data=_data(fields), headers=headers)
    assert answer.status_code == 403
    assert parse_html(answer.text).xpath("//h1/text()") == ["This form has expired"]
    assert await _registrations(db) == before


async def test_the_own_page_still_registers_without_a_cookie(
    db: Database, client: httpx.AsyncClient
) -> None:
    """The same cookieless post, sent by the site's own page, registers: what the browser says
    about the origin is what tells them apart."""
    await load_demo(db, secret_key=TEST_SECRET)
    fields = await _registration_fields(client, "real@example.org")
    before = len(await _registrations(db))
    client.cookies.clear()
    for headers in ({"sec-fetch-site": "same-origin", "origin": "null"}, {"origin": OWN}):
        answer = await client.post(f"/g/{SLUG}/register", data=_data(fields), headers=headers)
        assert answer.status_code == 200, answer.text[:300]
        assert parse_html(answer.text).xpath("//h1/text()") == ["Check your email"]
    emails = [r.email for r in await _registrations(db)]
    assert len(emails) == before + 1 and "real@example.org" in emails  # the second is the same


async def test_a_third_party_page_cannot_change_a_visitors_answers(
    db: Database, client: httpx.AsyncClient
) -> None:
    logins = await load_demo(db, secret_key=TEST_SECRET)
    manage = f"/r/{logins.attendee_manage_token}"
    fields = [
        (k, "forged") if k.startswith("answer_") else (k, v)
        for k, v in await _form(client, manage, "/answers")
    ]
    assert any(k.startswith("answer_") for k, _ in fields)
    before = await _registrations(db)
    client.cookies.clear()
    forged = [(k, v) for k, v in fields if k != "csrftoken"]
    answer = await client.post(f"{manage}/answers", data=_data(forged), headers=CROSS_SITE)
    assert answer.status_code == 403
    assert await _registrations(db) == before
    # The visitor's own page, with its token and cookie, still saves (the refusal was the forgery).
    fields = [
        (k, "mine") if k.startswith("answer_") else (k, v)
        for k, v in await _form(client, manage, "/answers")
    ]
    saved = await client.post(
        f"{manage}/answers", data=_data(fields), headers={"sec-fetch-site": "same-origin"}
    )
    assert saved.status_code == 303
    assert await _registrations(db) != before


async def test_every_state_changing_route_refuses_a_cross_site_post(
    db: Database, client: httpx.AsyncClient, app: Any
) -> None:
    """No route is left out: each POST route, posted cross-site with a valid token and cookie
    (the worst case: a browser that sends the cookie along), is refused before it runs."""
    await load_demo(db, secret_key=TEST_SECRET)
    page = await client.get("/signin")
    [token] = parse_html(page.text).xpath("//input[@name='csrftoken']/@value")
    before = await _registrations(db)
    posted = 0
    for path in _post_paths(app.routes):
        if path.startswith("/api/"):
            continue  # the cross-origin JSON API: below
        answer = await client.post(path, data={"csrftoken": token}, headers=CROSS_SITE)
        assert answer.status_code == 403, path
        posted += 1
    assert posted >= 30
    assert await _registrations(db) == before


def _post_paths(routes: list[Any], prefix: str = "") -> list[str]:
    from starlette.routing import Mount, Route

    paths: list[str] = []
    for route in routes:
        if isinstance(route, Mount) and route.name is None:
            paths += _post_paths(route.routes, prefix + route.path)
        elif isinstance(route, Route) and "POST" in (route.methods or ()):
            path = route.path
            for name in route.param_convertors:
                path = path.replace("{" + name + ":int}", "1").replace("{" + name + "}", "x")
            paths.append(prefix + path)
    return paths


async def test_the_json_api_for_other_sites_forms_stays_cross_origin(
    db: Database, client: httpx.AsyncClient
) -> None:
    """``POST /api/gatherings/{slug}/registrations`` is meant for other sites' pages: cookieless,
    cross-site, it is answered (202) and stored; carrying our cookies, it needs the token."""
    await load_demo(db, secret_key=TEST_SECRET)
    form = (await client.get(f"/api/gatherings/{SLUG}/registration")).json()
    ticket = form["ticket_types"][0]["id"]
    body = {"name": "Api Person", "email": "api@example.org", "ticket_type_id": ticket}
    client.cookies.clear()
    headers = {**CROSS_SITE, "content-type": "application/json"}
    answer = await client.post(f"/api/gatherings/{SLUG}/registrations", json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    assert "api@example.org" in [r.email for r in await _registrations(db)]
    client.cookies.set("csrftoken", "not-signed", domain="127.0.0.1")
    refused = await client.post(f"/api/gatherings/{SLUG}/registrations", json=body, headers=headers)
    assert refused.status_code == 403
    client.cookies.clear()


async def test_a_proxy_that_rewrites_host_keeps_the_public_origin_trusted(
    db: Database, client: httpx.AsyncClient
) -> None:
    """Behind a proxy that sends its own Host, the browser's Origin is GATHERING_BASE_URL's."""
    await load_demo(db, secret_key=TEST_SECRET)
    fields = await _registration_fields(client, "proxied@example.org")
    client.cookies.clear()
    answer = await client.post(
        f"/g/{SLUG}/register", data=_data(fields), headers={"origin": OWN, "host": "10.0.0.5:8000"}
    )
    assert answer.status_code == 200
    assert "proxied@example.org" in [r.email for r in await _registrations(db)]


async def test_a_token_is_issued_once_and_sent_back_as_is(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    client.cookies.clear()
    first = await client.get("/signin")
    cookie = first.cookies["csrftoken"]
    assert "httponly" in first.headers["set-cookie"].lower()
    assert "samesite=lax" in first.headers["set-cookie"].lower()
    [token] = parse_html(first.text).xpath("//input[@name='csrftoken']/@value")
    assert token == cookie
    again = await client.get("/signin")
    assert "set-cookie" not in again.headers  # the valid cookie is kept, not replaced
    assert parse_html(again.text).xpath("//input[@name='csrftoken']/@value") == [token]
    assert "Cookie" in again.headers["vary"]
    # A forged cookie is replaced by a signed one.
    client.cookies.set("csrftoken", "forged", domain="127.0.0.1")
    replaced = await client.get("/signin")
    assert replaced.cookies["csrftoken"] not in ("forged", "")
