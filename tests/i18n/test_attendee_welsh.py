"""What an attendee reads, in Welsh (issue 18): the public pages (home, programme with its filters
and empty state, a session, speakers, organisations, changes, now and next, search, starred), the
registration form with its errors, "check your email", and the pages behind the attendee's own
links (confirm, manage, add sessions, give up, cancel, offer, ticket, joining, agenda, erase).

Each page is read with the language cookie set to ``cy``: it says ``lang="cy"``, shows the Welsh
words asserted here, and no sentence of the catalogue's entries for these pages is left in
English. A count takes each of Welsh's six plural forms, with the mutation a number causes.
Both engines; English is what the other tests read.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import lxml.html
import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from gathering import demo
from gathering.core import i18n, schema
from gathering.core.database import Database
from gathering.core.templating import make_templates
from gathering.programme.pages import TEMPLATE_FILTERS
from gathering.programme.release import load_programme
from gathering.registration.links import links_for
from tests import demo_state
from tests.conftest import TEST_SECRET
from tests.helpers import csrf_from, parse_html, texts

pytestmark = pytest.mark.anyio

NEXT = demo.NEXT_SLUG  # the demo's upcoming gathering: it takes registrations
CONFERENCE = "labour-conference-2019"  # released more than once: its changes page has changes
NATIONAL = "dont-leave-organise-2021"  # sessions of every format
# The files whose words are the attendee's (tests/i18n/test_every_page_welsh.py reads them all).
MINE = (
    "templates/public/",
    "templates/registration/",
    "templates/calendars/",
    "gathering/programme/wording.py",
    "gathering/programme/visitor_words.py",
    "gathering/registration/",
)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}|%[sd]")


def _english_pieces() -> set[str]:
    """The English of every msgid from the attendee's files that a page would show untranslated:
    the text between its placeholders and tags, two words or more."""
    catalogue = i18n.LOCALE_DIR / "cy" / "LC_MESSAGES" / "messages.po"
    with catalogue.open("rb") as file:
        messages = list(read_po(file, locale="cy"))
    pieces: set[str] = set()
    for message in messages:
        if not message.id or not any(path.startswith(MINE) for path, _ in message.locations):
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        for msgid in ids:
            for piece in PLACEHOLDER.split(re.sub(r"<[^>]+>", "\0", msgid)):
                for part in piece.split("\0"):
                    text = " ".join(part.split()).strip(" .,:;!?()–-")
                    if len(text) >= 10 and " " in text and not any(text in s for s in strings):
                        pieces.add(text)
    return pieces


PIECES = _english_pieces()


def _visible(page: lxml.html.HtmlElement) -> str:
    """Text a reader sees or hears, without scripts and without organisers' own content marked
    as another language."""
    for element in page.xpath("//script|//style|//template|//*[@lang and @lang!='cy']"):
        if element is not page:
            element.drop_tree()
    attributes = page.xpath("//@aria-label|//@title|//@alt|//input[@type!='hidden']/@value")
    return " ".join(" ".join(str(t) for t in [page.text_content(), *attributes]).split())


def _welsh(response: httpx.Response, *said: str) -> lxml.html.HtmlElement:
    """The page, in Welsh: its lang, the Welsh ``said`` on it, no English of the attendee's."""
    assert response.status_code < 400 or response.status_code in (410, 422), (
        response.request.url,
        response.text[:300],
    )
    page = parse_html(response.text)
    assert page.get("lang") == "cy", response.request.url
    text = _visible(parse_html(response.text))
    missing = [words for words in said if words not in text]
    assert not missing, (str(response.request.url), missing, text[:2000])
    english = sorted(piece for piece in PIECES if piece in text)
    assert not english, (str(response.request.url), english)
    return page


def _one_line(page: lxml.html.HtmlElement, xpath: str) -> str:
    return " ".join(" ".join(texts(page, xpath)).split())


async def _rows(db: Database, query: Any) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def test_the_public_pages_in_welsh(db: Database, client: httpx.AsyncClient) -> None:
    await demo_state.load_demo(db, secret_key=TEST_SECRET)
    client.cookies.set(i18n.COOKIE, "cy")
    home = _welsh(await client.get("/"), "Cynulliadau", "sesiwn yn y rhaglen")
    assert _one_line(home, "//h1") == "Cynulliadau"

    programme = await load_programme(db, NEXT)
    upcoming = next(s for s in programme.sessions if s.places_left and not s.is_cancelled)
    page = _welsh(
        await client.get(f"/g/{NEXT}"),
        "Nawr a nesaf",
        "Newidiadau",
        "Hidlo",
        "Unrhyw sefydliad",
        "Pwy all ddod",
        "Dangos sesiynau",
        "Defnyddio'r rhaglen hon mewn mannau eraill",
        "pob amser yn ôl Europe/London",
    )
    # Day headings from CLDR: "Dydd Sadwrn 13 Mawrth", not "Saturday 13 March".
    assert all(h.startswith("Dydd ") for h in texts(page, "//section[@class='day']/h2"))
    # Filters that leave nothing say so, and how to see everything again: an organisation and a
    # format each offered, but never together.
    sessions = (await load_programme(db, NATIONAL)).sessions
    organisation, format_ = next(
        (h.slug, f)
        for s in sessions
        for h in s.hosts
        for f in {t.format for t in sessions}
        if not any(f == t.format and h.slug in {x.slug for x in t.hosts} for t in sessions)
    )
    empty = await client.get(f"/g/{NATIONAL}?organisation={organisation}&format={format_}")
    _welsh(empty, "Yn dangos 0 o", "Does dim sesiynau'n cyfateb i'r hidlwyr hyn.")

    session = _welsh(
        await client.get(f"/g/{NEXT}/s/{upcoming.id}"),
        "Pryd",
        "Ble",
        "Fformat",
        "Hygyrchedd",
        "Ychwanegu at eich calendr",
        "Lawrlwytho .ics",
    )
    assert "ar ôl" in _one_line(session, "//dd[@class='places']")
    assert _one_line(session, "//p[@class='register']/a") == "Cofrestru ar gyfer y sesiwn hon"

    _welsh(await client.get("/speakers"), "Siaradwyr", "Pawb sy'n siarad neu'n cadeirio")
    _welsh(await client.get("/speakers/chris-williamson"), "Sesiynau", "Tanysgrifio")
    _welsh(await client.get("/organisations"), "Sefydliadau", "Grwpiau'r rhwydwaith")
    _welsh(await client.get("/organisations/lla"), "Sesiynau a gynhelir neu a gyd-gynhelir")
    changes = _welsh(
        await client.get(f"/g/{CONFERENCE}/changes"), "Newidiadau i'r rhaglen", "Cyhoeddwyd"
    )
    assert texts(changes, "//section[@class='release']/h2")[0].startswith("Fersiwn ")
    _welsh(await client.get(f"/g/{NEXT}/now"), "Nawr a nesaf", "Fel yr oedd")
    _welsh(await client.get(f"/g/{CONFERENCE}/now"), "Mae'r cynulliad ar ben")
    found = _welsh(await client.get("/search?q=union"), "Chwilio'r rhaglenni")
    assert "yn cyfateb i “union”" in _one_line(found, "//p[@id='result-count']")
    _welsh(await client.get("/search?q=zzqqxx"), "Does dim sesiwn yn cyfateb i “zzqqxx”")
    starred = _welsh(
        await client.get(f"/g/{NEXT}/starred?s={upcoming.id}"),
        "Sesiynau â seren",
        "Ychwanegwch nhw at eich calendr",
    )
    [bar] = starred.xpath("//section[@id='starred-bar']")
    assert bar.get("data-one") == "1 sesiwn â seren ar y ddyfais hon"
    assert bar.get("data-many") == "{count} sesiwn â seren ar y ddyfais hon"
    # A refusal in the reader's words.
    refused = await client.get(f"/g/{NEXT}/starred?s=abc")
    assert refused.status_code == 400 and "nid yw “abc” yn un ohonynt" in refused.text


async def _register(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    form = f"/g/{NEXT}/register"
    data = {"csrftoken": await csrf_from(client, form), **fields}
    return await client.post(form, data=data)


async def test_registering_and_the_attendees_own_pages_in_welsh(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    await demo_state.load_demo(db, secret_key=TEST_SECRET)
    client.cookies.set(i18n.COOKIE, "cy")
    form = _welsh(
        await client.get(f"/g/{NEXT}/register"),
        "Does dim angen cyfrif",
        "Eich enw",
        "Cyfeiriad e-bost",
        "Cadw mewn cysylltiad",
        "Rhowch fi mewn cysylltiad â mynychwyr eraill o'm hetholaeth",
    )
    assert _one_line(form, "//h1") == "Cofrestru"
    # The standard questions' default wording is the service's: in Welsh too.
    labels = " ".join(texts(form, "//div[@class='field']/label"))
    assert "Dietary needs" not in labels and "Access needs we should plan for" not in labels
    [ticket, *_] = form.xpath("//input[@name='ticket_type_id']/@value")
    sessions = form.xpath("//input[@name='session_ids']/@value")
    places = " ".join(texts(form, "//div[contains(@class, 'session-choice')]//span[@class='meta']"))
    assert " lle ar ôl" in places or " le ar ôl" in places or "llawn, rhestr aros" in places

    # Errors, in Welsh, with the form kept.
    wrong = await _register(client, name="", email="dim-cyfeiriad", ticket_type_id=ticket)
    assert wrong.status_code == 422
    page = _welsh(wrong, "Rhowch yr enw yr hoffech ei gael ar eich tocyn.")
    assert (
        _one_line(page, "//p[@id='name-error']")
        == "Rhowch yr enw yr hoffech ei gael ar eich tocyn."
    )
    too_long = await _register(client, name="x" * 201, email="a@example.org", ticket_type_id=ticket)
    _welsh(too_long, "Cadwch eich enw i 200 nod neu lai.")

    sent = await _register(
        client,
        name="Elin Jones",
        email="elin@example.org",
        ticket_type_id=ticket,
        session_ids=sessions[0],
    )
    page = _welsh(sent, "Edrychwch ar eich e-bost", "Rydym wedi anfon dolen at elin@example.org")
    assert "munud i fod yn siŵr o'ch lleoedd" in _visible(page)

    r = schema.registration
    [row] = await _rows(db, sa.select(r.c.id).where(r.c.email == "elin@example.org"))
    links = links_for(app, app.state.settings)
    confirm = urlsplit(links.confirm_url(row.id)).path
    page = _welsh(await client.get(confirm), "Cadarnhau eich cofrestriad", "Un cam olaf")
    token = await csrf_from(client, confirm)
    confirmed = await client.post(confirm, data={"csrftoken": token}, follow_redirects=True)
    _welsh(confirmed, "Eich cofrestriad", "Diolch, Elin Jones", "Eich data")
    manage_path = urlsplit(str(confirmed.url)).path
    assert re.fullmatch(r"/r/[^/]+", manage_path), manage_path

    _welsh(await client.get(f"{manage_path}/ticket"), "Cod y tocyn", "Rheoli eich cofrestriad")
    _welsh(await client.get(f"{manage_path}/sessions"), "Ychwanegu sesiynau")
    _welsh(await client.get(f"{manage_path}/cancel"), "Canslo eich cofrestriad cyfan")
    _welsh(await client.get(f"{manage_path}/erase"), "Dileu eich data", "Dileu fy nata")

    # A place given up, its page first; an offer of a place to take.
    p = schema.session_place
    [place] = await _rows(db, sa.select(p.c.id).where(p.c.registration_id == row.id))
    give_up = f"{manage_path}/places/{place.id}/cancel"
    given = await client.get(give_up)
    _welsh(given, "Ildio eich lle yn" if "Ildio" in given.text else "Gadael y rhestr aros")
    token = await csrf_from(client, give_up)
    gave = await client.post(give_up, data={"csrftoken": token}, follow_redirects=True)
    _welsh(gave, "Wedi newid eich meddwl? Gallwch ddadwneud hyn tan", "Dadwneud")

    async def _offer(conn: AsyncConnection) -> None:
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        await conn.execute(
            sa.update(p).where(p.c.id == place.id).values(status="offered", offered_until=until)
        )

    await db.write(_offer)
    offer = urlsplit(links.offer_url(place.id)).path
    _welsh(await client.get(offer), "Mae lle wedi dod yn rhydd i chi yn", "Derbyn y lle")

    # Cancelling everything, with its undo.
    token = await csrf_from(client, f"{manage_path}/cancel")
    cancelled = await client.post(
        f"{manage_path}/cancel", data={"csrftoken": token}, follow_redirects=True
    )
    _welsh(
        cancelled, "Mae eich cofrestriad wedi'i ganslo", "Dadwneud: dod â fy nghofrestriad yn ôl"
    )


async def test_the_demo_attendees_links_in_welsh(db: Database, client: httpx.AsyncClient) -> None:
    """Dana's booking is at a gathering that has ended: her manage page says why nothing can
    change, in the window's own Welsh words; her agenda and joining links too."""
    logins = await demo_state.load_demo(db, secret_key=TEST_SECRET)
    client.cookies.set(i18n.COOKIE, "cy")
    manage = _welsh(
        await client.get(f"/r/{logins.attendee_manage_token}"), "Eich cofrestriad", "Eich lleoedd"
    )
    assert _one_line(manage, "//*[@id='closed-for-changes']") == (
        "Mae cofrestru wedi cau: mae'r cynulliad hwn wedi dod i ben. "
        "Ni ellir ychwanegu sesiynau na newid y math o docyn mwyach."
    )
    r = schema.registration
    registration_id = int(logins.attendee_manage_token.split("-", 1)[0])
    [row] = await _rows(db, sa.select(r.c.feed_key).where(r.c.id == registration_id))
    _welsh(
        await client.get(f"/my/{row.feed_key}"), "Eich agenda", "Cadwch eich calendr yn gyfredol"
    )
    ticket = await client.get(f"/r/{logins.attendee_manage_token}/ticket")
    page = _welsh(ticket, "Cod y tocyn", "Eich sesiynau")
    for href in page.xpath("//a[@class='joining-link']/@href"):
        joining = await client.get(urlsplit(href).path)
        _welsh(joining, "Mae'r sesiwn hon wedi dod i ben")


def _places_left(n: int) -> str:
    env = make_templates(TEMPLATE_FILTERS, {}).env
    template = env.from_string('{{ ngettext("%(num)d place left", "%(num)d places left", n) }}')
    return template.render(n=n)


def test_places_left_take_every_welsh_plural_form() -> None:
    """0 lleoedd, 1 lle, 2 le (soft mutation after 'dau'), 3 lle, 6 lle, 11 lle; English as it
    always said."""
    with i18n.use_language("cy"):
        said = {n: _places_left(n) for n in (0, 1, 2, 3, 6, 11)}
    assert said == {
        0: "0 lleoedd ar ôl",
        1: "1 lle ar ôl",
        2: "2 le ar ôl",
        3: "3 lle ar ôl",
        6: "6 lle ar ôl",
        11: "11 lle ar ôl",
    }
    with i18n.use_language("en"):
        assert [_places_left(n) for n in (1, 12)] == ["1 place left", "12 places left"]


def test_moments_are_welsh_and_mutated_after_tan() -> None:
    """A registration window's moment reads naturally after 'tan' and on its own."""
    from gathering.registration import window_words, windows

    closes = dt.datetime(2027, 3, 13, 10, 0, tzinfo=dt.UTC)
    state = windows.WindowState("open", window_words.OPEN_UNTIL, None, closes, "Europe/London")
    with i18n.use_language("cy"):
        assert state.text == "Mae cofrestru ar agor tan ddydd Sadwrn 13 Mawrth 2027 am 10:00 GMT."
    with i18n.use_language("en"):
        assert state.text == "Registration is open until Saturday 13 March 2027 at 10:00 GMT."
