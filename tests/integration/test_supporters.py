"""Organisers keep the list of supporters for a supporters-only session; others cannot."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.routing import Route

from gathering.app import create_app
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.permissions import Actor
from gathering.core.settings import Settings
from gathering.organiser import supporter_pages as web
from gathering.organiser import supporters as domain
from gathering.organiser.supporter_queries import is_eligible_supporter
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
SLUG = "labour-conference-2019"
TITLE = "Labour Left Alliance networking meeting for all signatories"
LLA = ("organiser@example.org", "demo-organiser-password")
JVL = ("jvl@example.org", "demo-organiser-password")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app, with this page's routes added until gathering/app.py registers them."""
    application = create_app(settings)
    names = {r.name for r in application.routes if isinstance(r, Route)}
    for route in web.routes:
        if route.name not in names:
            application.router.routes.insert(0, route)
    async with application.router.lifespan_context(application):
        yield application


async def _session(db: Database) -> tuple[int, int]:
    """(session id, gathering id) of the LLA-hosted supporters-only session."""

    async def _read(conn: AsyncConnection) -> tuple[int, int]:
        s = schema.programme_session
        row = (
            await conn.execute(sa.select(s.c.id, s.c.gathering_id).where(s.c.title == TITLE))
        ).one()
        return int(row.id), int(row.gathering_id)

    return await db.read(_read)


async def _listed(db: Database, session_id: int) -> list[str]:
    async def _read(conn: AsyncConnection) -> list[str]:
        t = schema.supporter
        query = sa.select(t.c.email).where(t.c.session_id == session_id).order_by(t.c.id)
        return list((await conn.execute(query)).scalars())

    return await db.read(_read)


async def _flag(db: Database, session_id: int) -> bool:
    async def _read(conn: AsyncConnection) -> bool:
        s = schema.programme_session
        query = sa.select(s.c.supporters_include_registrants).where(s.c.id == session_id)
        return bool((await conn.execute(query)).scalar_one())

    return await db.read(_read)


async def _audit(db: Database, action: str) -> list[sa.Row[tuple[object, ...]]]:
    async def _read(conn: AsyncConnection) -> list[sa.Row[tuple[object, ...]]]:
        a = schema.audit_event
        query = sa.select(a).where(a.c.action == action).order_by(a.c.id)
        return list((await conn.execute(query)).all())

    return await db.read(_read)


def _path(session_id: int, suffix: str = "") -> str:
    return f"/organiser/g/{SLUG}/sessions/{session_id}/supporters{suffix}"


async def _post(
    client: httpx.AsyncClient, session_id: int, emails: str, mode: str = "add", flag: bool = False
) -> httpx.Response:
    token = await csrf_from(client, _path(session_id))
    data = {"csrftoken": token, "emails": emails, "mode": mode}
    if flag:
        data["include_registrants"] = "1"
    return await client.post(_path(session_id), data=data)


async def test_paste_with_mixed_separators_and_duplicates(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id, _ = await _session(db)
    await sign_in(client, *LLA)
    pasted = (
        "Email\n"
        "Ann@Example.org, bob@example.org; carol@example.net\n"
        "  dave@example.org\tERIN@example.org  \r\n"
        "\n"
        '"frank@example.org"\n'
        "ann@example.org BOB@EXAMPLE.ORG\n"
    )
    response = await _post(client, session_id, pasted)
    assert response.status_code == 303
    assert await _listed(db, session_id) == [
        "ann@example.org",
        "bob@example.org",
        "carol@example.net",
        "dave@example.org",
        "erin@example.org",
        "frank@example.org",
    ]
    page = parse_html((await client.get(response.headers["location"])).text)
    assert texts(page, "//p[@role='status']") == ["Saved. 6 added; 6 on the list."]
    assert texts(page, "//p[@id='supporter-count']") == ["6 addresses on the list."]
    # The addresses are not shown back on the page, only counted.
    assert "carol@example.net" not in (await client.get(_path(session_id))).text
    [event] = await _audit(db, "supporters.added")
    assert event.subject_id == session_id
    assert event.detail == {
        "sent": 6,
        "added": 6,
        "removed": 0,
        "count": 6,
        "include_registrants": False,
    }


async def test_a_bad_line_is_named_and_nothing_is_saved(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id, _ = await _session(db)
    await sign_in(client, *LLA)
    assert (await _post(client, session_id, "keep@example.org")).status_code == 303
    pasted = "ann@example.org\nbob@example.org\n\nbob@\ncarol@example.org, not-an-address\n"
    response = await _post(client, session_id, pasted, mode="replace")
    assert response.status_code == 422
    page = parse_html(response.text)
    [summary] = texts(page, "//div[@class='error-summary']//li")
    assert "Line 4: 'bob@' is not an email address." in summary
    assert "Line 5: 'not-an-address' is not an email address." in summary
    assert "Nothing was saved." in summary
    # What was typed comes back to be corrected.
    assert page.xpath("//textarea[@name='emails']/text()")[0].strip() == pasted.strip()
    assert page.xpath("//input[@id='mode-replace']/@checked")
    assert await _listed(db, session_id) == ["keep@example.org"]
    assert len(await _audit(db, "supporters.replaced")) == 0


async def test_replace_and_add(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id, _ = await _session(db)
    await sign_in(client, *LLA)
    await _post(client, session_id, "a@example.org\nb@example.org")
    response = await _post(client, session_id, "b@example.org\nc@example.org", mode="add")
    assert response.status_code == 303
    assert sorted(await _listed(db, session_id)) == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
    ]
    page = parse_html((await client.get(response.headers["location"])).text)
    assert texts(page, "//p[@role='status']") == ["Saved. 1 added; 3 on the list."]

    response = await _post(client, session_id, "c@example.org, d@example.org", mode="replace")
    assert response.status_code == 303
    assert sorted(await _listed(db, session_id)) == ["c@example.org", "d@example.org"]
    page = parse_html((await client.get(response.headers["location"])).text)
    assert texts(page, "//p[@role='status']") == ["Saved. 1 added, 2 removed; 2 on the list."]
    [event] = await _audit(db, "supporters.replaced")
    assert event.detail["removed"] == 2 and event.detail["count"] == 2

    # Replacing with an empty box empties the list.
    assert (await _post(client, session_id, "", mode="replace")).status_code == 303
    assert await _listed(db, session_id) == []
    page = parse_html((await client.get(_path(session_id))).text)
    assert texts(page, "//p[@id='supporter-count']") == ["No addresses on the list."]


async def test_csv_download_is_audited(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id, _ = await _session(db)
    await sign_in(client, *LLA)
    await _post(client, session_id, "zed@example.org\n=cmd@example.org\namy@example.org")
    page = parse_html((await client.get(_path(session_id))).text)
    [link] = page.xpath("//a[contains(., 'Download the list')]/@href")
    assert link.endswith(_path(session_id, ".csv"))
    response = await client.get(link)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.text)))
    # A formula-looking address is defused for spreadsheets.
    assert rows == [["email"], ["'=cmd@example.org"], ["amy@example.org"], ["zed@example.org"]]
    [event] = await _audit(db, "supporters.exported")
    assert event.subject_kind == "session" and event.subject_id == session_id
    assert event.actor_id is not None and event.detail == {"count": 3}


async def test_the_registrants_flag_is_saved(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id, _ = await _session(db)
    await sign_in(client, *LLA)
    assert await _flag(db, session_id) is False
    assert (await _post(client, session_id, "", flag=True)).status_code == 303
    assert await _flag(db, session_id) is True
    page = parse_html((await client.get(_path(session_id))).text)
    assert page.xpath("//input[@name='include_registrants']/@checked")
    assert "Everyone registered for" in texts(page, "//p[@id='supporter-count']")[0]
    assert (await _post(client, session_id, "x@example.org")).status_code == 303
    assert await _flag(db, session_id) is False


async def test_only_the_sessions_organisers(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id, _ = await _session(db)
    for path in (_path(session_id), _path(session_id, ".csv")):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin?next=")
    await sign_in(client, *JVL)
    assert (await client.get(_path(session_id))).status_code == 403
    assert (await client.get(_path(session_id, ".csv"))).status_code == 403
    token = await csrf_from(client, f"/organiser/g/{SLUG}/sessions/new")
    response = await client.post(
        _path(session_id), data={"csrftoken": token, "emails": "x@example.org", "mode": "add"}
    )
    assert response.status_code == 403
    assert await _listed(db, session_id) == []
    assert await _audit(db, "supporters.exported") == []
    # A session of another gathering under this slug is not found.
    assert (
        await client.get(f"/organiser/g/no-such/sessions/{session_id}/supporters")
    ).status_code == 404


async def test_is_eligible_supporter(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id, gathering_id = await _session(db)
    await domain.save_supporters(
        db,
        _lla_actor(await _lla_account(db)),
        SLUG,
        session_id,
        domain.SupportersInput("ok@example.org"),
    )

    async def eligible(email: str) -> bool:
        async def _read(conn: AsyncConnection) -> bool:
            return await is_eligible_supporter(conn, session_id, gathering_id, email)

        return await db.read(_read)

    registered = await _a_registrant(db, gathering_id)
    assert await eligible("ok@example.org") is True
    assert await eligible("other@example.org") is False
    assert await eligible(registered) is False  # the flag is off

    await domain.save_supporters(
        db,
        _lla_actor(await _lla_account(db)),
        SLUG,
        session_id,
        domain.SupportersInput(include_registrants=True),
    )
    assert await eligible(registered) is True
    assert await eligible("ok@example.org") is True
    assert await eligible("other@example.org") is False

    # A cancelled registration no longer counts; nor does one for another gathering.
    async def _cancel(conn: AsyncConnection) -> None:
        r = schema.registration
        await conn.execute(sa.update(r).where(r.c.email == registered).values(status="cancelled"))

    await db.write(_cancel)
    assert await eligible(registered) is False

    async def _other_gathering_email(conn: AsyncConnection) -> str:
        r = schema.registration
        query = sa.select(r.c.email).where(
            r.c.gathering_id != gathering_id, r.c.status.in_(["pending", "confirmed"])
        )
        return str((await conn.execute(query)).scalars().first())

    elsewhere = await db.read(_other_gathering_email)
    assert await eligible(elsewhere) is False


async def _a_registrant(db: Database, gathering_id: int) -> str:
    async def _read(conn: AsyncConnection) -> str:
        r = schema.registration
        query = sa.select(r.c.email).where(
            r.c.gathering_id == gathering_id, r.c.status.in_(["pending", "confirmed"])
        )
        return str((await conn.execute(query)).scalars().first())

    return await db.read(_read)


async def _lla_account(db: Database) -> tuple[int, int]:
    async def _read(conn: AsyncConnection) -> tuple[int, int]:
        account = (
            await conn.execute(
                sa.select(schema.account.c.id).where(schema.account.c.email == LLA[0])
            )
        ).scalar_one()
        org = (
            await conn.execute(
                sa.select(schema.organisation.c.id).where(schema.organisation.c.slug == "lla")
            )
        ).scalar_one()
        return int(account), int(org)

    return await db.read(_read)


def _lla_actor(ids: tuple[int, int]) -> Actor:
    return Actor(ids[0], LLA[0], "LLA organiser", False, frozenset({ids[1]}))


def test_parse_emails_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    assert domain.parse_emails("") == []
    assert domain.parse_emails("E-mail\n<a@b.org>; (c@d.org)") == ["a@b.org", "c@d.org"]
    with pytest.raises(InvalidInput) as caught:
        domain.parse_emails("a@b.org\nemail\n")  # a header only on the first line
    assert caught.value.errors["emails"].startswith("Line 2: 'email' is not an email address.")
    many = "\n".join(f"x{n}@" for n in range(15))
    with pytest.raises(InvalidInput) as caught:
        domain.parse_emails(many)
    assert caught.value.errors["emails"].count("Line ") == domain.MAX_REPORTED
    assert "And 5 more lines like these." in caught.value.errors["emails"]
    monkeypatch.setattr(domain, "MAX_SUPPORTERS", 3)
    assert len(domain.parse_emails("a@b.org c@b.org e@b.org a@b.org")) == 3
    with pytest.raises(InvalidInput) as caught:
        domain.parse_emails("a@b.org c@b.org e@b.org g@b.org")
    assert "That is 4 addresses; a list holds at most 3." in caught.value.errors["emails"]


async def test_adding_beyond_the_cap_is_refused(
    db: Database, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id, _ = await _session(db)
    await sign_in(client, *LLA)
    monkeypatch.setattr(domain, "MAX_SUPPORTERS", 3)
    assert (await _post(client, session_id, "a@b.org c@b.org")).status_code == 303
    response = await _post(client, session_id, "a@b.org e@b.org g@b.org")
    assert response.status_code == 422
    assert "would hold 4 addresses" in response.text
    assert sorted(await _listed(db, session_id)) == ["a@b.org", "c@b.org"]
    # Replacing counts only the new list.
    assert (
        await _post(client, session_id, "e@b.org g@b.org h@b.org", "replace")
    ).status_code == 303


def test_full_size_list_parses_quickly() -> None:
    start = dt.datetime.now()
    text = "\n".join(f"Person.{n}@Example.org" for n in range(domain.MAX_SUPPORTERS))
    assert len(domain.parse_emails(text)) == domain.MAX_SUPPORTERS
    assert dt.datetime.now() - start < dt.timedelta(seconds=5)
