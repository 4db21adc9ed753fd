"""Registering through the JSON API, for a group's form on its own site."""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from gathering.core import schema
from gathering.core.database import Database
from gathering.demo import NEXT_SLUG
from gathering.programme.release import load_programme
from gathering.registration import rules as reg
from gathering.registration.api_rules import THROTTLE_LIMIT
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo

pytestmark = pytest.mark.anyio
SLUG = NEXT_SLUG  # the demo's upcoming gathering: past ones take no registrations
BASE = "http://127.0.0.1:8000"
FORM = f"/api/gatherings/{SLUG}/registration"
REGISTER = f"/api/gatherings/{SLUG}/registrations"
PLENARY = "Welcome: reclaiming our party"
ORIGIN = "https://group.example.net"
COUNTED = (schema.registration, schema.session_place, schema.consent, schema.outbox)


async def _rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _execute(db: Database, statement: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_write)


async def _counts(db: Database) -> dict[str, int]:
    counts = {}
    for table in COUNTED:
        [row] = await _rows(db, sa.select(sa.func.count()).select_from(table))
        counts[table.name] = row[0]
    return counts


async def _session_id(db: Database, title: str) -> int:
    programme = await load_programme(db, SLUG)
    return next(s.id for s in programme.sessions if s.title == title)


async def _form(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(FORM)
    assert response.status_code == 200, response.text
    return response.json()


async def _post(
    client: httpx.AsyncClient, body: object, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST as another site's form would: no cookies, JSON, an Origin."""
    client.cookies.clear()
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"content-type": "application/json", "origin": ORIGIN, **(headers or {})}
    return await client.post(REGISTER, content=content, headers=sent)


async def _valid_body(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    form = await _form(client)
    return {
        "name": "Rosa Example",
        "email": "Rosa@Example.org",
        "ticket_type_id": form["ticket_types"][0]["id"],
        **changes,
    }


def _conforms(document: dict[str, Any], component: str, instance: object) -> None:
    wrapper = {"components": document["components"], "$ref": f"#/components/schemas/{component}"}
    errors = list(jsonschema.Draft202012Validator(wrapper).iter_errors(instance))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


async def _openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    return (await client.get("/api/openapi.json")).json()


async def test_form_description_has_what_a_form_needs(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    response = await client.get(FORM)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    data = response.json()
    _conforms(await _openapi(client), "RegistrationForm", data)
    assert data["gathering"]["slug"] == SLUG
    assert data["is_open"] is True
    assert data["register_url"] == BASE + REGISTER
    assert data["form_url"] == f"{BASE}/g/{SLUG}/register"
    assert data["confirm_within_hours"] == 24
    assert [(t["name"], t["suggested_contribution"]) for t in data["ticket_types"]][:2] == [
        ("Free", "For young members and anyone under financial stress."),
        ("Concession", "Suggested £3, unwaged or low income."),
    ]
    assert all(isinstance(t["id"], int) for t in data["ticket_types"])
    assert [(q["key"], q["required"]) for q in data["questions"]] == [
        ("constituency", False),
        ("organisation", False),
        ("access_needs", False),
        ("dietary", False),
    ]
    assert data["questions"][0]["label"] == "Constituency Labour Party (CLP)"
    assert data["share_access_needs"]["offered"] is True
    programme = await load_programme(db, SLUG)
    assert [s["id"] for s in data["sessions"]] == [s.id for s in programme.sessions]
    plenary = next(s for s in data["sessions"] if s["title"] == PLENARY)
    day = next(s.starts_at for s in programme.sessions if s.title == PLENARY)
    local = day.astimezone(zoneinfo.ZoneInfo("Europe/London"))
    assert (plenary["starts_at"], plenary["access"], plenary["capacity"]) == (
        local.isoformat(),  # the demo's next gathering: 10:30 in London on its Saturday
        "public",
        300,
    )
    assert local.strftime("%a %H:%M") == "Sat 10:30"
    assert isinstance(plenary["places_left"], int)
    names = [o["name"] for o in data["organisations"]]
    assert names
    for organisation in data["organisations"]:
        assert organisation["consent_text"] == reg.contact_text(organisation["name"])
    assert data["constituency_match"]["consent_text"] == reg.MATCH_TEXT
    # Nothing private: no codes, no meeting links, no attendees.
    for secret in ("meet.example.org", "@example.", "invite_code", "joining"):
        assert secret not in response.text

    g = schema.gathering
    await _execute(db, sa.update(g).where(g.c.slug == SLUG).values(registration_open=False))
    assert (await _form(client))["is_open"] is False
    missing = await client.get("/api/gatherings/nowhere/registration")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


async def test_register_through_the_api(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    form = await _form(client)
    plenary = await _session_id(db, PLENARY)
    fbu = next(o for o in form["organisations"] if o["name"].startswith("Fire Brigades"))
    before = await _counts(db)
    body = await _valid_body(
        client,
        answers={"constituency": "Brighton Kemptown", "access_needs": "Step-free, please"},
        session_ids=[plenary],
        contact_organisation_ids=[str(fbu["id"])],  # a string of digits works too
        constituency_match=True,
        share_access_needs=True,
    )
    response = await _post(client, body)
    assert response.status_code == 202, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "no-store"
    accepted = response.json()
    assert accepted["status"] == "check_your_email"
    assert "24 hours" in accepted["message"]
    _conforms(await _openapi(client), "RegistrationAccepted", accepted)

    r = schema.registration
    [row] = await _rows(db, sa.select(r).where(r.c.email == "rosa@example.org"))
    assert (row.name, row.status, row.ticket_type_id) == (
        "Rosa Example",
        "pending",
        form["ticket_types"][0]["id"],
    )
    assert row.answers == {"constituency": "Brighton Kemptown", "access_needs": "Step-free, please"}
    assert row.share_access_needs is True
    p = schema.session_place
    places = await _rows(
        db, sa.select(p.c.session_id, p.c.status).where(p.c.registration_id == row.id)
    )
    assert [tuple(x) for x in places] == [(plenary, "confirmed")]
    c = schema.consent
    consents = await _rows(db, sa.select(c.c.text).where(c.c.registration_id == row.id))
    assert sorted(x.text for x in consents) == sorted([fbu["consent_text"], reg.MATCH_TEXT])
    o = schema.outbox
    [mail] = await _rows(
        db, sa.select(o).where(o.c.kind == "confirm_email", o.c.to_address == "rosa@example.org")
    )
    confirm_url = mail.context["confirm_url"]
    assert confirm_url.startswith(f"{BASE}/r/confirm/")
    after = await _counts(db)
    assert after["registration"] == before["registration"] + 1

    # The emailed link confirms it, as for the site's own form.
    token = urlsplit(confirm_url).path.rsplit("/", 1)[1]
    links = reg.Links(
        secret_key=TEST_SECRET,
        confirm=BASE + "/r/confirm/{token}",
        manage=BASE + "/r/{token}",
        offer=BASE + "/r/offer/{token}",
        agenda=BASE + "/my/{token}",
        session_page=BASE + "/g/{slug}/s/{session_id}",
        base_url=BASE,
    )
    await reg.confirm_registration(db, token, links=links, confirm_hours=24)
    [row] = await _rows(db, sa.select(r.c.status).where(r.c.email == "rosa@example.org"))
    assert row.status == "confirmed"

    # The same address again: the same answer, still one live row, the owner is mailed.
    again = await _post(client, {**body, "email": "ROSA@example.org", "name": "Someone Else"})
    assert again.status_code == 202
    assert again.content == response.content
    assert {k: v for k, v in again.headers.items() if k != "content-length"} == {
        k: v for k, v in response.headers.items() if k != "content-length"
    }
    rows = await _rows(db, sa.select(r.c.name).where(r.c.email == "rosa@example.org"))
    assert [x.name for x in rows] == ["Rosa Example"]
    reminders = await _rows(db, sa.select(o.c.kind).where(o.c.to_address == "rosa@example.org"))
    kinds = [x.kind for x in reminders]
    assert (kinds.count("registration_confirmed"), kinds.count("already_registered")) == (1, 1)


async def test_pending_address_again_answers_alike(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    body = await _valid_body(client)
    first = await _post(client, body)
    second = await _post(client, body)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.content == second.content
    r = schema.registration
    rows = await _rows(db, sa.select(r.c.id).where(r.c.email == "rosa@example.org"))
    assert len(rows) == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter an email address"),
        ({"name": "x" * 5000}, "name", "200 characters"),
        ({"name": "  "}, "name", "Enter the name"),
        ({"ticket_type_id": 999999}, "ticket_type_id", "Choose a ticket type"),
        ({"session_ids": [999999]}, "session_ids", "Choose sessions"),
        ({"contact_organisation_ids": [999999]}, "consent", "Choose organisations"),
        ({"answers": {"dietary": "x" * 3000}}, "answer_dietary", "2,000 characters"),
        ({"required": True}, "answer_constituency", "Please answer"),
    ],
)
async def test_input_a_person_can_correct_is_422_with_the_field(
    db: Database, client: httpx.AsyncClient, changes: dict[str, Any], field: str, message: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    changes = dict(changes)  # the parameter is shared by both engines' runs
    if changes.pop("required", False):
        q = schema.question
        await _execute(db, sa.update(q).where(q.c.key == "constituency").values(is_required=True))
        assert (await _form(client))["questions"][0]["required"] is True
    body = await _valid_body(client, **changes)
    before = await _counts(db)
    response = await _post(client, body)
    assert response.status_code == 422, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    data = response.json()
    assert data["error"] == "invalid_input"
    assert data["message"]
    assert message in data["fields"][field], data
    _conforms(await _openapi(client), "InvalidInputError", data)
    assert await _counts(db) == before


async def test_invite_code_is_checked(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    organising = await _session_id(db, "Organising locally: mutual aid and left groups")
    ps = schema.programme_session
    await _execute(
        db,
        sa.update(ps).where(ps.c.id == organising).values(access="invite", invite_code="Zqx-7731"),
    )
    from gathering.programme.release import release_programme

    programme = await load_programme(db, SLUG)
    await release_programme(db, programme.gathering.id, released_by=None)
    form = await _form(client)
    assert next(s for s in form["sessions"] if s["id"] == organising)["access"] == "invite"
    assert "Zqx-7731" not in json.dumps(form)
    before = await _counts(db)
    wrong = await _post(
        client,
        await _valid_body(client, session_ids=[organising], invite_codes={str(organising): "no"}),
    )
    assert wrong.status_code == 422
    assert "not right" in wrong.json()["fields"][f"invite_{organising}"]
    assert await _counts(db) == before
    right = await _post(
        client,
        await _valid_body(
            client, session_ids=[organising], invite_codes={str(organising): " zqx-7731 "}
        ),
    )
    assert right.status_code == 202


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"name": "Rosa", "email": ', "not valid JSON"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[]", "JSON object"),
        (b'"Rosa"', "JSON object"),
        ({"name": 42, "email": "rosa@example.org"}, "name must be a string"),
        ({"name": "Rosa", "email": ["rosa@example.org"]}, "email must be a string"),
        ({"name": "Rosa", "email": "a@b.org", "session_ids": "12"}, "session_ids must be an array"),
        ({"name": "Rosa", "email": "a@b.org", "session_ids": [1.5]}, "integer id"),
        ({"name": "Rosa", "email": "a@b.org", "ticket_type_id": True}, "integer id"),
        ({"name": "Rosa", "email": "a@b.org", "answers": ["x"]}, "answers must be an object"),
        ({"name": "Rosa", "email": "a@b.org", "answers": {"dietary": 3}}, "must be a string"),
        ({"name": "Rosa", "email": "a@b.org", "invite_codes": "x"}, "invite_codes must be"),
        ({"name": "Rosa", "email": "a@b.org", "constituency_match": "yes"}, "true or false"),
        ({"name": "Rosa", "email": "a@b.org", "session_id": [1]}, "Unknown field: session_id"),
        ({"name": "Rosa"}, "email is required"),
        ({"name": "Rosa\x00", "email": "a@b.org"}, "NUL"),
        (b'{"name": "\\ud800", "email": "a@b.org"}', "Unicode"),
        (b'{"name": "Rosa", "email": "a@b.org", "ticket_type_id": NaN}', "NaN"),
        (b'{"name": "Rosa", "email": "a@b.org", "ticket_type_id": ' + b"9" * 5000 + b"}", "JSON"),
        (b"[" * 30_000 + b"]" * 30_000, "JSON"),
    ],
)
async def test_wrong_shape_is_400_and_saves_nothing(
    db: Database, client: httpx.AsyncClient, body: object, message: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    before = await _counts(db)
    response = await _post(client, body)
    assert response.status_code == 400, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    data = response.json()
    assert data["error"] == "bad_request"
    assert message in data["message"], data
    assert await _counts(db) == before


async def test_a_large_body_is_413(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    before = await _counts(db)
    body = await _valid_body(client, answers={"dietary": "x" * 70_000})
    response = await _post(client, body)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert response.headers["access-control-allow-origin"] == "*"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for _ in range(70):
            yield b" " * 1024

    client.cookies.clear()
    response = await client.post(
        REGISTER, content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert await _counts(db) == before


async def test_only_json_is_taken(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    before = await _counts(db)
    body = json.dumps(await _valid_body(client)).encode()
    response = await _post(client, body, headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert await _counts(db) == before


async def test_closed_registration_is_409(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    body = await _valid_body(client)
    g = schema.gathering
    await _execute(db, sa.update(g).where(g.c.slug == SLUG).values(registration_open=False))
    before = await _counts(db)
    response = await _post(client, body)
    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "message": "Registration is not open: the organisers have not opened it.",
    }
    assert response.headers["access-control-allow-origin"] == "*"
    missing = await client.post(
        "/api/gatherings/nowhere/registrations",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    assert await _counts(db) == before


async def test_cors_preflight_and_csrf(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    response = await client.options(
        REGISTER,
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "POST"
    assert response.headers["access-control-allow-headers"] == "Content-Type"
    assert "access-control-allow-credentials" not in response.headers

    # A request carrying this site's cookies (a same-site browser POST) is refused by CSRF.
    before = await _counts(db)
    body = json.dumps(await _valid_body(client))
    client.cookies.set("csrftoken", "whatever", domain="127.0.0.1")
    refused = await client.post(
        REGISTER, content=body, headers={"content-type": "application/json"}
    )
    assert refused.status_code == 403
    assert await _counts(db) == before
    client.cookies.clear()


async def test_attempts_are_throttled_per_address(db: Database, app: Starlette) -> None:
    await load_demo(db, secret_key=TEST_SECRET)

    def client_from(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 4321))
        return httpx.AsyncClient(transport=transport, base_url=BASE)

    async with client_from("203.0.113.9") as busy, client_from("198.51.100.7") as other:
        body = await _valid_body(busy)
        first = await _post(busy, body)
        assert first.status_code == 202
        for _ in range(THROTTLE_LIMIT - 1):  # failures count as well
            assert (await _post(busy, b"{")).status_code == 400
        before = await _counts(db)
        throttled = await _post(busy, {**body, "email": "someone.new@example.org"})
        assert throttled.status_code == 429
        assert throttled.json()["error"] == "throttled"
        assert throttled.headers["access-control-allow-origin"] == "*"
        assert 0 < int(throttled.headers["retry-after"]) <= 600
        assert await _counts(db) == before
        assert (await _post(busy, body)).status_code == 429
        # Another address is not held up.
        fine = await _post(other, {**body, "email": "someone.new@example.org"})
        assert fine.status_code == 202
