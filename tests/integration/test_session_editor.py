"""Organisers create and change sessions and release them; others cannot."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.programme.release import load_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.factories import add_room
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
SLUG = "labour-conference-2019"
LLA = ("organiser@example.org", "demo-organiser-password")
JVL = ("jvl@example.org", "demo-organiser-password")


async def _ids(db: Database) -> dict[str, int]:
    async def _read(conn: AsyncConnection) -> dict[str, int]:
        orgs = await conn.execute(sa.select(schema.organisation.c.slug, schema.organisation.c.id))
        return dict(orgs.all())

    return await db.read(_read)


async def _session_count(db: Database) -> int:
    async def _read(conn: AsyncConnection) -> int:
        query = sa.select(sa.func.count()).select_from(schema.programme_session)
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


def _form(token: str, orgs: dict[str, int], **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "csrftoken": token,
        "title": "Defend the right to organise",
        "description": "With **union** speakers.",
        "day": "2019-09-23",
        "start": "12:30",
        "end": "13:30",
        "room_id": "",
        "format": "in_person",
        "capacity": "40",
        "access": "public",
        "language": "en",
        "status": "published",
        "host_id": str(orgs["lla"]),
        "co_host_ids": [str(orgs["jvl"])],
        "new_speaker_name": "Alex Example",
        "new_speaker_affiliation": "Brighton and Hove LLA",
    }
    form.update(changes)
    return form


async def test_organiser_creates_a_session_with_co_host_and_speaker_then_releases(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    orgs = await _ids(db)
    await sign_in(client, *LLA)
    token = await csrf_from(client, f"/organiser/g/{SLUG}/sessions/new")
    response = await client.post(f"/organiser/g/{SLUG}/sessions/new", data=_form(token, orgs))
    assert response.status_code == 303
    edit_path = response.headers["location"].split("?")[0]

    page = parse_html((await client.get(edit_path + "?saved=1")).text)
    assert page.xpath("//input[@name='title']/@value") == ["Defend the right to organise"]
    assert page.xpath("//input[@name='start']/@value") == ["12:30"]
    assert texts(page, "//p[@role='status']")[0].startswith("Saved.")

    async def _stored(
        conn: AsyncConnection,
    ) -> tuple[dt.datetime, list[tuple[str, str]], list[str]]:
        s = (
            await conn.execute(
                sa.select(schema.programme_session).where(
                    schema.programme_session.c.title == "Defend the right to organise"
                )
            )
        ).one()
        hosts = await conn.execute(
            sa.select(schema.organisation.c.slug, schema.session_host.c.role)
            .join(
                schema.session_host,
                schema.session_host.c.organisation_id == schema.organisation.c.id,
            )
            .where(schema.session_host.c.session_id == s.id)
            .order_by(schema.session_host.c.role.desc())
        )
        speakers = await conn.execute(
            sa.select(schema.speaker.c.name)
            .join(
                schema.session_speaker, schema.session_speaker.c.speaker_id == schema.speaker.c.id
            )
            .where(schema.session_speaker.c.session_id == s.id)
        )
        return s.starts_at, [tuple(h) for h in hosts.all()], list(speakers.scalars())

    starts, hosts, speakers = await db.read(_stored)
    assert starts == dt.datetime(2019, 9, 23, 11, 30, tzinfo=dt.UTC)  # 12:30 BST
    assert hosts == [("lla", "host"), ("jvl", "co_host")]
    assert speakers == ["Alex Example"]

    # Not public until released.
    titles = [s.title for s in (await load_programme(db, SLUG)).sessions]
    assert "Defend the right to organise" not in titles
    token = await csrf_from(client, f"/organiser/g/{SLUG}/release")
    released = await client.post(
        f"/organiser/g/{SLUG}/release", data={"csrftoken": token, "note": "A lunchtime meeting"}
    )
    assert released.status_code == 303
    programme = await load_programme(db, SLUG)
    assert programme.release is not None and programme.release.number == 2
    assert [c.kinds for c in programme.release.changes] == [("new",)]
    assert "Defend the right to organise" in [s.title for s in programme.sessions]


async def test_co_host_may_edit_but_another_organisation_may_not(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, SLUG)
    lrc_session = programme.sessions[1]  # LRC hosts, LLA co-hosts
    path = f"/organiser/g/{SLUG}/sessions/{lrc_session.id}"

    await sign_in(client, *JVL)
    assert (await client.get(path)).status_code == 403
    token = await csrf_from(client, "/organiser")
    orgs = await _ids(db)
    refused = await client.post(
        path, data=_form(token, orgs, title="Hijacked", host_id=str(orgs["jvl"]))
    )
    assert refused.status_code == 403
    assert (await load_programme(db, SLUG)).sessions[1].title == lrc_session.title
    assert (await client.get(f"/organiser/g/{SLUG}/release")).status_code == 403

    client.cookies.clear()
    await sign_in(client, *LLA)
    page = parse_html((await client.get(path)).text)
    assert page.xpath("//input[@name='title']/@value") == [lrc_session.title]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"end": "11:00"}, "end", "The end must be after the start."),
        ({"day": "2019-10-01"}, "day", "Choose a day within the gathering"),
        ({"title": ""}, "title", "Enter a title."),
        (
            {"description": "x" * 10_000_000},
            "description",
            "Keep the description to 20,000 characters",
        ),
        ({"room_id": "99999"}, "room_id", "Choose a room"),
        ({"capacity": "lots"}, "capacity", "whole number"),
        ({"format": "online"}, "joining_link", "needs a joining link"),
        ({"joining_link": "javascript:alert(1)"}, "joining_link", "https://"),
    ],
)
async def test_invalid_session_is_rejected_next_to_the_field_and_nothing_saved(
    db: Database, client: httpx.AsyncClient, changes: dict[str, str], field: str, message: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    orgs = await _ids(db)
    before = await _session_count(db)
    await sign_in(client, *LLA)
    token = await csrf_from(client, f"/organiser/g/{SLUG}/sessions/new")
    response = await client.post(
        f"/organiser/g/{SLUG}/sessions/new", data=_form(token, orgs, **changes)
    )
    assert response.status_code == 422
    doc = parse_html(response.text)
    assert message in texts(doc, f"//p[@id='{field}-error']")[0]
    if field != "title":  # what was typed is kept
        assert doc.xpath("//input[@name='title']/@value") == ["Defend the right to organise"]
    assert await _session_count(db) == before


async def test_script_in_a_title_is_stored_as_text_and_shown_escaped(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    orgs = await _ids(db)
    await sign_in(client, *LLA)
    token = await csrf_from(client, f"/organiser/g/{SLUG}/sessions/new")
    title = "<script>alert('x')</script> Fringe"
    response = await client.post(
        f"/organiser/g/{SLUG}/sessions/new", data=_form(token, orgs, title=title)
    )
    page = await client.get(response.headers["location"])
    assert "<script>alert" not in page.text
    doc = parse_html(page.text)
    assert doc.xpath("//input[@name='title']/@value") == [title]
    assert all("alert" not in (s.text or "") for s in doc.xpath("//script"))


async def test_room_and_speaker_clashes_are_flagged(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    orgs = await _ids(db)
    programme = await load_programme(db, SLUG)

    room_id = await add_room(db, programme.gathering.id)
    await sign_in(client, *LLA)
    paths = []
    for title in ("First", "Second"):
        token = await csrf_from(client, f"/organiser/g/{SLUG}/sessions/new")
        response = await client.post(
            f"/organiser/g/{SLUG}/sessions/new",
            data=_form(
                token,
                orgs,
                title=title,
                room_id=str(room_id),
                new_speaker_name="",
                speaker_ids=["1"],
            ),
        )
        assert response.status_code == 303
        paths.append(response.headers["location"].split("?")[0])
    warnings = texts(parse_html((await client.get(paths[1])).text), "//div[@class='warning']//li")
    assert warnings == [
        "Same room at the same time as “First”.",
        "A speaker is also in “First” at the same time.",
    ]


async def test_anonymous_visitors_cannot_reach_the_editor(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    for path in (
        f"/organiser/g/{SLUG}/sessions/new",
        f"/organiser/g/{SLUG}/sessions/1",
        f"/organiser/g/{SLUG}/release",
    ):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin?next=")


async def test_re_entry_is_the_organisers_choice_and_the_door_follows_it(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    orgs = await _ids(db)
    await sign_in(client, *LLA)
    new = f"/organiser/g/{SLUG}/sessions/new"
    form = parse_html((await client.get(new)).text)
    assert form.xpath("//input[@id='allow_reentry']/@checked")  # on by default
    token = await csrf_from(client, new)
    created = await client.post(new, data=_form(token, orgs))  # box not sent: unticked
    edit_path = created.headers["location"].split("?")[0]

    async def _allowed(conn: AsyncConnection) -> bool:
        ps = schema.programme_session
        query = sa.select(ps.c.allow_reentry).where(ps.c.title == "Defend the right to organise")
        return bool((await conn.execute(query)).scalar_one())

    assert await db.read(_allowed) is False
    page = parse_html((await client.get(edit_path)).text)
    assert not page.xpath("//input[@id='allow_reentry']/@checked")
    token = await csrf_from(client, edit_path)
    await client.post(edit_path, data=_form(token, orgs, allow_reentry="1"))
    assert await db.read(_allowed) is True


async def test_session_form_number_and_date_fields_carry_real_attributes(
    db: Database, client: httpx.AsyncClient
) -> None:
    # The form macro once printed extra attributes as escaped text (inputmode=&#34;numeric&#34;).
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    response = await client.get(f"/organiser/g/{SLUG}/sessions/new")
    page = parse_html(response.text)
    [capacity] = page.xpath("//input[@name='capacity']")
    assert (capacity.get("inputmode"), capacity.get("min")) == ("numeric", "0")
    [day] = page.xpath("//input[@name='day']")
    assert (day.get("min"), day.get("max")) == ("2019-09-21", "2019-09-25")
    assert "&#34;" not in response.text and "&quot;" not in response.text


async def test_nul_characters_in_a_form_are_dropped_on_both_engines(
    db: Database, client: httpx.AsyncClient
) -> None:
    # PostgreSQL cannot store NUL in text; no one types it. The form gate drops it for every form.
    await load_demo(db, secret_key=TEST_SECRET)
    orgs = await _ids(db)
    await sign_in(client, *LLA)
    token = await csrf_from(client, f"/organiser/g/{SLUG}/sessions/new")
    form = _form(token, orgs, description="Tea\x00 and cake", access_note="\x00")
    response = await client.post(f"/organiser/g/{SLUG}/sessions/new", data=form)
    assert response.status_code == 303

    async def _read(conn: AsyncConnection) -> tuple[str, str]:
        s = schema.programme_session
        query = sa.select(s.c.description, s.c.access_note).where(
            s.c.title == "Defend the right to organise"
        )
        return tuple((await conn.execute(query)).one())  # type: ignore[return-value]

    assert await db.read(_read) == ("Tea and cake", "")
