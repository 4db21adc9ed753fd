"""A gathering's host organisers run its registration (issue 16, item 10): open and close it,
ticket types, questions with the constituency picker. Others are refused and change nothing."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.accounts import create_or_update_account
from gathering.core import schema
from gathering.core.database import Database
from gathering.demo import NEXT_SLUG
from gathering.organiser import constituencies
from gathering.programme.release import load_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
LONDON = zoneinfo.ZoneInfo("Europe/London")
DLO = ("dlo@example.org", "demo-organiser-password")  # the next gathering's host organisation
LLA = ("organiser@example.org", "demo-organiser-password")  # another organisation
FBU = ("fbu.organiser@example.org", "fbu-organiser-password")  # co-hosts the next plenary
PAGE = f"/organiser/g/{NEXT_SLUG}/registration"


async def _rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _snapshot(db: Database) -> dict[str, list[Any]]:
    g, t, q, a = schema.gathering, schema.ticket_type, schema.question, schema.audit_event
    return {
        "gathering": await _rows(db, sa.select(g).order_by(g.c.id)),
        "ticket_type": await _rows(db, sa.select(t).order_by(t.c.id)),
        "question": await _rows(db, sa.select(q).order_by(q.c.id)),
        "session_windows": await _rows(
            db,
            sa.select(
                schema.programme_session.c.registration_opens_at,
                schema.programme_session.c.registration_closes_at,
            ).order_by(schema.programme_session.c.id),
        ),
        "audit": await _rows(
            db, sa.select(a.c.action).where(a.c.action.like("organiser.%")).order_by(a.c.id)
        ),
    }


async def _gathering(db: Database) -> Any:
    g = schema.gathering
    [row] = await _rows(db, sa.select(g).where(g.c.slug == NEXT_SLUG))
    return row


async def _ticket_types(db: Database, gathering_id: int) -> list[Any]:
    t = schema.ticket_type
    query = sa.select(t).where(t.c.gathering_id == gathering_id).order_by(t.c.position, t.c.id)
    return await _rows(db, query)


def _paths(page: Any) -> list[str]:
    return [urlsplit(href).path for href in page.xpath("//a/@href")]


async def _host(db: Database, client: httpx.AsyncClient) -> str:
    await load_demo(db, secret_key=TEST_SECRET)
    assert (await sign_in(client, *DLO)).status_code == 303  # type: ignore[attr-defined]
    return await csrf_from(client, PAGE)


async def test_the_host_sees_the_state_explained_and_closes_and_reopens_registration(
    db: Database, client: httpx.AsyncClient
) -> None:
    token = await _host(db, client)
    home = parse_html((await client.get("/organiser")).text)
    assert PAGE in _paths(home)
    page = parse_html((await client.get(PAGE)).text)
    [state] = texts(page, "//*[@id='registration-state']")
    assert state.startswith("Registration is open until Friday")
    assert texts(page, "//*[@id='registration-explained']") == ["People can register now."]
    assert page.xpath("//input[@name='registration_open']/@checked") == ["checked"]

    closed = await client.post(PAGE, data={"csrftoken": token, "opens_at": "", "closes_at": ""})
    assert closed.status_code == 303
    row = await _gathering(db)
    assert (row.registration_open, row.registration_closes_at) == (False, None)
    public = parse_html((await client.get(f"/g/{NEXT_SLUG}")).text)
    assert texts(public, "//*[@id='registration-state']") == [
        "Registration is not open: the organisers have not opened it."
    ]
    assert public.xpath("//p[@class='register']") == []
    page = parse_html((await client.get(f"{PAGE}?saved=window")).text)
    assert texts(page, "//p[@role='status']") == ["Registration settings saved."]
    assert texts(page, "//*[@id='registration-explained']")[0].startswith("Nobody can register.")

    # Reopened from a time to come: the page says when, the public page too.
    opens = (dt.datetime.now(LONDON) + dt.timedelta(days=3)).replace(
        hour=9, minute=30, second=0, microsecond=0
    )
    reopened = await client.post(
        PAGE,
        data={
            "csrftoken": token,
            "registration_open": "on",
            "opens_at": opens.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": "",
        },
    )
    assert reopened.status_code == 303
    row = await _gathering(db)
    assert row.registration_open is True
    assert row.registration_opens_at == opens.astimezone(dt.UTC)
    public = parse_html((await client.get(f"/g/{NEXT_SLUG}")).text)
    [text] = texts(public, "//*[@id='registration-state']")
    assert text.startswith("Registration opens on") and "09:30" in text
    a = schema.audit_event
    actions = await _rows(db, sa.select(a.c.action, a.c.detail).where(a.c.subject_id == row.id))
    saved = [d for act, d in actions if act == "organiser.registration_window_saved"]
    assert [d["open"] for d in saved] == [False, True]


async def test_bad_times_say_why_keep_what_was_typed_and_save_nothing(
    db: Database, client: httpx.AsyncClient
) -> None:
    token = await _host(db, client)
    before = await _snapshot(db)
    for opens, closes, field, message in [
        ("2027-03-13T10:00", "2027-03-12T10:00", "closes_at", "must be after the opening"),
        ("next tuesday", "", "opens_at", "Give a date and time"),
        ("1850-01-01T10:00", "", "opens_at", "between the years 2000 and 2100"),
    ]:
        answer = await client.post(
            PAGE,
            data={
                "csrftoken": token,
                "registration_open": "on",
                "opens_at": opens,
                "closes_at": closes,
            },
        )
        assert answer.status_code == 422
        page = parse_html(answer.text)
        assert any(message in t for t in texts(page, f"//p[@id='{field}-error']"))
        assert page.xpath("//input[@id='opens_at']/@value") == [opens]
        assert await _snapshot(db) == before


@pytest.mark.parametrize("attacker", ["other_organisation", "co_host"])
async def test_only_the_hosts_organisers_may_change_registration(
    db: Database, client: httpx.AsyncClient, attacker: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await create_or_update_account(
        db,
        email=FBU[0],
        display_name="FBU organiser",
        password=FBU[1],
        organisation_slug="fbu",
    )
    # FBU co-hosts the next gathering's opening plenary; LLA has nothing in it.
    programme = await load_programme(db, NEXT_SLUG)
    assert any(h.slug == "fbu" for s in programme.sessions for h in s.hosts)
    credentials = LLA if attacker == "other_organisation" else FBU
    assert (await sign_in(client, *credentials)).status_code == 303  # type: ignore[attr-defined]
    token = await csrf_from(client, "/organiser")
    gathering_id = (await _gathering(db)).id
    ticket = (await _ticket_types(db, gathering_id))[0].id
    before = await _snapshot(db)
    base = f"/organiser/g/{NEXT_SLUG}/registration"
    assert (await client.get(base)).status_code == 403
    assert (await client.get(f"{base}/questions")).status_code == 403
    attempts = [
        (base, {"registration_open": "", "opens_at": "", "closes_at": ""}),
        (f"{base}/ticket-types", {"name": "Free for friends"}),
        (f"{base}/ticket-types/{ticket}", {"name": "Renamed", "position": "9"}),
        (f"{base}/ticket-types/{ticket}/delete", {}),
        (f"{base}/questions", {"dietary_enabled": "", "constituency_enabled": "on"}),
        (f"{base}/sessions/{programme.sessions[0].id}", {"opens_at": "2027-01-01T10:00"}),
    ]
    for path, data in attempts:
        answer = await client.post(path, data={"csrftoken": token, **data})
        assert answer.status_code == 403, path
        assert "host organisation" in answer.text
    assert await _snapshot(db) == before
    home = parse_html((await client.get("/organiser")).text)
    assert base not in _paths(home)


async def test_the_host_edits_ticket_types(db: Database, client: httpx.AsyncClient) -> None:
    token = await _host(db, client)
    gathering_id = (await _gathering(db)).id
    added = await client.post(
        f"{PAGE}/ticket-types",
        data={"csrftoken": token, "name": "Unwaged", "suggested_contribution": "£1 if you can"},
    )
    assert added.status_code == 303
    rows = await _ticket_types(db, gathering_id)
    assert [r.name for r in rows][-1] == "Unwaged"
    new = rows[-1]
    assert new.position == max(r.position for r in rows)
    renamed = await client.post(
        f"{PAGE}/ticket-types/{new.id}",
        data={
            "csrftoken": token,
            "name": "Low income",
            "suggested_contribution": "",
            "position": "0",
        },
    )
    assert renamed.status_code == 303
    [row] = [r for r in await _ticket_types(db, gathering_id) if r.id == new.id]
    assert (row.name, row.suggested_contribution, row.position) == ("Low income", "", 0)
    # A name is needed: said, kept, nothing saved.
    before = await _snapshot(db)
    empty = await client.post(
        f"{PAGE}/ticket-types/{new.id}",
        data={"csrftoken": token, "name": " ", "suggested_contribution": "typed text"},
    )
    assert empty.status_code == 422
    page = parse_html(empty.text)
    assert texts(page, f"//p[@id='tt-{new.id}-name-error']")
    assert page.xpath(f"//input[@id='tt-{new.id}-suggested_contribution']/@value") == ["typed text"]
    assert await _snapshot(db) == before
    # A ticket type people registered with stays; an unused one goes.
    r = schema.registration
    [(used_id,)] = await _rows(
        db, sa.select(r.c.ticket_type_id).where(r.c.gathering_id == gathering_id).limit(1)
    )
    used = next(t for t in await _ticket_types(db, gathering_id) if t.id == used_id)
    refused = await client.post(f"{PAGE}/ticket-types/{used.id}/delete", data={"csrftoken": token})
    assert refused.status_code == 409
    assert "cannot be removed" in refused.text
    gone = await client.post(f"{PAGE}/ticket-types/{new.id}/delete", data={"csrftoken": token})
    assert gone.status_code == 303
    assert new.id not in [r.id for r in await _ticket_types(db, gathering_id)]
    # Another gathering's ticket type is not this gathering's to change.
    t = schema.ticket_type
    [(other,)] = await _rows(
        db, sa.select(t.c.id).where(t.c.gathering_id != gathering_id).order_by(t.c.id).limit(1)
    )
    before = await _snapshot(db)
    stranger = await client.post(
        f"{PAGE}/ticket-types/{other}", data={"csrftoken": token, "name": "Hijacked"}
    )
    assert stranger.status_code == 404
    assert await _snapshot(db) == before


async def test_questions_and_the_constituency_picker(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _host(db, client)
    questions = f"{PAGE}/questions"
    page = parse_html((await client.get(questions)).text)
    form = {
        i.get("name"): i.get("value") or ""
        for i in page.xpath("//form[@method='post']//input")
        if i.get("type") != "checkbox" or i.get("checked") is not None
    }
    form.pop("dietary_enabled", None)  # stop asking about diets
    form["constituency_required"] = "on"
    saved = await client.post(questions, data=form)
    assert saved.status_code == 303
    q = schema.question
    gathering_id = (await _gathering(db)).id
    rows = await _rows(
        db, sa.select(q.c.key, q.c.is_required).where(q.c.gathering_id == gathering_id)
    )
    assert dict(rows) == {"constituency": True, "organisation": False, "access_needs": False}

    register = parse_html((await client.get(f"/g/{NEXT_SLUG}/register")).text)
    [field] = register.xpath("//input[@name='answer_constituency']")
    assert field.get("list") == "constituency-names"
    options = register.xpath("//datalist[@id='constituency-names']/option/@value")
    assert len(options) == 650
    assert "Hove and Portslade" in options
    assert register.xpath("//textarea[@name='answer_dietary']") == []


def test_the_constituency_list_is_the_650_of_2024_and_answers_are_read_as_their_names() -> None:
    names = constituencies.names()
    assert len(names) == len(set(names)) == 650
    assert {"Brighton Kemptown and Peacehaven", "Ynys Môn", "Na h-Eileanan an Iar"} <= set(names)
    assert "Brighton Kemptown" not in names  # the pre-2024 seat
    for typed, canonical in [
        ("hove & portslade clp", "Hove and Portslade"),
        ("  BRIGHTON   kemptown and PEACEHAVEN ", "Brighton Kemptown and Peacehaven"),
        ("Ynys Mon", "Ynys Môn"),
        ("ashton under lyne constituency labour party", "Ashton-under-Lyne"),
        ("Somewhere   abroad", "Somewhere abroad"),  # typed answers are still taken
    ]:
        assert constituencies.canonical(typed) == canonical


async def test_a_typed_constituency_is_stored_by_its_name(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    token = await csrf_from(client, f"/g/{NEXT_SLUG}/register")
    t, g = schema.ticket_type, schema.gathering
    [(ticket,)] = await _rows(
        db,
        sa.select(t.c.id).join(g, g.c.id == t.c.gathering_id).where(g.c.slug == NEXT_SLUG).limit(1),
    )
    for email, typed in [
        ("one@example.org", "hove & portslade CLP"),
        ("two@example.org", "Hove and  Portslade"),
        ("three@example.org", "Ward 7, somewhere abroad"),
    ]:
        answer = await client.post(
            f"/g/{NEXT_SLUG}/register",
            data={
                "csrftoken": token,
                "name": "A Member",
                "email": email,
                "ticket_type_id": str(ticket),
                "answer_constituency": typed,
            },
        )
        assert answer.status_code == 200, answer.text[:300]
    r = schema.registration
    rows = await _rows(db, sa.select(r.c.email, r.c.answers).where(r.c.email.like("%@example.org")))
    stored = {email: answers.get("constituency") for email, answers in rows}
    assert stored["one@example.org"] == stored["two@example.org"] == "Hove and Portslade"
    assert stored["three@example.org"] == "Ward 7, somewhere abroad"


async def test_a_session_gets_its_own_window(db: Database, client: httpx.AsyncClient) -> None:
    token = await _host(db, client)
    programme = await load_programme(db, NEXT_SLUG)
    session = next(s for s in programme.sessions if s.format == "online")
    path = f"{PAGE}/sessions/{session.id}"
    opens = (dt.datetime.now(LONDON) + dt.timedelta(days=2)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    saved = await client.post(
        path,
        data={"csrftoken": token, "opens_at": opens.strftime("%Y-%m-%dT%H:%M"), "closes_at": ""},
    )
    assert saved.status_code == 303
    ps = schema.programme_session
    [(stored,)] = await _rows(
        db, sa.select(ps.c.registration_opens_at).where(ps.c.id == session.id)
    )
    assert stored == opens.astimezone(dt.UTC)
    public = parse_html((await client.get(f"/g/{NEXT_SLUG}/s/{session.id}")).text)
    [text] = texts(public, "//*[@id='registration-state']")
    assert text.startswith("Registration opens on") and "12:00" in text
    page = parse_html((await client.get(PAGE)).text)
    assert page.xpath(f"//input[@id='s{session.id}-opens_at']/@value") == [
        opens.strftime("%Y-%m-%dT%H:%M")
    ]
    # Bad times: said on the page, kept, nothing saved; another gathering's session: not found.
    before = await _snapshot(db)
    bad = await client.post(
        path,
        data={"csrftoken": token, "opens_at": "2027-05-02T10:00", "closes_at": "2027-05-01T10:00"},
    )
    assert bad.status_code == 422
    assert texts(parse_html(bad.text), f"//p[@id='s{session.id}-closes_at-error']")
    other = (await load_programme(db, "labour-conference-2019")).sessions[0].id
    stranger = await client.post(
        f"{PAGE}/sessions/{other}", data={"csrftoken": token, "opens_at": "", "closes_at": ""}
    )
    assert stranger.status_code == 404
    assert await _snapshot(db) == before


async def test_a_new_gatherings_state_is_explained_to_its_organisers(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    o, g = schema.organisation, schema.gathering
    [(dlo,)] = await _rows(db, sa.select(o.c.id).where(o.c.slug == "dont-leave-organise"))
    now = dt.datetime.now(dt.UTC)

    async def _new(conn: AsyncConnection) -> int:
        values = {
            "slug": "dlo-winter-school",
            "title": "DLO winter school",
            "starts_on": (now + dt.timedelta(days=90)).date(),
            "ends_on": (now + dt.timedelta(days=91)).date(),
            "host_organisation_id": dlo,
            "created_at": now,
            "updated_at": now,
        }
        return int((await conn.execute(sa.insert(g).values(values).returning(g.c.id))).scalar_one())

    new_id = await db.write(_new)
    assert (await sign_in(client, *DLO)).status_code == 303  # type: ignore[attr-defined]
    home = parse_html((await client.get("/organiser")).text)
    [text] = texts(home, f"//p[@id='registration-{new_id}']")
    assert text.startswith("Registration opens once the programme is published.")
    assert "Nobody can register until the programme is released" in text
    page = parse_html((await client.get("/organiser/g/dlo-winter-school/registration")).text)
    assert texts(page, "//*[@id='registration-state']") == [
        "Registration opens once the programme is published."
    ]
    # Another organisation's organiser sees the gathering but not its registration state.
    await client.post("/signout", data={"csrftoken": await csrf_from(client, "/organiser")})
    assert (await sign_in(client, *LLA)).status_code == 303  # type: ignore[attr-defined]
    home = parse_html((await client.get("/organiser")).text)
    assert home.xpath(f"//p[@id='registration-{new_id}']") == []


def _summary_targets(page: Any) -> list[tuple[str, bool]]:
    """Each error-summary link's fragment, and whether an element on the page has that id."""
    hrefs = page.xpath("//div[@class='error-summary']//a/@href")
    assert hrefs, "no error summary"
    return [(h, bool(page.xpath(f"//*[@id='{h.removeprefix('#')}']"))) for h in hrefs]


async def test_every_error_summary_link_leads_to_its_field(
    db: Database, client: httpx.AsyncClient
) -> None:
    token = await _host(db, client)
    gathering_id = (await _gathering(db)).id
    types = await _ticket_types(db, gathering_id)
    r = schema.registration
    [(used,)] = await _rows(
        db, sa.select(r.c.ticket_type_id).where(r.c.gathering_id == gathering_id).limit(1)
    )
    session = (await load_programme(db, NEXT_SLUG)).sessions[0].id
    bad_ticket = {"name": " ", "suggested_contribution": "x" * 300, "position": "first"}
    answers = {
        "new ticket type": await client.post(
            f"{PAGE}/ticket-types", data={"csrftoken": token, **bad_ticket}
        ),
        "a ticket type": await client.post(
            f"{PAGE}/ticket-types/{types[0].id}", data={"csrftoken": token, **bad_ticket}
        ),
        "a used ticket type's removal": await client.post(
            f"{PAGE}/ticket-types/{used}/delete", data={"csrftoken": token}
        ),
        "a session's window": await client.post(
            f"{PAGE}/sessions/{session}",
            data={"csrftoken": token, "opens_at": "soon", "closes_at": "later"},
        ),
        "the window": await client.post(
            PAGE, data={"csrftoken": token, "opens_at": "soon", "closes_at": "2027-13-01T10:00"}
        ),
    }
    for what, answer in answers.items():
        assert answer.status_code in (409, 422), what
        targets = _summary_targets(parse_html(answer.text))
        assert all(found for _, found in targets), (what, targets)
    new_targets = [h for h, _ in _summary_targets(parse_html(answers["new ticket type"].text))]
    assert "#tt-new-name" in new_targets
