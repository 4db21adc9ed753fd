"""A forged Host header is never reflected (issue 14 #10): page links, the publicly cached Atom
feed and the calendar feeds build every absolute URL from GATHERING_BASE_URL."""

from __future__ import annotations

import httpx
import icalendar
import lxml.etree
import pytest

from gathering.app import create_app
from gathering.core.database import Database
from gathering.core.settings import Settings
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import parse_html

pytestmark = pytest.mark.anyio
SLUG = "labour-conference-2019"
OWN = "http://127.0.0.1:8000"  # GATHERING_BASE_URL in the tests
FORGED = {"host": "attacker.example"}
ATOM = "{http://www.w3.org/2005/Atom}"


def _refuses_the_forged_host(body: str) -> None:
    assert "attacker.example" not in body


async def test_pages_link_to_the_base_url_whatever_the_host(
    db: Database, client: httpx.AsyncClient
) -> None:
    logins = await load_demo(db, secret_key=TEST_SECRET)
    pages = [
        "/",
        f"/g/{SLUG}",
        f"/g/{SLUG}/changes",
        "/signin",
        f"/r/{logins.attendee_manage_token}",
    ]
    for path in pages:
        answer = await client.get(path, headers=FORGED)
        assert answer.status_code == 200, path
        _refuses_the_forged_host(answer.text)
        doc = parse_html(answer.text)
        own = [h for h in doc.xpath("//a/@href | //form/@action") if h.startswith(OWN + "/")]
        assert own, path  # the links are absolute, on the base URL
        assert doc.xpath("//a[@aria-current='page' or text()='Gatherings']/@href")[0] == OWN + "/"


async def test_the_atom_feed_names_only_the_base_url(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    answer = await client.get(f"/g/{SLUG}/changes.atom", headers=FORGED)
    assert answer.status_code == 200
    _refuses_the_forged_host(answer.text)
    feed = lxml.etree.fromstring(answer.content)
    links = feed.xpath("//*[local-name()='link']/@href")
    assert links and all(h.startswith(OWN + "/") for h in links), links
    assert feed.findtext(f"{ATOM}id", "").startswith(("urn:", "tag:", OWN))


async def test_calendar_feeds_name_only_the_base_url(
    db: Database, client: httpx.AsyncClient
) -> None:
    logins = await load_demo(db, secret_key=TEST_SECRET)
    manage = parse_html((await client.get(f"/r/{logins.attendee_manage_token}")).text)
    [agenda] = [h for h in manage.xpath("//a/@href") if "/my/" in h]
    agenda_path = agenda.removeprefix(OWN)
    for path in (f"/g/{SLUG}/calendar.ics", f"{agenda_path}/agenda.ics", agenda_path):
        answer = await client.get(path, headers=FORGED)
        assert answer.status_code == 200, path
        _refuses_the_forged_host(answer.text)
        if path.endswith(".ics"):
            calendar = icalendar.Calendar.from_ical(answer.content)
            urls = [str(e.get("url")) for e in calendar.walk("VEVENT") if e.get("url")]
            assert urls and all(u.startswith(OWN + "/") for u in urls), path


async def test_a_redirect_goes_to_the_base_url(db: Database, client: httpx.AsyncClient) -> None:
    """A page's own redirect after a POST keeps to the base URL too."""
    logins = await load_demo(db, secret_key=TEST_SECRET)
    manage = parse_html((await client.get(f"/r/{logins.attendee_manage_token}")).text)
    [agenda] = [h for h in manage.xpath("//a/@href") if "/my/" in h]
    page = parse_html((await client.get(agenda)).text)
    [form] = page.xpath("//form[contains(@action, 'new-address')]")
    data = dict(form.form_values())
    answer = await client.post(form.get("action"), data=data, headers=FORGED)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(OWN + "/my/")


async def test_production_answers_only_for_its_own_name(db_url: str) -> None:
    """Starlette's trailing-slash redirect builds its Location from the Host header: production
    refuses other names outright, so no answer can point at another site."""
    config = Settings(
        env="production",
        database_url=db_url,
        secret_key=TEST_SECRET,
        base_url="https://gathering.example.org",
    )
    app = create_app(config)
    async with app.router.lifespan_context(app):
        await load_demo(app.state.db, secret_key=TEST_SECRET)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://x") as client:
            forged = await client.get(f"/g/{SLUG}/", headers={"host": "attacker.example"})
            assert forged.status_code == 400
            assert "attacker.example" not in forged.text + forged.headers.get("location", "")
            own = await client.get(f"/g/{SLUG}/", headers={"host": "gathering.example.org"})
            assert own.status_code in (307, 308)
            assert own.headers["location"].startswith("https://gathering.example.org/")
            # The container's health check asks the machine itself.
            health = await client.get("/healthz", headers={"host": "127.0.0.1:8000"})
            assert health.status_code == 200
