"""Issue 6's acceptance in a real browser with a fake camera: Chromium "films" a video of a real
ticket's QR code, the scan page reads it (with jsQR: Chromium on Linux has no BarcodeDetector)
and says admitted; held in view after the cool-down, the same ticket is already checked in. Also:
a camera stopped (or a pass refused) while it is still opening stays off, and a stale CSRF token
asks for a reload instead of stopping scanning."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.templating import STATIC
from gathering.door import words
from gathering.door.pages import DECODER
from gathering.registration import tickets
from tests.door_data import ACCESS_NEEDS, TICKET_TYPE, DoorData, insert_open_door
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    screenshot,
    serious_accessibility_violations,
)

pytestmark = pytest.mark.browser
T = TypeVar("T")
WIDTH, HEIGHT, FRAMES = 640, 480, 10
MODULE_PX = 12  # nearest-neighbour scale of one QR module in the video
DOOR = "North door"


def _in_thread(database_url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run database work on another thread: Playwright's sync API holds this thread's loop."""

    async def _run() -> T:
        db = Database(database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _run()).result()


def _moves(database_url: str, registration_id: int) -> list[Any]:
    async def _read(db: Database) -> list[Any]:
        async def _query(conn: AsyncConnection) -> list[Any]:
            ci = schema.check_in
            query = sa.select(ci).where(ci.c.registration_id == registration_id).order_by(ci.c.id)
            return list((await conn.execute(query)).all())

        return await db.read(_query)

    return _in_thread(database_url, _read)


def _qr_frame(code: str) -> Any:
    """The ticket's QR code (as the ticket page's PNG) centred on a white 640×480 luma frame."""
    import numpy as np
    import png

    width, height, rows, info = png.Reader(bytes=tickets.qr_png(code, box_size=1)).asDirect()
    pixels = np.array([list(row) for row in rows], dtype=np.uint8)
    if info["planes"] > 1:
        pixels = pixels.reshape(height, width, info["planes"])[:, :, 0]
    if info["bitdepth"] < 8:
        pixels = pixels * np.uint8(255 // (2 ** info["bitdepth"] - 1))
    # Nearest neighbour keeps every module sharp; qr_png already has the 4-module quiet zone.
    qr = np.kron(pixels, np.ones((MODULE_PX, MODULE_PX), dtype=np.uint8))
    frame = np.full((HEIGHT, WIDTH), 255, dtype=np.uint8)
    top, left = (HEIGHT - qr.shape[0]) // 2, (WIDTH - qr.shape[1]) // 2
    frame[top : top + qr.shape[0], left : left + qr.shape[1]] = qr
    return frame


def write_ticket_video(code: str, path: Path) -> Path:
    """A YUV4MPEG2 video of the ticket's QR code (Chromium's fake camera loops it)."""
    import numpy as np
    import zxingcpp

    frame = _qr_frame(code)
    assert [r.text for r in zxingcpp.read_barcodes(frame)] == [code]  # the film is readable
    chroma = np.full((HEIGHT // 2, WIDTH // 2), 128, dtype=np.uint8).tobytes()  # grey: no colour
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(b"FRAME\n")
            out.write(frame.tobytes())
            out.write(chroma)  # U
            out.write(chroma)  # V
    return path


@pytest.fixture
def door(live_server: LiveServer) -> DoorData:
    return _in_thread(live_server.database_url, insert_open_door)


@pytest.fixture
def camera_page(door: DoorData, tmp_path: Path) -> Iterator[Any]:
    """A Chromium of its own whose camera films the door's ticket."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI is set but Chromium is missing: browser tests cannot be skipped")
        pytest.skip("Chromium is not installed (make test installs it)")
    if not (STATIC / DECODER).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"static/{DECODER} is missing: make test copies it from node_modules")
        pytest.skip(f"static/{DECODER} missing (make test copies it from node_modules)")
    from playwright.sync_api import sync_playwright

    video = write_ticket_video(door.code, tmp_path / "ticket.y4m")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        context = browser.new_context(viewport={"width": 360, "height": 780})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


@contextlib.contextmanager
def _held(page: Any) -> Iterator[None]:
    """Stop the page's clock, so the answer on screen stays while it is checked and photographed."""
    page.clock.pause_at((page.evaluate("Date.now()") + 200) / 1000)  # Python takes seconds
    try:
        yield
    finally:
        page.clock.resume()


def test_the_scan_page_admits_a_ticket_filmed_by_the_camera_then_knows_it_is_in(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    from playwright.sync_api import expect

    p = camera_page
    console: list[str] = []
    p.on("console", lambda m: console.append(m.text))
    p.clock.install()  # runs naturally; paused only while a result is photographed

    p.goto(f"{live_server.url}/door/{door.token}")
    expect(p.get_by_role("heading", level=1)).to_have_text("Steward pass")
    screenshot(p, "door-open", 360)
    assert serious_accessibility_violations(p) == []
    p.get_by_label("PIN").fill("0000")
    p.get_by_role("button", name="Open for scanning").click()
    expect(p.locator("#pin-error")).to_have_text("That PIN is not right for this steward pass.")
    p.get_by_label("PIN").fill(door.pin)
    p.get_by_role("button", name="Open for scanning").click()
    p.wait_for_url(f"{live_server.url}/door/scan")

    expect(p.get_by_label("Admitting to")).to_have_value(str(door.session_id))
    p.get_by_label("Door", exact=True).fill(DOOR)
    expect(p.locator("#door-live")).to_have_text("Live", timeout=10_000)  # Server-Sent Events
    expect(p.locator("#door-count-in")).to_have_text("0")
    expect(p.locator("#door-count-registered")).to_have_text("1")
    expect(p.locator("#door-count-left")).to_have_text("40")
    assert serious_accessibility_violations(p) == []
    screenshot(p, "door-scan", 1280)
    screenshot(p, "door-scan", 360)

    p.get_by_role("button", name="Start camera").click()
    result = p.locator("#door-result")
    expect(result).to_have_attribute("data-status", "green", timeout=20_000)
    with _held(p):
        expect(p.locator("#door-result-title")).to_have_text("Admitted")
        expect(p.locator("#door-result-name")).to_have_text(door.name)
        expect(p.locator("#door-result-detail")).to_have_text(TICKET_TYPE)
        expect(p.locator("#door-result-needs")).to_have_text(f"Access needs: {ACCESS_NEEDS}")
        screenshot(p, "door-result-green", 360)
    expect(p.locator("#door-announce")).to_contain_text(f"Admitted. {door.name}")
    expect(p.locator("#door-viewfinder")).to_have_attribute("data-decoder", "jsqr")

    # The ticket stays in view: ignored during the cool-down, then answered again.
    expect(result).to_be_hidden(timeout=5_000)
    expect(result).to_have_attribute("data-status", "amber", timeout=20_000)
    with _held(p):
        expect(p.locator("#door-result-title")).to_have_text("Already checked in")
        expect(p.locator("#door-result-name")).to_have_text(door.name)
        expect(p.locator("#door-result-detail")).to_have_text(
            re.compile(rf"^{TICKET_TYPE} · First checked in at \d\d:\d\d at {DOOR}$")
        )
        screenshot(p, "door-result-amber", 360)
    expect(p.locator("#door-count-in")).to_have_text("1")  # pushed by the server, no reload
    p.get_by_role("button", name="Next").click()
    expect(result).to_be_hidden()
    screenshot(p, "door-scanning", 360)  # the ticket still in view, ignored for a while
    p.get_by_role("button", name="Stop camera").click()

    moves = _moves(live_server.database_url, door.registration_id)
    live_entries = [m for m in moves if m.kind == "entry" and m.undone_at is None]
    assert len(live_entries) == 1
    assert (live_entries[0].door, live_entries[0].session_id) == (DOOR, door.session_id)

    # A typed code of no ticket: red, and what was typed stays for correcting.
    p.get_by_label("Or type the ticket code").fill("2345 6789-abcd")
    p.get_by_role("button", name="Check", exact=True).click()
    expect(result).to_have_attribute("data-status", "red")
    with _held(p):
        expect(p.locator("#door-result-title")).to_have_text("Not admitted")
        expect(p.locator("#door-result-detail")).to_have_text("Unknown ticket code.")
        screenshot(p, "door-result-red", 360)
    p.keyboard.press("Escape")
    expect(result).to_be_hidden()
    expect(p.get_by_label("Or type the ticket code")).to_have_value("2345 6789-abcd")

    # Undo takes back this phone's admission.
    p.get_by_role("button", name="Undo last check-in").click()
    expect(p.locator("#door-undo-status")).to_have_text(f"Undone: {door.name}’s check-in.")
    expect(p.locator("#door-count-in")).to_have_text("0")
    moves = _moves(live_server.database_url, door.registration_id)
    assert [m for m in moves if m.kind == "entry" and m.undone_at is None] == []

    # The help desk finds them by name (name and ticket type only) and admits them.
    p.get_by_text("Help desk: no ticket with them?").click()
    p.get_by_label("Their first name and surname, or their email").fill("rosa lux")
    p.get_by_role("button", name="Find").click()
    matches = p.locator("#door-search-results li")
    expect(matches).to_have_count(1)
    expect(matches.locator(".door-match-who")).to_have_text(f"{door.name}{TICKET_TYPE}")
    screenshot(p, "door-helpdesk", 360)
    p.get_by_role("button", name=f"Admit {door.name}").click()
    expect(result).to_have_attribute("data-status", "green")
    expect(p.locator("#door-search-results li")).to_have_count(0)  # no names left behind
    moves = _moves(live_server.database_url, door.registration_id)
    assert len([m for m in moves if m.kind == "entry" and m.undone_at is None]) == 1

    # Signing out (after a confirmation) leaves a page that offers this tab's pass link again.
    expect(result).to_be_hidden(timeout=5_000)  # back to scanning by itself
    p.once("dialog", lambda dialog: dialog.accept())
    p.get_by_role("button", name="Sign out").click()
    expect(p.get_by_role("heading", level=1)).to_have_text(
        "This phone is not signed in for scanning"
    )
    reopen = p.get_by_role("link", name="Open the steward pass again")
    expect(reopen).to_have_attribute("href", f"/door/{door.token}")
    assert serious_accessibility_violations(p) == []

    assert [m for m in console if "Content Security Policy" in m] == []


def _open_scan_page(p: Any, server: LiveServer, door: DoorData) -> None:
    p.goto(f"{server.url}/door/{door.token}")
    p.get_by_label("PIN").fill(door.pin)
    p.get_by_role("button", name="Open for scanning").click()
    p.wait_for_url(f"{server.url}/door/scan")


def test_a_scan_without_signal_is_retried_with_its_nonce_and_never_shown_green(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    from playwright.sync_api import expect

    p = camera_page
    _open_scan_page(p, live_server, door)
    sent: list[dict[str, Any]] = []
    signal = {"up": False}

    def door_api(route: Any) -> None:
        sent.append(route.request.post_data_json)
        if signal["up"]:
            route.continue_()
        else:
            route.abort("internetdisconnected")

    p.route("**/door/api/scan", door_api)
    p.get_by_label("Or type the ticket code").fill(door.code.lower())
    p.get_by_role("button", name="Check", exact=True).click()
    result = p.locator("#door-result")
    expect(result).to_have_attribute("data-status", "pending")
    expect(p.locator("#door-result-title")).to_contain_text("Retrying")
    expect(result).to_have_attribute("data-status", "neutral", timeout=15_000)
    expect(p.locator("#door-result-title")).to_have_text("No answer")
    expect(p.locator("#door-result-detail")).to_contain_text("NOT checked")
    assert len(sent) == 4  # every attempt, then it stops and says so
    assert _moves(live_server.database_url, door.registration_id) == []

    signal["up"] = True
    p.get_by_role("button", name="Try again").click()
    expect(result).to_have_attribute("data-status", "green")
    expect(p.locator("#door-result-name")).to_have_text(door.name)
    assert len(sent) == 5
    assert {body["nonce"] for body in sent} == {sent[0]["nonce"]}  # one scan, one nonce
    assert {body["code"] for body in sent} == {door.code.lower()}  # the server normalises
    assert len(_moves(live_server.database_url, door.registration_id)) == 1


# Holds getUserMedia's answer until the test lets it through (window.__camera.release()), as a
# slow phone does while it opens the camera, and keeps every track it hands out.
HOLD_CAMERA = """
(() => {
  const devices = navigator.mediaDevices;
  if (!devices || !devices.getUserMedia) return;
  const real = devices.getUserMedia.bind(devices);
  const camera = window.__camera = { hold: true, waiting: [], tracks: [], opened: 0 };
  camera.release = () => {
    const waiting = camera.waiting.splice(0);
    waiting.forEach((go) => go());
    return waiting.length;
  };
  devices.getUserMedia = (constraints) => new Promise((resolve, reject) => {
    const go = () => real(constraints).then((media) => {
      camera.tracks.push(...media.getTracks());
      camera.opened += 1;
      resolve(media);
    }, reject);
    if (camera.hold) camera.waiting.push(go); else go();
  });
})();
"""
# The camera was opened n times and every track it gave is stopped.
ALL_TRACKS_ENDED = (
    "n => window.__camera.opened === n && window.__camera.tracks.length > 0"
    " && window.__camera.tracks.every(t => t.readyState === 'ended')"
)


def _revoke(database_url: str, pass_id: int) -> None:
    async def _write(db: Database) -> None:
        async def _update(conn: AsyncConnection) -> None:
            sp = schema.steward_pass
            now = dt.datetime.now(dt.UTC)
            await conn.execute(sp.update().where(sp.c.id == pass_id).values(revoked_at=now))

        await db.write(_update)

    _in_thread(database_url, _write)


def _assert_camera_stays_off(p: Any) -> None:
    from playwright.sync_api import expect

    p.wait_for_timeout(600)  # time enough for a start that was not cancelled to switch it on
    expect(p.locator("#door-viewfinder")).to_have_attribute("data-state", "off")
    expect(p.locator("#door-camera-status")).to_have_text("The camera is off.")
    assert p.evaluate("document.getElementById('door-video').srcObject") is None
    assert p.evaluate("window.__camera.tracks.every(t => t.readyState === 'ended')")


def test_stopping_the_camera_while_it_opens_leaves_it_off(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    from playwright.sync_api import expect

    p = camera_page
    p.add_init_script(HOLD_CAMERA)
    _open_scan_page(p, live_server, door)
    viewfinder, button = p.locator("#door-viewfinder"), p.locator("#door-camera-button")

    # Stop while the phone is still opening the camera; then the camera opens.
    button.click()
    expect(viewfinder).to_have_attribute("data-state", "starting")
    expect(button).to_have_text("Stop camera")
    button.click()
    expect(viewfinder).to_have_attribute("data-state", "off")
    expect(button).to_have_text("Start camera")
    assert p.evaluate("window.__camera.release()") == 1
    p.wait_for_function(ALL_TRACKS_ENDED, arg=1)  # opened, and stopped at once
    _assert_camera_stays_off(p)
    expect(button).to_have_text("Start camera")

    # Start and Stop tapped at once, the camera opening as fast as it can.
    p.evaluate("window.__camera.hold = false")
    p.evaluate(
        "document.getElementById('door-camera-button').click();"
        "document.getElementById('door-camera-button').click()"
    )
    p.wait_for_function(ALL_TRACKS_ENDED, arg=2)
    _assert_camera_stays_off(p)
    assert _moves(live_server.database_url, door.registration_id) == []  # nothing was scanned


def test_a_pass_refused_while_the_camera_opens_leaves_the_camera_off(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    from playwright.sync_api import expect

    p = camera_page
    p.add_init_script(HOLD_CAMERA)
    _open_scan_page(p, live_server, door)
    button = p.locator("#door-camera-button")
    button.click()
    expect(p.locator("#door-viewfinder")).to_have_attribute("data-state", "starting")

    _revoke(live_server.database_url, door.pass_id)
    p.get_by_label("Or type the ticket code").fill(door.code)
    p.get_by_role("button", name="Check", exact=True).click()
    expect(p.locator("#door-result")).to_have_attribute("data-status", "red")
    expect(p.locator("#door-result-detail")).to_have_text("This steward pass has been revoked.")
    expect(p.locator("#door-blocked")).to_be_visible()
    expect(button).to_be_disabled()  # so a camera that came on now could not be turned off

    assert p.evaluate("window.__camera.release()") == 1
    p.wait_for_function(ALL_TRACKS_ENDED, arg=1)
    _assert_camera_stays_off(p)


def test_a_stale_csrf_token_asks_for_a_reload_and_never_stops_scanning(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    """The CSRF check refuses a stale token with an HTML 403 (here: the browser restarted and forgot
    its session-only csrftoken cookie, the door cookie stays): the page is out of date, the pass
    is fine. Only the door API's own JSON refusals stop scanning; nothing else is ever green."""
    from playwright.sync_api import expect

    p = camera_page
    _open_scan_page(p, live_server, door)
    result, title = p.locator("#door-result"), p.locator("#door-result-title")
    detail, stale = p.locator("#door-result-detail"), p.locator("#door-stale")
    code = p.get_by_label("Or type the ticket code")
    check = p.get_by_role("button", name="Check", exact=True)
    expect(stale).to_be_hidden()

    p.context.clear_cookies(name="csrftoken")
    code.fill(door.code)
    check.click()
    expect(result).to_have_attribute("data-status", "neutral")
    expect(title).to_have_text("Not checked")
    expect(detail).to_have_text(
        "This page is out of date — reload it. This ticket was NOT checked."
    )
    expect(p.locator("#door-result-reload")).to_be_visible()
    expect(p.locator("#door-result-retry")).to_be_hidden()
    assert _moves(live_server.database_url, door.registration_id) == []
    p.get_by_role("button", name="Next").click()
    expect(result).to_be_hidden()
    expect(p.locator("#door-blocked")).to_be_hidden()  # not "Pass not usable"
    expect(stale).to_be_visible()
    expect(stale).to_contain_text("This page is out of date — reload it.")
    expect(code).to_be_enabled()
    expect(p.locator("#door-camera-button")).to_be_enabled()
    assert serious_accessibility_violations(p) == []
    screenshot(p, "door-stale", 360)

    # The help desk says the same, and stops nothing either.
    p.get_by_text("Help desk: no ticket with them?").click()
    p.get_by_label("Their first name and surname, or their email").fill("rosa lux")
    p.get_by_role("button", name="Find").click()
    expect(p.locator("#door-search-message")).to_have_text("This page is out of date — reload it.")
    expect(p.locator("#door-search-results li")).to_have_count(0)

    # Signing out does not pretend: the phone is still signed in until the page is reloaded.
    p.once("dialog", lambda dialog: dialog.accept())
    with p.expect_response("**/door/api/close") as closing:
        p.get_by_role("button", name="Sign out").click()
    assert closing.value.status == 403
    expect(p.locator("#door-live")).to_have_text("Live", timeout=10_000)  # counting again
    assert p.url == f"{live_server.url}/door/scan"
    expect(stale).to_be_visible()

    # Reloading gives the page a new token; the same ticket is admitted.
    with p.expect_navigation():
        p.get_by_role("button", name="Reload").click()
    expect(stale).to_be_hidden()
    code.fill(door.code)
    check.click()
    expect(result).to_have_attribute("data-status", "green")
    expect(title).to_have_text("Admitted")
    p.keyboard.press("Escape")  # a green answer goes by itself soon anyway
    expect(result).to_be_hidden()
    assert len(_moves(live_server.database_url, door.registration_id)) == 1

    # A page that is not the door API's answer (a wifi login, say) is never green: not checked,
    # and "Try again" resends the same nonce.
    p.route(
        "**/door/api/scan",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<h1>Sign in to the wifi</h1>"
        ),
    )
    code.fill(door.code)
    check.click()
    expect(result).to_have_attribute("data-status", "neutral")
    expect(title).to_have_text("No answer")
    expect(detail).to_contain_text("this ticket is NOT checked")
    expect(p.locator("#door-result-retry")).to_be_visible()
    p.get_by_role("button", name="Next").click()
    expect(p.locator("#door-blocked")).to_be_hidden()

    # A JSON 403 that is not the pass's (a reason code of another kind) does not stop scanning.
    p.unroute("**/door/api/scan")
    p.route(
        "**/door/api/scan",
        lambda route: route.fulfill(
            status=403, json={"error": "forbidden", "message": "Not allowed here."}
        ),
    )
    code.fill("2345 6789 ABCD")
    check.click()
    expect(result).to_have_attribute("data-status", "neutral")
    expect(detail).to_have_text("Not allowed here.")
    p.get_by_role("button", name="Next").click()
    expect(p.locator("#door-blocked")).to_be_hidden()

    # A phone past its scan bounds (issue 14 #5) is told so in words: not checked, not stopped.
    p.unroute("**/door/api/scan")
    too_many = words.TOO_MANY_REFUSED.format(seconds=2)
    p.route(
        "**/door/api/scan",
        lambda route: route.fulfill(
            status=429,
            headers={"retry-after": "2"},
            json={"error": "too_many_refused", "message": too_many, "retry_after": 2},
        ),
    )
    code.fill("4567 89AB CDEF")
    check.click()
    expect(result).to_have_attribute("data-status", "neutral")
    expect(title).to_have_text("Not checked")
    expect(detail).to_have_text(too_many)
    p.get_by_role("button", name="Next").click()
    expect(p.locator("#door-blocked")).to_be_hidden()
    expect(code).to_be_enabled()

    # The door API's own refusal of the pass does.
    p.unroute("**/door/api/scan")
    p.route(
        "**/door/api/scan",
        lambda route: route.fulfill(
            status=403,
            json={"error": "pass_expired", "message": "This steward pass has expired."},
        ),
    )
    code.fill("3456 789A BCDE")
    check.click()
    expect(result).to_have_attribute("data-status", "red")
    expect(title).to_have_text("Pass not usable")
    p.get_by_role("button", name="Next").click()
    expect(p.locator("#door-blocked")).to_be_visible()
    expect(p.locator("#door-blocked-message")).to_have_text("This steward pass has expired.")
    expect(code).to_be_disabled()
    assert len(_moves(live_server.database_url, door.registration_id)) == 1


def test_the_pin_page_with_a_stale_csrf_token_asks_for_a_reload_not_another_pin(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    from playwright.sync_api import expect

    p = camera_page
    p.goto(f"{live_server.url}/door/{door.token}")
    stale = p.locator("#door-open-stale")
    expect(stale).to_be_hidden()
    # A token the server no longer recognises (its signature does not check out).
    p.context.add_cookies([{"name": "csrftoken", "value": "stale", "url": live_server.url}])
    p.get_by_label("PIN").fill(door.pin)
    p.get_by_role("button", name="Open for scanning").click()
    expect(stale).to_be_visible()
    expect(stale).to_contain_text("This page is out of date — reload it")
    expect(p.locator("#pin-error")).to_be_hidden()
    expect(p.get_by_label("PIN")).not_to_have_attribute("aria-invalid", "true")
    expect(p.get_by_role("button", name="Open for scanning")).to_be_enabled()
    assert p.url == f"{live_server.url}/door/{door.token}"
    assert serious_accessibility_violations(p) == []
    screenshot(p, "door-open-stale", 360)

    with p.expect_navigation():
        p.get_by_role("button", name="Reload").click()
    expect(stale).to_be_hidden()
    p.get_by_label("PIN").fill(door.pin)
    p.get_by_role("button", name="Open for scanning").click()
    p.wait_for_url(f"{live_server.url}/door/scan")

    # A 200 that is not the door API's JSON does not count as opened.
    p.goto(f"{live_server.url}/door/{door.token}")
    p.route(
        "**/door/api/open",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>Wifi</h1>"),
    )
    p.get_by_label("PIN").fill(door.pin)
    p.get_by_role("button", name="Open for scanning").click()
    expect(p.locator("#pin-error")).to_have_text(
        "The pass could not be opened (error 200). Try again."
    )
    assert p.url == f"{live_server.url}/door/{door.token}"
