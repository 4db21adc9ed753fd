"""People's languages (issue 18), on both engines: the columns of migration 0018; a registrant's
language kept when they register (form and JSON API) and every mail to them queued and rendered
in it, down to the "session changed" mail after an organiser's release, delivered to a real SMTP
server; a gathering's default language, set by its organisers, for readers who chose none and
registrants whose language is unknown; titles and descriptions in Welsh on pages, the
registration form, calendar feeds and the schedule export.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import socket
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import icalendar
import jsonschema
import lxml.html
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import i18n, migrate, schema
from gathering.core.database import Database
from gathering.core.settings import Settings
from gathering.demo import NEXT_SLUG
from gathering.demo_data import NATIONAL
from gathering.mail import messages as mail
from gathering.mail import sender as mailer
from gathering.programme.release import load_programme
from gathering.registration import rules as reg
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
SLUG = NEXT_SLUG  # the demo's upcoming gathering, open for registration
DLO = ("dlo@example.org", "demo-organiser-password")  # its host organisation's organiser
BASE = "http://127.0.0.1:8000"
LINKS = reg.Links(
    secret_key=TEST_SECRET,
    confirm=BASE + "/r/confirm/{token}",
    manage=BASE + "/r/{token}",
    offer=BASE + "/r/offer/{token}",
    agenda=BASE + "/my/{token}",
    ticket=BASE + "/r/{token}/ticket",
    session_page=BASE + "/g/{slug}/s/{session_id}",
    base_url=BASE,
    join=BASE + "/j/{token}",
    add_sessions=BASE + "/r/{token}/sessions",
)
PLENARY = "Welcome: reclaiming our party"
WELSH_TITLE = "Croeso: adennill ein plaid"
WELSH_DESCRIPTION = "Agoriad y gynhadledd, gyda'r trefnwyr."
CHANGED = "%(title)s has changed:"
SCHEMA2 = (
    Path(__file__).resolve().parent.parent / "schemas/voc-schedule/json/schema2.json"
)  # the "session changed" mail's sentence (templates/email)


# --- helpers ------------------------------------------------------------------------------------


async def _rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _execute(db: Database, statement: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_write)


async def _session_id(db: Database, title: str) -> int:
    programme = await load_programme(db, SLUG)
    return next(s.id for s in programme.sessions if s.english_title == title)


async def _ticket_type(db: Database) -> str:
    t, g = schema.ticket_type, schema.gathering
    query = sa.select(t.c.id).join(g, g.c.id == t.c.gathering_id).where(g.c.slug == SLUG)
    return str((await _rows(db, query.order_by(t.c.position, t.c.id)))[0].id)


async def _registration(db: Database, address: str) -> Any:
    r = schema.registration
    [row] = await _rows(db, sa.select(r).where(r.c.email == address))
    return row


async def _outbox(db: Database, kind: str, to: str) -> list[Any]:
    o = schema.outbox
    query = sa.select(o).where(o.c.kind == kind, o.c.to_address == to).order_by(o.c.id)
    return await _rows(db, query)


def _token(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[1]


async def _confirm(db: Database, address: str) -> None:
    [message] = await _outbox(db, "confirm_email", address)
    await reg.confirm_registration(
        db, _token(message.context["confirm_url"]), links=LINKS, confirm_hours=24
    )


async def _register_by_form(
    client: httpx.AsyncClient, db: Database, address: str, session_id: int, *, cookie: str = ""
) -> httpx.Response:
    """Register through the public form, with the language cookie set to ``cookie`` if given."""
    client.cookies.clear()
    if cookie:
        client.cookies.set(i18n.COOKIE, cookie)
    token = await csrf_from(client, f"/g/{SLUG}/register")
    data = {
        "csrftoken": token,
        "name": "Siân Example",
        "email": address,
        "ticket_type_id": await _ticket_type(db),
        "answer_constituency": "Cardiff West",
        "session_ids": [str(session_id)],
    }
    response = await client.post(f"/g/{SLUG}/register", data=data)
    client.cookies.clear()
    return response


async def _register_by_api(
    client: httpx.AsyncClient, db: Database, address: str, session_id: int, query: str = ""
) -> httpx.Response:
    """Register through the JSON API as another site's form would (no cookies)."""
    client.cookies.clear()
    body = {
        "name": "Rhys Example",
        "email": address,
        "ticket_type_id": int(await _ticket_type(db)),
        "session_ids": [session_id],
        "answers": {"constituency": "Swansea East"},
    }
    return await client.post(
        f"/api/gatherings/{SLUG}/registrations{query}",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", "origin": "https://group.example.net"},
    )


async def _organiser(client: httpx.AsyncClient) -> None:
    client.cookies.clear()
    assert (await sign_in(client, *DLO)).status_code == 303


async def _release(client: httpx.AsyncClient, note: str = "Times moved") -> None:
    """An organiser releases the programme through the release page (in English)."""
    path = f"/organiser/g/{SLUG}/release"
    token = await csrf_from(client, path)
    response = await client.post(path, data={"csrftoken": token, "note": note})
    assert response.status_code == 303, response.text


async def _move(db: Database, session_id: int, minutes: int = 30) -> None:
    ps = schema.programme_session
    shift = dt.timedelta(minutes=minutes)
    [row] = await _rows(db, sa.select(ps.c.starts_at, ps.c.ends_at).where(ps.c.id == session_id))
    await _execute(
        db,
        sa.update(ps)
        .where(ps.c.id == session_id)
        .values(starts_at=row.starts_at + shift, ends_at=row.ends_at + shift),
    )


def _form_values(page: lxml.html.HtmlElement, xpath: str) -> dict[str, Any]:
    """What a browser would post from the form at ``xpath``, as it stands."""
    [form] = page.xpath(xpath)
    values: dict[str, Any] = {}
    for element in form.xpath(".//input[@name] | .//select[@name] | .//textarea[@name]"):
        name = element.get("name")
        if element.tag == "input" and element.get("type") in ("checkbox", "radio"):
            if element.get("checked") is not None:
                values.setdefault(name, []).append(element.get("value", "on"))
            continue
        if element.tag == "select":
            chosen = element.xpath(".//option[@selected]/@value") or element.xpath(
                ".//option/@value"
            )
            values[name] = chosen[0] if chosen else ""
        elif element.tag == "textarea":
            values[name] = element.text or ""
        else:
            values[name] = element.get("value", "")
    return values


def _welsh_catalogue_has(msgid: str) -> bool:
    return i18n.translations("cy").gettext(msgid) != msgid


def _lang(page: lxml.html.HtmlElement) -> str:
    return str(page.xpath("string(/html/@lang)"))


# --- a real SMTP server -------------------------------------------------------------------------


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(envelope.content)
        return "250 OK"

    def parsed(self) -> list[EmailMessage]:
        with self.lock:
            return [
                email.message_from_bytes(content, policy=email.policy.default)  # type: ignore[misc]
                for content in self.messages
            ]


@pytest.fixture
def smtp() -> Any:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    recorder = _Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, port
    controller.stop()


async def _deliver(db: Database, port: int) -> None:
    settings = Settings(
        database_url=db.url,
        secret_key=TEST_SECRET,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        mail_from="Gathering <mail@127.0.0.1>",
    )
    await mailer.MailSender(db, settings).send_until_idle()


def _body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


# --- 1. migration 0018 --------------------------------------------------------------------------


async def test_migration_0018_adds_the_language_columns_and_takes_them_away(
    empty_db_url: str,
) -> None:
    from alembic import command

    db = Database(empty_db_url)

    async def _columns() -> dict[str, set[str]]:
        async def _read(conn: AsyncConnection) -> dict[str, set[str]]:
            def _inspect(sync: sa.Connection) -> dict[str, set[str]]:
                inspector = sa.inspect(sync)
                return {
                    table: {c["name"] for c in inspector.get_columns(table)}
                    for table in ("registration", "outbox", "gathering", "programme_session")
                }

            return await conn.run_sync(_inspect)

        return await db.read(_read)

    def _down_to_0017(connection: sa.Connection) -> None:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0017")

    added = {
        "registration": {"language"},
        "outbox": {"language"},
        "gathering": {"default_language", "translations"},
        "programme_session": {"translations"},
    }
    try:
        await migrate.upgrade(db)
        columns = await _columns()
        assert all(added[t] <= columns[t] for t in added)
        await migrate.check(db)  # the schema and the migrations agree
        async with db.engine.connect() as conn:
            await conn.run_sync(_down_to_0017)
            await conn.commit()
        columns = await _columns()
        assert all(not (added[t] & columns[t]) for t in added)
        await migrate.upgrade(db)
        columns = await _columns()
        assert all(added[t] <= columns[t] for t in added)
    finally:
        await db.dispose()


async def test_a_gathering_made_before_0018_reads_as_english_with_no_translations(
    db: Database,
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    g = schema.gathering
    [row] = await _rows(
        db, sa.select(g.c.default_language, g.c.translations).where(g.c.slug == SLUG)
    )
    assert (row.default_language, row.translations) == ("en", {})


# --- 2. a registrant's language and their mail --------------------------------------------------


async def test_registering_in_welsh_keeps_the_language_by_form_and_by_api(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    plenary = await _session_id(db, PLENARY)
    welsh = await _register_by_form(client, db, "sian@example.org", plenary, cookie="cy")
    assert welsh.status_code == 200
    assert _lang(parse_html(welsh.text)) == "cy"
    english = await _register_by_form(client, db, "sam@example.org", plenary)
    assert english.status_code == 200
    by_api = await _register_by_api(client, db, "rhys@example.org", plenary, "?lang=cy")
    assert by_api.status_code == 202, by_api.text

    assert (await _registration(db, "sian@example.org")).language == "cy"
    assert (await _registration(db, "sam@example.org")).language == "en"
    assert (await _registration(db, "rhys@example.org")).language == "cy"
    # The confirmation mail is queued in each one's language.
    for address, language in (
        ("sian@example.org", "cy"),
        ("sam@example.org", "en"),
        ("rhys@example.org", "cy"),
    ):
        [message] = await _outbox(db, "confirm_email", address)
        assert message.language == language


async def test_the_session_changed_mail_after_a_release_is_in_the_registrants_language(
    db: Database, client: httpx.AsyncClient, smtp: Any
) -> None:
    recorder, port = smtp
    await load_demo(db, secret_key=TEST_SECRET)
    plenary = await _session_id(db, PLENARY)
    await _register_by_form(client, db, "sian@example.org", plenary, cookie="cy")
    await _register_by_form(client, db, "sam@example.org", plenary)
    for address in ("sian@example.org", "sam@example.org"):
        await _confirm(db, address)
    await _deliver(db, port)  # the confirmations
    recorder.messages.clear()

    await _move(db, plenary)
    await _organiser(client)  # an English-speaking organiser releases
    await _release(client)

    [welsh] = await _outbox(db, "session_changed", "sian@example.org")
    [english] = await _outbox(db, "session_changed", "sam@example.org")
    assert (welsh.language, english.language) == ("cy", "en")

    await _deliver(db, port)
    ours = ("sian@example.org", "sam@example.org")
    received = {str(m["To"]): m for m in recorder.parsed() if str(m["To"]) in ours}
    assert set(received) == set(ours)
    english_body = _body(received["sam@example.org"])
    assert f"{PLENARY} has changed:" in english_body
    welsh_body = _body(received["sian@example.org"])
    # Rendered in Welsh: the catalogue's sentence (doormail's mail words), not the English one.
    assert _welsh_catalogue_has(CHANGED)
    assert f"Mae {PLENARY} wedi newid:" in welsh_body
    assert f"{PLENARY} has changed:" not in welsh_body
    # Rendering in the message's language, directly: the same row renders the Welsh sentence.
    message = mail.Outgoing(
        id=welsh.id,
        kind=welsh.kind,
        to_address=welsh.to_address,
        subject="",
        body_text="",
        body_html="",
        attachments=welsh.attachments,
        context=welsh.context,
        created_at=welsh.created_at,
        attempts=0,
        language=welsh.language,
    )
    with i18n.use_language("en"):
        text = mailer.render(message).text
        with i18n.use_language("cy"):
            expected = i18n.gettext(CHANGED) % {"title": PLENARY}
    assert expected in text
    assert i18n.current_language() == "en"


async def test_mail_to_no_registrant_takes_the_requests_language(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    context = {"name": "Ada", "reset_url": BASE + "/reset/x", "expires_at_text": "soon"}

    async def _write(conn: AsyncConnection) -> list[int]:
        with i18n.use_language("cy"):
            welsh = await mail.queue(
                conn,
                kind="password_reset",
                to_address="ada@example.org",
                context=context,
                now=dt.datetime.now(dt.UTC),
            )
        english = await mail.queue(
            conn,
            kind="password_reset",
            to_address="bob@example.org",
            context=context,
            now=dt.datetime.now(dt.UTC),
        )
        return [welsh, english]

    ids = await db.write(_write)
    o = schema.outbox
    rows = await _rows(db, sa.select(o.c.id, o.c.language).where(o.c.id.in_(ids)))
    assert {r.id: r.language for r in rows} == {ids[0]: "cy", ids[1]: "en"}


# --- 3. a gathering's default language ----------------------------------------------------------


async def _save_languages(client: httpx.AsyncClient, **changes: str) -> httpx.Response:
    """The organiser saves the registration page's first form with these fields changed."""
    path = f"/organiser/g/{SLUG}/registration"
    page = parse_html((await client.get(path)).text)
    values = _form_values(page, "//form[.//select[@id='default_language']]")
    values.update(changes)
    return await client.post(path, data=values)


async def test_organisers_set_the_default_language_and_readers_who_chose_none_get_it(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await _organiser(client)
    page = parse_html((await client.get(f"/organiser/g/{SLUG}/registration")).text)
    assert page.xpath("//select[@id='default_language']/option[@selected]/@value") == ["en"]
    refused = await _save_languages(client, default_language="xx")
    assert refused.status_code == 422
    assert texts(parse_html(refused.text), "//p[@id='default_language-error']") == [
        "Choose one of the languages offered."
    ]
    saved = await _save_languages(client, default_language="cy")
    assert saved.status_code == 303
    # The fields read in Welsh for an organiser who chose it.
    client.cookies.set(i18n.COOKIE, "cy")
    welsh = parse_html((await client.get(f"/organiser/g/{SLUG}/registration")).text)
    client.cookies.delete(i18n.COOKIE)
    assert texts(welsh, "//label[@for='default_language']") == ["Iaith tudalennau'r cynulliad"]
    assert texts(welsh, "//label[@for='title_cy']") == ["Teitl (Cymraeg) (dewisol)"]
    assert welsh.xpath("//fieldset[@id='languages']/legend/text()") == ["Ieithoedd"]
    g = schema.gathering
    [row] = await _rows(db, sa.select(g.c.default_language).where(g.c.slug == SLUG))
    assert row.default_language == "cy"
    # The window's own fields were saved as they stood: still open.
    page = parse_html((await client.get(f"/organiser/g/{SLUG}/registration")).text)
    assert page.xpath("//select[@id='default_language']/option[@selected]/@value") == ["cy"]

    client.cookies.clear()
    for path in (f"/g/{SLUG}", f"/g/{SLUG}/s/{await _session_id(db, PLENARY)}"):
        first = await client.get(path)  # no choice, no Accept-Language
        assert _lang(parse_html(first.text)) == "cy", path
        assert first.headers["content-language"] == "cy", path
        chosen = parse_html((await client.get(path + "?lang=en")).text)
        assert _lang(chosen) != "cy", path
        browser = await client.get(path, headers={"accept-language": "en-GB,en;q=0.9"})
        assert _lang(parse_html(browser.text)) != "cy", path  # the browser's word counts
        again = await client.get(path)  # the kept page for nobody
        assert _lang(parse_html(again.text)) == "cy", path
        assert again.headers["content-language"] == "cy", path  # said on a kept page too

    # The registration form too, kept apart per language; registering from it keeps Welsh.
    form = parse_html((await client.get(f"/g/{SLUG}/register")).text)
    assert _lang(form) == "cy"
    assert _lang(parse_html((await client.get(f"/g/{SLUG}/register?lang=en")).text)) != "cy"
    assert _lang(parse_html((await client.get(f"/g/{SLUG}/register")).text)) == "cy"
    plenary = await _session_id(db, PLENARY)
    await _register_by_form(client, db, "nobody@example.org", plenary)
    await _register_by_form(client, db, "english@example.org", plenary, cookie="en")
    assert (await _registration(db, "nobody@example.org")).language == "cy"
    assert (await _registration(db, "english@example.org")).language == "en"


async def test_mail_to_a_registrant_of_unknown_language_takes_the_gatherings_default(
    db: Database,
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    plenary = await _session_id(db, PLENARY)
    form = reg.RegistrationInput(
        name="Old Registrant",
        email="old@example.org",
        ticket_type_id=await _ticket_type(db),
        session_ids=(str(plenary),),
    )
    await reg.register(db, SLUG, form, links=LINKS, confirm_hours=24)
    r, g = schema.registration, schema.gathering
    # Registered before migration 0018: no language known.
    await _execute(db, sa.update(r).where(r.c.email == "old@example.org").values(language=None))
    await _execute(db, sa.update(g).where(g.c.slug == SLUG).values(default_language="cy"))
    await _confirm(db, "old@example.org")
    [confirmed] = await _outbox(db, "registration_confirmed", "old@example.org")
    assert confirmed.language == "cy"
    # Its dates were worded in Welsh too, though the confirming request was English.
    whens = [p["when_text"] for p in confirmed.context["places"] if p.get("when_text")]
    welsh_days = {"Sul", "Llun", "Maw", "Mer", "Iau", "Gwen", "Sad"}  # CLDR's, abbreviated
    assert whens and all(w.split()[0] in welsh_days for w in whens), whens


# --- 4. titles and descriptions in Welsh --------------------------------------------------------


async def _edit_session_in_welsh(client: httpx.AsyncClient, session_id: int) -> None:
    path = f"/organiser/g/{SLUG}/sessions/{session_id}"
    page = parse_html((await client.get(path)).text)
    assert page.xpath("//input[@id='title_cy']/@lang") == ["cy"]
    values = _form_values(page, "//form[.//input[@name='title']]")
    too_long = await client.post(path, data={**values, "title_cy": "x" * 201})
    assert too_long.status_code == 422
    assert texts(parse_html(too_long.text), "//p[@id='title_cy-error']") == [
        "This is too long: at most 200 characters."
    ]
    values.update(title_cy=WELSH_TITLE, description_cy=WELSH_DESCRIPTION)
    saved = await client.post(path, data=values)
    assert saved.status_code == 303, saved.text


async def test_welsh_titles_and_descriptions_reach_pages_form_feeds_and_exports(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    plenary = await _session_id(db, PLENARY)
    await _organiser(client)
    await _edit_session_in_welsh(client, plenary)
    ps = schema.programme_session
    [row] = await _rows(db, sa.select(ps.c.translations).where(ps.c.id == plenary))
    assert row.translations == {"cy": {"title": WELSH_TITLE, "description": WELSH_DESCRIPTION}}
    saved = await _save_languages(
        client, title_cy="Paid â Gadael, Trefnwch", description_cy="Cynhadledd y gwanwyn."
    )
    assert saved.status_code == 303
    await _release(client, "Welsh titles")
    client.cookies.clear()

    session_page = f"/g/{SLUG}/s/{plenary}"
    welsh = parse_html((await client.get(session_page + "?lang=cy")).text)
    english = parse_html((await client.get(session_page + "?lang=en")).text)
    assert WELSH_TITLE in texts(welsh, "//h1")
    assert PLENARY in texts(english, "//h1")
    assert WELSH_DESCRIPTION in " ".join(texts(welsh, "//main"))
    assert WELSH_TITLE not in " ".join(texts(english, "//main"))
    programme = parse_html((await client.get(f"/g/{SLUG}?lang=cy")).text)
    assert WELSH_TITLE in " ".join(texts(programme, "//main"))
    assert "Paid â Gadael, Trefnwch" in " ".join(texts(programme, "//h1"))
    home = parse_html((await client.get("/?lang=cy")).text)
    assert "Paid â Gadael, Trefnwch" in texts(home, "//main//h2")
    english_home = parse_html((await client.get("/?lang=en")).text)
    assert "Paid â Gadael, Trefnwch" not in texts(english_home, "//main//h2")
    # Content not in the page's language is marked: a session with no Welsh title on a Welsh
    # page is English; the Welsh title is not marked on a Welsh page, nor English on English.
    links = programme.xpath("//main//a[contains(@href, '/s/')]")
    plenary_links = [a for a in links if a.get("href").endswith(f"/s/{plenary}")]
    others = [a for a in links if not a.get("href").endswith(f"/s/{plenary}")]
    assert plenary_links and all(a.get("lang") is None for a in plenary_links)
    assert others and all(a.get("lang") == "en" for a in others)
    assert welsh.xpath("//h1[@id='session-title']/@lang") == []
    assert english.xpath("//h1[@id='session-title']/@lang") == []
    other = others[0].get("href")
    assert parse_html((await client.get(other + "?lang=cy")).text).xpath(
        "//h1[@id='session-title']/@lang"
    ) == ["en"]
    # The registration form offers the session by its Welsh title.
    form = parse_html((await client.get(f"/g/{SLUG}/register?lang=cy")).text)
    assert WELSH_TITLE in " ".join(texts(form, f"//label[@for='session-{plenary}']"))

    # Calendar feed: the reader's language where given.
    feed = await client.get(f"/g/{SLUG}/calendar.ics?lang=cy")
    assert feed.status_code == 200
    summaries = [
        str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    ]
    assert WELSH_TITLE in summaries and PLENARY not in summaries
    english_feed = await client.get(f"/g/{SLUG}/calendar.ics?lang=en")
    english_summaries = [
        str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(english_feed.content).walk("VEVENT")
    ]
    assert PLENARY in english_summaries and WELSH_TITLE not in english_summaries

    # The schedule export: the reader's language in its strings, kept apart per language.
    exported = (await client.get(f"/g/{SLUG}/schedule.json?lang=cy")).json()
    events = [
        e
        for day in exported["schedule"]["conference"]["days"]
        for room in day["rooms"].values()
        for e in room
    ]
    [event] = [e for e in events if e["id"] == plenary]
    assert event["title"] == WELSH_TITLE
    assert event["description"].startswith(WELSH_DESCRIPTION)
    english_export = (await client.get(f"/g/{SLUG}/schedule.json?lang=en")).json()
    assert english_export["schedule"]["conference"]["title"] != "Paid â Gadael, Trefnwch"


def _valid_schedule2(document: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA2.read_text())
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []


async def test_schedule_json_v2_carries_every_language_as_a_localisation_map(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    plenary = await _session_id(db, PLENARY)
    await _organiser(client)
    await _edit_session_in_welsh(client, plenary)
    await _save_languages(client, description_cy="Cynhadledd y gwanwyn.", default_language="cy")
    await _release(client, "Welsh descriptions")
    client.cookies.clear()

    welsh = (await client.get(f"/g/{SLUG}/schedule2.json?lang=cy")).json()
    english = (await client.get(f"/g/{SLUG}/schedule2.json?lang=en")).json()
    for document in (welsh, english):
        _valid_schedule2(document)
        conference = document["schedule"]["conference"]
        assert conference["languages"] == ["en", "cy"]
        assert conference["defaults"] == {"language": "cy"}
        assert conference["description"]["cy"] == "Cynhadledd y gwanwyn."
        [event] = [e for e in document["schedule"]["events"] if e["url"].endswith(f"/s/{plenary}")]
        assert event["description"]["cy"] == WELSH_DESCRIPTION
        assert event["abstract"]["cy"] == WELSH_DESCRIPTION
        assert event["description"]["en"] and event["description"]["en"] != WELSH_DESCRIPTION
    welsh_titles = {e["title"] for e in welsh["schedule"]["events"]}
    english_titles = {e["title"] for e in english["schedule"]["events"]}
    assert WELSH_TITLE in welsh_titles and PLENARY not in welsh_titles
    assert PLENARY in english_titles and WELSH_TITLE not in english_titles
    # Every demo gathering's v2 export is valid, with no translations too.
    for slug in (NATIONAL.slug, SLUG):
        _valid_schedule2((await client.get(f"/g/{slug}/schedule2.json")).json())
