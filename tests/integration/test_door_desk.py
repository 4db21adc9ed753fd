"""The door's help desk (search, admit by ref), undo by nonce, and what every scan row records."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import sqlalchemy as sa

from gathering.auth.rules import Throttled
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.door import desk
from gathering.door import rules as checkin
from tests.conftest import TEST_SECRET
from tests.helpers import csrf_from
from tests.integration.test_checkin import (
    _door,
    _execute,
    _live_door,
    _open,
    _open_over_http,
    _rows,
    _scan,
    door_app,  # noqa: F401 - fixtures used by name
    door_client,  # noqa: F401 - redefined below as the fixture argument's name
)

pytestmark = pytest.mark.anyio


async def _search(
    db: Database,
    device: checkin.StewardDevice,
    query: str,
    now: dt.datetime,
    session_id: int | None = None,
) -> checkin.SearchResult:
    return await checkin.search(
        db, device, query, session_id=session_id, now=now, secret_key=TEST_SECRET
    )


async def _audits(db: Database, action: str) -> list[dict[str, object]]:
    ae = schema.audit_event
    rows = await _rows(db, sa.select(ae).where(ae.c.action == action).order_by(ae.c.id))
    return [{"actor": (r.actor_kind, r.actor_id), **r.detail} for r in rows]


async def test_search_by_first_name_and_surname_start_or_whole_email(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    found = await _search(db, device, "  sam   OKA ", door.at(0))
    assert [(m.name, m.checked_in, m.place) for m in found.matches] == [("Sam Okafor", False, None)]
    assert not found.too_many
    by_email = await _search(db, device, "Rhiannon.Price@example.org", door.at(0))
    assert [m.name for m in by_email.matches] == ["Rhiannon Price"]
    # A first name alone, or a surname start alone, finds nobody: it is not a way to browse.
    assert (await _search(db, device, "Sam Okx", door.at(0))).matches == ()
    assert (await _search(db, device, "Okafor Sam", door.at(0))).matches == ()
    audits = await _audits(db, "door_search")
    assert [a["matches"] for a in audits] == [1, 1, 0, 0]
    assert all(a["actor"] == ("steward_pass", door.pass_id) for a in audits)


@pytest.mark.parametrize(
    "query",
    ["", "   ", "Sam", "Sam Ok", "S O", "@example.org", "sam@", "x" * 300, "'; DROP TABLE x;--"],
)
async def test_vague_searches_are_refused_with_words(db: Database, query: str) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    with pytest.raises(InvalidInput) as caught:
        await _search(db, device, query, door.at(0))
    assert "query" in caught.value.errors
    assert await _audits(db, "door_search") == []  # nothing was looked up


async def test_search_sees_only_people_with_a_place_in_scope(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    # Someone of the other demo gathering is not found through this gathering's pass.
    other = await _search(db, device, "Rhiannon Pri", door.at(0))
    assert [m.name for m in other.matches] == ["Rhiannon Price"]
    sp, r = schema.session_place, schema.registration
    places = await _rows(
        db,
        sa.select(sp.c.session_id, sp.c.status).where(sp.c.registration_id == door.people[0].id),
    )
    held = {p.session_id for p in places}
    elsewhere = next(s.id for s in door.sessions if s.id not in held)
    inside = next(iter(held))
    assert (await _search(db, device, "Sam Oka", door.at(0), session_id=elsewhere)).matches == ()
    found = await _search(db, device, "Sam Oka", door.at(0), session_id=inside)
    assert [(m.name, m.place) for m in found.matches] == [("Sam Okafor", "confirmed")]
    # A cancelled registration is not found at all.
    await _execute(db, sa.update(r).where(r.c.id == door.people[0].id).values(status="cancelled"))
    assert (await _search(db, device, "Sam Oka", door.at(0))).matches == ()


async def test_too_many_matches_lists_nobody(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    r = schema.registration
    for person in door.people:
        await _execute(db, sa.update(r).where(r.c.id == person.id).values(name="Alex Smithson"))
    monkeypatch.setattr(desk, "MAX_MATCHES", 2)
    found = await _search(db, device, "alex smi", door.at(0))
    assert found.too_many and found.matches == ()
    assert (await _audits(db, "door_search"))[-1]["matches"] == len(door.people)


async def test_searches_are_throttled_per_pass(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    for _ in range(checkin.MAX_SEARCHES_PER_PASS):
        await _search(db, device, "Sam Oka", door.at(0))
    with pytest.raises(Throttled) as caught:
        await _search(db, device, "Sam Oka", door.at(0))
    assert "Too many searches" in caught.value.message
    assert (await _search(db, device, "Sam Oka", door.at(0) + desk.SEARCH_WINDOW)).matches


async def test_a_match_is_admitted_by_its_ref_and_only_by_this_pass(db: Database) -> None:
    door = await _door(db)
    now = door.at(0)
    device = (await _open(db, now)).device
    [match] = (await _search(db, device, "Sam Oka", now)).matches
    scanned = await checkin.scan(
        db,
        device,
        "",
        session_id=None,
        door="Help desk",
        client_nonce="desk-1",
        kind="entry",
        now=now,
        ref=match.ref,
        secret_key=TEST_SECRET,
    )
    assert (scanned.status, scanned.reason, scanned.name) == ("green", "ok", "Sam Okafor")
    ci = schema.check_in
    rows = await _rows(db, sa.select(ci.c.registration_id, ci.c.door))
    assert [(r.registration_id, r.door) for r in rows] == [(door.people[0].id, "Help desk")]
    [again] = (await _search(db, device, "Sam Oka", now)).matches
    assert again.checked_in
    # A forged ref, or one made for another pass, matches nobody.
    other_device = checkin.StewardDevice(door.pass_id + 1000, device.pin_fingerprint, now)
    for ref, dev in [(match.ref[:-3] + "abc", device), (match.ref, other_device)]:
        refused = await checkin.scan(
            db,
            dev,
            "",
            session_id=None,
            door="",
            client_nonce=f"desk-{len(ref)}-{dev.pass_id}",
            kind="entry",
            now=now,
            ref=ref,
            secret_key=TEST_SECRET,
        )
        assert refused.status == "red"
        assert refused.reason in ("unknown_code", "pass_revoked")
        assert refused.name is None


async def test_undo_by_nonce_undoes_that_scan_only(db: Database) -> None:
    door = await _door(db)
    now = door.at(0)
    device = (await _open(db, now)).device
    first, second = door.people[0], door.people[1]
    await _scan(db, device, first.ticket_code, now, session_id=None, nonce="first")
    await _scan(db, device, second.ticket_code, now, session_id=None, nonce="second")
    undone = await checkin.undo(db, device, nonce="first", now=now + dt.timedelta(minutes=1))
    assert (undone.status, undone.reason, undone.name) == ("green", "undone", first.name)
    ci = schema.check_in
    live = await _rows(db, sa.select(ci.c.registration_id).where(ci.c.undone_at.is_(None)))
    assert [r.registration_id for r in live] == [second.id]
    again = await checkin.undo(db, device, nonce="first", now=now + dt.timedelta(minutes=1))
    assert again.reason == "nothing_to_undo"
    unknown = await checkin.undo(db, device, nonce="never-sent", now=now)
    assert unknown.reason == "nothing_to_undo"
    late = await checkin.undo(db, device, nonce="second", now=now + dt.timedelta(minutes=6))
    assert late.reason == "undo_too_late"
    with pytest.raises(InvalidInput):
        await checkin.undo(db, device, nonce="bad nonce!", now=now)


async def test_every_scan_row_records_session_door_and_kind(db: Database) -> None:
    door = await _door(db)
    session = door.sessions[0]
    now = door.at(0)
    device = (await _open(db, now)).device
    person = door.people[0]
    await _scan(db, device, person.ticket_code, now, session_id=None, door="Front")
    await _scan(db, device, "NOPE", now, session_id=session.id, door="Side")
    await _scan(db, device, person.ticket_code, now, session_id=999_999, door="Back")
    await _scan(db, device, person.ticket_code, now, session_id=None, kind="exit", door="Front")
    await checkin.undo(db, device, now=now)
    sc = schema.scan
    rows = await _rows(db, sa.select(sc).order_by(sc.c.id))
    assert [(r.session_id, r.door, r.kind, r.result, r.reason) for r in rows] == [
        (None, "Front", "entry", "green", "ok"),
        (session.id, "Side", "entry", "red", "bad_code"),
        (None, "Back", "entry", "red", "session_not_on_pass"),  # no such session: not stored
        (None, "Front", "exit", "green", "ok"),
        (None, "Front", "undo", "green", "undone"),
    ]
    assert all(r.pass_id == door.pass_id for r in rows)


async def test_the_api_searches_and_admits_by_ref(
    db: Database,
    door_client: httpx.AsyncClient,  # noqa: F811 - the fixture
) -> None:
    door = await _live_door(db)
    client = door_client
    await _open_over_http(client)
    headers = {"x-csrftoken": await csrf_from(client, "/signin")}
    vague = await client.post("/door/api/search", json={"query": "Sam"}, headers=headers)
    assert vague.status_code == 400
    assert "first name" in vague.json()["message"]
    found = await client.post("/door/api/search", json={"query": "sam oka"}, headers=headers)
    body = found.json()
    assert [m["name"] for m in body["matches"]] == ["Sam Okafor"]
    assert body["message"] == "1 found."
    assert set(body["matches"][0]) == {"ref", "name", "ticket_type", "place", "checked_in"}
    assert "@" not in found.text  # no email addresses, whatever was asked
    admitted = await client.post(
        "/door/api/scan",
        json={
            "ref": body["matches"][0]["ref"],
            "nonce": "api-desk-1",
            "session_id": door.sessions[0].id,
        },
        headers=headers,
    )
    assert (admitted.json()["status"], admitted.json()["name"]) == ("green", "Sam Okafor")
    undone = await client.post("/door/api/undo", json={"nonce": "api-desk-1"}, headers=headers)
    assert (undone.json()["reason"], undone.json()["name"]) == ("undone", "Sam Okafor")
    bad_ref = await client.post(
        "/door/api/scan", json={"ref": 12, "nonce": "api-desk-2"}, headers=headers
    )
    assert bad_ref.status_code == 400


async def test_a_retried_scan_after_the_person_erased_themselves_answers_without_them(
    db: Database,
) -> None:
    from gathering.registration import rules as registration
    from gathering.registration.rules import manage_token

    door = await _door(db)
    now = door.at(0)
    device = (await _open(db, now)).device
    person = door.people[0]
    first = await _scan(db, device, person.ticket_code, now, session_id=None, nonce="kept-1")
    assert first.name == person.name
    r = schema.registration
    [row] = await _rows(db, sa.select(r.c.manage_key).where(r.c.id == person.id))
    links = registration.Links(
        secret_key=TEST_SECRET,
        confirm="http://127.0.0.1/r/confirm/{token}",
        manage="http://127.0.0.1/r/{token}",
        offer="http://127.0.0.1/r/offer/{token}",
    )
    await registration.erase(
        db, manage_token(TEST_SECRET, person.id, row.manage_key), links=links, offer_hours=48
    )
    again = await _scan(db, device, person.ticket_code, now, session_id=None, nonce="kept-1")
    assert (again.status, again.reason, again.name) == ("green", "ok", None)
    # The help desk no longer finds them, and their old ref admits nobody.
    assert (await _search(db, device, "Sam Oka", now)).matches == ()


async def test_session_ids_beyond_the_database_range_are_refused_in_words(
    db: Database,
    door_client: httpx.AsyncClient,  # noqa: F811 - the fixture
) -> None:
    await _live_door(db)
    client = door_client
    await _open_over_http(client)
    for value in ("99999999999", "2147483648", "0", "-1", "1e3"):
        response = await client.get(f"/door/api/counts?session_id={value}")
        assert response.status_code == 400, (value, response.text)
        assert "whole number" in response.json()["message"]
    headers = {"x-csrftoken": await csrf_from(client, "/signin")}
    # Signing out needs the page's JSON request: a bare cross-site style POST changes nothing.
    bare = await client.post("/door/api/close", headers=headers)
    assert bare.status_code == 415
    assert (await client.get("/door/api/pass")).status_code == 200
