"""Issue 15's acceptance in Chromium at 360 px: the scan page opens and admits with no network
(Service Worker, offline bundle), queued scans reach the server with their original times, two
phones admitting one ticket offline make one admission and one conflict, a pass revoked while
offline has its queued scans refused on the phone, the phone's storage holds no name, email or
code in any encoding, and a keyboard-wedge scanner admits with no tap."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.registration.tickets import new_ticket_code
from tests.door_data import DoorData
from tests.e2e import test_door_camera
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, screenshot
from tests.e2e.test_door_camera import _in_thread, _moves, _open_scan_page, _revoke

pytestmark = pytest.mark.browser
OTHER_NAME = "Clara Zetkin-Jones"
PHONE = {"width": 360, "height": 780}
# The camera door's fixtures: a door open now, and a Chromium filming its ticket.
door = test_door_camera.door
camera_page = test_door_camera.camera_page


def _other_session_ticket(database_url: str, d: DoorData) -> tuple[str, str]:
    """A second session and a ticket with a place there only: (code, email)."""

    async def _write(db: Database) -> tuple[str, str]:
        async def _insert(conn: AsyncConnection) -> tuple[str, str]:
            now = dt.datetime.now(dt.UTC)
            session = await conn.execute(
                schema.programme_session.insert().values(
                    gathering_id=d.gathering_id,
                    title="Another room",
                    starts_at=now - dt.timedelta(minutes=5),
                    ends_at=now + dt.timedelta(hours=1),
                    status="published",
                    capacity=10,
                    places_taken=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            code, email = new_ticket_code(), f"clara-{secrets.token_hex(3)}@example.org"
            person = await conn.execute(
                schema.registration.insert().values(
                    gathering_id=d.gathering_id,
                    name=OTHER_NAME,
                    email=email,
                    answers={},
                    status="confirmed",
                    ticket_code=code,
                    manage_key=secrets.token_urlsafe(16),
                    confirmed_at=now,
                    created_at=now,
                )
            )
            await conn.execute(
                schema.session_place.insert().values(
                    registration_id=person.inserted_primary_key[0],
                    session_id=session.inserted_primary_key[0],
                    status="confirmed",
                    created_at=now,
                    updated_at=now,
                )
            )
            return code, email

        return await db.write(_insert)

    return _in_thread(database_url, _write)


def _conflicts(database_url: str) -> list[Any]:
    async def _read(db: Database) -> list[Any]:
        async def _query(conn: AsyncConnection) -> list[Any]:
            return list((await conn.execute(sa.select(schema.door_conflict))).all())

        return await db.read(_query)

    return _in_thread(database_url, _read)


def _ready_offline(p: Any) -> None:
    """Wait until the page says what a steward waits for before walking into a basement: the
    Service Worker has written the page and its files, and the offline list is stored. The test
    then holds the page to that promise (a reload with no network must open it)."""
    from playwright.sync_api import expect

    ready = p.locator("#door-ready")
    expect(ready).to_have_attribute("data-ready", "yes", timeout=15_000)
    expect(ready).to_have_text("Ready to scan without signal.")
    assert p.evaluate("() => Boolean(navigator.serviceWorker.controller)")


def _type_code(p: Any, code: str) -> None:
    p.get_by_label("Or type the ticket code").fill(code)
    p.get_by_role("button", name="Check", exact=True).click()


def test_the_scan_page_opens_and_admits_offline_then_sends_the_queue(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    from playwright.sync_api import expect

    p = camera_page
    other_code, _email = _other_session_ticket(live_server.database_url, door)
    _open_scan_page(p, live_server, door)
    _ready_offline(p)

    went_offline = dt.datetime.now(dt.UTC)
    p.context.set_offline(True)
    p.reload()  # served by the Service Worker
    expect(p.locator("#door-network")).to_contain_text("Offline")
    expect(p.get_by_label("Admitting to")).to_have_value(str(door.session_id))

    p.get_by_role("button", name="Start camera").click()
    result = p.locator("#door-result")
    expect(result).to_have_attribute("data-status", "green", timeout=20_000)
    expect(p.locator("#door-result-title")).to_have_text("Admitted (offline)")
    expect(p.locator("#door-result-name")).to_have_text(door.name)
    expect(p.locator("#door-count-queued")).to_have_text("1")
    expect(p.locator("#door-count-here")).to_have_text("1")
    screenshot(p, "door-offline-green", 360)
    expect(result).to_be_hidden(timeout=5_000)
    expect(result).to_have_attribute("data-status", "amber", timeout=20_000)
    expect(p.locator("#door-result-title")).to_have_text("Already admitted on this phone")
    p.get_by_role("button", name="Next").click()
    p.get_by_role("button", name="Stop camera").click()

    _type_code(p, other_code)
    expect(result).to_have_attribute("data-status", "red")
    expect(p.locator("#door-result-detail")).to_have_text("Not registered for this session.")
    p.keyboard.press("Escape")
    expect(p.locator("#door-count-queued")).to_have_text("1")  # only the admission waits
    assert _moves(live_server.database_url, door.registration_id) == []

    back = dt.datetime.now(dt.UTC)
    p.context.set_offline(False)
    expect(p.locator("#door-count-queued")).to_have_text("0", timeout=15_000)
    expect(p.locator("#door-network")).to_contain_text("Online · last heard from the server at")
    [move] = _moves(live_server.database_url, door.registration_id)
    assert move.kind == "entry" and move.session_id == door.session_id
    assert went_offline < move.at < back  # the time it was scanned, not sent


def test_two_phones_admitting_one_ticket_offline_make_one_admission_and_one_conflict(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    from playwright.sync_api import expect

    first = camera_page
    browser = first.context.browser
    second = browser.new_context(viewport={"width": 360, "height": 780}).new_page()
    try:
        for p in (first, second):
            _open_scan_page(p, live_server, door)
            _ready_offline(p)
            p.context.set_offline(True)
            _type_code(p, door.code)
            expect(p.locator("#door-result")).to_have_attribute("data-status", "green")
            expect(p.locator("#door-result-title")).to_have_text("Admitted (offline)")
            p.keyboard.press("Escape")
        for p in (first, second):
            p.context.set_offline(False)
            expect(p.locator("#door-count-queued")).to_have_text("0", timeout=15_000)
        expect(second.locator("#door-sync-report")).to_have_text(
            "1 admitted offline had already been admitted by another phone."
        )
    finally:
        second.context.close()
    moves = _moves(live_server.database_url, door.registration_id)
    assert len([m for m in moves if m.kind == "entry"]) == 1
    [conflict] = _conflicts(live_server.database_url)
    assert (conflict.registration_id, conflict.check_in_id) == (door.registration_id, moves[0].id)


def test_a_pass_revoked_while_offline_has_its_queue_refused_and_said_so(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    from playwright.sync_api import expect

    p = camera_page
    _open_scan_page(p, live_server, door)
    _ready_offline(p)
    p.context.set_offline(True)
    _type_code(p, door.code)
    expect(p.locator("#door-result")).to_have_attribute("data-status", "green")
    p.keyboard.press("Escape")
    _revoke(live_server.database_url, door.pass_id)
    p.context.set_offline(False)
    report = p.locator("#door-sync-report")
    expect(report).to_have_text(
        "1 scan made offline was refused by the server: This steward pass has been revoked.",
        timeout=15_000,
    )
    expect(p.locator("#door-blocked")).to_be_visible()
    expect(p.locator("#door-count-queued")).to_have_text("0")
    assert _moves(live_server.database_url, door.registration_id) == []
    # What the phone held for the pass is gone.
    p.wait_for_function(
        "async () => (await (await caches.keys()).length) === 0", timeout=10_000, polling=200
    )


DUMP = """async () => {
  const out = {local: JSON.stringify(Object.entries(localStorage)),
    session: JSON.stringify(Object.entries(sessionStorage)), cookies: document.cookie,
    idb: [], caches: []};
  const hex = (buf) => Array.from(new Uint8Array(buf))
    .map(b => b.toString(16).padStart(2, '0')).join('');
  const flat = (v) => v instanceof ArrayBuffer
    ? 'HEX:' + hex(v) + ' TXT:' + new TextDecoder('latin1').decode(v)
    : ArrayBuffer.isView(v) ? flat(v.buffer) : (v && typeof v === 'object')
    ? Object.entries(v).map(([k, x]) => k + '=' + flat(x)).join(';') : String(v);
  for (const info of await indexedDB.databases()) {
    const db = await new Promise((ok, no) => {
      const q = indexedDB.open(info.name); q.onsuccess = () => ok(q.result); q.onerror = no;
    });
    for (const name of db.objectStoreNames) {
      const read = (how) => new Promise(ok => {
        const q = db.transaction(name).objectStore(name)[how](); q.onsuccess = () => ok(q.result);
      });
      const values = await read('getAll'), keys = await read('getAllKeys');
      out.idb.push(name + ':' + keys.map(flat).join(',') + ':' + values.map(flat).join('|'));
    }
    db.close();
  }
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const body = await (await cache.match(request)).arrayBuffer();
      out.caches.push(request.url + ' ' + flat(body));
    }
  }
  return out;
}"""


def _encodings(text: str) -> list[str]:
    raw = text.encode()
    return [
        text,
        text.lower(),
        text.encode("utf-16-le").decode("latin1"),
        text.encode("utf-16-be").decode("latin1"),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        raw.hex().upper(),
    ]


def test_the_phone_stores_no_name_email_or_code_in_any_encoding(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    from playwright.sync_api import expect

    p = camera_page
    other_code, other_email = _other_session_ticket(live_server.database_url, door)
    _open_scan_page(p, live_server, door)
    _ready_offline(p)
    # A scan online and one offline (queued) leave their traces too: still nobody named.
    _type_code(p, door.code)
    expect(p.locator("#door-result")).to_have_attribute("data-status", "green")
    p.keyboard.press("Escape")
    p.context.set_offline(True)
    _type_code(p, door.code)
    expect(p.locator("#door-result")).to_have_attribute("data-status", "amber")
    p.keyboard.press("Escape")
    expect(p.locator("#door-result-name")).to_have_text("")  # names leave the screen too
    dump = p.evaluate(DUMP)
    assert any(entry.startswith("bundle:") and "HEX:" in entry for entry in dump["idb"])
    assert dump["caches"], "the scan page is kept for offline use"
    text = "\n".join(
        [dump["local"], dump["session"], dump["cookies"], *dump["idb"], *dump["caches"]]
    )
    secrets_ = [
        door.name,
        door.code,
        f"rosa-{door.slug}@example.org",
        OTHER_NAME,
        other_code,
        other_email,
    ]
    for secret in secrets_:
        for encoded in _encodings(secret):
            assert encoded not in text, (secret, encoded)
    p.context.set_offline(False)


def test_a_keyboard_wedge_scanner_admits_without_a_tap_offline_and_online(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    from playwright.sync_api import expect

    p = camera_page
    other_code, _email = _other_session_ticket(live_server.database_url, door)
    _open_scan_page(p, live_server, door)
    _ready_offline(p)
    p.get_by_label("Rapid mode").check()  # once, when the steward sets up
    result = p.locator("#door-result")
    p.keyboard.type(door.code)
    p.keyboard.press("Enter")
    expect(result).to_have_attribute("data-status", "green")
    expect(p.locator("#door-result-title")).to_have_text("Admitted")
    p.keyboard.type(door.code)  # the next one at once: no tap in between
    p.keyboard.press("Enter")
    expect(result).to_have_attribute("data-status", "amber")
    p.context.set_offline(True)
    p.keyboard.type(other_code)
    p.keyboard.press("Enter")
    expect(result).to_have_attribute("data-status", "red")
    expect(p.locator("#door-result-detail")).to_have_text("Not registered for this session.")
    p.keyboard.type(door.code)
    p.keyboard.press("Enter")
    expect(result).to_have_attribute("data-status", "amber")
    expect(p.locator("#door-result-title")).to_have_text("Already admitted on this phone")
    assert len(_moves(live_server.database_url, door.registration_id)) == 1
    assert CHROMIUM_ARGS  # the same browser flags as every door test


def test_the_scan_page_opens_offline_after_the_browser_was_closed_and_reopened(
    live_server: LiveServer, door: DoorData, tmp_path: Any
) -> None:
    """A phone's browser closed at the door and opened again in the basement: the same profile
    (a persistent Chromium profile on disk), no network at all from the start, and the scan page
    opens from the Service Worker, restores the stored bundle and admits a typed code."""
    from playwright.sync_api import expect, sync_playwright

    profile = tmp_path / "profile"
    with sync_playwright() as playwright:
        first = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=PHONE
        )
        p = first.pages[0] if first.pages else first.new_page()
        _open_scan_page(p, live_server, door)
        _ready_offline(p)
        first.close()

        again = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=PHONE, offline=True
        )
        try:
            p = again.pages[0] if again.pages else again.new_page()
            p.goto(f"{live_server.url}/door/scan")  # served by the Service Worker
            expect(p.locator("#door-network")).to_contain_text("Offline")
            expect(p.locator("#door-ready")).to_have_attribute("data-ready", "yes")
            _type_code(p, door.code)
            result = p.locator("#door-result")
            expect(result).to_have_attribute("data-status", "green")
            expect(p.locator("#door-result-title")).to_have_text("Admitted (offline)")
            expect(p.locator("#door-result-name")).to_have_text(door.name)
            expect(p.locator("#door-count-queued")).to_have_text("1")
        finally:
            again.close()
    assert _moves(live_server.database_url, door.registration_id) == []
