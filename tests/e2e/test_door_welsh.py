"""The door in Welsh in Chromium at 360 px (issue 18): the pass page and the scan page, the
answers the script shows for the server's verdicts, and the answers the phone works out itself
with no signal, all in the page's language (the script's words come with the page, so the page
kept for no signal keeps them too)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.door_data import DoorData
from tests.e2e import test_door_camera
from tests.e2e.conftest import LiveServer, screenshot

pytestmark = pytest.mark.browser
door = test_door_camera.door
camera_page = test_door_camera.camera_page


def _type_code(p: Any, code: str) -> None:
    p.get_by_label("Neu teipiwch god y tocyn").fill(code)
    p.get_by_role("button", name="Gwirio", exact=True).click()


def test_the_scan_page_answers_in_welsh_online_and_offline(
    live_server: LiveServer, door: DoorData, camera_page: Any
) -> None:
    from playwright.sync_api import expect

    p = camera_page
    p.context.add_cookies([{"name": "gathering_lang", "value": "cy", "url": live_server.url}])
    p.goto(f"{live_server.url}/door/{door.token}")
    expect(p.locator("html")).to_have_attribute("lang", "cy")
    p.get_by_role("button", name="Agor i sganio").click()  # no PIN yet: the script says so
    expect(p.locator("#pin-error")).to_have_text("Rhowch y PIN.")
    p.get_by_label("PIN").fill(door.pin)
    p.get_by_role("button", name="Agor i sganio").click()
    p.wait_for_url(f"{live_server.url}/door/scan")

    expect(p.locator("#door-camera-button")).to_have_text("Troi'r camera ymlaen")
    _type_code(p, door.code)
    expect(p.locator("#door-result")).to_have_attribute("data-status", "green")
    expect(p.locator("#door-result-title")).to_have_text("Derbyniwyd")
    expect(p.locator("#door-result-name")).to_have_text(door.name)
    screenshot(p, "door-welsh-green", 360)
    p.get_by_role("button", name="Nesaf").click()

    _type_code(p, "ZZZZ-ZZZZ-ZZZZ")
    expect(p.locator("#door-result")).to_have_attribute("data-status", "red")
    expect(p.locator("#door-result-title")).to_have_text("Heb ei dderbyn")
    expect(p.locator("#door-result-detail")).to_have_text("Cod tocyn anhysbys.")
    p.get_by_role("button", name="Nesaf").click()

    # With no signal the phone decides from its offline list, and still says it in Welsh.
    ready = p.locator("#door-ready")
    expect(ready).to_have_attribute("data-ready", "yes", timeout=15_000)
    expect(ready).to_have_text("Yn barod i sganio heb signal.")
    p.context.set_offline(True)
    p.reload()  # the kept page, in the language it was kept in
    expect(p.locator("html")).to_have_attribute("lang", "cy")
    expect(p.locator("#door-network")).to_contain_text("All-lein")
    _type_code(p, "ZZZZ-ZZZZ-ZZZZ")
    expect(p.locator("#door-result")).to_have_attribute("data-status", "red")
    expect(p.locator("#door-result-title")).to_have_text("Heb ei dderbyn (all-lein)")
    expect(p.locator("#door-result-detail")).to_have_text("Cod tocyn anhysbys.")
    p.get_by_role("button", name="Nesaf").click()
    _type_code(p, door.code)  # admitted online on this phone a moment ago
    expect(p.locator("#door-result")).to_have_attribute("data-status", "amber")
    expect(p.locator("#door-result-title")).to_have_text("Wedi'i dderbyn ar y ffôn hwn yn barod")
    # The time on the gathering's 24-hour clocks, even where the browser knows no Welsh.
    expect(p.locator("#door-result-detail")).to_have_text(
        re.compile(r"Derbyniwyd yma am \d\d:\d\d$")
    )
    screenshot(p, "door-welsh-offline-amber", 360)
    p.get_by_role("button", name="Nesaf").click()

    # Out and in again with no signal: two scans wait to be sent, counted in Welsh.
    p.get_by_text("Allan", exact=True).click()
    _type_code(p, door.code)
    expect(p.locator("#door-result-title")).to_have_text("Wedi gadael (all-lein)")
    p.get_by_role("button", name="Nesaf").click()
    p.get_by_text("I mewn", exact=True).click()
    _type_code(p, door.code)
    expect(p.locator("#door-result-title")).to_have_text("Derbyniwyd (all-lein)")
    p.get_by_role("button", name="Nesaf").click()
    expect(p.locator("#door-count-queued")).to_have_text("2")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    p.once("dialog", answer)
    p.get_by_role("button", name="Allgofnodi").click()
    expect(p.locator("#door-count-queued")).to_have_text("2")  # not signed out: still queued
    assert asked == [
        "Nid yw 2 sganiad a wnaed all-lein wedi'u hanfon eto, a byddan nhw'n cael eu colli. "
        "Allgofnodi'r ffôn hwn? I sganio eto bydd angen dolen y pàs a'i PIN."
    ]
    # Nothing on the page is wider than the phone.
    assert p.evaluate("() => document.documentElement.scrollWidth") <= 360

    # A phone whose kept scan page is gone gets the worker's own no-signal page, in the words
    # the scan page last told it (kept beside the page), not the browser's error.
    p.evaluate("() => caches.open('gathering-door-v1').then((c) => c.delete('/door/scan'))")
    p.reload()
    expect(p.locator("html")).to_have_attribute("lang", "cy")
    expect(p.locator("h1")).to_have_text("Dim signal")
    expect(p.locator("p")).to_contain_text("Nid yw'r ffôn hwn wedi cadw'r dudalen sganio eto.")
