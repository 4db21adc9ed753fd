"""The organiser's pages in Welsh (issue 18): a demo organiser (and the network admin, who sees
every session) who chose Welsh reads their home page, the dashboards and their charts, the people
booked, a message to registrants and its preview, the registration set-up and its questions, the
release page, the session editor, steward passes, supporters and members in Welsh — with none of
the organiser's English sentences left — and the refusals and counts of the organiser's forms are
said in Welsh too, with Welsh's plural forms. English readers still get the English. Both engines.
"""

from __future__ import annotations

import re

import httpx
import lxml.html
import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import i18n, schema
from gathering.core.database import Database
from gathering.organiser import charts
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import parse_html, sign_in, texts

pytestmark = pytest.mark.anyio

LLA = ("organiser@example.org", "demo-organiser-password")
ADMIN = ("admin@example.org", "demo-admin-password")
SLUG = "labour-conference-2019"
SUPPORTERS_TITLE = "Labour Left Alliance networking meeting for all signatories"
MINE = ("templates/organiser/", "gathering/organiser/")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{[\w:,]*\}")


def _text(page: lxml.html.HtmlElement, xpath: str) -> str:
    return " ".join(" ".join(texts(page, xpath)).split())


def _organisers_english() -> set[str]:
    """The English of every sentence the organiser's templates and modules say (the pieces
    between placeholders and tags, two words or more), where its Welsh differs."""
    with (i18n.LOCALE_DIR / "cy" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalogue = read_po(file, locale="cy")
    pieces = set()
    for message in catalogue:
        if not message.id or not any(path.startswith(MINE) for path, _ in message.locations):
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        for msgid in ids:
            for piece in PLACEHOLDER.split(re.sub(r"<[^>]+>", "\0", msgid)):
                for part in piece.split("\0"):
                    text = " ".join(part.split()).strip(" .,:;!?()–-")
                    if len(text) >= 10 and " " in text and not any(text in s for s in strings):
                        pieces.add(text)
    return pieces


def _visible(page: lxml.html.HtmlElement) -> str:
    """What the reader sees or hears, without what organisers typed (titles, names: marked with
    their own language, or the demo's English names of sessions and organisations)."""
    for element in page.xpath("//script|//style|//*[@lang and @lang!='cy']"):
        if element is not page:
            element.drop_tree()
    attributes = page.xpath("//@aria-label|//@title|//@alt|//input[@type='submit']/@value")
    return " ".join(" ".join(str(t) for t in [page.text_content(), *attributes]).split())


async def _session_id(db: Database, title: str) -> int:
    async def _read(conn: AsyncConnection) -> int:
        s = schema.programme_session
        return int((await conn.execute(sa.select(s.c.id).where(s.c.title == title))).scalar_one())

    return await db.read(_read)


async def _signed_in(db: Database, client: httpx.AsyncClient, who: tuple[str, str]) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    assert (await sign_in(client, *who)).status_code == 303
    client.cookies.set(i18n.COOKIE, "cy")  # as the switch leaves it


async def _welsh_page(client: httpx.AsyncClient, path: str) -> lxml.html.HtmlElement:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert response.headers["content-language"] == "cy"
    page = parse_html(response.text)
    assert page.get("lang") == "cy", path
    return page


async def test_every_organiser_page_reads_in_welsh(db: Database, client: httpx.AsyncClient) -> None:
    await _signed_in(db, client, ADMIN)
    supporters_only = await _session_id(db, SUPPORTERS_TITLE)
    home = await _welsh_page(client, "/organiser")
    sessions = sorted(
        {
            int(m.group(1))
            for href in home.xpath("//a/@href")
            if (m := re.search(rf"/organiser/g/{SLUG}/sessions/(\d+)$", href))
        }
    )
    assert supporters_only in sessions
    base = f"/organiser/g/{SLUG}"
    paths = [
        "/organiser",
        "/organiser/organisations",
        "/organiser/o/lla/members",
        f"{base}/dashboard",
        f"{base}/registration",
        f"{base}/registration/questions",
        f"{base}/release",
        f"{base}/sessions/new",
        f"{base}/stewards",
        f"{base}/sessions/{supporters_only}/supporters",
    ]
    for session_id in sessions:
        paths += [
            f"{base}/sessions/{session_id}",
            f"{base}/sessions/{session_id}/dashboard",
            f"{base}/sessions/{session_id}/attendees",
            f"{base}/sessions/{session_id}/message",
        ]
    english = _organisers_english()
    assert len(english) > 150  # the organiser's sentences, not a sample
    left = []
    for path in paths:
        text = _visible(await _welsh_page(client, path))
        left += [f"{path}: {piece!r}" for piece in sorted(english) if piece in text]
    assert not left, "\n".join(left[:40])


async def test_the_home_page_dashboards_and_people_in_welsh(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _signed_in(db, client, LLA)
    home = await _welsh_page(client, "/organiser")
    assert _text(home, "//h1") == "Eich sesiynau"
    assert _text(home, "//main//p[@class='lede']") == "Wedi mewngofnodi fel LLA organiser."
    assert "Pasys stiward" in texts(home, "//p[@class='actions']/a")
    metas = texts(home, "//li/span[@class='meta']")
    # Welsh day and month names from the CLDR, and the status in Welsh.
    assert any(m.startswith("· Llun 23 Medi 18:30 · Lleoliad i'w gadarnhau") for m in metas)
    assert "Wedi'i chyhoeddi" in texts(home, "//span[contains(@class, 'status')]")

    board = await _welsh_page(client, f"/organiser/g/{SLUG}/dashboard")
    assert _text(board, "//h1").startswith("Dangosfwrdd: ")
    assert _text(board, "//h2[@id='totals-heading']") == "Cofrestriadau"
    assert texts(board, "//table[@id='sessions']/thead//th")[:3] == [
        "Sesiwn",
        "Wedi cofrestru",
        "Wedi'i gadarnhau",
    ]
    lede = _text(board, "//p[@class='lede']")
    assert lede.startswith("Y ffigurau fel yr oedden nhw: ")
    assert lede.endswith("Does neb yn cael ei enwi ar y dudalen hon.")
    caption = _text(board, "//figcaption[@id='registrations-caption']")
    assert caption.startswith("4 cofrestriad, Dydd Sul 1 Medi 2019 – Dydd Llun 16 Medi 2019")
    assert caption.endswith(", fesul diwrnod.")
    assert texts(board, "//table[@id='registrations-table']/thead//th") == [
        "Diwrnod",
        "Cofrestriadau",
        "Cyfanswm cronnus",
    ]

    session_id = await _session_id(db, SUPPORTERS_TITLE)
    people = await _welsh_page(client, f"/organiser/g/{SLUG}/sessions/{session_id}/attendees")
    assert _text(people, "//h1") == f"Pobl sydd wedi cadw lle yn {SUPPORTERS_TITLE}"
    assert _text(people, "//label[@for='q']") == "Chwilio yn ôl enw neu e-bost"
    assert texts(people, "//table[@id='attendees']/thead//th")[:3] == [
        "Enw",
        "E-bost",
        "Math o docyn",
    ]
    assert _text(people, "//p[@id='result-count']") == "4 o bobl."
    searched = await _welsh_page(
        client, f"/organiser/g/{SLUG}/sessions/{session_id}/attendees?q=example"
    )
    count = _text(searched, "//p[@id='result-count']")
    assert re.match(r"Mae \d o blith 4 o bobl yn cyfateb i “example”\. Dangos pawb", count), count

    members = await _welsh_page(client, "/organiser/o/lla/members")
    assert _text(members, "//h1") == "Aelodau Labour Left Alliance"
    assert texts(members, "//fieldset[@id='role']//label") == [
        "Trefnydd — Yn rheoli sesiynau'r sefydliad ac yn gweld pwy sydd wedi cadw lle, fel chi.",
        "Gwyliwr (ffigurau'n unig) — Yn gweld ffigurau dangosfyrddau sesiynau'r sefydliad, "
        "byth enw neb.",
    ]

    # The same pages in English are as they were.
    client.cookies.set(i18n.COOKIE, "en")
    english = parse_html((await client.get("/organiser")).text)
    assert _text(english, "//h1") == "Your sessions"
    assert any(m.startswith("· Mon 23 Sep 18:30 · Venue tbc") for m in texts(english, "//li/span"))


async def test_the_organisers_forms_refuse_in_welsh(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _signed_in(db, client, LLA)
    new = await _welsh_page(client, f"/organiser/g/{SLUG}/sessions/new")
    assert _text(new, "//h1") == "Sesiwn newydd"
    assert _text(new, "//form//button[@type='submit']") == "Cadw'r sesiwn"
    token = str(new.xpath("string(//input[@name='csrftoken']/@value)"))
    refused = await client.post(
        f"/organiser/g/{SLUG}/sessions/new",
        data={
            "csrftoken": token,
            "title": "",
            "day": "2019-10-01",
            "start": "soon",
            "end": "19:00",
            "format": "in_person",
            "access": "public",
            "language": "en",
            "status": "draft",
        },
    )
    assert refused.status_code == 422
    page = parse_html(refused.text)
    assert _text(page, "//p[@id='title-error']") == "Rhowch deitl."
    assert _text(page, "//p[@id='day-error']") == (
        "Dewiswch ddiwrnod o fewn y cynulliad (21 Medi i 25 Medi 2019)."
    )
    assert _text(page, "//p[@id='start-error']") == (
        "Rhowch yr amser dechrau fel oriau a munudau, er enghraifft 17:30."
    )

    registration = await _welsh_page(client, f"/organiser/g/{SLUG}/registration")
    assert _text(registration, "//h2[@id='window-title']") == "Agor neu gau'r cofrestru"
    token = str(registration.xpath("string(//input[@name='csrftoken']/@value)"))
    window = parse_html(
        (
            await client.post(
                f"/organiser/g/{SLUG}/registration",
                data={"csrftoken": token, "opens_at": "soon", "closes_at": ""},
            )
        ).text
    )
    assert _text(window, "//p[@id='opens_at-error']") == (
        "Rhowch ddyddiad ac amser fel 2027-03-13 10:00, neu gadewch y maes yn wag."
    )

    session_id = await _session_id(db, SUPPORTERS_TITLE)
    path = f"/organiser/g/{SLUG}/sessions/{session_id}/supporters"
    form = await _welsh_page(client, path)
    assert _text(form, "//h1") == "Pwy sy'n cyfrif fel cefnogwr"
    token = str(form.xpath("string(//input[@name='csrftoken']/@value)"))
    pasted = "\n".join(f"not-an-address-{n}" for n in range(13))
    bad = parse_html(
        (await client.post(path, data={"csrftoken": token, "emails": pasted, "mode": "add"})).text
    )
    error = _text(bad, "//p[@id='emails-error']")
    assert error.startswith("Llinell 1: nid yw 'not-an-address-0' yn gyfeiriad e-bost.")
    # Ten lines are named; three more are counted (Welsh's 'few': tair llinell).
    assert error.endswith("Mae 3 llinell arall fel hyn hefyd. Ni chadwyd dim.")


async def test_a_message_to_registrants_counts_people_in_welsh(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _signed_in(db, client, ADMIN)
    session_id = await _session_id(db, SUPPORTERS_TITLE)
    path = f"/organiser/g/{SLUG}/sessions/{session_id}/message"
    page = await _welsh_page(client, path)
    assert _text(page, "//h1") == f"Ysgrifennu at y bobl sydd wedi cadw lle yn {SUPPORTERS_TITLE}"
    assert _text(page, "//p[@id='audience']") == "Mae gan 4 o bobl le wedi'i gadarnhau."
    token = str(page.xpath("string(//input[@name='csrftoken']/@value)"))
    nonce = str(page.xpath("string(//input[@name='nonce']/@value)"))
    preview = parse_html(
        (
            await client.post(
                path,
                data={
                    "csrftoken": token,
                    "nonce": nonce,
                    "subject": "Ystafell newydd",
                    "body": "Rydyn ni wedi symud i'r neuadd fawr.",
                    "action": "preview",
                },
            )
        ).text
    )
    assert _text(preview, "//h1") == "Gwiriwch eich neges"
    assert _text(preview, "//p[@id='recipients']") == (
        "Bydd yn mynd at 4 o bobl, pob un drwy ei e-bost ei hun."
    )
    assert texts(preview, "//button[@value='send']") == ["Anfon at 4 o bobl"]
    assert texts(preview, "//button[@value='edit']") == ["Newid y neges"]


def test_the_organisers_counts_take_every_welsh_plural_form() -> None:
    """0, 1, 2, 3, 6 and 11 are Welsh's zero, one, two, few, many and other: 'cofrestriad' takes
    the soft mutation after two and the aspirate after three and six."""
    counts = (0, 1, 2, 3, 6, 11)
    with i18n.use_language("cy"):
        said = [charts.counted("registrations", n) for n in counts]
        scans = [i18n.ngettext("%(num)d scan", "%(num)d scans", n) % {"num": n} for n in counts]
    assert said == [
        "0 cofrestriadau",
        "1 cofrestriad",
        "2 gofrestriad",
        "3 chofrestriad",
        "6 chofrestriad",
        "11 cofrestriad",
    ]
    assert scans == [
        "0 sganiadau",
        "1 sganiad",
        "2 sganiad",
        "3 sganiad",
        "6 sganiad",
        "11 sganiad",
    ]
    with i18n.use_language("en"):
        assert [charts.counted("registrations", n) for n in (1, 2)] == [
            "1 registration",
            "2 registrations",
        ]
