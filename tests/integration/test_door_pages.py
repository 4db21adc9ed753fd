"""The steward's door pages: the pass link's PIN page and the scan page. They render for the
right device, say in words what is wrong otherwise, keep the strict CSP and never list people."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import httpx
import lxml.html
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.templating import STATIC
from gathering.door import api as steward
from gathering.door import pages as door_pages
from tests.door_data import ACCESS_NEEDS, SESSION_TITLE, DoorData, insert_open_door
from tests.helpers import parse_html, texts

pytestmark = pytest.mark.anyio


async def _execute(db: Database, statement: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_write)


def _text(doc: lxml.html.HtmlElement) -> str:
    return " ".join(doc.text_content().split())


def _assert_door_headers(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-robots-tag"] == "noindex"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"


def _assert_no_inline_code(doc: lxml.html.HtmlElement) -> None:
    """Nothing the strict CSP would block: scripts come from files, styles from sheets."""
    scripts = doc.xpath("//script")
    assert scripts, "the page should load its script"
    for script in scripts:
        assert script.get("src", "").startswith("/static/"), lxml.html.tostring(script)
        assert not (script.text or "").strip()
    assert doc.xpath("//style") == []
    assert doc.xpath("//*[@style]") == []
    handlers = [a for el in doc.iter() for a in el.attrib if str(a).lower().startswith("on")]
    assert handlers == []
    assert doc.xpath("//meta[@name='robots']/@content") == ["noindex, nofollow"]


def _assert_no_people(response: httpx.Response, door: DoorData) -> None:
    assert door.name not in response.text
    assert "example.org" not in response.text  # no email address either
    assert door.code not in response.text
    assert ACCESS_NEEDS not in response.text


async def _open_device(client: httpx.AsyncClient, door: DoorData) -> str:
    """Do what door-open.js does: read the page's CSRF token, post the PIN as JSON."""
    page = parse_html((await client.get(f"/door/{door.token}")).text)
    [form] = page.xpath("//form[@id='door-open-form']")
    csrf = form.xpath(".//input[@name='csrftoken']/@value")[0]
    response = await client.post(
        form.get("data-open-url"),
        json={"token": form.get("data-token"), "pin": door.pin},
        headers={"x-csrftoken": csrf},
    )
    assert response.status_code == 200, response.text
    assert steward.COOKIE in client.cookies
    return str(csrf)


async def test_open_page_asks_for_the_pin_and_shows_no_people(
    db: Database, client: httpx.AsyncClient
) -> None:
    door = await insert_open_door(db)
    response = await client.get(f"/door/{door.token}")
    assert response.status_code == 200
    _assert_door_headers(response)
    _assert_no_people(response, door)
    doc = parse_html(response.text)
    assert texts(doc, "//h1") == ["Steward pass"]
    assert texts(doc, "//p[@class='door-pass-name']/strong") == ["North door, test pass"]
    assert texts(doc, "//p[@class='door-pass-name']")[0].endswith("Door test gathering")
    [form] = doc.xpath("//form[@id='door-open-form']")
    assert form.get("method") == "post"
    assert form.get("data-token") == door.token
    assert form.get("data-open-url") == "/door/api/open"
    assert form.get("data-scan-url") == "/door/scan"
    [pin] = form.xpath(".//input[@name='pin']")
    assert (pin.get("inputmode"), pin.get("autocomplete")) == ("numeric", "off")
    assert texts(doc, "//label[@for='pin']") == ["PIN"]
    assert form.xpath(".//input[@name='csrftoken']/@value") != [""]
    assert doc.xpath("//script/@src")[0].startswith("/static/js/door-open.js?v=")
    assert "already signed in" not in _text(doc)
    # For a stale CSRF token (not the PIN's fault): hidden until door-open.js needs it.
    [stale] = doc.xpath("//*[@id='door-open-stale']")
    assert stale.get("hidden") is not None
    assert stale.get("role") == "alert"
    assert "This page is out of date — reload it" in _text(stale)
    assert texts(stale, ".//button[@id='door-open-reload']") == ["Reload"]
    _assert_no_inline_code(doc)


async def test_open_page_for_an_unknown_token_is_a_404_in_words(
    db: Database, client: httpx.AsyncClient
) -> None:
    await insert_open_door(db)
    for path in (f"/door/{secrets.token_urlsafe(32)}", "/door/nope", "/door/api"):
        response = await client.get(path)
        assert response.status_code == 404, path
        doc = parse_html(response.text)
        assert texts(doc, "//h1") == ["Not Found"]
        assert "This steward pass link is not valid." in _text(doc)
        assert doc.xpath("//input[@name='pin']") == []


async def test_open_page_of_an_unusable_pass_says_why_without_a_pin_field(
    db: Database, client: httpx.AsyncClient
) -> None:
    door = await insert_open_door(db)
    sp = schema.steward_pass
    now = dt.datetime.now(dt.UTC)
    cases = [
        ({"valid_until": now - dt.timedelta(minutes=1)}, 410, "This pass has expired"),
        ({"valid_from": now + dt.timedelta(days=1)}, 200, "This pass is not valid yet"),
        ({"revoked_at": now}, 410, "This pass has been revoked"),
    ]
    for values, status, heading in cases:
        await _execute(db, sa.update(sp).where(sp.c.id == door.pass_id).values(values))
        response = await client.get(f"/door/{door.token}")
        assert response.status_code == status, heading
        doc = parse_html(response.text)
        assert texts(doc, "//div[contains(@class, 'door-notice')]/h2") == [heading]
        assert doc.xpath("//input[@name='pin']") == []


async def test_scan_page_without_a_device_says_so_and_shows_nothing(
    db: Database, client: httpx.AsyncClient
) -> None:
    door = await insert_open_door(db)
    response = await client.get("/door/scan")
    assert response.status_code == 401
    _assert_door_headers(response)
    _assert_no_people(response, door)
    doc = parse_html(response.text)
    assert texts(doc, "//h1") == ["This phone is not signed in for scanning"]
    assert "enter the PIN" in _text(doc)
    assert doc.xpath("//*[@id='door']") == []
    assert doc.xpath("//select") == []
    client.cookies.set(steward.COOKIE, "forged-device-token", path="/door")
    forged = await client.get("/door/scan")
    assert forged.status_code == 401
    assert texts(parse_html(forged.text), "//h1") == ["This phone is not signed in for scanning"]


async def test_scan_page_for_an_opened_pass_offers_its_sessions_and_never_people(
    db: Database, client: httpx.AsyncClient
) -> None:
    door = await insert_open_door(db)
    csrf = await _open_device(client, door)
    # Someone is admitted first: the page still shows only numbers and the pass's own words.
    scanned = await client.post(
        "/door/api/scan",
        json={
            "code": door.code,
            "session_id": door.session_id,
            "door": "North",
            "nonce": "page-1",
            "kind": "entry",
        },
        headers={"x-csrftoken": csrf},
    )
    assert scanned.json()["status"] == "green"

    response = await client.get("/door/scan")
    assert response.status_code == 200
    _assert_door_headers(response)
    _assert_no_people(response, door)
    doc = parse_html(response.text)
    assert texts(doc, "//p[@class='door-bar-title']") == [
        "Door test gathering North door, test pass"
    ]
    options = doc.xpath("//select[@id='door-session']/option")
    assert [o.get("value") for o in options] == ["", str(door.session_id)]
    assert options[0].text_content() == "The whole gathering"
    assert options[1].text_content().startswith(f"{SESSION_TITLE} · ")
    assert [o.get("value") for o in options if o.get("selected") is not None] == [
        str(door.session_id)  # the session admitting now is offered first
    ]
    [root] = doc.xpath("//div[@id='door']")
    assert {k: root.get(f"data-{k}") for k in ("scan-url", "undo-url", "counts-url")} == {
        "scan-url": "/door/api/scan",
        "undo-url": "/door/api/undo",
        "counts-url": "/door/api/counts",
    }
    assert root.get("data-close-url") == "/door/api/close"
    assert root.get("data-events-url") == "/door/api/events"
    assert root.get("data-search-url") == "/door/api/search"
    assert root.get("data-timezone") == "Europe/London"
    assert doc.xpath("//meta[@name='csrf-token']/@content")[0]
    for hook in (
        "door-video",
        "door-camera-button",
        "door-code",
        "door-name",
        "door-undo",
        "door-search",
        "door-search-results",
        "door-result",
        "door-announce",
        "door-count-in",
    ):
        assert len(doc.xpath(f"//*[@id='{hook}']")) == 1, hook
    assert doc.xpath("//*[@id='door-announce']/@aria-live") == ["assertive"]
    # For a stale CSRF token: a banner and a button on the answer, hidden until needed.
    [stale] = doc.xpath("//*[@id='door-stale']")
    assert (stale.get("hidden"), stale.get("role")) == ("", "alert")
    assert _text(stale).startswith("This page is out of date — reload it.")
    assert texts(stale, ".//button[@id='door-stale-reload']") == ["Reload"]
    [reload] = doc.xpath("//div[@id='door-result']//button[@id='door-result-reload']")
    assert (reload.get("hidden"), reload.text_content()) == ("", "Reload")
    assert doc.xpath("//*[@id='door-search-results']/*") == []  # filled only by a search
    assert texts(doc, "//label[@for='door-code']") == ["Or type the ticket code"]
    scripts = doc.xpath("//script/@src")
    assert scripts[-1].startswith("/static/js/door-scan.js?v=")
    if (STATIC / door_pages.DECODER).is_file():
        assert scripts[0].startswith("/static/vendor/jsQR.js?v=")
    _assert_no_inline_code(doc)


async def test_scan_page_of_a_revoked_pass_says_so(db: Database, client: httpx.AsyncClient) -> None:
    door = await insert_open_door(db)
    await _open_device(client, door)
    sp = schema.steward_pass
    now = dt.datetime.now(dt.UTC)
    await _execute(db, sa.update(sp).where(sp.c.id == door.pass_id).values(revoked_at=now))
    response = await client.get("/door/scan")
    assert response.status_code == 403
    doc = parse_html(response.text)
    assert texts(doc, "//h1") == ["This steward pass cannot be used"]
    assert "has been revoked" in _text(doc)
    assert doc.xpath("//*[@id='door']") == []


async def test_open_page_knows_this_phone_is_signed_in_until_it_signs_out(
    db: Database, client: httpx.AsyncClient
) -> None:
    door = await insert_open_door(db)
    csrf = await _open_device(client, door)
    doc = parse_html((await client.get(f"/door/{door.token}")).text)
    assert texts(doc, "//p[contains(@class, 'door-notice')]/a") == ["Go to scanning"]
    assert doc.xpath("//p[contains(@class, 'door-notice')]/a/@href") == ["/door/scan"]
    closed = await client.post("/door/api/close", json={}, headers={"x-csrftoken": csrf})
    assert closed.status_code == 200
    assert (await client.get("/door/scan")).status_code == 401


async def test_door_pages_do_not_swallow_the_door_api(
    db: Database, client: httpx.AsyncClient
) -> None:
    await insert_open_door(db)
    for path in ("/door/api/pass", "/door/api/counts"):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"] == "not_signed_in"


async def test_scan_page_of_a_pass_for_some_sessions_offers_no_whole_gathering(
    db: Database, client: httpx.AsyncClient
) -> None:
    door = await insert_open_door(db)
    sp, sps = schema.steward_pass, schema.steward_pass_session
    await _execute(db, sa.update(sp).where(sp.c.id == door.pass_id).values(all_sessions=False))
    await _execute(db, sa.insert(sps).values(pass_id=door.pass_id, session_id=door.session_id))
    await _open_device(client, door)
    doc = parse_html((await client.get("/door/scan")).text)
    values: list[Any] = doc.xpath("//select[@id='door-session']/option/@value")
    assert values == [str(door.session_id)]


async def test_a_stale_csrf_token_is_an_html_refusal_unlike_the_pass_s_own_json_ones(
    db: Database, client: httpx.AsyncClient
) -> None:
    """What door-scan.js tells apart: the CSRF check's refusal (the page is out of date: reload)
    is an HTML 403 and records nothing; a refused pass is a JSON answer with the pass's reason
    code."""
    door = await insert_open_door(db)
    csrf = await _open_device(client, door)
    body = {"code": door.code, "session_id": None, "door": "", "nonce": "stale-1", "kind": "entry"}
    # The browser was restarted: its session-only csrftoken cookie is gone, the door cookie not.
    client.cookies.delete("csrftoken")
    assert steward.COOKIE in client.cookies
    refused = await client.post("/door/api/scan", json=body, headers={"x-csrftoken": csrf})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "This form has expired" in _text(parse_html(refused.text))

    async def _scans(conn: AsyncConnection) -> list[Any]:
        query = sa.select(schema.scan.c.id).where(schema.scan.c.pass_id == door.pass_id)
        return list((await conn.execute(query)).all())

    assert await db.read(_scans) == []

    # Reloading the page gives a new token, and the same scan goes through.
    page = parse_html((await client.get("/door/scan")).text)
    fresh = page.xpath("//meta[@name='csrf-token']/@content")[0]
    scanned = await client.post("/door/api/scan", json=body, headers={"x-csrftoken": fresh})
    assert (scanned.status_code, scanned.json()["status"]) == (200, "green")

    sp = schema.steward_pass
    now = dt.datetime.now(dt.UTC)
    await _execute(db, sa.update(sp).where(sp.c.id == door.pass_id).values(revoked_at=now))
    counts = await client.get("/door/api/counts")
    assert counts.status_code == 403
    assert counts.headers["content-type"] == "application/json"
    assert counts.json()["error"] == "pass_revoked"
    again = {**body, "nonce": "stale-2"}
    answer = await client.post("/door/api/scan", json=again, headers={"x-csrftoken": fresh})
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["reason"]) == ("red", "pass_revoked")
