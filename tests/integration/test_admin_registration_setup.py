"""The network admin sets up registration: open or closed, ticket types, questions.

Every change is checked where attendees meet it: the public registration form.
"""

from __future__ import annotations

from typing import Any

import httpx
import lxml.html
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.demo import NEXT_SLUG
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
ADMIN = ("admin@example.org", "demo-admin-password")
ORGANISER = ("organiser@example.org", "demo-organiser-password")
SLUG = NEXT_SLUG  # upcoming; its demo registrations use its ticket types
REGISTER = f"/g/{SLUG}/register"
WATCHED = (schema.gathering, schema.ticket_type, schema.question, schema.registration)


async def _rows(db: Database, query: Any) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _execute(db: Database, statement: Any) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_write)


async def _snapshot(db: Database) -> dict[str, Any]:
    """Every row of the tables these pages write, and how many audit events there are."""
    snapshot: dict[str, Any] = {}
    for table in WATCHED:
        rows = await _rows(db, sa.select(table).order_by(table.c.id))
        snapshot[table.name] = [tuple(row) for row in rows]
    count = sa.select(sa.func.count()).select_from(schema.audit_event)
    snapshot["audit_event"] = (await _rows(db, count))[0][0]
    return snapshot


async def _gathering_id(db: Database) -> int:
    g = schema.gathering
    [(gathering_id,)] = await _rows(db, sa.select(g.c.id).where(g.c.slug == SLUG))
    return int(gathering_id)


async def _ticket_types(db: Database, gathering_id: int) -> list[tuple[str, str, int]]:
    t = schema.ticket_type
    query = (
        sa.select(t.c.name, t.c.suggested_contribution, t.c.position)
        .where(t.c.gathering_id == gathering_id)
        .order_by(t.c.position, t.c.id)
    )
    return [tuple(row) for row in await _rows(db, query)]


async def _questions(db: Database, gathering_id: int) -> dict[str, tuple[str, str, bool]]:
    q = schema.question
    query = sa.select(q.c.key, q.c.label, q.c.help, q.c.is_required).where(
        q.c.gathering_id == gathering_id
    )
    return {row.key: (row.label, row.help, bool(row.is_required)) for row in await _rows(db, query)}


async def _audit_actions(db: Database) -> list[str]:
    a = schema.audit_event
    query = sa.select(a.c.action).where(a.c.action.like("admin.%")).order_by(a.c.id)
    return [row.action for row in await _rows(db, query)]


async def _admin(db: Database, client: httpx.AsyncClient) -> tuple[int, str]:
    await load_demo(db, secret_key=TEST_SECRET)
    assert (await sign_in(client, *ADMIN)).status_code == 303
    gathering_id = await _gathering_id(db)
    return gathering_id, await csrf_from(client, f"/admin/gatherings/{gathering_id}")


def _form_values(form: lxml.html.HtmlElement) -> dict[str, str]:
    """What a browser would send for ``form`` as it stands (ticked boxes only)."""
    values: dict[str, str] = {}
    for element in form.xpath(".//input[@name] | .//select[@name] | .//textarea[@name]"):
        name = element.get("name")
        if element.tag == "input" and element.get("type") == "checkbox":
            if element.get("checked") is not None:
                values[name] = element.get("value", "on")
        elif element.tag == "select":
            chosen = element.xpath("./option[@selected]/@value") or element.xpath("./option/@value")
            values[name] = chosen[0] if chosen else ""
        elif element.tag == "textarea":
            values[name] = element.text or ""
        else:
            values[name] = element.get("value", "")
    return values


async def _page_form(client: httpx.AsyncClient, path: str) -> dict[str, str]:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    [form] = parse_html(response.text).xpath("//main//form[@method='post'][1]")
    return _form_values(form)


async def _public_form(client: httpx.AsyncClient) -> lxml.html.HtmlElement:
    response = await client.get(REGISTER)
    assert response.status_code == 200
    return parse_html(response.text)


def _ticket_labels(doc: lxml.html.HtmlElement) -> list[str]:
    return texts(doc, "//fieldset[@id='ticket_type_id']//div[@class='radio']/label")


def _location(response: httpx.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:2000])
    return str(response.headers["location"])


# --- open / closed ------------------------------------------------------------------------------


async def test_admin_closes_and_reopens_registration(
    db: Database, client: httpx.AsyncClient
) -> None:
    gathering_id, _ = await _admin(db, client)
    edit = f"/admin/gatherings/{gathering_id}"
    doc = parse_html((await client.get(edit)).text)
    assert doc.xpath("//input[@name='registration_open']/@checked") == ["checked"]
    assert texts(doc, "//label[@for='registration_open']") == ["Registration is open"]
    assert (await _public_form(client)).xpath("//input[@name='name']")

    form = await _page_form(client, edit)
    del form["registration_open"]
    assert _location(await client.post(edit, data=form)) == f"{edit}?saved=1"
    g = schema.gathering
    [(is_open,)] = await _rows(db, sa.select(g.c.registration_open).where(g.c.id == gathering_id))
    assert is_open is False
    page = await _public_form(client)
    assert any("is not open" in t for t in texts(page, "//main//p"))
    assert not page.xpath("//input[@name='name']")
    edit_doc = parse_html((await client.get(edit)).text)
    assert edit_doc.xpath("//input[@name='registration_open']/@checked") == []

    # A form posted anyway is refused and saves nothing.
    before = await _snapshot(db)
    attempt = await client.post(
        REGISTER,
        data={
            "csrftoken": await csrf_from(client, edit),
            "name": "Rosa Example",
            "email": "rosa@example.org",
        },
    )
    assert attempt.status_code == 409
    assert "not open" in attempt.text
    assert await _snapshot(db) == before

    form["registration_open"] = "on"
    _location(await client.post(edit, data=form))
    assert (await _public_form(client)).xpath("//input[@name='name']")
    assert (await _audit_actions(db))[-2:] == ["admin.gathering_updated"] * 2


async def test_a_new_gathering_starts_with_registration_closed(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _admin(db, client)
    doc = parse_html((await client.get("/admin/gatherings/new")).text)
    assert doc.xpath("//input[@name='registration_open']")
    assert doc.xpath("//input[@name='registration_open']/@checked") == []


# --- ticket types ---------------------------------------------------------------------------------


async def test_admin_adds_edits_reorders_and_deletes_a_ticket_type(
    db: Database, client: httpx.AsyncClient
) -> None:
    gathering_id, token = await _admin(db, client)
    assert _ticket_labels(await _public_form(client)) == [
        "Free — For young members and anyone under financial stress.",
        "Concession — Suggested £3, unwaged or low income.",
        "Standard — Suggested £10.",
        "Solidarity — £20 or more, to pay for someone else's place.",
    ]
    new_path = f"/admin/gatherings/{gathering_id}/ticket-types/new"
    new_page = parse_html((await client.get(new_path)).text)
    assert texts(new_page, "//h1") == [
        "New ticket type for Don't Leave, Organise: the next national gathering"
    ]

    created = await client.post(
        new_path,
        data={
            "csrftoken": token,
            "name": "  Supporter ",
            "suggested_contribution": "Suggested £15, if you can",
            "position": "",
        },
    )
    location = _location(created)
    ticket_id = int(location.split("?")[0].rsplit("/", 1)[1])
    assert location == f"/admin/ticket-types/{ticket_id}?saved=1"
    assert (await _ticket_types(db, gathering_id))[-1] == (
        "Supporter",
        "Suggested £15, if you can",
        4,
    )
    assert _ticket_labels(await _public_form(client))[-1] == (
        "Supporter — Suggested £15, if you can"
    )
    listed = parse_html((await client.get(f"/admin/gatherings/{gathering_id}")).text)
    assert texts(listed, "//section[@aria-labelledby='ticket-types-title']//li/a") == [
        "Free",
        "Concession",
        "Standard",
        "Solidarity",
        "Supporter",
    ]

    edit_path = f"/admin/ticket-types/{ticket_id}"
    form = await _page_form(client, edit_path)
    assert (form["name"], form["suggested_contribution"], form["position"]) == (
        "Supporter",
        "Suggested £15, if you can",
        "4",
    )
    form.update(name="Supporter plus", suggested_contribution="Suggested £25", position="")
    _location(await client.post(edit_path, data=form))
    assert (await _ticket_types(db, gathering_id))[-1] == ("Supporter plus", "Suggested £25", 4)

    # Reordering: Free moves to the end by its position number.
    t = schema.ticket_type
    [(free_id,)] = await _rows(
        db, sa.select(t.c.id).where(t.c.gathering_id == gathering_id, t.c.name == "Free")
    )
    free_form = await _page_form(client, f"/admin/ticket-types/{free_id}")
    free_form["position"] = "10"
    _location(await client.post(f"/admin/ticket-types/{free_id}", data=free_form))
    labels = _ticket_labels(await _public_form(client))
    assert [label.split(" — ")[0] for label in labels] == [
        "Concession",
        "Standard",
        "Solidarity",
        "Supporter plus",
        "Free",
    ]

    delete_path = f"/admin/ticket-types/{ticket_id}/delete"
    confirm = parse_html((await client.get(delete_path)).text)
    assert texts(confirm, "//h1") == ["Delete Supporter plus?"]
    deleted = await client.post(delete_path, data={"csrftoken": token})
    assert _location(deleted) == f"/admin/gatherings/{gathering_id}"
    names = [name for name, _, _ in await _ticket_types(db, gathering_id)]
    assert names == ["Concession", "Standard", "Solidarity", "Free"]
    assert not any("Supporter" in label for label in _ticket_labels(await _public_form(client)))
    assert (await _audit_actions(db))[-4:] == [
        "admin.ticket_type_created",
        "admin.ticket_type_updated",
        "admin.ticket_type_updated",
        "admin.ticket_type_deleted",
    ]
    assert (await client.get(edit_path)).status_code == 404


async def test_a_ticket_type_in_use_cannot_be_deleted(
    db: Database, client: httpx.AsyncClient
) -> None:
    gathering_id, token = await _admin(db, client)
    t, r = schema.ticket_type, schema.registration
    used = (
        sa.select(t.c.id, t.c.name, sa.func.count(r.c.id))
        .join(r, r.c.ticket_type_id == t.c.id)
        .where(t.c.gathering_id == gathering_id)
        .group_by(t.c.id, t.c.name)
        .order_by(t.c.id)
    )
    [(ticket_id, name, count), *_] = await _rows(db, used)
    assert count > 0
    before = await _snapshot(db)

    page = parse_html((await client.get(f"/admin/ticket-types/{ticket_id}/delete")).text)
    assert texts(page, "//div[@role='alert']/h2") == ["This ticket type cannot be deleted"]
    assert not page.xpath("//main//form[@method='post']")

    refused = await client.post(
        f"/admin/ticket-types/{ticket_id}/delete", data={"csrftoken": token}
    )
    assert refused.status_code == 409
    noun = "registration" if count == 1 else "registrations"
    message = f"This ticket type cannot be deleted while it has {count} {noun}. Nothing changed."
    assert message in " ".join(refused.text.split())
    assert await _snapshot(db) == before
    assert name in [n for n, _, _ in await _ticket_types(db, gathering_id)]


# --- questions ------------------------------------------------------------------------------------


async def test_admin_chooses_the_questions_the_public_form_asks(
    db: Database, client: httpx.AsyncClient
) -> None:
    gathering_id, _ = await _admin(db, client)
    r = schema.registration
    [(registration_id,), *_] = await _rows(
        db, sa.select(r.c.id).where(r.c.gathering_id == gathering_id).order_by(r.c.id)
    )
    answers = {"dietary": "Vegan", "constituency": "Hove"}
    await _execute(db, sa.update(r).where(r.c.id == registration_id).values(answers=answers))
    public = await _public_form(client)
    assert public.xpath("//textarea[@name='answer_dietary']")
    assert not public.xpath("//textarea[@name='answer_free_text']")

    path = f"/admin/gatherings/{gathering_id}/questions"
    page = parse_html((await client.get(path)).text)
    assert texts(page, "//form//fieldset/legend") == [
        "Constituency / CLP",
        "Organisation",
        "Access needs",
        "Dietary needs",
        "Free text",
    ]
    form = await _page_form(client, path)
    for key in ("constituency", "organisation", "access_needs", "dietary"):
        assert form[f"{key}_enabled"] == "on"
        assert f"{key}_required" not in form  # optional stays the default
    assert "free_text_enabled" not in form
    assert form["constituency_label"] == "Constituency Labour Party (CLP)"
    assert form["free_text_label"]  # a default wording, ready to enable

    form.update(
        free_text_enabled="on",
        free_text_required="on",
        free_text_label="Why are you coming?",
        free_text_help="A sentence is plenty.",
    )
    del form["dietary_enabled"]
    saved = await client.post(path, data=form)
    assert _location(saved) == f"{path}?saved=1"
    questions = await _questions(db, gathering_id)
    assert set(questions) == {"constituency", "organisation", "access_needs", "free_text"}
    assert questions["free_text"] == ("Why are you coming?", "A sentence is plenty.", True)
    assert questions["constituency"][2] is False
    [(kept,)] = await _rows(db, sa.select(r.c.answers).where(r.c.id == registration_id))
    assert kept == answers  # answers already given stay
    assert (await _audit_actions(db))[-1] == "admin.questions_updated"
    after = parse_html((await client.get(f"{path}?saved=1")).text)
    assert texts(after, "//p[@role='status']") == ["Saved."]
    assert after.xpath("//input[@name='free_text_required']/@checked") == ["checked"]
    assert after.xpath("//input[@name='dietary_enabled']/@checked") == []

    public = await _public_form(client)
    assert not public.xpath("//textarea[@name='answer_dietary']")
    assert texts(public, "//label[@for='answer_free_text']") == ["Why are you coming?"]
    assert texts(public, "//p[@id='answer_free_text-hint']") == ["A sentence is plenty."]
    assert texts(public, "//label[@for='answer_constituency']") == [
        "Constituency Labour Party (CLP) (optional)"
    ]
    summary = parse_html((await client.get(f"/admin/gatherings/{gathering_id}")).text)
    assert "Why are you coming? (required)" in texts(
        summary, "//section[@aria-labelledby='questions-title']//li"
    )

    # Registering without the required answer fails, naming the question; with it, it works.
    t = schema.ticket_type
    [(ticket_id,), *_] = await _rows(db, sa.select(t.c.id).where(t.c.gathering_id == gathering_id))
    data = {
        "csrftoken": await csrf_from(client, REGISTER),
        "name": "Rosa Example",
        "email": "rosa.new@example.org",
        "ticket_type_id": str(ticket_id),
        "answer_constituency": "Hove",
    }
    count = sa.select(sa.func.count()).select_from(r)
    [(before,)] = await _rows(db, count)
    refused = await client.post(REGISTER, data=data)
    assert refused.status_code == 422
    doc = parse_html(refused.text)
    assert texts(doc, "//p[@id='answer_free_text-error']") == [
        "Please answer: Why are you coming?."
    ]
    # The constituency picker (issue 16) keeps what was typed.
    assert doc.xpath("//input[@name='answer_constituency']/@value") == ["Hove"]
    assert (await _rows(db, count))[0][0] == before
    accepted = await client.post(REGISTER, data={**data, "answer_free_text": "To organise."})
    assert accepted.status_code == 200, accepted.text[:2000]
    assert (await _rows(db, count))[0][0] == before + 1


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "   "}, "name", "Enter name."),
        ({"suggested_contribution": "£" * 300}, "suggested_contribution", "at most 200"),
        ({"name": "x" * 81}, "name", "at most 80"),
        ({"position": "first"}, "position", "whole number"),
        ({"position": "-1"}, "position", "between 0"),
    ],
)
async def test_bad_ticket_types_are_refused_with_the_typed_values_kept(
    db: Database,
    client: httpx.AsyncClient,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    gathering_id, token = await _admin(db, client)
    t = schema.ticket_type
    [(ticket_id,), *_] = await _rows(db, sa.select(t.c.id).where(t.c.gathering_id == gathering_id))
    before = await _snapshot(db)
    data = {
        "csrftoken": token,
        "name": "Supporter",
        "suggested_contribution": "Suggested £15",
        "position": "",
        **changes,
    }
    for path in (
        f"/admin/gatherings/{gathering_id}/ticket-types/new",
        f"/admin/ticket-types/{ticket_id}",
    ):
        response = await client.post(path, data=data)
        assert response.status_code == 422, path
        doc = parse_html(response.text)
        [error] = texts(doc, f"//p[@id='{field}-error']")
        assert message in error
        assert doc.xpath(f"//div[@class='error-summary']//a[@href='#{field}']")
        for name in ("name", "suggested_contribution", "position"):
            assert doc.xpath(f"//input[@name='{name}']/@value") == [data[name]], name
    assert await _snapshot(db) == before


async def test_bad_questions_are_refused_with_the_typed_values_kept(
    db: Database, client: httpx.AsyncClient
) -> None:
    gathering_id, _ = await _admin(db, client)
    path = f"/admin/gatherings/{gathering_id}/questions"
    before = await _snapshot(db)
    cases = [
        ({"free_text_enabled": "on", "free_text_label": "  "}, "free_text_label", "wording"),
        ({"dietary_help": "h" * 401}, "dietary_help", "at most 400"),
        ({"constituency_label": "L" * 201}, "constituency_label", "at most 200"),
        ({"free_text_required": "on"}, "free_text_required", "only be required if it is asked"),
    ]
    for changes, field, message in cases:
        form = {**await _page_form(client, path), **changes}
        form["organisation_required"] = "on"  # a valid change in the same form: not saved either
        response = await client.post(path, data=form)
        assert response.status_code == 422, changes
        doc = parse_html(response.text)
        [error] = texts(doc, f"//p[@id='{field}-error']")
        assert message in error, error
        assert doc.xpath("//input[@name='organisation_required']/@checked") == ["checked"]
        for name, value in changes.items():
            if not name.endswith(("_enabled", "_required")):
                assert doc.xpath(f"//input[@name='{name}']/@value") == [value]
    assert await _snapshot(db) == before


# --- who may ------------------------------------------------------------------------------------


async def test_an_organiser_who_is_not_an_admin_gets_403_and_changes_nothing(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    gathering_id = await _gathering_id(db)
    t = schema.ticket_type
    [(ticket_id,), *_] = await _rows(db, sa.select(t.c.id).where(t.c.gathering_id == gathering_id))
    assert (await sign_in(client, *ORGANISER)).status_code == 303
    token = await csrf_from(client, "/organiser")
    before = await _snapshot(db)
    posts = {
        f"/admin/gatherings/{gathering_id}": {"title": "Taken", "registration_open": ""},
        f"/admin/gatherings/{gathering_id}/ticket-types/new": {"name": "Free for all"},
        f"/admin/ticket-types/{ticket_id}": {"name": "Renamed", "position": "9"},
        f"/admin/ticket-types/{ticket_id}/delete": {},
        f"/admin/gatherings/{gathering_id}/questions": {"free_text_enabled": "on"},
    }
    for path, data in posts.items():
        assert (await client.get(path)).status_code == 403, path
        response = await client.post(path, data={"csrftoken": token, **data})
        assert response.status_code == 403, path
    assert await _snapshot(db) == before
