"""Embeds (issue 19): the embed pages show the released programme and are the only pages other
sites may frame; oEmbed answers for programme views only; the embed script is served; the
snippet builder is for signed-in organisers."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import lxml.html
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.programme.release import load_programme, release_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
CONFERENCE = "labour-conference-2019"
NATIONAL = "dont-leave-organise-2021"
OWN = "http://127.0.0.1:8000"  # GATHERING_BASE_URL in the tests
LLA = ("organiser@example.org", "demo-organiser-password")


def _frame_ancestors(response: httpx.Response) -> str:
    policy = response.headers["content-security-policy"]
    found = [d.strip() for d in policy.split(";") if d.strip().startswith("frame-ancestors")]
    assert len(found) == 1, policy
    return found[0]


def _embed_titles(doc: lxml.html.HtmlElement) -> list[str]:
    return texts(doc, "//li[contains(@class,'embed-session')]/a[@class='embed-session-title']")


async def test_gathering_embed_lists_the_released_programme_and_may_be_framed(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, NATIONAL)
    response = await client.get(f"/embed/g/{NATIONAL}")
    assert response.status_code == 200
    assert _frame_ancestors(response) == "frame-ancestors *"
    assert "x-frame-options" not in response.headers
    assert "set-cookie" not in response.headers
    # The rest of the strict policy is unchanged: no inline script, nothing from elsewhere.
    assert "script-src 'self'" in response.headers["content-security-policy"]
    doc = parse_html(response.text)
    assert _embed_titles(doc) == [s.title for s in programme.sessions]
    assert doc.xpath("//script") == []
    assert doc.xpath("//form") == []
    links = doc.xpath("//a[@class='embed-session-title']/@href")
    assert links == [f"{OWN}/g/{NATIONAL}/s/{s.id}" for s in programme.sessions]
    assert set(doc.xpath("//a/@target")) == {"_blank"}
    assert doc.xpath("/html/@class") == ["embed theme-light"]


async def test_track_embed_shows_only_that_track_dark(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, NATIONAL)
    response = await client.get(
        f"/embed/g/{NATIONAL}", params={"track": "plenary", "theme": "dark"}
    )
    assert response.status_code == 200
    doc = parse_html(response.text)
    expected = [s.title for s in programme.sessions if s.track and s.track.slug == "plenary"]
    assert expected and len(expected) < len(programme.sessions)
    assert _embed_titles(doc) == expected
    assert doc.xpath("/html/@class") == ["embed theme-dark"]
    assert texts(doc, "//h1") == [f"{programme.gathering.title}: Plenary"]


async def test_organisation_embed_lists_hosted_and_co_hosted_sessions(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    response = await client.get("/embed/o/lla")
    assert response.status_code == 200
    assert _frame_ancestors(response) == "frame-ancestors *"
    hosted = [s.title for s in programme.sessions if "lla" in {h.slug for h in s.hosts}]
    assert _embed_titles(parse_html(response.text)) == hosted


async def test_cancelled_and_unreleased_sessions_in_the_embed(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    first = programme.sessions[0]
    ps = schema.programme_session

    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(sa.update(ps).where(ps.c.id == first.id).values(status="cancelled"))
        # Retitled but not released: the embed shows the released title only.
        second = programme.sessions[1].id
        await conn.execute(sa.update(ps).where(ps.c.id == second).values(title="Not yet out"))

    await db.write(_write)
    before = parse_html((await client.get(f"/embed/g/{CONFERENCE}")).text)
    assert "Not yet out" not in _embed_titles(before)
    await release_programme(db, programme.gathering.id, released_by=None)
    doc = parse_html((await client.get(f"/embed/g/{CONFERENCE}")).text)
    cancelled = doc.xpath("//li[contains(@class,'is-cancelled')]")
    assert [texts(li, ".//del") for li in cancelled] == [[first.title]]
    assert "Not yet out" in _embed_titles(doc)


async def test_embed_refusals(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    for path, status in [
        (f"/embed/g/{NATIONAL}?track=no-such-track", 404),
        ("/embed/g/no-such-gathering", 404),
        ("/embed/o/no-such-organisation", 404),
        (f"/embed/g/{NATIONAL}?theme=purple", 422),
    ]:
        response = await client.get(path)
        assert response.status_code == status, path
        # An error page is not an embed: it keeps the site's frame-ancestors 'none'.
        assert _frame_ancestors(response) == "frame-ancestors 'none'", path
    refused = await client.get(f"/embed/g/{NATIONAL}?theme=purple")
    assert "light or dark" in refused.text


async def test_every_other_page_still_refuses_framing(
    db: Database, client: httpx.AsyncClient
) -> None:
    logins = await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    paths = [
        "/",
        f"/g/{CONFERENCE}",
        f"/g/{CONFERENCE}/s/{programme.sessions[0].id}",
        "/organisations/lla",
        "/speakers/chris-williamson",
        "/search?q=labour",
        "/signin",
        f"/r/{logins.attendee_manage_token}",
        f"/api/gatherings/{CONFERENCE}",
        "/embed/v1.js",
        f"/oembed?url={quote(OWN + '/g/' + CONFERENCE)}",
        "/organiser/embed",
    ]
    for path in paths:
        response = await client.get(path)
        assert response.status_code in (200, 303), (path, response.status_code)
        assert _frame_ancestors(response) == "frame-ancestors 'none'", path
        assert response.headers["x-frame-options"] == "DENY", path


async def test_signed_in_pages_refuse_framing(db: Database, client: httpx.AsyncClient) -> None:
    """Only the embed pages drop X-Frame-Options: an organiser's page never does."""
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    response = await client.get("/organiser/embed")
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert _frame_ancestors(response) == "frame-ancestors 'none'"


# --- oEmbed --------------------------------------------------------------------------------


async def _oembed(client: httpx.AsyncClient, url: str, **extra: str) -> httpx.Response:
    return await client.get("/oembed", params={"url": url, "format": "json", **extra})


def _iframe_src(answer: dict[str, object]) -> str:
    frame = lxml.html.fragment_fromstring(str(answer["html"]))
    assert frame.tag == "iframe"
    return str(frame.get("src"))


async def test_oembed_answers_for_programme_views(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, NATIONAL)
    response = await _oembed(client, f"{OWN}/g/{NATIONAL}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    answer = json.loads(response.text)
    assert answer["version"] == "1.0"
    assert answer["type"] == "rich"
    assert answer["title"] == programme.gathering.title
    assert answer["provider_url"] == OWN + "/"
    assert (answer["width"], answer["height"]) == (600, 600)
    assert _iframe_src(answer) == f"{OWN}/embed/g/{NATIONAL}"

    track = json.loads((await _oembed(client, f"{OWN}/g/{NATIONAL}?track=plenary")).text)
    src = urlsplit(_iframe_src(track))
    assert (src.path, parse_qs(src.query)) == (f"/embed/g/{NATIONAL}", {"track": ["plenary"]})

    organisation = json.loads((await _oembed(client, f"{OWN}/organisations/lla")).text)
    assert _iframe_src(organisation) == f"{OWN}/embed/o/lla"

    small = json.loads((await _oembed(client, f"{OWN}/g/{NATIONAL}", maxwidth="320")).text)
    assert small["width"] == 320
    assert lxml.html.fragment_fromstring(small["html"]).get("width") == "320"


async def test_oembed_is_404_for_anything_else(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, NATIONAL)
    session = programme.sessions[0].id
    for url in [
        f"{OWN}/g/{NATIONAL}/s/{session}",  # a session page is not a programme view
        f"{OWN}/signin",
        f"{OWN}/api/gatherings/{NATIONAL}",
        f"{OWN}/g/no-such-gathering",
        f"{OWN}/organisations/no-such-organisation",
        f"https://attacker.example/g/{NATIONAL}",  # another site's address
        f"http://127.0.0.1:9999/g/{NATIONAL}",
        f"{OWN}/g/{NATIONAL}?track=no-such-track",
        "javascript:alert(1)",
        "http://[::1/g/x",  # not a URL at all
        f"{OWN}/g/%00",
        f"{OWN}/g/" + "x" * 5000,
    ]:
        response = await _oembed(client, url)
        assert response.status_code == 404, url
    assert (await _oembed(client, f"{OWN}/g/{NATIONAL}", format="xml")).status_code == 501
    missing = await client.get("/oembed")
    assert missing.status_code == 422
    assert "url=" in missing.text


async def test_oembed_discovery_on_programme_views(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    for page in [f"/g/{NATIONAL}", "/organisations/lla"]:
        doc = parse_html((await client.get(page)).text)
        hrefs = doc.xpath("//head/link[@type='application/json+oembed']/@href")
        assert len(hrefs) == 1, page
        discovered = urlsplit(hrefs[0])
        assert f"{discovered.scheme}://{discovered.netloc}" == OWN
        answer = await client.get(discovered.path + "?" + discovered.query)
        assert answer.status_code == 200, page
        assert json.loads(answer.text)["type"] == "rich"


# --- the script and the snippet builder ---------------------------------------------------


async def test_embed_script_is_served_as_javascript(client: httpx.AsyncClient) -> None:
    response = await client.get("/embed/v1.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "set-cookie" not in response.headers
    assert 'credentials: "omit"' in response.text
    assert "document.cookie" not in response.text
    assert "localStorage" not in response.text


async def test_snippet_builder_needs_a_sign_in(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    response = await client.get("/organiser/embed")
    assert response.status_code == 303
    assert urlsplit(response.headers["location"]).path == "/signin"


async def test_snippet_builder_writes_both_snippets(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    home = parse_html((await client.get("/organiser")).text)
    assert home.xpath('//main//a[.="Put the programme on your group\'s website"]/@href') == [
        f"{OWN}/organiser/embed"
    ]
    first = parse_html((await client.get("/organiser/embed")).text)
    values = first.xpath("//select[@id='snippet-source']//option/@value")
    # The organiser's own organisation comes first; every released gathering and its tracks follow.
    assert values[0] == "o:lla"
    assert f"g:{NATIONAL}" in values and f"t:{NATIONAL}:plenary" in values
    assert first.xpath("//script[not(@src)]") == []

    response = await client.get(
        "/organiser/embed", params={"source": f"t:{NATIONAL}:plenary", "theme": "dark"}
    )
    doc = parse_html(response.text)
    frame = lxml.html.fragment_fromstring(texts(doc, "//textarea[@id='snippet-iframe']")[0])
    src = urlsplit(frame.get("src"))
    assert f"{src.scheme}://{src.netloc}{src.path}" == f"{OWN}/embed/g/{NATIONAL}"
    assert parse_qs(src.query) == {"track": ["plenary"], "theme": ["dark"]}
    script = lxml.html.fragments_fromstring(texts(doc, "//textarea[@id='snippet-script']")[0])
    box, loader = script
    assert (box.get("data-gathering"), box.get("data-track")) == (NATIONAL, "plenary")
    assert loader.tag == "script" and loader.get("src") == f"{OWN}/embed/v1.js"
    preview = doc.xpath("//iframe[@id='snippet-iframe-preview']/@src")
    assert preview == [f"/embed/g/{NATIONAL}?track=plenary&theme=dark"]

    refused = await client.get("/organiser/embed", params={"source": "x:nothing"})
    assert refused.status_code == 422
