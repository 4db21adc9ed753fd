"""The registration form and its "check your email" page are rendered once and kept
(``registration.kept_render``): each person still gets their own CSRF token (matching their own
cookie) and sees their own address, the places left are live, and a form with errors is
rendered afresh with what was typed."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from gathering.core import schema
from gathering.core.database import Database
from gathering.demo import NEXT_SLUG
from gathering.registration import kept_render
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import parse_html, texts

pytestmark = pytest.mark.anyio
FORM = f"/g/{NEXT_SLUG}/register"
PLACES = re.compile(r"(\d+) places left")


def _browser(app: Starlette) -> httpx.AsyncClient:
    """A browser of its own: its own cookie jar."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
    )


async def _rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _ticket_type(db: Database) -> str:
    t, g = schema.ticket_type, schema.gathering
    query = sa.select(t.c.id).join(g, g.c.id == t.c.gathering_id).where(g.c.slug == NEXT_SLUG)
    return str((await _rows(db, query.order_by(t.c.position)))[0].id)


def _token(text: str) -> str:
    tokens = parse_html(text).xpath("//form//input[@name='csrftoken']/@value")
    assert len(tokens) == 1, tokens
    return str(tokens[0])


def _places(text: str) -> dict[str, int]:
    """Session id → places left, as the form says."""
    doc = parse_html(text)
    found = {}
    for box in doc.xpath("//input[@name='session_ids']"):
        label = " ".join(texts(doc, f"//label[@for='{box.get('id')}']"))
        match = PLACES.search(label)
        if match:
            found[box.get("value")] = int(match.group(1))
    return found


async def test_each_person_gets_their_own_token_and_sees_their_own_address(
    db: Database, app: Starlette
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    ticket_type = await _ticket_type(db)
    before = {row.email for row in await _rows(db, sa.select(schema.registration.c.email))}
    async with _browser(app) as ann, _browser(app) as bob:
        first, second = await ann.get(FORM), await bob.get(FORM)
        assert first.status_code == second.status_code == 200
        ann_token, bob_token = _token(first.text), _token(second.text)
        assert ann_token != bob_token
        assert ann.cookies["csrftoken"] == ann_token and bob.cookies["csrftoken"] == bob_token
        assert "Cookie" in first.headers["vary"] and "Cookie" in second.headers["vary"]
        # The same page around the token.
        assert first.text.replace(ann_token, "") == second.text.replace(bob_token, "")

        # Bob's token is no good with Ann's cookie: refused, nothing stored.
        forged = {"csrftoken": bob_token, "name": "Ann", "email": "ann@example.org"}
        refused = await ann.post(FORM, data={**forged, "ticket_type_id": ticket_type})
        assert refused.status_code == 403
        emails = await _rows(db, sa.select(schema.registration.c.email))
        assert {row.email for row in emails} == before

        sent = {}
        for browser, token, name, email in (
            (ann, ann_token, "Ann Example", "ann.o'neil@example.org"),
            (bob, bob_token, "Bob Example", "bob@example.org"),
        ):
            answer = await browser.post(
                FORM,
                data={
                    "csrftoken": token,
                    "name": name,
                    "email": email,
                    "ticket_type_id": ticket_type,
                },
            )
            assert answer.status_code == 200, answer.text[:300]
            assert "no-store" in answer.headers["cache-control"]
            sent[email] = " ".join(texts(parse_html(answer.text), "//p[@class='lede']"))
            assert "o&#39;neil" in answer.text or email != "ann.o'neil@example.org"
    assert "ann.o'neil@example.org" in sent["ann.o'neil@example.org"]
    assert "bob@example.org" not in sent["ann.o'neil@example.org"]
    assert "bob@example.org" in sent["bob@example.org"]
    assert "ann.o'neil" not in sent["bob@example.org"]
    emails = {row.email for row in await _rows(db, sa.select(schema.registration.c.email))}
    assert emails - before == {"ann.o'neil@example.org", "bob@example.org"}


async def test_places_left_are_live_and_a_form_with_errors_keeps_what_was_typed(
    db: Database, app: Starlette
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    async with _browser(app) as browser:
        page = await browser.get(FORM)
        before = _places(page.text)
        assert before, "the demo's upcoming gathering has sessions with places"
        session_id, left = next(iter(before.items()))
        assert _places((await browser.get(FORM)).text) == before  # kept: the same
        answer = await browser.post(
            FORM,
            data={
                "csrftoken": _token(page.text),
                "name": "Cleo Example",
                "email": "cleo@example.org",
                "ticket_type_id": await _ticket_type(db),
                "session_ids": session_id,
            },
        )
        assert answer.status_code == 200, answer.text[:300]
        kept_before = len(kept_render._kept)
        after = _places((await browser.get(FORM)).text)
        assert after[session_id] == left - 1
        # The same kept page: only the number changed, filled in per request (no new rendering
        # while a session keeps some places, so a rush's registrations share one page).
        assert len(kept_render._kept) == kept_before
        assert {k: v for k, v in after.items() if k != session_id} == {
            k: v for k, v in before.items() if k != session_id
        }

        # A preselected session (?session=) is ticked on its own kept page, not on the plain one.
        chosen = parse_html((await browser.get(f"{FORM}?session={session_id}")).text)
        assert chosen.xpath(f"//input[@name='session_ids' and @value='{session_id}']/@checked")
        plain = parse_html((await browser.get(FORM)).text)
        assert not plain.xpath("//input[@name='session_ids']/@checked")

        typed = {"csrftoken": _token(page.text), "name": "Dora <b>Example</b>", "email": "nope"}
        wrong = await browser.post(FORM, data=typed)
        assert wrong.status_code == 422
        doc = parse_html(wrong.text)
        assert doc.xpath("//input[@name='name']/@value") == ["Dora <b>Example</b>"]
        assert doc.xpath("//input[@name='email']/@value") == ["nope"]
        assert texts(doc, "//p[@id='email-error']")
        fresh = parse_html((await browser.get(FORM)).text)
        assert fresh.xpath("//input[@name='name']/@value") in ([], [""])
