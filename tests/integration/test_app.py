"""The app through HTTP: home page, health, security headers, error pages."""

from __future__ import annotations

import re

import httpx
import pytest

from gathering.app import create_app
from gathering.core.database import Database
from gathering.core.settings import Settings
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import REPO, parse_html, texts

pytestmark = pytest.mark.anyio


async def test_home_lists_the_demo_gatherings(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    response = await client.get("/")
    assert response.status_code == 200
    doc = parse_html(response.text)
    assert texts(doc, "//main//article/h2") == [
        "Don't Leave, Organise: the next national gathering",  # dated after today (issue 16)
        "Don't Leave, Organise: national gathering",
        "Labour Left at Labour Party conference 2019",
    ]
    metas = texts(doc, "//main//article/p[@class='meta'][1]")
    assert metas[0].endswith("Brighton and online · Hybrid")
    assert metas[1].startswith("18 September 2021 · Brighton and online · Hybrid")
    assert metas[2].startswith("21–25 September 2019 · Brighton · In person")
    assert texts(doc, "//main//article/p[@class='meta'][2]") == [
        "5 sessions in the programme",
        "5 sessions in the programme",
        "4 sessions in the programme",
    ]
    assert doc.xpath("//html/@lang") == ["en-GB"]
    assert doc.xpath("//a[@class='skip-link']/@href") == ["#main"]
    assert len(doc.xpath("//main[@id='main']")) == 1


async def test_home_with_no_gatherings_says_so(client: httpx.AsyncClient) -> None:
    doc = parse_html((await client.get("/")).text)
    assert "No gatherings are listed yet." in texts(doc, "//main/p")


async def test_healthz_reports_the_schema_revision(client: httpx.AsyncClient) -> None:
    from gathering.core.migrate import head_revision

    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "schema": head_revision()}
    assert response.headers["cache-control"] == "no-store"


async def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nothing",
        secret_key=TEST_SECRET,
        migrate_on_start=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_every_page_sends_a_strict_csp_and_security_headers(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/", "/healthz", "/no-such-page"):
        headers = (await client.get(path)).headers
        csp = dict(
            part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";")
        )
        assert csp["script-src"] == "'self'"
        assert csp["style-src"] == "'self'"
        assert csp["object-src"] == "'none'"
        assert csp["frame-ancestors"] == "'none'"
        assert "unsafe" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"


async def test_unknown_page_is_a_friendly_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    doc = parse_html(response.text)
    assert texts(doc, "//main/h1") == ["Not Found"]
    assert "mistyped" in texts(doc, "//main/p[@class='lede']")[0]


async def test_static_assets_are_linked_with_a_content_hash(client: httpx.AsyncClient) -> None:
    doc = parse_html((await client.get("/")).text)
    href = doc.xpath("//link[@rel='stylesheet']/@href")[0]
    assert re.fullmatch(r"/static/css/main\.css\?v=[0-9a-f]{12}", href)
    css = await client.get(href)
    assert css.status_code == 200
    assert "--accent" in css.text


def test_templates_have_no_inline_script_or_style() -> None:
    for template in (REPO / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "<style" not in text, template
        assert not re.search(r"\sstyle=", text), template
        assert not re.search(r"\son[a-z]+=", text), template
        for tag in re.findall(r"<script[^>]*>", text):
            # A JSON-LD data block is never run (HTML: a script of an unknown type is data).
            assert "src=" in tag or tag == '<script type="application/ld+json">', (template, tag)
