"""The door and the mails in Welsh (issue 18): the steward's pages and the scan page's own words
(also those its script shows, carried in the page), the door API's answers in the request's
language, and mails rendered in their recipient's language, with a Welsh plural. The door's
tests run on both engines; English stays as it was.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import lxml.html
import pytest

from gathering.core import i18n
from gathering.core.database import Database
from gathering.door import api as steward
from gathering.door.page_words import scan_page_words
from gathering.mail import sender
from gathering.mail.messages import Outgoing
from tests.door_data import DoorData, insert_open_door
from tests.helpers import parse_html, texts

pytestmark = pytest.mark.anyio


def _text(page: lxml.html.HtmlElement, xpath: str) -> str:
    return " ".join(" ".join(texts(page, xpath)).split())


async def _open_device(client: httpx.AsyncClient, door: DoorData) -> str:
    """Open the pass as door-open.js does; the CSRF token for the door API."""
    page = parse_html((await client.get(f"/door/{door.token}")).text)
    [form] = page.xpath("//form[@id='door-open-form']")
    csrf = str(form.xpath(".//input[@name='csrftoken']/@value")[0])
    opened = await client.post(
        form.get("data-open-url"),
        json={"token": form.get("data-token"), "pin": door.pin},
        headers={"x-csrftoken": csrf},
    )
    assert opened.status_code == 200 and opened.json()["pass"]
    return csrf


async def _scan(
    client: httpx.AsyncClient, door: DoorData, csrf: str, code: str, nonce: str
) -> dict:
    answer = await client.post(
        "/door/api/scan",
        json={
            "code": code,
            "session_id": door.session_id,
            "door": "Drws y gogledd",
            "nonce": nonce,
            "kind": "entry",
        },
        headers={"x-csrftoken": csrf},
    )
    body = answer.json()
    assert isinstance(body, dict)
    return body


async def test_the_pass_page_and_the_scan_page_in_welsh(
    db: Database, client: httpx.AsyncClient
) -> None:
    door = await insert_open_door(db)
    client.cookies.set(i18n.COOKIE, "cy")
    opening = parse_html((await client.get(f"/door/{door.token}")).text)
    assert opening.xpath("string(/html/@lang)") == "cy"
    assert _text(opening, "//h1") == "Pàs stiward"
    assert _text(opening, "//label[@for='pin']") == "PIN"
    assert _text(opening, "//button[@id='door-open-submit']") == "Agor i sganio"
    [form] = opening.xpath("//form[@id='door-open-form']")
    assert json.loads(form.get("data-words"))["enter_pin"] == "Rhowch y PIN."
    # The switch back to English, in its own language.
    switch = opening.xpath(
        "//nav[contains(@class, 'door-language')]//li[@class='language-switch']/a"
    )
    assert [a.get("hreflang") for a in switch] == ["en"]

    csrf = await _open_device(client, door)
    page = parse_html((await client.get("/door/scan")).text)
    assert page.xpath("string(/html/@lang)") == "cy"
    assert _text(page, "//button[@class='door-signout']") == "Allgofnodi"
    assert _text(page, "//label[@for='door-session']") == "Derbyn i"
    assert page.xpath("//select[@id='door-session']/option")[0].text_content() == (
        "Y cynulliad cyfan"
    )
    assert _text(page, "//fieldset[contains(@class, 'door-kind')]/legend") == "Sganio pobl"
    assert texts(page, "//div[@class='door-toggle']/label") == ["I mewn", "Allan"]
    assert _text(page, "//label[@class='door-check'][1]") == "Sain"
    assert _text(page, "//button[@id='door-camera-button']") == "Troi'r camera ymlaen"
    assert "Checked in" not in page.text_content()

    # The script's words travel with the page (so a page kept for no signal keeps them):
    # JSON in the page, never an inline script, in the page's language.
    [root] = page.xpath("//div[@id='door']")
    words = json.loads(root.get("data-words"))
    assert words["language"] == "cy"
    assert words["admitted"] == "Derbyniwyd"
    assert words["offline_green"] == "Derbyniwyd (all-lein)"
    # What the page decides by itself offline is said in the server's own Welsh.
    assert words["offline_reasons"]["unknown_code"] == "Cod tocyn anhysbys."
    assert words["no_signal"] == "Dim signal"
    for script in page.xpath("//script"):
        assert script.get("src", "").startswith("/static/") and not (script.text or "").strip()

    # A scan's answer online, from the API, in the request's language.
    answer = await _scan(client, door, csrf, door.code, "cy-1")
    assert (answer["status"], answer["reason"]) == ("green", "ok")
    assert answer["message"] == "Derbyniwyd."
    again = await _scan(client, door, csrf, door.code, "cy-2")
    assert (again["status"], again["message"]) == ("amber", "Wedi cyrraedd yn barod.")
    unknown = await _scan(client, door, csrf, "ZZZZ-ZZZZ-ZZZZ", "cy-3")
    assert (unknown["status"], unknown["message"]) == ("red", "Cod tocyn anhysbys.")

    # The same device asking in English hears English: the words follow the request.
    client.cookies.delete(i18n.COOKIE)
    english = await _scan(client, door, csrf, door.code, "en-1")
    assert english["message"] == "Already checked in."
    assert parse_html((await client.get("/door/scan")).text).xpath("string(/html/@lang)") == (
        "en-GB"
    )


async def test_the_scan_pages_counted_words_have_every_welsh_form(
    db: Database, client: httpx.AsyncClient
) -> None:
    door = await insert_open_door(db)
    await _open_device(client, door)
    client.cookies.set(i18n.COOKIE, "cy")
    [root] = parse_html((await client.get("/door/scan")).text).xpath("//div[@id='door']")
    matches = json.loads(root.get("data-words"))["plurals"]["matches"]
    # One form per CLDR category of Welsh, with the mutations numbers cause.
    assert matches == {
        "zero": "{count} o ganlyniadau.",
        "one": "{count} canlyniad.",
        "two": "{count} ganlyniad.",
        "few": "{count} chanlyniad.",
        "many": "{count} chanlyniad.",
        "other": "{count} canlyniad.",
    }
    with i18n.use_language("en"):
        assert scan_page_words()["plurals"]["matches"] == {  # type: ignore[index]
            "one": "{count} match.",
            "other": "{count} matches.",
        }


async def test_a_refused_pass_is_said_in_welsh(db: Database, client: httpx.AsyncClient) -> None:
    door = await insert_open_door(db)
    client.cookies.set(i18n.COOKIE, "cy")
    page = parse_html((await client.get("/door/scan")).text)  # no device here
    assert _text(page, "//h1") == "Nid yw'r ffôn hwn wedi mewngofnodi i sganio"
    opening = parse_html((await client.get(f"/door/{door.token}")).text)
    csrf = str(opening.xpath("//input[@name='csrftoken']/@value")[0])
    answer = await client.post(
        "/door/api/open",
        json={"token": door.token, "pin": "000000000"},
        headers={"x-csrftoken": csrf},
    )
    body = answer.json()
    assert (answer.status_code, body["error"]) == (401, "wrong_pin")
    assert body["message"] == "Nid dyna'r PIN cywir ar gyfer y pàs stiward hwn."
    assert steward.COOKIE not in client.cookies


def _confirmation(language: str | None, **extra: object) -> Outgoing:
    context: dict[str, object] = {
        "name": "Siân",
        "gathering_title": "Cynhadledd yr Hydref",
        "has_ticket": True,
        "ticket_code": "ABCD-EFGH-JKMN",
        "ticket_url": "https://example.org/t/1",
        "manage_url": "https://example.org/m/1",
        "agenda_url": "https://example.org/a/1",
        "places": [
            {"title": "Tai i bawb", "when_text": "", "where_text": "", "status": "confirmed"}
        ],
        "waiting": [],
        "offered": [],
        "changes": [],
        **extra,
    }
    return Outgoing(
        id=1,
        kind="registration_confirmed",
        to_address="sian@example.org",
        subject="",
        body_text="",
        body_html="",
        attachments=[{"kind": "qr_png", "cid": "ticket-qr", "data": "ABCD-EFGH-JKMN"}],
        context=context,
        created_at=dt.datetime(2027, 9, 1, tzinfo=dt.UTC),
        attempts=0,
        language=language,
    )


def test_a_confirmation_mail_in_welsh_subject_text_and_html() -> None:
    welsh = sender.render(_confirmation("cy"))
    assert welsh.subject == "Mae eich lle wedi'i archebu: Cynhadledd yr Hydref"
    lines = welsh.text.splitlines()
    assert lines[0] == "Helo Siân,"
    assert "Mae eich cofrestriad ar gyfer Cynhadledd yr Hydref wedi'i gadarnhau." in lines
    assert "Cod eich tocyn: ABCD-EFGH-JKMN" in lines
    assert "Eich lleoedd:" in lines and "- Tai i bawb" in lines
    assert lines[-1].startswith("Gweld neu newid eich archeb, lawrlwytho eich data neu ganslo: ")
    # The plain-text part keeps its line breaks: the calendar sentence is two lines in Welsh too.
    at = lines.index("i'ch calendr personol yn lle hynny: https://example.org/a/1")
    assert lines[at - 1].endswith("tanysgrifiwch")

    html = parse_html(welsh.html)
    assert html.xpath("string(/html/@lang)") == "cy"
    assert _text(html, "//title") == "Mae eich lle wedi'i archebu"
    assert _text(html, "//p[strong][1]") == (
        "Mae eich cofrestriad ar gyfer Cynhadledd yr Hydref wedi'i gadarnhau."
    )
    assert html.xpath("string(//img/@alt)") == "Cod QR eich tocyn ABCD-EFGH-JKMN"
    link = html.xpath("//a[@href='https://example.org/a/1']")[0]
    assert _text(link, ".") == "tanysgrifiwch i'ch calendr personol"
    assert "You get this email" not in welsh.text + welsh.html

    # English as before; and the same message with no language stays English.
    for language in ("en", None):
        english = sender.render(_confirmation(language))
        assert english.subject == "You're booked: Cynhadledd yr Hydref"
        assert english.text.splitlines()[0] == "Hello Siân,"


def test_a_welsh_mail_escapes_what_people_typed() -> None:
    rendered = sender.render(_confirmation("cy", name="<b>Siân</b>", gathering_title="A & B"))
    assert "Helo &lt;b&gt;Siân&lt;/b&gt;," in rendered.html
    assert "<strong>A &amp; B</strong>" in rendered.html
    assert rendered.text.splitlines()[0] == "Helo <b>Siân</b>,"


def test_a_welsh_plural_in_a_mail() -> None:
    def introduction(others: int) -> str:
        message = Outgoing(
            id=2,
            kind="introduction",
            to_address="sian@example.org",
            subject="",
            body_text="",
            body_html="",
            attachments=[],
            context={
                "name": "Siân",
                "gathering_title": "Cynhadledd",
                "constituency": "Ceredigion",
                "others": [{"name": f"P{i}", "email": f"p{i}@example.org"} for i in range(others)],
                "single_contact": "",
            },
            created_at=dt.datetime(2027, 9, 1, tzinfo=dt.UTC),
            attempts=0,
            language="cy",
        )
        [line] = [x for x in sender.render(message).text.splitlines() if "Gofynnodd" in x]
        return line.split("Gofynnodd ", 1)[1]

    assert introduction(1).startswith("1 person arall ")
    assert introduction(2).startswith("2 berson arall ")
    assert introduction(3).startswith("3 pherson arall ")
    assert introduction(4).startswith("4 o bobl eraill ")
    assert introduction(6).startswith("6 pherson arall ")
