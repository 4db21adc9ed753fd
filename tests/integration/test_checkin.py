"""The door: opening steward passes, every scan answer, retries, the admission race, undo, counts,
bad input, and the JSON API with a device cookie that opens nothing else."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from gathering.app import create_app
from gathering.auth.accounts import hash_password
from gathering.auth.rules import Throttled
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.settings import Settings
from gathering.demo import steward_token
from gathering.door import api as steward
from gathering.door import devices
from gathering.door import rules as checkin
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from

pytestmark = pytest.mark.anyio
SLUG = "labour-conference-2019"
OTHER_SLUG = "dont-leave-organise-2021"
PIN = "2468"
BUTTON_PAGES = {"registration:confirm", "registration:offer"}
ADDRESS = "192.0.2.10"


async def _rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _execute(db: Database, *statements: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        for statement in statements:
            await conn.execute(statement)

    await db.write(_write)


@dataclass
class Door:
    pass_id: int
    gathering_id: int
    sessions: list[Any]  # the conference's sessions in time order
    people: list[Any]  # (id, name, ticket_code) in demo order
    other_code: str  # a live ticket of another gathering

    def at(self, index: int, minutes: int = 5) -> dt.datetime:
        """An instant ``minutes`` after session ``index`` starts."""
        return self.sessions[index].starts_at + dt.timedelta(minutes=minutes)


async def _door(db: Database) -> Door:
    await load_demo(db, secret_key=TEST_SECRET)
    g, r, s, p = (
        schema.gathering,
        schema.registration,
        schema.programme_session,
        schema.steward_pass,
    )
    [(gathering_id,)] = await _rows(db, sa.select(g.c.id).where(g.c.slug == SLUG))
    [(other_id,)] = await _rows(db, sa.select(g.c.id).where(g.c.slug == OTHER_SLUG))
    [(pass_id,)] = await _rows(db, sa.select(p.c.id).where(p.c.gathering_id == gathering_id))
    sessions = await _rows(
        db,
        sa.select(s).where(s.c.gathering_id == gathering_id).order_by(s.c.starts_at),
    )
    people = await _rows(
        db,
        sa.select(r.c.id, r.c.name, r.c.ticket_code)
        .where(r.c.gathering_id == gathering_id)
        .order_by(r.c.id),
    )
    [other_code, *_] = [
        row.ticket_code
        for row in await _rows(db, sa.select(r.c.ticket_code).where(r.c.gathering_id == other_id))
        if row.ticket_code
    ]
    return Door(pass_id, gathering_id, sessions, people, other_code)


async def _open(db: Database, now: dt.datetime, address: str = ADDRESS) -> checkin.StewardSession:
    return await checkin.open_pass(
        db,
        steward_token(TEST_SECRET),
        PIN,
        client_address=address,
        now=now,
        secret_key=TEST_SECRET,
    )


_nonces = iter(range(10**9))


async def _scan(
    db: Database,
    device: checkin.StewardDevice,
    code: str,
    now: dt.datetime,
    *,
    session_id: int | None,
    kind: str = "entry",
    door: str = "Main door",
    nonce: str | None = None,
) -> checkin.ScanResult:
    return await checkin.scan(
        db,
        device,
        code,
        session_id=session_id,
        door=door,
        client_nonce=f"n-{next(_nonces)}" if nonce is None else nonce,
        kind=kind,  # type: ignore[arg-type]
        now=now,
    )


async def _scan_rows(db: Database) -> list[Any]:
    sc = schema.scan
    return await _rows(db, sa.select(sc).order_by(sc.c.id))


# --- opening a pass ---------------------------------------------------------------------------


async def test_open_pass_with_the_right_pin_describes_the_pass_without_people(db: Database) -> None:
    door = await _door(db)
    opened = await _open(db, door.at(0))
    assert opened.device.pass_id == door.pass_id
    assert opened.info.label == "Main door, conference fringe"
    assert opened.info.gathering_slug == SLUG
    assert [s.id for s in opened.info.sessions] == [s.id for s in door.sessions]
    assert checkin.device_for_token(opened.token, secret_key=TEST_SECRET) == opened.device
    assert checkin.device_for_token(opened.token, secret_key="another-secret-key-12345") is None
    assert checkin.device_for_token(opened.token[:-2], secret_key=TEST_SECRET) is None


async def test_open_pass_refuses_a_wrong_pin_and_an_unknown_token(db: Database) -> None:
    door = await _door(db)
    codes = []
    for token, pin in [
        (steward_token(TEST_SECRET), "1357"),
        (steward_token(TEST_SECRET), ""),
        ("not-a-pass-token", PIN),
        ("", PIN),
    ]:
        with pytest.raises(checkin.PassRefused) as caught:
            await checkin.open_pass(
                db, token, pin, client_address=ADDRESS, now=door.at(0), secret_key=TEST_SECRET
            )
        codes.append(caught.value.code)
    assert codes == ["wrong_pin", "wrong_pin", "unknown_pass", "unknown_pass"]


async def _wrong_pin(db: Database, now: dt.datetime, address: str = ADDRESS) -> None:
    with pytest.raises(checkin.PassRefused) as caught:
        await checkin.open_pass(
            db,
            steward_token(TEST_SECRET),
            "0000",
            client_address=address,
            now=now,
            secret_key=TEST_SECRET,
        )
    assert caught.value.code == "wrong_pin"


async def test_wrong_pins_delay_their_network_and_right_pins_never_count(db: Database) -> None:
    """Issue 14 #11: a pass is never locked; wrong PINs from one network delay that network's
    next try more and more, and a right PIN from anywhere else is never refused."""
    door = await _door(db)
    now = door.at(0)
    for _ in range(8):  # stewards opening the pass correctly do not count against anyone
        await _open(db, now)
    free = devices.PIN_GUESSES.free_failures
    for _ in range(free + 1):  # the free failures, then one that starts the delay
        await _wrong_pin(db, now)
    with pytest.raises(Throttled) as caught:
        await _open(db, now)  # the same network must wait, even with the right PIN ...
    assert "Too many wrong PINs for this steward pass" in caught.value.message
    assert caught.value.retry_after == 2
    assert "2 seconds" in caught.value.message
    # ... but a steward on another network is never refused for a stranger's wrong PINs ...
    assert (await _open(db, now, address="203.0.113.99")).device.pass_id == door.pass_id
    # ... and the waiting network gets in once its delay has run.
    later = now + dt.timedelta(seconds=2)
    assert (await _open(db, later)).device.pass_id == door.pass_id
    # Each further failure doubles the delay: slow for a guesser, never a lock-out.
    guesser = "198.51.100.7"
    for _ in range(free + 1):
        await _wrong_pin(db, now, guesser)
    waits, moment = [], now
    for _ in range(3):
        with pytest.raises(Throttled) as waiting:
            await _wrong_pin(db, moment, guesser)
        waits.append(waiting.value.retry_after)
        moment += dt.timedelta(seconds=waiting.value.retry_after)
        await _wrong_pin(db, moment, guesser)  # tried again once allowed: wrong again
    assert waits == [2, 4, 8]


async def test_wrong_pins_are_delayed_per_network_across_passes(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    door = await _door(db)
    now = door.at(0)
    # See the network's own limit alone: the per-pass one is made generous here.
    generous = dataclasses.replace(devices.PIN_GUESSES, free_failures=1000)
    monkeypatch.setattr(devices, "PIN_GUESSES", generous)
    for _ in range(devices.NETWORK_PIN_GUESSES.free_failures + 1):
        await _wrong_pin(db, now)
    with pytest.raises(Throttled) as caught:
        await _open(db, now)
    assert "from this network" in caught.value.message
    await _open(db, now, address="192.0.2.11")
    # An IPv6 network counts as one /64: its other addresses are the same network.
    for _ in range(devices.NETWORK_PIN_GUESSES.free_failures + 1):
        await _wrong_pin(db, now, address="2001:db8:1:2::10")
    with pytest.raises(Throttled):
        await _open(db, now, address="2001:db8:1:2::99")
    await _open(db, now, address="2001:db8:1:3::99")


async def test_junk_links_do_not_use_up_the_stewards_pin_allowance(db: Database) -> None:
    door = await _door(db)
    now = door.at(0)
    for attempt in range(devices.LINK_GUESSES.free_failures + 1):
        with pytest.raises(checkin.PassRefused) as refused:
            await checkin.open_pass(
                db,
                f"guessed-{attempt}",
                PIN,
                client_address=ADDRESS,
                now=now,
                secret_key=TEST_SECRET,
            )
        assert refused.value.code == "unknown_pass"
    with pytest.raises(Throttled) as caught:
        await checkin.open_pass(
            db, "guessed-again", PIN, client_address=ADDRESS, now=now, secret_key=TEST_SECRET
        )
    assert "unknown steward pass links" in caught.value.message
    # Stewards on the same network still open the real pass.
    assert (await _open(db, now)).device.pass_id == door.pass_id


async def test_a_revoked_pass_stops_open_devices_at_their_next_scan(db: Database) -> None:
    door = await _door(db)
    now = door.at(0)
    device = (await _open(db, now)).device
    sp = schema.steward_pass
    await _execute(db, sa.update(sp).where(sp.c.id == door.pass_id).values(revoked_at=now))
    result = await _scan(db, device, door.people[0].ticket_code, now, session_id=None)
    assert (result.status, result.reason, result.name) == ("red", "pass_revoked", None)
    with pytest.raises(checkin.PassRefused) as caught:
        await _open(db, now)
    assert caught.value.code == "pass_revoked"
    with pytest.raises(checkin.PassRefused):
        await checkin.counts(db, device, None, now=now)
    with pytest.raises(checkin.PassRefused):
        await checkin.undo(db, device, now=now)
    [row] = await _scan_rows(db)
    assert (row.pass_id, row.result, row.reason, row.check_in_id) == (
        door.pass_id,
        "red",
        "pass_revoked",
        None,
    )


async def test_a_changed_pin_stops_devices_opened_with_the_old_one(db: Database) -> None:
    door = await _door(db)
    now = door.at(0)
    device = (await _open(db, now)).device
    sp = schema.steward_pass
    new_hash = hash_password("9753")
    await _execute(db, sa.update(sp).where(sp.c.id == door.pass_id).values(pin_hash=new_hash))
    result = await _scan(db, device, door.people[0].ticket_code, now, session_id=None)
    assert result.reason == "pass_revoked"


async def test_a_pass_outside_its_validity_is_refused(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    before = dt.datetime(2019, 9, 20, 12, tzinfo=dt.UTC)
    after = dt.datetime(2019, 9, 26, 0, 0, tzinfo=dt.UTC)
    for now, code, address in [
        (before, "not_yet_valid", "192.0.2.21"),
        (after, "pass_expired", "192.0.2.22"),
    ]:
        with pytest.raises(checkin.PassRefused) as caught:
            await _open(db, now, address=address)  # its own network: the clock jumps here
        assert caught.value.code == code
        result = await _scan(db, device, door.people[0].ticket_code, now, session_id=None)
        assert (result.status, result.reason) == ("red", code)


# --- every answer -----------------------------------------------------------------------------


async def test_admitted_shows_name_ticket_type_and_shared_access_needs_only(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    r, tt = schema.registration, schema.ticket_type

    async def _ticket_type(conn: AsyncConnection) -> int:
        values = {"gathering_id": door.gathering_id, "name": "Solidarity"}
        return int((await conn.execute(sa.insert(tt).values(values).returning(tt.c.id))).scalar())

    type_id = await db.write(_ticket_type)
    sharing, private = door.people[0], door.people[1]
    answers = {"access_needs": "Step-free route, please"}
    await _execute(
        db,
        sa.update(r)
        .where(r.c.id == sharing.id)
        .values(ticket_type_id=type_id, answers=answers, share_access_needs=True),
        sa.update(r)
        .where(r.c.id == private.id)
        .values(answers={"access_needs": "Hearing loop"}, share_access_needs=False),
    )
    first = await _scan(db, device, sharing.ticket_code, door.at(0), session_id=door.sessions[0].id)
    assert first.to_json() == {
        "status": "green",
        "reason": "ok",
        "kind": "entry",
        "session_id": door.sessions[0].id,
        "at": door.at(0).isoformat(),
        "name": sharing.name,
        "ticket_type": "Solidarity",
        "access_needs": "Step-free route, please",
        "first_at": None,
        "door": None,
    }
    second = await _scan(
        db, device, private.ticket_code, door.at(1), session_id=door.sessions[1].id
    )
    assert (second.status, second.name, second.access_needs) == ("green", private.name, None)


async def test_already_checked_in_gives_the_first_time_and_door(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    code, session_id = door.people[0].ticket_code, door.sessions[0].id
    await _scan(db, device, code, door.at(0), session_id=session_id, door="North door")
    later = door.at(0, minutes=20)
    # Typed by hand: lower case, spaces and dashes are forgiven.
    typed = "-".join(re.findall(".{1,5}", code.lower()))
    again = await _scan(db, device, typed, later, session_id=session_id, door="South door")
    assert (again.status, again.reason, again.name) == ("amber", "already_checked_in", "Sam Okafor")
    assert (again.first_at, again.door, again.access_needs) == (door.at(0), "North door", None)


async def test_red_reasons_for_places_and_registrations(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    sp, r = schema.session_place, schema.registration
    sam, rhiannon, tom, priya = door.people
    s0 = door.sessions[0].id
    await _execute(
        db,
        sa.update(sp)
        .where(sp.c.registration_id == rhiannon.id, sp.c.session_id == door.sessions[3].id)
        .values(session_id=s0, status="waitlisted"),
        sa.update(sp)
        .where(sp.c.registration_id == tom.id, sp.c.session_id == door.sessions[3].id)
        .values(session_id=s0, status="cancelled"),
        sa.update(r).where(r.c.id == priya.id).values(status="pending"),
    )
    now = door.at(0)
    answers = {
        person.name: (await _scan(db, device, person.ticket_code, now, session_id=s0)).reason
        for person in door.people
    }
    assert answers == {
        sam.name: "ok",
        rhiannon.name: "waitlisted_only",
        tom.name: "cancelled",
        priya.name: "not_confirmed",
    }
    await _execute(db, sa.update(r).where(r.c.id == priya.id).values(status="confirmed"))
    result = await _scan(db, device, priya.ticket_code, now, session_id=s0)
    assert (result.status, result.reason, result.name) == (
        "red",
        "not_registered_for_session",
        None,
    )
    await _execute(db, sa.update(r).where(r.c.id == priya.id).values(status="cancelled"))
    result = await _scan(db, device, priya.ticket_code, now, session_id=None)
    assert result.reason == "cancelled"


async def test_the_admission_window_opens_an_hour_before_and_closes_at_the_end(
    db: Database,
) -> None:
    door = await _door(db)
    session = door.sessions[0]
    device = (await _open(db, door.at(0))).device
    code = door.people[0].ticket_code
    too_early = session.starts_at - dt.timedelta(minutes=61)
    opening = session.starts_at - dt.timedelta(minutes=60)
    reasons = [
        (await _scan(db, device, code, now, session_id=session.id)).reason
        for now in (too_early, session.ends_at, opening)
    ]
    assert reasons == ["not_yet_open", "closed", "ok"]


async def test_the_whole_gathering_admits_within_its_dates_in_its_zone(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    code = door.people[3].ticket_code
    # Europe/London is on BST (UTC+1): the first day begins at 23:00 UTC the day before.
    before = dt.datetime(2019, 9, 20, 22, 59, tzinfo=dt.UTC)
    after = dt.datetime(2019, 9, 25, 23, 0, tzinfo=dt.UTC)
    first = dt.datetime(2019, 9, 21, 0, 30, tzinfo=dt.UTC)
    # The pass itself is valid from 2019-09-21 00:00 UTC, so "before" is the pass's refusal.
    assert (await _scan(db, device, code, before, session_id=None)).reason == "not_yet_valid"
    sp = schema.steward_pass
    wider = {"valid_from": before - dt.timedelta(days=1), "valid_until": after + dt.timedelta(1)}
    await _execute(db, sa.update(sp).where(sp.c.id == door.pass_id).values(**wider))
    reasons = [
        (await _scan(db, device, code, now, session_id=None)).reason
        for now in (before, after, first)
    ]
    assert reasons == ["not_yet_open", "closed", "ok"]


async def test_exit_and_reentry_follow_the_session_setting(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    code, session_id = door.people[0].ticket_code, door.sessions[0].id

    async def kinds(*steps: str) -> list[tuple[str, str]]:
        out = []
        for kind in steps:
            result = await _scan(db, device, code, door.at(0), session_id=session_id, kind=kind)
            out.append((result.status, result.reason))
        return out

    assert await kinds("exit", "entry", "exit", "exit", "entry", "entry") == [
        ("red", "not_checked_in"),
        ("green", "ok"),
        ("green", "ok"),
        ("red", "not_checked_in"),
        ("green", "ok"),
        ("amber", "already_checked_in"),
    ]
    s = schema.programme_session
    await _execute(db, sa.update(s).where(s.c.id == session_id).values(allow_reentry=False))
    assert await kinds("exit", "entry") == [("green", "ok"), ("red", "reentry_not_allowed")]
    entries = await _rows(db, sa.select(schema.check_in.c.kind).order_by(schema.check_in.c.id))
    assert [e.kind for e in entries] == ["entry", "exit", "entry", "exit"]


async def test_sessions_a_pass_does_not_cover_are_refused(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    sp, sps, s = schema.steward_pass, schema.steward_pass_session, schema.programme_session
    [(other_session,)] = await _rows(
        db, sa.select(s.c.id).where(s.c.gathering_id != door.gathering_id).limit(1)
    )
    code = door.people[0].ticket_code
    result = await _scan(db, device, code, door.at(0), session_id=other_session)
    assert (result.reason, result.name) == ("session_not_on_pass", None)
    result = await _scan(db, device, code, door.at(0), session_id=10**9)
    assert result.reason == "session_not_on_pass"
    await _execute(
        db,
        sa.update(sp).where(sp.c.id == door.pass_id).values(all_sessions=False),
        sa.insert(sps).values(pass_id=door.pass_id, session_id=door.sessions[3].id),
    )
    result = await _scan(db, device, code, door.at(0), session_id=door.sessions[0].id)
    assert result.reason == "session_not_on_pass"
    result = await _scan(db, device, code, door.at(3), session_id=door.sessions[3].id)
    assert result.reason == "ok"
    with pytest.raises(checkin.PassRefused) as caught:
        await checkin.counts(db, device, door.sessions[0].id, now=door.at(0))
    assert caught.value.code == "session_not_on_pass"
    # A pass for some sessions cannot admit at the gathering's own door, nor count it.
    other = door.people[1].ticket_code
    result = await _scan(db, device, other, door.at(3), session_id=None)
    assert (result.reason, result.name) == ("session_not_on_pass", None)
    with pytest.raises(checkin.PassRefused):
        await checkin.counts(db, device, None, now=door.at(3))


async def test_a_cancelled_session_admits_nobody(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    s = schema.programme_session
    await _execute(db, sa.update(s).where(s.c.id == door.sessions[0].id).values(status="cancelled"))
    code, session_id = door.people[0].ticket_code, door.sessions[0].id
    result = await _scan(db, device, code, door.at(0), session_id=session_id)
    assert result.reason == "session_cancelled"


async def test_bad_input_is_answered_red_with_a_reason(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    now = door.at(0)
    session_id = door.sessions[0].id
    cases = {
        "": "bad_code",
        "   ": "bad_code",
        "A" * 10_000: "bad_code",
        "A" * 65: "bad_code",
        "ÄÖÜ名前": "bad_code",
        "' OR 1=1 --": "bad_code",
        "'; DROP TABLE registration; --": "bad_code",
        "\x00\n": "bad_code",
        "ABCDEFGHJK": "unknown_code",  # right alphabet, no such ticket
        door.other_code: "unknown_code",  # a live ticket of another gathering
    }
    for code, reason in cases.items():
        result = await _scan(db, device, code, now, session_id=session_id)
        assert (result.status, result.reason) == ("red", reason), code[:20]
    # An unknown code and another gathering's ticket answer exactly alike.
    unknown = await _scan(db, device, "ABCDEFGHJK", now, session_id=None)
    foreign = await _scan(db, device, door.other_code, now, session_id=None)
    assert unknown.to_json() == foreign.to_json()
    assert unknown.to_json() == {
        "status": "red",
        "reason": "unknown_code",
        "kind": "entry",
        "session_id": None,
        "at": now.isoformat(),
        "name": None,
        "ticket_type": None,
        "access_needs": None,
        "first_at": None,
        "door": None,
    }
    assert len(await _scan_rows(db)) == len(cases) + 2
    [(registrations,)] = await _rows(
        db, sa.select(sa.func.count()).select_from(schema.registration)
    )
    assert registrations > 4
    for nonce in ("", "x" * 65, "has space", "undo:1"):
        with pytest.raises(InvalidInput):
            await _scan(db, device, "A", now, session_id=None, nonce=nonce)
    with pytest.raises(InvalidInput):
        await _scan(db, device, "A", now, session_id=None, door="D" * 121)


# --- retries and races ------------------------------------------------------------------------


async def test_a_retried_scan_returns_the_stored_answer_and_records_nothing_new(
    db: Database,
) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    code, session_id = door.people[0].ticket_code, door.sessions[0].id
    first = await _scan(db, device, code, door.at(0), session_id=session_id, nonce="retry-1")
    # The retry arrives later, even with other details: the first answer stands.
    again = await _scan(
        db, device, code, door.at(0, 3), session_id=session_id, nonce="retry-1", door="Side"
    )
    assert again == first
    assert (first.status, first.reason) == ("green", "ok")
    rows = await _scan_rows(db)
    # The stored answer names the device that was given it (and only it may read it back).
    assert [(r.client_nonce, r.reason, r.response) for r in rows] == [
        ("retry-1", "ok", {**first.to_json(), "device": device.id})
    ]
    [(check_ins,)] = await _rows(db, sa.select(sa.func.count()).select_from(schema.check_in))
    assert check_ins == 1
    # A new nonce is a new scan.
    other = await _scan(db, device, code, door.at(0, 3), session_id=session_id, nonce="retry-2")
    assert other.reason == "already_checked_in"


async def test_the_same_nonce_twice_at_once_gets_one_answer(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    code, session_id = door.people[0].ticket_code, door.sessions[0].id
    results = await asyncio.gather(
        *[
            _scan(db, device, code, door.at(0), session_id=session_id, nonce="same")
            for _ in range(5)
        ]
    )
    assert {(r.status, r.reason) for r in results} == {("green", "ok")}
    assert len(await _scan_rows(db)) == 1


async def test_twenty_concurrent_scans_of_one_ticket_admit_exactly_once(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    code, session_id = door.people[0].ticket_code, door.sessions[0].id
    results = await asyncio.gather(
        *[
            _scan(db, device, code, door.at(0), session_id=session_id, door=f"Door {n}")
            for n in range(20)
        ]
    )
    reasons = sorted(r.reason for r in results)
    assert reasons == ["already_checked_in"] * 19 + ["ok"]
    ci = schema.check_in
    rows = await _rows(db, sa.select(ci))
    assert [(r.kind, r.session_id, r.registration_id) for r in rows] == [
        ("entry", session_id, door.people[0].id)
    ]
    [admitted] = [r for r in results if r.reason == "ok"]
    ambers = {(r.first_at, r.door) for r in results if r.reason != "ok"}
    assert ambers == {(door.at(0), rows[0].door)}
    assert admitted.name == door.people[0].name
    assert len(await _scan_rows(db)) == 20


# --- undo and counts --------------------------------------------------------------------------


async def test_undo_takes_back_the_pass_own_last_check_in_within_five_minutes(
    db: Database,
) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(0))).device
    sam, rhiannon = door.people[0], door.people[2]
    s0, s2 = door.sessions[0].id, door.sessions[2].id
    assert (await checkin.undo(db, device, now=door.at(0))).reason == "nothing_to_undo"
    await _scan(db, device, sam.ticket_code, door.at(0), session_id=s0)
    undone = await checkin.undo(db, device, now=door.at(0, 10))
    assert (undone.status, undone.reason, undone.name, undone.kind) == (
        "green",
        "undone",
        sam.name,
        "entry",
    )
    assert (undone.session_id, undone.at) == (s0, door.at(0))
    # Undone: the ticket can be scanned in again.
    assert (await _scan(db, device, sam.ticket_code, door.at(0, 11), session_id=s0)).reason == "ok"
    late = await checkin.undo(db, device, now=door.at(0, 11) + dt.timedelta(minutes=5, seconds=1))
    assert (late.status, late.reason) == ("red", "undo_too_late")
    assert (await _scan(db, device, sam.ticket_code, door.at(0, 12), session_id=s0)).reason == (
        "already_checked_in"
    )
    # Only this pass's own check-ins: another pass's last check-in is not this one's to undo.
    other = await _second_pass(db, door)
    await _scan(db, other, rhiannon.ticket_code, door.at(2), session_id=s2)
    assert (await checkin.undo(db, device, now=door.at(2))).reason == "undo_too_late"
    ci, sc = schema.check_in, schema.scan
    rows = await _rows(db, sa.select(ci.c.undone_at).order_by(ci.c.id))
    assert [r.undone_at for r in rows] == [door.at(0, 10), None, None]
    [undo_row] = await _rows(db, sa.select(sc).where(sc.c.reason == "undone"))
    assert (undo_row.pass_id, undo_row.result, undo_row.at) == (
        door.pass_id,
        "green",
        door.at(0, 10),
    )


async def _second_pass(db: Database, door: Door) -> checkin.StewardDevice:
    sp = schema.steward_pass
    token = "second-pass-token-for-the-tests"
    await _execute(
        db,
        sa.insert(sp).values(
            gathering_id=door.gathering_id,
            label="Door 2",
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            pin_hash=hash_password("1111"),
            valid_from=door.sessions[0].starts_at - dt.timedelta(days=3),
            valid_until=door.sessions[-1].ends_at + dt.timedelta(days=1),
            created_at=door.at(0),
        ),
    )
    opened = await checkin.open_pass(
        db, token, "1111", client_address=ADDRESS, now=door.at(0), secret_key=TEST_SECRET
    )
    return opened.device


async def test_counts_are_numbers_for_the_session_and_the_gathering(db: Database) -> None:
    door = await _door(db)
    device = (await _open(db, door.at(3))).device
    last = door.sessions[3]  # everyone has a place; capacity 60
    now = door.at(3)
    empty = await checkin.counts(db, device, last.id, now=now)
    assert empty == checkin.Counts(last.id, 0, 4, 60)
    sam, rhiannon, tom, _priya = door.people
    for person in (sam, rhiannon, tom):
        await _scan(db, device, person.ticket_code, now, session_id=last.id)
    await _scan(db, device, tom.ticket_code, now, session_id=last.id, kind="exit")
    await _scan(db, device, sam.ticket_code, now, session_id=None)  # the gathering, not the session
    assert await checkin.counts(db, device, last.id, now=now) == checkin.Counts(last.id, 2, 4, 58)
    assert await checkin.counts(db, device, None, now=now) == checkin.Counts(None, 1, 4, None)
    await checkin.undo(db, device, now=now)
    assert await checkin.counts(db, device, None, now=now) == checkin.Counts(None, 0, 4, None)
    first = door.sessions[0]
    assert await checkin.counts(db, device, first.id, now=now) == checkin.Counts(
        first.id, 0, 1, 120
    )


# --- through HTTP -----------------------------------------------------------------------------


@pytest.fixture
async def door_app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    application.router.routes.extend(steward.routes)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def door_client(door_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=door_app, client=(ADDRESS, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c


async def _live_door(db: Database) -> Door:
    """The demo, moved to now: the pass valid today and the first session under way."""
    door = await _door(db)
    now = dt.datetime.now(dt.UTC)
    sp, s = schema.steward_pass, schema.programme_session
    await _execute(
        db,
        sa.update(sp)
        .where(sp.c.id == door.pass_id)
        .values(valid_from=now - dt.timedelta(hours=1), valid_until=now + dt.timedelta(hours=8)),
        sa.update(s)
        .where(s.c.id == door.sessions[0].id)
        .values(starts_at=now - dt.timedelta(minutes=10), ends_at=now + dt.timedelta(hours=1)),
    )
    return door


async def _open_over_http(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/door/api/open", json={"token": steward_token(TEST_SECRET), "pin": PIN}
    )
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{steward.COOKIE}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "path=/door" in cookie.lower()
    return str(client.cookies[steward.COOKIE])


async def test_the_json_api_opens_a_pass_scans_undoes_and_counts(
    db: Database, door_client: httpx.AsyncClient
) -> None:
    door = await _live_door(db)
    client = door_client
    wrong = await client.post(
        "/door/api/open", json={"token": steward_token(TEST_SECRET), "pin": "0000"}
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "wrong_pin")
    await _open_over_http(client)
    described = (await client.get("/door/api/pass")).json()["pass"]
    assert sorted(s["id"] for s in described["sessions"]) == sorted(s.id for s in door.sessions)
    csrf = await csrf_from(client, "/signin")
    headers = {"x-csrftoken": csrf}
    body = {
        "code": door.people[0].ticket_code,
        "session_id": door.sessions[0].id,
        "door": "Main door",
        "nonce": "http-1",
        "kind": "entry",
    }
    # A POST with cookies but without the CSRF header is refused by the CSRF check.
    assert (await client.post("/door/api/scan", json=body)).status_code == 403
    first = await client.post("/door/api/scan", json=body, headers=headers)
    assert first.status_code == 200, first.text
    data = first.json()
    assert (data["status"], data["reason"], data["name"]) == ("green", "ok", "Sam Okafor")
    assert data["message"] == "Admitted."
    assert first.headers["cache-control"] == "no-store"
    retried = await client.post("/door/api/scan", json=body, headers=headers)
    assert retried.json() == data
    again = await client.post("/door/api/scan", json={**body, "nonce": "http-2"}, headers=headers)
    assert (again.json()["status"], again.json()["reason"]) == ("amber", "already_checked_in")
    counts = await client.get(f"/door/api/counts?session_id={door.sessions[0].id}")
    assert counts.json() == {
        "session_id": door.sessions[0].id,
        "checked_in": 1,
        "registered": 1,
        "capacity_left": 119,
    }
    whole = await client.get("/door/api/counts")
    assert whole.json()["session_id"] is None
    undone = await client.post("/door/api/undo", headers=headers)
    assert (undone.json()["reason"], undone.json()["name"]) == ("undone", "Sam Okafor")
    counts = await client.get(f"/door/api/counts?session_id={door.sessions[0].id}")
    assert counts.json()["checked_in"] == 0
    bad = await client.post(
        "/door/api/scan", json={**body, "nonce": "http-3", "code": "x" * 10_000}, headers=headers
    )
    assert (bad.status_code, bad.json()["status"], bad.json()["reason"]) == (200, "red", "bad_code")
    closed = await client.post("/door/api/close", json={}, headers=headers)
    assert closed.status_code == 200
    assert steward.COOKIE not in client.cookies
    assert (await client.get("/door/api/counts")).status_code == 401


async def test_the_json_api_answers_400_for_malformed_requests(
    db: Database, door_client: httpx.AsyncClient
) -> None:
    door = await _live_door(db)
    client = door_client
    await _open_over_http(client)
    csrf = await csrf_from(client, "/signin")
    headers = {"x-csrftoken": csrf, "content-type": "application/json"}
    good = {"code": door.people[0].ticket_code, "session_id": door.sessions[0].id, "nonce": "n1"}
    malformed = [
        b"{not json",
        b"",
        b"[]",
        b'"a string"',
        b"\xff\xfe",
        b'{"code": 12, "nonce": "n"}',
        b'{"code": "A", "nonce": 5}',
        b'{"code": "A"}',
        b'{"code": "A", "nonce": "n", "session_id": "one"}',
        b'{"code": "A", "nonce": "n", "session_id": true}',
        b'{"code": "A", "nonce": "n", "session_id": 1.5}',
        b'{"code": "A", "nonce": "n", "kind": "sideways"}',
        b'{"code": "A", "nonce": "has space"}',
        b'{"code": "A", "nonce": "n", "door": ["x"]}',
        b"[" * 100_000,
    ]
    for content in malformed:
        response = await client.post("/door/api/scan", content=content, headers=headers)
        expected = 413 if len(content) > steward.MAX_BODY else 400
        assert response.status_code == expected, (content[:40], response.text)
        assert response.json()["error"], content[:40]
    as_form = await client.post(
        "/door/api/scan", content=b"code=A", headers={**headers, "content-type": "text/plain"}
    )
    assert as_form.status_code == 415
    assert (await client.get("/door/api/counts?session_id=abc")).status_code == 400
    ok = await client.post("/door/api/scan", json=good, headers={"x-csrftoken": csrf})
    assert ok.json()["status"] == "green"
    bad_open = await client.post(
        "/door/api/open", json={"token": 5, "pin": PIN}, headers={"x-csrftoken": csrf}
    )
    assert bad_open.status_code == 400


async def test_the_api_refuses_a_device_without_a_pass(
    db: Database, door_client: httpx.AsyncClient
) -> None:
    await _live_door(db)
    client = door_client
    assert (await client.get("/door/api/counts")).status_code == 401
    assert (await client.get("/door/api/pass")).status_code == 401
    client.cookies.set(steward.COOKIE, "forged-device-token", path="/door")
    response = await client.get("/door/api/pass")
    assert (response.status_code, response.json()["error"]) == (401, "not_signed_in")


async def test_a_steward_cookie_opens_no_organiser_or_attendee_page(
    db: Database, door_app: Starlette, door_client: httpx.AsyncClient
) -> None:
    door = await _live_door(db)
    device_token = await _open_over_http(door_client)
    # Sent everywhere by hand, as if copied off the phone: the /door path does not protect it.
    transport = httpx.ASGITransport(app=door_app, client=(ADDRESS, 50001))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://127.0.0.1:8000",
        headers={"cookie": f"{steward.COOKIE}={device_token}"},
    ) as client:
        routes = _leaf_routes(door_app.routes)
        organiser = [r for r in routes if r.path.startswith(("/organiser", "/admin"))]
        attendee = [r for r in routes if r.path.startswith(("/r/", "/my/"))]
        assert len(organiser) > 20
        assert len(attendee) > 5
        names = [p.name for p in door.people]
        csrf = await csrf_from(client, "/signin")
        for route in organiser:
            path = _filled(route, door)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                data = {"csrftoken": csrf} if method == "POST" else None
                response = await client.request(method, path, data=data)
                if response.status_code == 403:  # a POST refused already by the CSRF check
                    assert method == "POST", path
                    assert not any(name in response.text for name in names), path
                    continue
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"].startswith("/signin?next="), path
        for route in attendee:
            for token in (device_token, steward_token(TEST_SECRET), "1"):
                path = _filled(route, door, capability=token)
                response = await client.get(path)
                # Confirm and offer links answer any token with a bare button page (mail
                # scanners must not act on them); every other attendee page refuses.
                refused = response.status_code in (400, 404, 405, 410)
                assert refused or route.name in BUTTON_PAGES, (path, response.status_code)
                assert not any(name in response.text for name in names), path


def _leaf_routes(routes: list[BaseRoute], prefix: str = "") -> list[Route]:
    """Every route with its whole path, whether the table is flat or grouped under mounts."""
    found: list[Route] = []
    for route in routes:
        if isinstance(route, Mount):
            found += _leaf_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            leaf = copy.copy(route)  # its name and methods, at its whole path
            leaf.path = prefix + route.path
            found.append(leaf)
    return found


def _filled(route: Route, door: Door, capability: str = "1") -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "slug":
            return SLUG
        if name == "session_id":
            return str(door.sessions[0].id)
        if name in ("token", "feed_key"):
            return capability
        if name == "kind":
            return "png"
        return "1"

    return re.sub(r"\{(\w+)(?::\w+)?\}", fill, route.path)


async def test_a_revoked_device_cannot_replay_old_answers(db: Database) -> None:
    door = await _door(db)
    now = door.at(0)
    device = (await _open(db, now)).device
    first = await _scan(db, device, door.people[0].ticket_code, now, session_id=None, nonce="n-1")
    assert (first.reason, first.name is not None) == ("ok", True)
    sp = schema.steward_pass
    await _execute(db, sa.update(sp).where(sp.c.id == door.pass_id).values(revoked_at=now))
    replay = await _scan(db, device, door.people[0].ticket_code, now, session_id=None, nonce="n-1")
    assert (replay.status, replay.reason, replay.name) == ("red", "pass_revoked", None)
    assert len(await _scan_rows(db)) == 1  # a replay records nothing new
