"""The site's own words in Welsh (issue 18): the language switch and how a language is chosen, the
headers that say which, and the site-wide pages (sign-in, errors, the privacy notice, the network
admin's pages, the outbox, embeds and snippets, CLP introductions, fediverse blocks) read in
Welsh, on both engines.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import lxml.html
import pytest

from gathering.admin import words as admin_words
from gathering.core import i18n
from gathering.core.database import Database
from gathering.core.throttles import wait_words
from gathering.demo_data import NATIONAL
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import parse_html, sign_in, texts

pytestmark = pytest.mark.anyio

ADMIN = ("admin@example.org", "demo-admin-password")
PRIVACY = f"/g/{NATIONAL.slug}/privacy"


def _text(page: lxml.html.HtmlElement, xpath: str) -> str:
    return " ".join(" ".join(texts(page, xpath)).split())


def _lang(page: lxml.html.HtmlElement) -> str:
    return str(page.xpath("string(/html/@lang)"))


async def _welsh(client: httpx.AsyncClient, url: str, **kwargs: object) -> httpx.Response:
    """GET with the language cookie set to Welsh (the client's other cookies kept)."""
    client.cookies.set(i18n.COOKIE, "cy")
    try:
        return await client.get(url, **kwargs)  # type: ignore[arg-type]
    finally:
        client.cookies.delete(i18n.COOKIE)


async def _admin(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    assert (await sign_in(client, *ADMIN)).status_code == 303


# --- choosing the language ----------------------------------------------------------------------


async def test_the_switch_remembers_welsh_and_returns_to_the_same_page(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    english = parse_html((await client.get(PRIVACY)).text)
    assert _lang(english) == "en-GB"
    switch = english.xpath("//li[@class='language-switch']/a")
    assert len(switch) == 1 and switch[0].get("hreflang") == "cy"
    assert _text(switch[0], ".") == "Cymraeg"
    assert switch[0].xpath("string(span/@lang)") == "cy"  # the name is in its own language
    assert switch[0].get("title") == "Change language"  # what it does, in the page's language

    href = switch[0].get("href")
    assert parse_qs(urlsplit(href).query)["next"] == [PRIVACY]
    answer = await client.get(href)
    assert answer.status_code == 303
    assert answer.headers["location"] == PRIVACY
    assert answer.cookies.get(i18n.COOKIE) == "cy"
    assert "httponly" in answer.headers["set-cookie"].lower()

    welsh = parse_html((await client.get(answer.headers["location"])).text)  # the cookie now
    assert _lang(welsh) == "cy"
    assert _text(welsh, "//h1") == "Hysbysiad preifatrwydd"
    back = welsh.xpath("//li[@class='language-switch']/a")
    assert _text(back[0], ".") == "English" and back[0].xpath("string(span/@lang)") == "en"
    assert back[0].get("title") == "Newid iaith"

    # And back to English the same way, with the page's own query kept.
    href = back[0].get("href")
    answer = await client.get(href)
    assert answer.cookies.get(i18n.COOKIE) == "en"
    assert _lang(parse_html((await client.get(PRIVACY)).text)) == "en-GB"


async def test_a_query_a_browser_and_an_unknown_language(
    db: Database, client: httpx.AsyncClient
) -> None:
    asked = await client.get("/signin?lang=cy")
    page = parse_html(asked.text)
    assert _lang(page) == "cy" and _text(page, "//h1") == "Mewngofnodi"
    assert asked.headers["content-language"] == "cy"
    vary = asked.headers["vary"].lower()
    assert "accept-language" in vary and "cookie" in vary
    assert i18n.COOKIE not in asked.cookies  # ?lang= shows one page; it does not remember

    browser = await client.get("/signin", headers={"accept-language": "cy-GB,cy;q=0.9,en;q=0.5"})
    assert _text(parse_html(browser.text), "//h1") == "Mewngofnodi"
    assert browser.headers["content-language"] == "cy"
    preferred = await client.get("/signin", headers={"accept-language": "en;q=0.9,cy;q=0.4"})
    assert _text(parse_html(preferred.text), "//h1") == "Sign in"

    for unknown in (
        await client.get("/signin?lang=xx"),
        await client.get("/signin", headers={"accept-language": "fr-FR, de"}),
        await client.get("/signin", headers={"cookie": f"{i18n.COOKIE}=klingon"}),
    ):
        page = parse_html(unknown.text)
        assert _lang(page) == "en-GB" and _text(page, "//h1") == "Sign in"
        assert unknown.headers["content-language"] == "en"

    refused = await client.get("/language/xx", params={"next": "/signin"})
    assert refused.status_code == 404
    assert "No such language here" in refused.text and i18n.COOKIE not in refused.cookies


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/path", "/\\evil.example", "javascript:alert(1)", ""],
)
async def test_a_next_off_the_site_goes_home(client: httpx.AsyncClient, next_url: str) -> None:
    answer = await client.get("/language/cy", params={"next": next_url})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    assert answer.cookies.get(i18n.COOKIE) == "cy"


async def test_next_drops_lang_and_keeps_the_rest(client: httpx.AsyncClient) -> None:
    answer = await client.get("/language/cy", params={"next": "/search?q=housing&lang=en"})
    assert answer.headers["location"] == "/search?q=housing"


async def test_hreflang_alternates_name_this_page_in_each_language(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    page = parse_html((await _welsh(client, PRIVACY, params={"x": "1"})).text)
    links = {
        link.get("hreflang"): link.get("href")
        for link in page.xpath("//head/link[@rel='alternate'][@hreflang]")
    }
    assert set(links) == {"en", "cy"}
    for code, href in links.items():
        parts = urlsplit(href)
        assert parts.path == PRIVACY
        assert parse_qs(parts.query) == {"x": ["1"], "lang": [code]}
    welsh = await client.get(links["cy"])
    assert _lang(parse_html(welsh.text)) == "cy"


# --- pages in Welsh ---------------------------------------------------------------------------


async def test_sign_in_reset_and_error_pages_in_welsh(
    db: Database, client: httpx.AsyncClient
) -> None:
    signin = parse_html((await _welsh(client, "/signin")).text)
    assert _text(signin, "//title") == "Mewngofnodi · Gathering"
    assert _text(signin, "//a[@class='skip-link']") == "Neidio i'r cynnwys"
    assert signin.xpath("string(//header//nav/@aria-label)") == "Prif ddewislen"
    assert _text(signin, "//header//nav//a") == "Cynulliadau Chwilio Trefnwyr English"
    assert "Forgotten" not in signin.text_content()
    assert _text(signin, "//label[@for='email']") == "Cyfeiriad e-bost"
    assert "dim ond yr hyn sydd ei angen ar drefnwyr" in _text(signin, "//footer").lower()

    client.cookies.set(i18n.COOKIE, "cy")
    wrong = await client.post(
        "/signin",
        data={
            "csrftoken": signin.xpath("string(//input[@name='csrftoken']/@value)"),
            "email": "",
            "password": "",
            "next": "/organiser",
        },
    )
    client.cookies.delete(i18n.COOKIE)
    page = parse_html(wrong.text)
    assert _text(page, "//div[@class='error-summary']/h2") == "Mae problem wedi codi"
    assert "Rhowch eich cyfeiriad e-bost a'ch cyfrinair." in _text(page, "//main")

    forgot = parse_html((await _welsh(client, "/password/forgot")).text)
    assert _text(forgot, "//h1") == "Ailosod eich cyfrinair"
    assert _text(forgot, "//button") == "Anfon dolen ailosod ataf"

    missing = await _welsh(client, "/no/such/page")
    assert missing.status_code == 404
    page = parse_html(missing.text)
    assert _text(page, "//h1") == "Heb ei ganfod"
    assert _text(page, "//p[@class='lede']").startswith("Does dim byd yn y cyfeiriad hwn.")
    assert _text(page, "//main//a") == "Yn ôl i'r rhestr o gynulliadau"


async def test_a_stale_form_is_refused_in_welsh(client: httpx.AsyncClient) -> None:
    client.cookies.set(i18n.COOKIE, "cy")
    refused = await client.post(
        "/signin",
        data={"email": "a@example.org", "password": "x"},
        headers={"origin": "http://127.0.0.1:8000"},
    )
    assert refused.status_code == 403
    page = parse_html(refused.text)
    assert _lang(page) == "cy"
    assert _text(page, "//h1") == "Mae'r ffurflen hon wedi dod i ben"
    assert _text(page, "//title") == "Ffurflen wedi dod i ben · Gathering"
    assert "Ni chadwyd dim." in _text(page, "//p")


async def test_the_privacy_notice_in_welsh(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    page = parse_html((await _welsh(client, PRIVACY)).text)
    main = _text(page, "//main")
    assert _text(page, "//h2") == (
        "Pwy sy'n gyfrifol am eich data Beth rydym yn ei ofyn, a pham Cadw mewn cysylltiad: dim "
        "ond os ticiwch flwch Pwy sy'n gweld beth Am faint rydym yn ei gadw Gweld, lawrlwytho a "
        "dileu eich data Cwynion"
    )
    assert _text(page, "//dl[@class='asked']/dt[1]") == "Eich enw"
    assert _text(page, "//dl[@class='asked']/dt[2]") == "Eich cyfeiriad e-bost"
    # The standard questions' default wording is the service's own, so it is in Welsh too.
    asked = texts(page, "//dl[@class='asked']/dt")
    assert "Anghenion mynediad y dylem gynllunio ar eu cyfer (dewisol)" in asked
    assert "Cangen undeb neu grŵp, os oes un (dewisol)" in asked
    retention = _text(page, "//p[@id='retention']")
    assert retention.startswith("Tan ") and "ar ôl i'r cynulliad ddod i ben" in retention
    assert "Swyddfa'r Comisiynydd Gwybodaeth (ICO)" in main
    for english in ("Who sees what", "How long we keep it", "special category data", "(optional)"):
        assert english not in main


async def test_admin_pages_in_welsh(db: Database, client: httpx.AsyncClient) -> None:
    await _admin(db, client)
    client.cookies.set(i18n.COOKIE, "cy")
    home = parse_html((await client.get("/admin")).text)
    assert _text(home, "//h1") == "Gweinyddu'r rhwydwaith"
    assert "Cofnod archwilio: mewngofnodi, newid rolau, allforio, dileu" in _text(home, "//main")
    current = texts(home, "//header//nav//a[@aria-current='page']")
    assert current == ["Trefnwyr", "Gweinyddu"]

    listing = parse_html((await client.get("/admin/gatherings")).text)
    assert _text(listing, "//h1") == "Cynulliadau"
    assert "Wyneb yn wyneb" in _text(listing, "//main") or "Hybrid" in _text(listing, "//main")

    new = parse_html((await client.get("/admin/gatherings/new")).text)
    assert _text(new, "//h1") == "Cynulliad newydd"
    assert _text(new, "//label[@for='title']") == "Teitl"
    assert _text(new, "//label[@for='description']") == "Disgrifiad (dewisol)"
    assert texts(new, "//select[@id='mode']/option") == ["Wyneb yn wyneb", "Ar-lein", "Hybrid"]
    assert _text(new, "//form//button") == "Creu'r cynulliad"

    token = new.xpath("string(//input[@name='csrftoken']/@value)")
    refused = await client.post(
        "/admin/gatherings/new",
        data={
            "csrftoken": token,
            "title": "",
            "starts_on": "someday",
            "ends_on": "2027-01-01",
            "timezone": "Europe/London",
            "mode": "in_person",
            "retention_days": "30",
        },
    )
    page = parse_html(refused.text)
    assert _text(page, "//div[@class='error-summary']//h2") == "Mae problem wedi codi"
    assert _text(page, "//p[@id='title-error']") == "Llenwch y maes ‘teitl’."
    assert _text(page, "//p[@id='starts_on-error']") == (
        "Rhowch ddyddiad ar gyfer ‘diwrnod cyntaf’, er enghraifft 2026-09-27."
    )

    audit = parse_html((await client.get("/admin/audit")).text)
    assert _text(audit, "//h1") == "Cofnod archwilio"
    assert "Mewngofnodi" in texts(audit, "//span[@class='audit-what']")
    count = _text(audit, "//p[@id='audit-count']")
    assert count.split()[1] in {"digwyddiad", "ddigwyddiad", "digwyddiadau"}

    outbox = parse_html((await client.get("/admin/outbox")).text)
    assert _text(outbox, "//h1") == "Blwch anfon"
    assert texts(outbox, "//nav[@aria-label='Hidlo yn ôl statws']//a") == [
        "Pob un",
        "Yn y ciw",
        "Wedi'u hanfon",
        "Wedi methu",
    ]
    failed = parse_html((await client.get("/admin/outbox?status=failed")).text)
    assert _text(failed, "//main/p[last()]") == "Does dim negeseuon wedi methu."

    blocks = parse_html((await client.get("/admin/fediverse")).text)
    assert _text(blocks, "//h1") == "Gweinyddion y ffedysawd"
    assert _text(blocks, "//main//p[last()]") == "Does dim gweinydd wedi'i rwystro."


async def test_a_blocked_deletion_counts_in_welsh(db: Database, client: httpx.AsyncClient) -> None:
    await _admin(db, client)
    gatherings = parse_html((await client.get("/admin/gatherings")).text)
    edit = gatherings.xpath("//ul[@class='admin-list']/li/a/@href")[0]
    page = parse_html((await _welsh(client, f"{edit}/delete")).text)
    assert _text(page, "//div[@role='alert']/h2") == "Ni ellir dileu'r cynulliad"
    listed = _text(page, "//div[@role='alert']/p")
    assert listed.startswith("Mae'r canlynol yn dal yn gysylltiedig:")
    assert "sesiwn" in listed and listed.endswith("Symudwch neu dilëwch y rheini yn gyntaf.")


async def test_embeds_and_snippets_in_welsh(db: Database, client: httpx.AsyncClient) -> None:
    await _admin(db, client)
    embed = parse_html((await client.get(f"/embed/g/{NATIONAL.slug}?lang=cy")).text)
    assert _lang(embed) == "cy"
    assert _text(embed, "//p[@class='embed-more']") == (
        "Y rhaglen lawn, cofrestru a ffrydiau calendr"
    )
    hosts = texts(embed, "//p[@class='embed-hosts']")
    assert hosts and all(h.startswith("Yn cael ei chynnal gan ") for h in hosts)

    builder = parse_html((await _welsh(client, "/organiser/embed")).text)
    assert _text(builder, "//h1") == "Rhowch y rhaglen ar eich gwefan"
    assert _text(builder, "//label[@for='snippet-source']") == "Beth i'w ddangos"
    assert builder.xpath("string(//optgroup[1]/@label)") == "Sesiynau sefydliad"


async def test_the_embed_script_carries_each_language_s_words(client: httpx.AsyncClient) -> None:
    script = (await client.get("/embed/v1.js")).text
    start = script.index("var LANGUAGES = ") + len("var LANGUAGES = ")
    languages = json.JSONDecoder().raw_decode(script[start:])[0]
    assert set(languages) == set(i18n.LANGUAGES)
    welsh, english = languages["cy"], languages["en"]
    assert welsh["days"][6] == "Dydd Sadwrn" and welsh["months"][8] == "Medi"
    assert english["days"][6] == "Saturday" and english["months"][8] == "September"
    assert welsh["hostedBy"] == "Yn cael ei chynnal gan {names}"
    assert welsh["error"] == "Nid oedd modd llwytho'r rhaglen ar hyn o bryd."
    assert english["empty"] == "No sessions are published here at the moment."


async def test_introductions_in_welsh(db: Database, client: httpx.AsyncClient) -> None:
    logins = await load_demo(db, secret_key=TEST_SECRET)
    mine = parse_html(
        (await _welsh(client, f"/r/{logins.attendee_manage_token}/introductions")).text
    )
    assert _text(mine, "//h1") == "Cyflwyniadau i eraill o'ch CLP"
    state = _text(mine, "//p[@id='introduction-state']")
    assert state.startswith(("Fe wnaethoch ofyn", "Ni fyddwch yn cael", "Anfonwyd"))

    assert (await sign_in(client, *ADMIN)).status_code == 303
    organiser = parse_html(
        (await _welsh(client, f"/organiser/g/{NATIONAL.slug}/introductions")).text
    )
    assert _text(organiser, "//h1") == "Cyflwyniadau CLP"
    assert texts(organiser, "//dl[@id='introduction-counts']//dt")[-2:] == [
        "CLPs gyda dau neu fwy o bobl",
        "CLPs gydag un person",
    ]


# --- plurals ------------------------------------------------------------------------------------


def test_counted_words_take_welsh_plural_forms() -> None:
    with i18n.use_language("cy"):
        assert [admin_words.counted("registrations", n) for n in (0, 1, 2, 3, 6, 11)] == [
            "0 cofrestriadau",
            "1 cofrestriad",
            "2 gofrestriad",
            "3 chofrestriad",
            "6 chofrestriad",
            "11 cofrestriad",
        ]
        assert [wait_words(n * 60) for n in (1, 2, 3, 6, 11)] == [
            "1 munud",
            "2 funud",
            "3 munud",
            "6 munud",
            "11 munud",
        ]
    with i18n.use_language("en"):
        assert admin_words.counted("steward passes", 1) == "1 steward pass"
        assert admin_words.counted("steward passes", 2) == "2 steward passes"
        assert wait_words(40) == "40 seconds"
