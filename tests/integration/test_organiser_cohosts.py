"""Issue 14, co-hosting: a co-host cannot make itself host, unseat the host or read the host's
supporters list; a host's change of hosts is audited and told to every organisation involved.

The demo conference's LRC fringe meeting is hosted by LRC and co-hosted by LLA. Two people hold a
place at it besides the demo's own attendee: Ben (who consented to nobody) and Ivy (who
consented to LRC only), so LLA, as a co-host, sees none of them on the attendee list.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import lxml.html
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.accounts import create_or_update_account
from gathering.core import schema
from gathering.core.database import Database
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
SLUG = "labour-conference-2019"
LRC_TITLE = "What kind of Labour Left do we need?"
LLA_TITLE = "Labour Left Alliance networking meeting for all signatories"
ADMIN = ("admin@example.org", "demo-admin-password")
LLA = ("organiser@example.org", "demo-organiser-password")
JVL = ("jvl@example.org", "demo-organiser-password")
LRC = ("lrc@example.org", "lrc-organiser-password")


async def _orgs(db: Database) -> dict[str, int]:
    async def _read(conn: AsyncConnection) -> dict[str, int]:
        o = schema.organisation
        return {r.slug: r.id for r in await conn.execute(sa.select(o.c.slug, o.c.id))}

    return await db.read(_read)


async def _session_id(db: Database, title: str) -> int:
    async def _read(conn: AsyncConnection) -> int:
        s = schema.programme_session
        return int((await conn.execute(sa.select(s.c.id).where(s.c.title == title))).scalar_one())

    return await db.read(_read)


async def _hosts(db: Database, session_id: int) -> set[tuple[str, str]]:
    async def _read(conn: AsyncConnection) -> set[tuple[str, str]]:
        h, o = schema.session_host, schema.organisation
        query = (
            sa.select(o.c.slug, h.c.role)
            .join(h, h.c.organisation_id == o.c.id)
            .where(h.c.session_id == session_id)
        )
        return {(r.slug, r.role) for r in await conn.execute(query)}

    return await db.read(_read)


async def _audit(db: Database, action: str) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        a = schema.audit_event
        query = sa.select(a).where(a.c.action == action).order_by(a.c.id)
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _world(db: Database) -> dict[str, int]:
    """The demo, an LRC organiser, and Ben and Ivy booked on the LRC meeting."""
    await load_demo(db, secret_key=TEST_SECRET)
    await create_or_update_account(
        db,
        email=LRC[0],
        display_name="LRC organiser",
        password=LRC[1],
        organisation_slug="lrc",
    )
    orgs = await _orgs(db)
    session_id = await _session_id(db, LRC_TITLE)

    async def _write(conn: AsyncConnection) -> None:
        now = dt.datetime.now(dt.UTC)
        g = schema.gathering
        gathering_id = (await conn.execute(sa.select(g.c.id).where(g.c.slug == SLUG))).scalar_one()
        for name, consents in (("Ben", ()), ("Ivy", ("lrc",))):
            result = await conn.execute(
                sa.insert(schema.registration)
                .values(
                    gathering_id=gathering_id,
                    name=f"{name} Cohost-Test",
                    email=f"{name.lower()}.cohost@example.org",
                    answers={},
                    status="confirmed",
                    manage_key=f"key-{name.lower()}-cohost",
                    confirmed_at=now,
                    created_at=now,
                )
                .returning(schema.registration.c.id)
            )
            registration_id = result.scalar_one()
            for slug in consents:
                await conn.execute(
                    sa.insert(schema.consent).values(
                        registration_id=registration_id,
                        purpose="contact",
                        organisation_id=orgs[slug],
                        text="may contact me",
                        given_at=now,
                    )
                )
            await conn.execute(
                sa.insert(schema.session_place).values(
                    registration_id=registration_id,
                    session_id=session_id,
                    status="confirmed",
                    created_at=now,
                    updated_at=now,
                )
            )

    await db.write(_write)
    return {**orgs, "session": session_id}


def _editor(session_id: int) -> str:
    return f"/organiser/g/{SLUG}/sessions/{session_id}"


def _form_of(doc: lxml.html.HtmlElement) -> dict[str, Any]:
    """What a browser would send from the session form as shown (a co-host's honest save)."""
    [form] = doc.xpath("//form[.//input[@name='title']]")
    sent: dict[str, Any] = {}
    for element in form.xpath(".//input | .//select | .//textarea"):
        name = element.get("name")
        if not name:
            continue
        kind = (element.get("type") or "").lower()
        if element.tag == "input" and kind in ("checkbox", "radio"):
            if element.get("checked") is not None:
                sent.setdefault(name, []).append(element.get("value", "on"))
        elif element.tag == "select":
            chosen = element.xpath("./option[@selected]/@value")
            sent[name] = chosen[0] if chosen else ""
        elif element.tag == "textarea":
            sent[name] = element.text or ""
        else:
            sent[name] = element.get("value", "")
    return sent


async def _people_seen(client: httpx.AsyncClient, session_id: int) -> set[str]:
    response = await client.get(f"{_editor(session_id)}/attendees")
    if response.status_code != 200:
        return set()
    doc = parse_html(response.text)
    return {
        " ".join(th.text_content().split())
        for th in doc.xpath("//table[@id='attendees']/tbody/tr/th")
    }


async def test_a_co_host_cannot_make_itself_host(db: Database, client: httpx.AsyncClient) -> None:
    world = await _world(db)
    session_id = world["session"]
    await sign_in(client, *LLA)
    assert await _people_seen(client, session_id) == set()  # no one consented to LLA

    page = parse_html((await client.get(_editor(session_id))).text)
    form = _form_of(page)
    form.update(host_id=str(world["lla"]), co_host_ids=[str(world["lrc"])])
    attack = await client.post(_editor(session_id), data=form)

    assert attack.status_code == 403
    assert "Only organisers of the organisation that hosts this session" in attack.text
    assert await _hosts(db, session_id) == {("lrc", "host"), ("lla", "co_host")}
    assert await _people_seen(client, session_id) == set()  # still nobody without consent
    assert await _audit(db, "session.hosts_changed") == []


async def test_a_co_host_cannot_remove_the_real_host(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    session_id = world["session"]
    await sign_in(client, *LLA)
    form = _form_of(parse_html((await client.get(_editor(session_id))).text))
    form.update(host_id=str(world["lla"]), co_host_ids=[])
    assert (await client.post(_editor(session_id), data=form)).status_code == 403
    # Dropping the host from the co-host list alone is a change of hosts too.
    form.update(host_id=str(world["lrc"]), co_host_ids=[])
    assert (await client.post(_editor(session_id), data=form)).status_code == 403
    assert await _hosts(db, session_id) == {("lrc", "host"), ("lla", "co_host")}

    client.cookies.clear()
    await sign_in(client, *LRC)
    assert (await client.get(_editor(session_id))).status_code == 200
    assert {"Ben Cohost-Test", "Ivy Cohost-Test"} <= await _people_seen(client, session_id)


async def test_an_honest_co_host_saves_an_edit_and_sees_the_hosts_read_only(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    session_id = world["session"]
    await sign_in(client, *LLA)
    page = parse_html((await client.get(_editor(session_id))).text)
    assert page.xpath("//select[@name='host_id'] | //input[@name='co_host_ids']") == []
    assert texts(page, "//p[@id='hosted-by']") == ["Labour Representation Committee"]
    assert texts(page, "//ul[@id='co-hosted-by']/li") == ["Labour Left Alliance"]

    unchanged = await client.post(_editor(session_id), data=_form_of(page))
    assert unchanged.status_code == 303, unchanged.text[:500]
    form = _form_of(page)
    form["title"] = "What kind of Labour Left do we need? (room 2)"
    assert (await client.post(_editor(session_id), data=form)).status_code == 303
    # An older page that still sends the same hosts saves too.
    form.update(host_id=str(world["lrc"]), co_host_ids=[str(world["lla"])])
    assert (await client.post(_editor(session_id), data=form)).status_code == 303

    assert await _hosts(db, session_id) == {("lrc", "host"), ("lla", "co_host")}
    assert await _audit(db, "session.hosts_changed") == []

    async def _title(conn: AsyncConnection) -> str:
        s = schema.programme_session
        return str((await conn.execute(sa.select(s.c.title).where(s.c.id == session_id))).scalar())

    assert await db.read(_title) == "What kind of Labour Left do we need? (room 2)"


async def test_a_host_changes_co_hosts_audited_and_every_organisation_told(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    session_id = world["session"]
    await sign_in(client, *LRC)
    page = parse_html((await client.get(_editor(session_id))).text)
    assert page.xpath("//select[@name='host_id']/option[@selected]/@value") == [str(world["lrc"])]
    form = _form_of(page)
    form.update(co_host_ids=[str(world["jvl"])])  # LLA out, JVL in
    assert (await client.post(_editor(session_id), data=form)).status_code == 303
    assert await _hosts(db, session_id) == {("lrc", "host"), ("jvl", "co_host")}

    [event] = await _audit(db, "session.hosts_changed")
    assert event.subject_kind == "session"
    assert event.subject_id == session_id
    assert event.detail == {
        "before": sorted([[world["lla"], "co_host"], [world["lrc"], "host"]]),
        "after": sorted([[world["jvl"], "co_host"], [world["lrc"], "host"]]),
    }

    expected = "The hosts of “What kind of Labour Left do we need?” changed on "
    for who in (LLA, JVL, LRC):
        client.cookies.clear()
        await sign_in(client, *who)
        notices = texts(
            parse_html((await client.get("/organiser")).text), "//li[@class='host-change']"
        )
        assert len(notices) == 1, who
        assert notices[0].startswith(expected)
        assert notices[0].endswith(
            "hosted by Labour Representation Committee, co-hosted by Labour Left Alliance → "
            "hosted by Labour Representation Committee, co-hosted by Jewish Voice for Labour."
        )
    # LLA, removed, can no longer open the session.
    client.cookies.clear()
    await sign_in(client, *LLA)
    assert (await client.get(_editor(session_id))).status_code == 403


async def test_an_unrelated_organisation_is_not_told(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    session_id = world["session"]
    await sign_in(client, *LRC)
    form = _form_of(parse_html((await client.get(_editor(session_id))).text))
    form.update(co_host_ids=[])
    assert (await client.post(_editor(session_id), data=form)).status_code == 303
    client.cookies.clear()
    await sign_in(client, *JVL)
    home = parse_html((await client.get("/organiser")).text)
    assert texts(home, "//li[@class='host-change']") == []


# --- the supporters list belongs to the host ------------------------------------------------


def _supporters(session_id: int, suffix: str = "") -> str:
    return f"/organiser/g/{SLUG}/sessions/{session_id}/supporters{suffix}"


async def _listed(db: Database, session_id: int) -> list[str]:
    async def _read(conn: AsyncConnection) -> list[str]:
        t = schema.supporter
        query = sa.select(t.c.email).where(t.c.session_id == session_id).order_by(t.c.email)
        return list((await conn.execute(query)).scalars())

    return await db.read(_read)


async def test_a_co_host_sees_only_the_count_of_the_hosts_supporters(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    orgs = await _orgs(db)
    session_id = await _session_id(db, LLA_TITLE)  # LLA hosts; JVL is made co-host
    await db.write(
        lambda conn: conn.execute(
            sa.insert(schema.session_host).values(
                session_id=session_id, organisation_id=orgs["jvl"], role="co_host"
            )
        )
    )
    members = ["member.one@example.org", "member.two@example.org"]
    await sign_in(client, *LLA)
    token = await csrf_from(client, _supporters(session_id))
    saved = await client.post(
        _supporters(session_id),
        data={"csrftoken": token, "emails": "\n".join(members), "mode": "replace"},
    )
    assert saved.status_code == 303
    exported_before = len(await _audit(db, "supporters.exported"))

    client.cookies.clear()
    await sign_in(client, *JVL)
    page = await client.get(_supporters(session_id))
    assert page.status_code == 200
    doc = parse_html(page.text)
    assert texts(doc, "//p[@id='supporter-count']")[0].startswith("2 addresses on the list.")
    assert doc.xpath("//textarea[@name='emails'] | //a[contains(@href, 'supporters.csv')]") == []
    for email in members:
        assert email not in page.text

    download = await client.get(_supporters(session_id, ".csv"))
    assert download.status_code == 403
    assert "member.one" not in download.text
    assert len(await _audit(db, "supporters.exported")) == exported_before

    token = await csrf_from(client, "/organiser")
    for mode in ("replace", "add"):
        attack = await client.post(
            _supporters(session_id),
            data={"csrftoken": token, "emails": "spy@example.org", "mode": mode},
        )
        assert attack.status_code == 403
    assert await _listed(db, session_id) == members
