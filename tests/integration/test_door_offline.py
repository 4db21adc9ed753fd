"""The door offline (issue 15): the bundle a phone downloads names nobody (hashes and names
sealed under each ticket's own code), and queued offline scans reconcile on reconnect: original
times kept, the first admission stands, a second phone's is one "admitted twice while offline"
entry, a pass revoked meanwhile refuses them, a resent queue changes nothing. Both engines."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from starlette.applications import Starlette

from gathering.app import create_app
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.settings import Settings
from gathering.demo import steward_token
from gathering.door import bundles, devices, offline
from gathering.door.devices import PassRefused, StewardDevice
from gathering.door.offline import QueuedScan
from tests.conftest import TEST_SECRET
from tests.helpers import csrf_from, parse_html, sign_in, texts
from tests.integration.test_checkin import PIN, _execute, _live_door, _rows

pytestmark = pytest.mark.anyio
ADDRESS = "192.0.2.20"


async def _device(db: Database, now: dt.datetime) -> StewardDevice:
    opened = await devices.open_pass(
        db, steward_token(TEST_SECRET), PIN, client_address=ADDRESS, now=now, secret_key=TEST_SECRET
    )
    return opened.device


def parse(content: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The bundle's header and records, read as the phone reads them."""
    assert content[:4] == bundles.MAGIC
    (length,) = struct.unpack(">I", content[4:8])
    header = json.loads(content[8 : 8 + length])
    count, hash_bytes, width = header["count"], header["hash_bytes"], header["bitmap_bytes"]
    at = 8 + length
    hashes = [content[at + i * hash_bytes : at + (i + 1) * hash_bytes] for i in range(count)]
    at += count * hash_bytes
    statuses, types = content[at : at + count], content[at + count : at + 2 * count]
    at += 2 * count
    bitmaps = [content[at + i * width : at + (i + 1) * width] for i in range(count)]
    at += count * width
    lengths = content[at : at + count]
    at += count
    records = []
    for i in range(count):
        sealed = content[at : at + lengths[i]]
        at += lengths[i]
        bitmap = int.from_bytes(bitmaps[i], "little")
        sessions = [s for n, s in enumerate(header["sessions"]) if bitmap >> n & 1]
        records.append(
            {
                "hash": hashes[i],
                "status": statuses[i],
                "type": types[i],
                "sessions": sessions,
                "sealed": sealed,
            }
        )
    assert at == len(content)
    assert len(records) == header["count"]
    return header, records


def open_sealed(header: dict[str, Any], code: str, sealed: bytes) -> str:
    """What the phone does with a scanned code (HKDF + AES-GCM), in Python."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    salt = base64.b64decode(header["salt"])
    key = HKDF(hashes.SHA256(), 16, salt, header["info"].encode()).derive(code.encode())
    tag_bytes = header["tag_bytes"]
    ciphertext, tag = sealed[:-tag_bytes], sealed[-tag_bytes:]
    gcm = modes.GCM(bytes(12), tag, min_tag_length=tag_bytes)
    opener = Cipher(algorithms.AES(key), gcm).decryptor()
    return (opener.update(ciphertext) + opener.finalize()).decode()


def encodings(text: str) -> list[bytes]:
    """Every way the privacy tests look for a secret: plain, UTF-16, base64, hex."""
    raw = text.encode()
    return [
        raw,
        text.encode("utf-16-le"),
        text.encode("utf-16-be"),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
        raw.hex().encode(),
        raw.hex().upper().encode(),
    ]


def _hash_of(header: dict[str, Any], code: str) -> str:
    key = base64.b64decode(header["key"])
    digest = hmac.new(key, code.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def test_the_bundle_names_nobody_until_a_code_opens_one_record(db: Database) -> None:
    door = await _live_door(db)
    now = dt.datetime.now(dt.UTC)
    device = await _device(db, now)
    found = await bundles.offline_bundle(db, device, now=now, secret_key=TEST_SECRET)
    header, records = parse(found.content)
    r, e = schema.registration, schema.session_place
    people = await _rows(
        db,
        sa.select(r.c.id, r.c.name, r.c.email, r.c.ticket_code, r.c.status)
        .where(r.c.gathering_id == door.gathering_id, r.c.ticket_code.is_not(None))
        .order_by(r.c.id),
    )
    assert header["count"] == len(people) == found.tickets > 0  # an all-sessions pass: everyone
    sp = schema.steward_pass
    [(until,)] = await _rows(db, sa.select(sp.c.valid_until).where(sp.c.id == door.pass_id))
    assert header["expires_at"] == until.isoformat()  # the pass's own end
    for person in people:
        for secret in (person.name, person.email, person.ticket_code):
            for encoded in encodings(secret):
                assert encoded not in found.content, (secret, encoded)
    by_hash = {rec["hash"]: rec for rec in records}
    places = await _rows(
        db, sa.select(e.c.registration_id, e.c.session_id).where(e.c.status == "confirmed")
    )
    for person in people:
        key = base64.b64decode(header["key"])
        record = by_hash[hmac.new(key, person.ticket_code.encode(), hashlib.sha256).digest()[:8]]
        assert record["status"] == bundles.STATUS_CODES[person.status]
        assert sorted(record["sessions"]) == sorted(
            p.session_id for p in places if p.registration_id == person.id
        )
        if person.status == "confirmed":
            assert open_sealed(header, person.ticket_code, record["sealed"]).split("\n")[0] == (
                " ".join(person.name.split())
            )
            other = next(p for p in people if p.id != person.id)
            with pytest.raises(InvalidTag):  # another ticket's code opens nothing
                open_sealed(header, other.ticket_code, record["sealed"])
        else:
            assert record["sealed"] == b""  # refused tickets carry no name
    assert len(found.content) / len(people) <= 120 + 8  # header shared out; bench/ measures 10k


async def test_a_pass_of_some_sessions_gets_only_their_tickets(db: Database) -> None:
    door = await _live_door(db)
    sp, sps, e = schema.steward_pass, schema.steward_pass_session, schema.session_place
    session = door.sessions[0]
    await _execute(
        db,
        sa.update(sp).where(sp.c.id == door.pass_id).values(all_sessions=False),
        sa.insert(sps).values(pass_id=door.pass_id, session_id=session.id),
    )
    now = dt.datetime.now(dt.UTC)
    found = await bundles.offline_bundle(
        db, await _device(db, now), now=now, secret_key=TEST_SECRET
    )
    header, records = parse(found.content)
    holders = await _rows(db, sa.select(e.c.registration_id).where(e.c.session_id == session.id))
    assert header["sessions"] == [session.id]
    assert len(records) == len({h.registration_id for h in holders})


async def test_a_revoked_pass_gets_no_bundle(db: Database) -> None:
    door = await _live_door(db)
    now = dt.datetime.now(dt.UTC)
    device = await _device(db, now)
    sp = schema.steward_pass
    await _execute(db, sa.update(sp).where(sp.c.id == door.pass_id).values(revoked_at=now))
    with pytest.raises(PassRefused) as refused:
        await bundles.offline_bundle(db, device, now=now, secret_key=TEST_SECRET)
    assert refused.value.code == "pass_revoked"


async def _bundle_header(db: Database, device: StewardDevice) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    found = await bundles.offline_bundle(db, device, now=now, secret_key=TEST_SECRET)
    return parse(found.content)[0]


def _queued(
    header: dict[str, Any], code: str, session_id: int, nonce: str, at: dt.datetime
) -> QueuedScan:
    return QueuedScan(_hash_of(header, code), session_id, "Side door", "entry", nonce, at)


async def _moves(db: Database, registration_id: int) -> list[Any]:
    ci = schema.check_in
    query = sa.select(ci).where(ci.c.registration_id == registration_id, ci.c.kind == "entry")
    return await _rows(db, query.order_by(ci.c.id))


async def _conflicts(db: Database) -> list[Any]:
    dc = schema.door_conflict
    return await _rows(db, sa.select(dc).order_by(dc.c.id))


async def test_queued_scans_keep_their_times_and_a_second_phone_is_one_conflict(
    db: Database,
) -> None:
    door = await _live_door(db)
    now = dt.datetime.now(dt.UTC)
    phone_a, phone_b = await _device(db, now), await _device(db, now)
    assert phone_a.id != phone_b.id
    header = await _bundle_header(db, phone_a)
    person, session = door.people[0], door.sessions[0]
    scanned_a = now - dt.timedelta(minutes=7)
    scanned_b = now - dt.timedelta(minutes=4)

    sent = [_queued(header, person.ticket_code, session.id, "a-1", scanned_a)]
    [answer] = await offline.send_queued(db, phone_a, sent, now=now, secret_key=TEST_SECRET)
    assert (answer.status, answer.reason, answer.name) == ("green", "ok", person.name)
    [move] = await _moves(db, person.id)
    assert (move.at, move.door, move.session_id) == (scanned_a, "Side door", session.id)

    # Phone B admitted the same ticket offline too: the first stands, one conflict.
    late = [_queued(header, person.ticket_code, session.id, "b-1", scanned_b)]
    [second] = await offline.send_queued(db, phone_b, late, now=now, secret_key=TEST_SECRET)
    assert (second.status, second.reason) == ("amber", "admitted_twice_offline")
    assert second.first_at == scanned_a
    assert len(await _moves(db, person.id)) == 1
    [conflict] = await _conflicts(db)
    assert (conflict.registration_id, conflict.session_id, conflict.check_in_id) == (
        person.id,
        session.id,
        move.id,
    )
    assert (conflict.at, conflict.recorded_at, conflict.door) == (scanned_b, now, "Side door")

    # Both queues resent (an answer lost on the way): the same answers, nothing new.
    again = await offline.send_queued(db, phone_b, late, now=now, secret_key=TEST_SECRET)
    assert [(a.status, a.reason) for a in again] == [("amber", "admitted_twice_offline")]
    again = await offline.send_queued(db, phone_a, sent, now=now, secret_key=TEST_SECRET)
    assert [(a.status, a.reason) for a in again] == [("green", "ok")]
    assert len(await _moves(db, person.id)) == 1
    assert len(await _conflicts(db)) == 1


async def test_an_online_scan_of_someone_inside_is_amber_without_a_conflict(db: Database) -> None:
    door = await _live_door(db)
    now = dt.datetime.now(dt.UTC)
    device = await _device(db, now)
    header = await _bundle_header(db, device)
    person, session = door.people[0], door.sessions[0]
    queued = [_queued(header, person.ticket_code, session.id, "q-1", now)]
    await offline.send_queued(db, device, queued, now=now, secret_key=TEST_SECRET)
    from gathering.door import scanning

    online = await scanning.scan(
        db,
        device,
        person.ticket_code,
        session_id=session.id,
        door="",
        client_nonce="o-1",
        kind="entry",
        now=now,
    )
    assert (online.status, online.reason) == ("amber", "already_checked_in")
    assert await _conflicts(db) == []


async def test_a_pass_revoked_while_offline_refuses_its_queued_scans(db: Database) -> None:
    door = await _live_door(db)
    now = dt.datetime.now(dt.UTC)
    device = await _device(db, now)
    header = await _bundle_header(db, device)
    sp = schema.steward_pass
    revoked_at = now - dt.timedelta(minutes=1)
    await _execute(db, sa.update(sp).where(sp.c.id == door.pass_id).values(revoked_at=revoked_at))
    person, session = door.people[0], door.sessions[0]
    # Scanned before the revocation, sent after: still refused (the pass says stop, not the clock).
    queued = [
        _queued(header, person.ticket_code, session.id, "r-1", now - dt.timedelta(minutes=5)),
        _queued(header, door.people[1].ticket_code, session.id, "r-2", now),
    ]
    answers = await offline.send_queued(db, device, queued, now=now, secret_key=TEST_SECRET)
    assert [(a.status, a.reason, a.name) for a in answers] == [("red", "pass_revoked", None)] * 2
    assert await _moves(db, person.id) == []


async def test_queued_hashes_that_match_no_ticket_and_clocks_out_of_range(db: Database) -> None:
    door = await _live_door(db)
    now = dt.datetime.now(dt.UTC)
    device = await _device(db, now)
    header = await _bundle_header(db, device)
    session = door.sessions[0]
    person = door.people[0]
    queued = [
        QueuedScan("x" * 43, session.id, "", "entry", "u-1", now),
        QueuedScan("not base64!", session.id, "", "entry", "u-2", now),
        QueuedScan(_hash_of(header, door.other_code), session.id, "", "entry", "u-3", now),
        # A phone whose clock runs a day fast: recorded as now, not in the future.
        _queued(header, person.ticket_code, session.id, "u-4", now + dt.timedelta(days=1)),
    ]
    answers = await offline.send_queued(db, device, queued, now=now, secret_key=TEST_SECRET)
    assert [a.reason for a in answers] == ["unknown_code"] * 3 + ["ok"]
    [move] = await _moves(db, person.id)
    assert move.at == now


# --- through HTTP -----------------------------------------------------------------------------


@pytest.fixture
async def door_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application: Starlette = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=(ADDRESS, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
            yield c


async def test_the_api_serves_the_bundle_takes_the_queue_and_serves_the_worker(
    db: Database, door_client: httpx.AsyncClient
) -> None:
    door = await _live_door(db)
    client = door_client
    assert (await client.get("/door/api/bundle")).status_code == 401
    opened = await client.post(
        "/door/api/open", json={"token": steward_token(TEST_SECRET), "pin": PIN}
    )
    assert opened.status_code == 200
    got = await client.get("/door/api/bundle")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["cache-control"] == "no-store"
    header, records = parse(got.content)
    assert int(got.headers["x-bundle-tickets"]) == len(records) == header["count"]
    # Coded as the phone asks (brotli, gzip or none), each decoding to a whole bundle; the
    # coding is the handler's own, so the compression middleware leaves it as it is.
    for asked, coding in (("br", "br"), ("gzip", "gzip"), ("identity", None)):
        coded = await client.get("/door/api/bundle", headers={"accept-encoding": asked})
        assert coded.headers.get("content-encoding") == coding
        assert "accept-encoding" in coded.headers["vary"].lower()
        assert parse(coded.content)[0]["count"] == header["count"]

    csrf = await csrf_from(client, "/signin")
    headers = {"x-csrftoken": csrf}
    person, session = door.people[0], door.sessions[0]
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3)
    item = {
        "hash": _hash_of(header, person.ticket_code),
        "session_id": session.id,
        "door": "Side door",
        "kind": "entry",
        "nonce": "sync-1",
        "at": at.isoformat().replace("+00:00", "Z"),
    }
    synced = await client.post("/door/api/sync", json={"scans": [item]}, headers=headers)
    assert synced.status_code == 200, synced.text
    [answer] = synced.json()["results"]
    assert (answer["nonce"], answer["status"], answer["reason"]) == ("sync-1", "green", "ok")
    assert answer["message"] == "Admitted."
    [move] = await _moves(db, person.id)
    assert move.at == at

    for body, words in [
        ({"scans": "no"}, "'scans' must be a list of queued scans."),
        ({"scans": [{**item, "at": "yesterday"}]}, "Queued scan 1 is not valid: 'at' must be"),
        ({"scans": [{**item, "at": "2026-12-06T10:00:00"}]}, "Queued scan 1 is not valid"),
        ({"scans": [{**item, "hash": 5}]}, "Queued scan 1 is not valid: 'hash' must be a string."),
        ({"scans": [{**item, "kind": "sideways"}]}, "Queued scan 1 is not valid"),
    ]:
        refused = await client.post("/door/api/sync", json=body, headers=headers)
        assert refused.status_code == 400, refused.text
        assert refused.json()["message"].startswith(words)
    too_many = {"scans": [item] * (offline.MAX_QUEUED + 1)}
    refused = await client.post("/door/api/sync", json=too_many, headers=headers)
    assert (refused.status_code, refused.json()["error"]) == (413, "too_many_queued")

    worker = await client.get("/door/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/door/"
    assert "self.addEventListener" in worker.text

    sp = schema.steward_pass
    now = dt.datetime.now(dt.UTC)
    await _execute(db, sa.update(sp).where(sp.c.id == door.pass_id).values(revoked_at=now))
    gone = await client.get("/door/api/bundle")
    assert (gone.status_code, gone.json()["error"]) == (403, "pass_revoked")
    late = await client.post(
        "/door/api/sync", json={"scans": [{**item, "nonce": "sync-2"}]}, headers=headers
    )
    assert [(a["status"], a["reason"]) for a in late.json()["results"]] == [("red", "pass_revoked")]


async def test_organisers_see_admitted_twice_offline_on_the_dashboard_without_names(
    db: Database, client: httpx.AsyncClient
) -> None:
    door = await _live_door(db)
    now = dt.datetime.now(dt.UTC)
    phone_a, phone_b = await _device(db, now), await _device(db, now)
    header = await _bundle_header(db, phone_a)
    person, session = door.people[0], door.sessions[0]
    for phone, nonce in ((phone_a, "d-1"), (phone_b, "d-2")):
        queued = [_queued(header, person.ticket_code, session.id, nonce, now)]
        await offline.send_queued(db, phone, queued, now=now, secret_key=TEST_SECRET)
    await sign_in(client, "organiser@example.org", "demo-organiser-password")
    response = await client.get("/organiser/g/labour-conference-2019/dashboard")
    assert response.status_code == 200, response.text
    page = parse_html(response.text)
    [entry] = texts(page, "//ul[@id='offline-conflicts']/li")
    assert entry.startswith(f"{session.title} · Side door: admitted again at ")
    assert person.name not in response.text
