"""Issue 14's attacks on the door, each performed as the attacker did, on both engines.

#3 a host organiser's steward pass reaching sessions whose attendee list it may not see, at any
date, with a help desk that found waiting-list entries; #4 undo on a second phone walking back
(and naming) another phone's check-ins; #5 one phone flooding scans and live streams; #11 wrong
PINs locking stewards out (the delays themselves are in ``test_checkin``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.settings import Settings
from gathering.core.throttles import Throttled
from gathering.demo import steward_token
from gathering.door import bounds as door_bounds
from gathering.door import desk, devices, scanning
from gathering.door.bounds import DeviceBounds, TooManyScans
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, run_cli, sign_in, texts
from tests.integration.test_checkin import (
    ADDRESS,
    PIN,
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
from tests.integration.test_door_live import Stream, _serving
from tests.integration.test_stewarding import JVL, LLA, PAGE, SLUG, _form, _sessions_by_host

pytestmark = pytest.mark.anyio
DURING = dt.datetime(2019, 9, 22, 17, 0, tzinfo=dt.UTC)  # the Palestine meeting opens at 16:30


async def _made_pass(client: httpx.AsyncClient, **values: Any) -> tuple[str, str]:
    """Make a pass through the organisers' page; its link's token and its PIN."""
    token = await csrf_from(client, PAGE)
    made = await client.post(PAGE, data=_form(token, **values))
    assert made.status_code == 200, made.text
    doc = parse_html(made.text)
    link = doc.xpath("//a[@id='pass-link']/@href")[0]
    made_pin = texts(doc, "//p[@id='pass-pin']")  # shown only when the page made it
    return link.rsplit("/", 1)[1], made_pin[0] if made_pin else ""


async def _place_holder(db: Database, session_id: int) -> Any:
    r, sp = schema.registration, schema.session_place
    [person] = await _rows(
        db,
        sa.select(r.c.id, r.c.name, r.c.ticket_code)
        .join(sp)
        .where(sp.c.session_id == session_id, sp.c.status == "confirmed")
        .limit(1),
    )
    return person


# --- #3 a pass covers only what its maker may see -------------------------------------------


async def test_a_gathering_hosts_all_sessions_pass_does_not_reach_other_hosts_sessions(
    db: Database, client: httpx.AsyncClient
) -> None:
    """LLA hosts the conference but not JVL's meeting, whose list it may not see: its "all
    sessions" pass used to admit to that meeting and confirm names at its help desk."""
    await load_demo(db, secret_key=TEST_SECRET)
    hosts = await _sessions_by_host(db)
    [palestine] = hosts["jvl"]
    await sign_in(client, *LLA)
    page = parse_html((await client.get(PAGE)).text)
    offered = [int(v) for v in page.xpath("//input[@name='session_ids']/@value")]
    assert palestine not in offered
    [label] = texts(page, "//label[@for='cover-all']")
    assert (
        label
        == "The gathering as a whole, and every session your organisation hosts (now or later)"
    )
    token, pin = await _made_pass(client)  # cover: all
    opened = await devices.open_pass(
        db, token, pin, client_address=ADDRESS, now=DURING, secret_key=TEST_SECRET
    )
    covered = {s.id for s in opened.info.sessions}
    lla_hosted = {s for s in hosts["lla"] if s not in hosts["lrc"] + hosts["law"]}
    assert covered == lla_hosted  # only the sessions LLA hosts, not those it co-hosts
    person = await _place_holder(db, palestine)
    scanned = await _scan(db, opened.device, person.ticket_code, DURING, session_id=palestine)
    assert (scanned.status, scanned.reason, scanned.name) == ("red", "session_not_on_pass", None)
    first_name, surname = person.name.split()[0], person.name.split()[-1][:3]
    with pytest.raises(devices.PassRefused) as refused:
        await desk.search(
            db,
            opened.device,
            f"{first_name} {surname}",
            session_id=palestine,
            now=DURING,
            secret_key=TEST_SECRET,
        )
    assert refused.value.code == "session_not_on_pass"
    # A session JVL adds later is not covered either: the rule is read at every use.
    s, h = schema.programme_session, schema.session_host
    jvl_id = (await _rows(db, sa.select(h.c.organisation_id).where(h.c.session_id == palestine)))[0]

    async def _later(conn: Any) -> int:
        [row] = (await conn.execute(sa.select(s).where(s.c.id == palestine))).mappings().all()
        values = {k: v for k, v in row.items() if k != "id"} | {"title": "Added later"}
        new_id = int((await conn.execute(sa.insert(s).values(values).returning(s.c.id))).scalar())
        await conn.execute(
            sa.insert(h).values(session_id=new_id, organisation_id=jvl_id[0], role="host")
        )
        return new_id

    added = await db.write(_later)
    info = await devices.pass_info(db, opened.device, now=DURING)
    assert added not in {s.id for s in info.sessions}
    assert (
        await _scan(db, opened.device, person.ticket_code, DURING, session_id=added)
    ).reason == ("session_not_on_pass")
    # The organisers' list says what the pass covers, honestly.
    listed = parse_html((await client.get(PAGE)).text)
    assert "The gathering as a whole, and the sessions its maker’s organisation hosts" in texts(
        listed, "//li[@class='pass-item']//dd"
    )


async def test_a_session_host_still_staffs_its_own_door(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    [palestine] = (await _sessions_by_host(db))["jvl"]
    await sign_in(client, *JVL)
    token, _ = await _made_pass(client, cover="some", session_ids=[str(palestine)], pin="24680")
    opened = await devices.open_pass(
        db, token, "24680", client_address=ADDRESS, now=DURING, secret_key=TEST_SECRET
    )
    person = await _place_holder(db, palestine)
    scanned = await _scan(db, opened.device, person.ticket_code, DURING, session_id=palestine)
    assert (scanned.reason, scanned.name) == ("ok", person.name)


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"valid_from": "2019-09-19T23:59"}, "valid_from", "the day before the gathering"),
        ({"valid_until": "2019-09-26T00:01"}, "valid_until", "the end of the gathering"),
        (
            {"valid_from": "2030-01-01T08:00", "valid_until": "2030-01-02T08:00"},
            "valid_from",
            "The gathering is over",
        ),
    ],
)
async def test_a_pass_works_only_within_the_gathering_dates(
    db: Database, client: httpx.AsyncClient, values: dict[str, str], field: str, words: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    token = await csrf_from(client, PAGE)
    response = await client.post(PAGE, data=_form(token, **values))
    assert response.status_code == 422
    doc = parse_html(response.text)
    [error] = doc.xpath(f"//input[@name='{field}']/../p[@class='error']")
    assert words in error.text_content()
    sp = schema.steward_pass
    assert len(await _rows(db, sa.select(sp.c.id))) == 2  # only the demo's two
    # The hint says so before anyone gets it wrong; the PIN field is numeric, not escaped text.
    hints = texts(doc, "//p[@class='hint']")
    assert any("At the earliest the day before the gathering starts" in h for h in hints)
    assert "Fri 20 Sep 2019 00:00" in " ".join(hints)
    [pin] = doc.xpath("//input[@name='pin']")
    assert pin.get("inputmode") == "numeric"
    assert "&#34;" not in response.text and "&quot;numeric" not in response.text
    # The set-up day itself is fine.
    made = await client.post(
        PAGE,
        data=_form(await csrf_from(client, PAGE), valid_from="2019-09-20T00:00"),
    )
    assert made.status_code == 200


async def test_the_command_line_is_held_to_the_gathering_dates(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    env = {"GATHERING_DATABASE_URL": db_url, "GATHERING_SECRET_KEY": TEST_SECRET}
    made = run_cli(
        "steward-pass",
        "create",
        SLUG,
        "--label",
        "Forever",
        "--from",
        "2019-09-22T08:00",
        "--until",
        "2019-10-20T08:00",
        env=env,
    )
    assert made.returncode == 1
    assert "by the end of the gathering's last day" in made.stderr
    sp = schema.steward_pass
    assert await _rows(db, sa.select(sp.c.id).where(sp.c.label == "Forever")) == []


async def test_the_help_desk_finds_only_people_with_a_place(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    session = door.sessions[0]
    person = await _place_holder(db, session.id)
    query = f"{person.name.split()[0]} {person.name.split()[-1][:3]}"

    async def found(session_id: int | None) -> list[str]:
        result = await desk.search(
            db, device, query, session_id=session_id, now=door.at(0), secret_key=TEST_SECRET
        )
        return [m.name for m in result.matches]

    assert await found(session.id) == [person.name]
    sp = schema.session_place
    for status in ("waitlisted", "offered"):
        await _execute(
            db,
            sa.update(sp)
            .where(sp.c.registration_id == person.id, sp.c.session_id == session.id)
            .values(status=status),
        )
        assert await found(session.id) == []  # a waiting-list entry is not a place


# --- #4 undo stays on its own phone --------------------------------------------------------


async def test_a_second_phone_cannot_undo_or_read_another_phones_check_ins(db: Database) -> None:
    door = await _door(db)
    now = door.at(3)
    first = (await _open(db, now)).device
    second = (await _open(db, now)).device
    assert (first.pass_id, first.id != second.id) == (second.pass_id, True)
    last = door.sessions[3].id
    admitted = []
    for number, person in enumerate(door.people):
        nonce = f"first-{number}"
        result = await _scan(db, first, person.ticket_code, now, session_id=last, nonce=nonce)
        assert result.reason == "ok"
        admitted.append(nonce)
    # The attack: the second phone undoes "the newest check-in", again and again.
    for _ in door.people:
        walked_back = await scanning.undo(db, second, now=now)
        assert (walked_back.reason, walked_back.name, walked_back.kind) == (
            "nothing_to_undo",
            None,
            None,
        )
    # With the first phone's nonces (copied off its screen) it fares no better ...
    for nonce in admitted:
        assert (await scanning.undo(db, second, nonce=nonce, now=now)).name is None
        # ... nor by replaying them as scans, which would hand back the stored names.
        with pytest.raises(InvalidInput):
            await _scan(db, second, "IGNORED", now, session_id=last, nonce=nonce)
    ci = schema.check_in
    assert [r.undone_at for r in await _rows(db, sa.select(ci.c.undone_at))] == [None] * 4
    # The first phone undoes its own, newest first, and is told whose.
    undone = await scanning.undo(db, first, now=now)
    assert (undone.reason, undone.name) == ("undone", door.people[-1].name)


async def test_undo_over_http_answers_only_the_phones_own(
    db: Database,
    door_app: Starlette,  # noqa: F811 - the fixture
    door_client: httpx.AsyncClient,  # noqa: F811 - the fixture
) -> None:
    door = await _live_door(db)
    await _open_over_http(door_client)
    headers = {"x-csrftoken": await csrf_from(door_client, "/signin")}
    session_id = door.sessions[0].id  # under way now
    body = {"code": door.people[0].ticket_code, "session_id": session_id, "nonce": "http-1"}
    scanned = await door_client.post("/door/api/scan", json=body, headers=headers)
    assert scanned.json()["reason"] == "ok"
    transport = httpx.ASGITransport(app=door_app, client=(ADDRESS, 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as other:
        await _open_over_http(other)
        headers = {"x-csrftoken": await csrf_from(other, "/signin")}
        answer = await other.post("/door/api/undo", headers=headers)
        assert (answer.status_code, answer.json()["reason"], answer.json()["name"]) == (
            200,
            "nothing_to_undo",
            None,
        )
        replay = await other.post("/door/api/scan", json=body, headers=headers)
        assert replay.status_code == 400
        assert door.people[0].name not in replay.text


# --- #5 one phone cannot flood the door ------------------------------------------------------


async def test_junk_scans_past_the_bound_are_refused_and_write_no_row(
    db: Database,
    door_app: Starlette,  # noqa: F811 - the fixture
    door_client: httpx.AsyncClient,  # noqa: F811 - the fixture
) -> None:
    await _live_door(db)
    door_app.state.door_bounds = DeviceBounds(clock=lambda: 0.0)  # no refill while this runs
    await _open_over_http(door_client)
    headers = {"x-csrftoken": await csrf_from(door_client, "/signin")}
    answers = []
    for number in range(60):  # as fast as the server answers, as the attacker's script did
        body = {"code": f"JUNK{number}", "session_id": None, "nonce": f"junk-{number}"}
        answers.append(await door_client.post("/door/api/scan", json=body, headers=headers))
    statuses = [a.status_code for a in answers]
    allowed = int(door_bounds.REFUSED_BURST)
    assert statuses == [200] * allowed + [429] * (60 - allowed)
    refusal = answers[-1].json()
    assert refusal["error"] == "too_many_refused"
    assert "NOT checked" in refusal["message"]
    assert int(answers[-1].headers["retry-after"]) == refusal["retry_after"] >= 1
    sc = schema.scan
    [(rows,)] = await _rows(db, sa.select(sa.func.count()).select_from(sc))
    assert rows == allowed  # the refused scans wrote nothing


def test_the_bounds_never_slow_a_real_door_and_stop_a_flood() -> None:
    clock = [0.0]
    bounds = DeviceBounds(clock=lambda: clock[0])
    # A real steward: a queue at two a second for an hour, one ticket in ten refused.
    for number in range(7200):
        clock[0] = number * 0.5
        bounds.take_scan("steward")
        if number % 10 == 0:
            bounds.note_refused("steward")
    # A load test's steward (bench/): 250 valid tickets at 80 a second.
    for number in range(250):
        clock[0] = 10_000 + number / 80
        bounds.take_scan("bench")
    # A flood of valid-looking codes at 400 a second: bounded to the burst, then the rate.
    clock[0] = 20_000.0
    taken, refusals = 0, []
    for number in range(4000):
        clock[0] = 20_000 + number / 400
        try:
            bounds.take_scan("flood")
            taken += 1
        except TooManyScans as refused:
            refusals.append((refused.code, refused.retry_after))
    assert set(refusals) == {("too_many_scans", 1)}
    assert taken <= door_bounds.SCAN_BURST + door_bounds.SCAN_RATE * 10 + 1
    # Each phone is counted apart: the flood did not touch the steward.
    bounds.take_scan("steward")


async def test_a_phone_holds_at_most_two_live_streams(db: Database, settings: Settings) -> None:
    door = await _live_door(db)
    session_id = door.sessions[0].id
    url = f"/door/api/events?session_id={session_id}"
    async with (
        _serving(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=15) as phone,
    ):
        await _open_over_http(phone)
        async with phone.stream("GET", url) as oldest:
            first = Stream(oldest)
            assert (await first.next_event())[0] == "counts"
            async with phone.stream("GET", url) as middle:
                second = Stream(middle)
                assert (await second.next_event())[0] == "counts"
                async with phone.stream("GET", url) as newest:
                    third = Stream(newest)
                    assert (await third.next_event())[0] == "counts"
                    name, data = await first.next_event()
                    assert name == "replaced" and "counts now refresh" in data["message"]
                    with pytest.raises(AssertionError, match="the stream ended"):
                        await first.next_event(seconds=5)
                    # The other two stay open and live.
                    assert second.events[-1][0] == third.events[-1][0] == "counts"


# --- #11 a phone that opened the pass before is trusted ---------------------------------------


async def test_a_trusted_phone_is_never_delayed_by_strangers_wrong_pins(db: Database) -> None:
    door = await _door(db)
    now = door.at(0)
    trusted = (await _open(db, now)).device
    for _ in range(devices.PIN_GUESSES.free_failures + 1):  # a stranger on the same Wi-Fi
        with pytest.raises(devices.PassRefused):
            await devices.open_pass(
                db,
                steward_token(TEST_SECRET),
                "0000",
                client_address=ADDRESS,
                now=now,
                secret_key=TEST_SECRET,
            )
    with pytest.raises(Throttled):
        await _open(db, now)  # a new phone on that network waits its turn (seconds) ...
    reopened = await devices.open_pass(
        db,
        steward_token(TEST_SECRET),
        PIN,
        client_address=ADDRESS,
        now=now,
        secret_key=TEST_SECRET,
        device=trusted,
    )
    assert reopened.device.pass_id == door.pass_id  # ... the phone that opened it before never
    assert reopened.device.id == trusted.id  # the same phone: it may still undo its own scans
