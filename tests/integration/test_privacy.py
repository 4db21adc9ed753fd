"""Privacy: the notice built from a gathering's settings, the admin's audit log (and the audit of
reading it), role changes in the log, and a person's download and erasure from the manage link."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import httpx
import lxml.html
import pytest
import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.accounts import create_or_update_account
from gathering.core import schema
from gathering.core.audit import insert_audit_event
from gathering.core.database import Database
from gathering.demo import NEXT_SLUG, STEWARD_PIN, steward_token
from gathering.door import rules as checkin
from gathering.privacy import retention
from gathering.programme.pages import long_date
from gathering.programme.release import load_programme
from gathering.registration import rules as reg
from tests.app_clock import BEFORE_CONFERENCE, app_clock_at
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts
from tests.privacy_data import (
    AT_THE_DOOR,
    CONFERENCE,
    LINKS,
    NATIONAL,
    PURGE_AT,
    counts,
    execute,
    gathering_id,
    in_files,
    rows,
    spread_personal_data,
    token_of,
    values_left,
)

pytestmark = pytest.mark.anyio
ADMIN = ("admin@example.org", "demo-admin-password")
ORGANISER = ("organiser@example.org", "demo-organiser-password")
JVL = ("jvl@example.org", "demo-organiser-password")


async def _account_id(db: Database, email: str) -> int:
    a = schema.account
    [row] = await rows(db, sa.select(a.c.id).where(a.c.email == email))
    return int(row.id)


def _links_to(page: lxml.html.HtmlElement, path: str) -> bool:
    return path in {urlsplit(href).path for href in page.xpath("//main//a/@href")}


def _form_values(page: lxml.html.HtmlElement) -> dict[str, str]:
    """What a browser would send back from the page's first POST form, unchanged."""
    [form] = page.xpath("//form[@method='post']")[:1]
    values: dict[str, str] = {}
    for field in form.xpath(".//input[@name]|.//textarea[@name]|.//select[@name]"):
        name = field.get("name")
        if field.tag == "textarea":
            values[name] = field.text or ""
        elif field.tag == "select":
            chosen = field.xpath(".//option[@selected]/@value")
            values[name] = chosen[0] if chosen else ""
        elif field.get("type") == "checkbox":
            if field.get("checked") is not None:
                values[name] = field.get("value", "on")
        else:
            values[name] = field.get("value", "")
    return values


# --- the privacy notice -------------------------------------------------------------------------


async def test_the_notice_is_built_from_the_gatherings_settings_and_form(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    national = await gathering_id(db, NATIONAL)
    page = parse_html((await client.get(f"/g/{NATIONAL}/privacy")).text)
    assert texts(page, "//h1") == ["Privacy notice"]
    assert texts(page, "//p[@id='controller']") == ["The data controller is Don't Leave, Organise."]
    assert page.xpath("//p[@id='contact']") == []  # no privacy contact, host has no address

    q = schema.question
    questions = await rows(
        db, sa.select(q).where(q.c.gathering_id == national).order_by(q.c.position)
    )
    assert len(questions) == 4
    asked = [f"{row.label} (optional)" for row in questions]  # the demo requires none
    assert texts(page, "//dl[@class='asked']/dt") == [
        "Your name",
        "Your email address",
        "Ticket type",
        "The sessions you choose (optional)",
        *asked,
    ]
    whys = dict(zip(texts(page, "//dl/dt"), texts(page, "//dl/dd"), strict=True))
    assert "only if you tick the box" in whys["Access needs we should plan for (optional)"]
    assert "Never shown to other attendees" in whys["Your email address"]

    consent = await reg.registration_page(db, NATIONAL)
    assert texts(page, "//ul[@id='consent-organisations']/li") == [
        o.label for o in consent.organisations
    ]
    erase_on = retention.erase_from(dt.date(2021, 9, 18), 3650)
    assert texts(page, "//p[@id='retention']") == [
        "Until 3650 days after the gathering ends. From "
        f"{long_date(erase_on)}, names, email addresses, answers, tickets and the mail we sent "
        "are erased. Only counts remain (how many registered and came), with nobody's name."
    ]
    assert page.xpath("//a[@href='https://ico.org.uk/make-a-complaint/']")

    # Linked from the registration form and the manage page.
    href = f"/g/{NATIONAL}/privacy"
    # (The form is shown while registration is open: the demo's upcoming gathering's.)
    form = parse_html((await client.get(f"/g/{NEXT_SLUG}/register")).text)
    assert _links_to(form, f"/g/{NEXT_SLUG}/privacy")
    r = schema.registration
    [dana] = await rows(db, sa.select(r).where(r.c.email == "dana.whitfield@example.org"))
    token = reg.manage_token(TEST_SECRET, dana.id, dana.manage_key)
    manage = parse_html((await client.get(f"/r/{token}")).text)
    assert _links_to(manage, href)

    assert (await client.get("/g/no-such-gathering/privacy")).status_code == 404


async def test_the_notice_names_the_host_when_no_controller_is_set_and_says_when_erased(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    g, o = schema.gathering, schema.organisation
    await execute(
        db,
        sa.update(g).where(g.c.slug == CONFERENCE).values(data_controller=""),
        sa.update(o).where(o.c.slug == "lla").values(contact_email="data@lla.example.org"),
    )
    page = parse_html((await client.get(f"/g/{CONFERENCE}/privacy")).text)
    [controller] = texts(page, "//p[@id='controller']")
    assert controller.startswith("The data controller is Labour Left Alliance.")
    assert "No data controller is named for this gathering" in controller
    assert page.xpath("//p[@id='contact']/a/@href") == ["mailto:data@lla.example.org"]

    await retention.purge(db, PURGE_AT)
    page = parse_html((await client.get(f"/g/{CONFERENCE}/privacy")).text)
    assert texts(page, "//p[@id='retention']") == [
        f"The personal data of this gathering was erased on {long_date(PURGE_AT.date())}. "
        "Only counts remain."
    ]


async def test_admin_sets_a_privacy_contact_checked_as_an_address(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *ADMIN)
    national = await gathering_id(db, NATIONAL)
    path = f"/admin/gatherings/{national}"
    page = parse_html((await client.get(path)).text)
    assert _links_to(page, f"/g/{NATIONAL}/privacy")
    form = _form_values(page)

    refused = await client.post(path, data={**form, "privacy_contact": "not an address"})
    assert refused.status_code == 422
    again = parse_html(refused.text)
    assert texts(again, "//p[@id='privacy_contact-error']") == [
        "Enter an email address like name@example.org."
    ]
    assert again.xpath("//input[@id='privacy_contact']/@value") == ["not an address"]

    saved = await client.post(path, data={**form, "privacy_contact": " Privacy@DLO.example.org "})
    assert saved.status_code == 303
    g = schema.gathering
    [row] = await rows(db, sa.select(g.c.privacy_contact).where(g.c.id == national))
    assert row.privacy_contact == "privacy@dlo.example.org"
    notice = parse_html((await client.get(f"/g/{NATIONAL}/privacy")).text)
    assert notice.xpath("//p[@id='contact']/a/@href") == ["mailto:privacy@dlo.example.org"]


# --- the audit log ------------------------------------------------------------------------------


async def test_the_audit_log_reads_in_words_filters_pages_and_records_its_reading(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    admin = await _account_id(db, ADMIN[0])
    organiser = await _account_id(db, ORGANISER[0])
    programme = await load_programme(db, CONFERENCE)
    session = programme.sessions[0]
    conference = await gathering_id(db, CONFERENCE)
    start = dt.datetime(2019, 9, 20, 9, 0, tzinfo=dt.UTC)

    async def _events(conn: AsyncConnection) -> None:
        for n in range(55):  # enough for two pages
            await insert_audit_event(
                conn,
                now=start + dt.timedelta(minutes=n),
                actor_kind="account",
                actor_id=organiser,
                action="attendee_list_viewed",
                subject_kind="session",
                subject_id=session.id,
                detail={"query": "", "scope": "everyone"},
            )
        await insert_audit_event(
            conn,
            now=start + dt.timedelta(hours=2),
            actor_kind="account",
            actor_id=organiser,
            action="attendees_exported",
            subject_kind="session",
            subject_id=session.id,
            detail={"organisation_id": 1, "rows": 12},
        )

    await db.write(_events)
    g = schema.gathering
    await execute(db, sa.update(g).where(g.c.id == conference).values(retention_days=30))
    await retention.purge(db, dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    await sign_in(client, *ADMIN)

    response = await client.get("/admin/audit")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = parse_html(response.text)
    entries = texts(page, "//ol[@class='audit-entries']/li")
    assert entries[0].endswith("Network admin (admin@example.org): Read the audit log — page 1")
    assert "Network admin (admin@example.org): Signed in" in entries[1]
    assert any(
        e.endswith(
            "The service (scheduled work): Erased personal data after the retention period "
            f"(gathering “{programme.gathering.title}”) — 4 registrations"
        )
        for e in entries
    )
    exported = (
        f"LLA organiser (organiser@example.org): Exported contacts (session “{session.title}”)"
        " — 12 rows"
    )
    assert any(e.endswith(exported) for e in entries)
    times = page.xpath("//ol[@class='audit-entries']/li/time/@datetime")
    assert times == sorted(times, reverse=True)  # newest first
    [older] = page.xpath("//a[@rel='next']/@href")
    assert urlsplit(older)[2:4] == ("/admin/audit", "action=&actor=&page=2")
    options = page.xpath("//select[@id='filter-action']/option/@value")
    assert {"attendee_list_viewed", "retention_purge", "signin", "audit_log_viewed"} <= set(options)

    # Filters: by what happened, and by who did it.
    page = parse_html((await client.get("/admin/audit?action=attendee_list_viewed")).text)
    assert set(page.xpath("//ol/li/@data-action")) == {"attendee_list_viewed"}
    assert texts(page, "//p[@id='audit-count']") == ["55 events, page 1 of 2"]
    second = parse_html((await client.get("/admin/audit?action=attendee_list_viewed&page=2")).text)
    assert len(second.xpath("//ol/li")) == 5
    page = parse_html((await client.get(f"/admin/audit?actor=account:{organiser}")).text)
    assert set(texts(page, "//span[@class='audit-who']")) == {
        "LLA organiser (organiser@example.org)"
    }
    page = parse_html((await client.get("/admin/audit?actor=system")).text)
    # The purge, then the rewrite that took the erased values out of the database's files.
    assert page.xpath("//ol/li/@data-action") == ["erasure_completed", "retention_purge"]
    completed = texts(page, "//ol/li[@data-action='erasure_completed']")[0]
    assert completed.endswith(
        "The service (scheduled work): Rewrote the database files: erased data is gone from "
        "the disk — write-ahead log cleared: yes"
    )

    # Nonsense in the address is no error: the log simply shows nothing, or everything.
    for query in ("page=999999", "page=abc", "action=%3Cscript%3E", "actor=nobody:1"):
        odd = await client.get(f"/admin/audit?{query}")
        assert odd.status_code == 200, query
        assert "<script>" not in odd.text

    # Each reading went into the log, by the admin who read it.
    a = schema.audit_event
    readings = await rows(db, sa.select(a).where(a.c.action == "audit_log_viewed"))
    assert len(readings) == 9
    assert {(e.actor_kind, e.actor_id) for e in readings} == {("account", admin)}
    assert {e.detail["action"] for e in readings} >= {"attendee_list_viewed", ""}


async def test_only_a_network_admin_reads_the_audit_log(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    anonymous = await client.get("/admin/audit")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/signin?next=")
    await sign_in(client, *JVL)
    refused = await client.get("/admin/audit")
    assert refused.status_code == 403
    a = schema.audit_event
    assert await rows(db, sa.select(a).where(a.c.action == "audit_log_viewed")) == []

    await client.post("/signout", data={"csrftoken": await csrf_from(client, "/organiser")})
    await sign_in(client, *ADMIN)
    home = parse_html((await client.get("/admin")).text)
    assert _links_to(home, "/admin/audit")


async def test_role_changes_are_in_the_audit_log(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    a = schema.audit_event

    async def _log() -> list[tuple[str, Any]]:
        found = await rows(db, sa.select(a).where(a.c.subject_kind == "account").order_by(a.c.id))
        return [(e.action, e.detail) for e in found if e.subject_id == account]

    made = await create_or_update_account(
        db, email="new@example.org", display_name="New", password="long enough password"
    )
    account = made.account_id
    assert await _log() == [("account_created", {"is_admin": False})]
    await create_or_update_account(
        db,
        email="new@example.org",
        display_name="New",
        password="long enough password",
        is_admin=True,
        organisation_slug="jvl",
    )
    await create_or_update_account(  # nothing changes: nothing logged
        db,
        email="new@example.org",
        display_name="New",
        password="another long password",
        is_admin=True,
        organisation_slug="jvl",
    )
    assert await _log() == [
        ("account_created", {"is_admin": False}),
        ("role_changed", {"is_admin": True}),
        ("role_changed", {"organisation": "jvl", "role": "organiser"}),
    ]


# --- one person's data: download and erasure ----------------------------------------------------


async def test_download_then_erase_reaches_every_trace_and_offers_the_place_on(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    public = next(s for s in programme.sessions if s.access == "public")
    supporters_only = next(s for s in programme.sessions if s.access == "supporters")
    ps, out = schema.programme_session, schema.outbox
    await execute(
        db, sa.update(ps).where(ps.c.id == public.id).values(capacity=ps.c.places_taken + 1)
    )
    name, email = "Erin Erasable", "erin.erasable@example.com"
    form = reg.RegistrationInput(
        name=name, email=email, session_ids=(str(public.id), str(supporters_only.id))
    )
    waiting = reg.RegistrationInput(
        name="Next Inline", email="next.inline@example.com", session_ids=(str(public.id),)
    )
    with app_clock_at(BEFORE_CONFERENCE):  # registered while it was open
        await reg.register(db, CONFERENCE, form, links=LINKS, confirm_hours=24)
        registered = await reg.register(db, CONFERENCE, waiting, links=LINKS, confirm_hours=24)
    assert registered.places == {public.id: "waitlisted"}
    [confirm] = await rows(
        db, sa.select(out).where(out.c.kind == "confirm_email", out.c.to_address == email)
    )
    confirmed = await reg.confirm_registration(
        db, token_of(confirm.context["confirm_url"]), links=LINKS, confirm_hours=24
    )
    token = token_of(confirmed.manage_url)
    # Only people who confirmed their address are offered a freed place (issue 14, squatting).
    [next_mail] = await rows(
        db,
        sa.select(out).where(
            out.c.kind == "confirm_email", out.c.to_address == "next.inline@example.com"
        ),
    )
    await reg.confirm_registration(
        db, token_of(next_mail.context["confirm_url"]), links=LINKS, confirm_hours=24
    )
    r = schema.registration
    [erin] = await rows(db, sa.select(r).where(r.c.email == email))

    # Erin at the door: admitted, then scanned again ("already inside" names her, no check-in).
    steward = await checkin.open_pass(
        db,
        steward_token(TEST_SECRET),
        STEWARD_PIN,
        client_address="127.0.0.1",
        now=AT_THE_DOOR,
        secret_key=TEST_SECRET,
    )
    for nonce in ("erin-1", "erin-2"):
        await checkin.scan(
            db,
            steward.device,
            erin.ticket_code,
            session_id=None,
            door="Main door",
            client_nonce=nonce,
            kind="entry",
            now=AT_THE_DOOR,
        )
    # ... on a supporters list, behind a throttle, in an audit detail.
    await execute(
        db,
        sa.insert(schema.supporter).values(session_id=supporters_only.id, email=email),
        sa.insert(schema.throttle).values(key=f"reset:{email}", window_start=AT_THE_DOOR, count=2),
    )

    conference, national = await gathering_id(db, CONFERENCE), await gathering_id(db, NATIONAL)

    async def _note(conn: AsyncConnection) -> None:
        now = dt.datetime.now(dt.UTC)
        await insert_audit_event(
            conn,
            now=now,
            actor_kind="account",
            actor_id=None,
            action="attendees_exported",
            subject_kind="session",
            subject_id=public.id,
            detail={"rows": 1, "note": f"for {name}"},
        )
        # Searches as the service once logged them, with what was typed: part of her name (or
        # of anyone's), at the door and in a list filter; and a search at another gathering.
        legacy = [
            ("door_search", "gathering", conference, {"query": "Erin Era", "matches": 1}),
            ("attendee_list_viewed", "session", public.id, {"query": "erasa", "shown": 1}),
            ("door_search", "gathering", national, {"query": "Dana Whi", "matches": 1}),
        ]
        for action, subject_kind, subject_id, detail in legacy:
            await insert_audit_event(
                conn,
                now=now,
                actor_kind="account",
                actor_id=None,
                action=action,
                subject_kind=subject_kind,
                subject_id=subject_id,
                detail=detail,
            )

    await db.write(_note)

    held = (await client.get(f"/r/{token}/data.json")).json()
    assert (held["name"], held["email"], held["status"]) == (name, email, "confirmed")
    assert held["check_ins"] == [
        {
            "session": "the whole gathering",
            "kind": "entry",
            "door": "Main door",
            "at": "2019-09-22T11:00:00+01:00",
            "undone_at": None,
        }
    ]
    assert [m["kind"] for m in held["mail"]] == [
        "supporters_only",
        "confirm_email",
        "registration_confirmed",
    ]
    assert held["on_supporters_lists_of"] == [supporters_only.title]
    assert [s["status"] for s in held["sessions"]] == ["confirmed"]

    before = await counts(db)
    page = await csrf_from(client, f"/r/{token}/erase")
    erased = await client.post(f"/r/{token}/erase", data={"csrftoken": page})
    assert texts(parse_html(erased.text), "//h1") == ["Your data is erased"]

    secrets = {name, email, erin.ticket_code, erin.manage_key, erin.feed_key}
    assert await values_left(db, secrets) == {}
    a = schema.audit_event
    searches = await rows(
        db, sa.select(a.c.subject_id, a.c.detail).where(a.c.detail["query"].as_string() != "")
    )
    assert sorted((e.subject_id, e.detail["query"]) for e in searches) == sorted(
        [(conference, "[erased]"), (public.id, "[erased]"), (national, "Dana Whi")]
    )
    after = await counts(db)
    assert after["check_ins"] == before["check_ins"]  # the door's record stays, nameless
    assert after["scans"] == before["scans"]
    [row] = await rows(db, sa.select(r).where(r.c.id == erin.id))
    assert (row.status, row.name, row.anonymised_at is not None) == ("anonymised", "", True)
    # The freed place went to the next person waiting, by mail.
    [offer] = await rows(db, sa.select(out).where(out.c.kind == "place_offered"))
    assert offer.to_address == "next.inline@example.com"
    p = schema.session_place
    places = await rows(db, sa.select(p).where(p.c.session_id == public.id))
    assert {(x.registration_id, x.status) for x in places if x.registration_id == erin.id} == {
        (erin.id, "cancelled")
    }
    assert "offered" in {x.status for x in places}
    [event] = await rows(db, sa.select(a).where(a.c.action == "registration_erased"))
    assert (event.actor_kind, event.subject_kind, event.subject_id) == (
        "attendee",
        "registration",
        erin.id,
    )
    assert (await client.get(f"/r/{token}")).status_code == 404


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_an_erased_person_leaves_no_byte_in_the_sqlite_files(
    db: Database, db_url: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await spread_personal_data(db)
    r = schema.registration
    [sam] = await rows(db, sa.select(r).where(r.c.email == "sam.okafor@example.org"))
    his = {sam.name, sam.email, sam.ticket_code, sam.manage_key, sam.feed_key}
    assert in_files(db_url, his) == his
    others = {"Dana Whitfield", "Priya Natarajan"}
    assert in_files(db_url, others) == others

    await reg.erase(
        db, reg.manage_token(TEST_SECRET, sam.id, sam.manage_key), links=LINKS, offer_hours=24
    )
    assert await values_left(db, his) == {}
    assert in_files(db_url, his) == set()  # no VACUUM: zeroed as deleted, and the log emptied
    assert in_files(db_url, others) == others


async def test_database_errors_carry_no_personal_values(db: Database) -> None:
    """A failed statement's error (which the service may log) shows no bound parameters."""
    r = schema.registration
    statement = sa.insert(r).values(
        gathering_id=999_999, name="Quentin Leaky", email="leaky@example.com", answers={}
    )
    with pytest.raises(exc.IntegrityError) as raised:
        await execute(db, statement)
    assert "parameters hidden" in str(raised.value)
    assert "Quentin Leaky" not in str(raised.value)
    assert "leaky@example.com" not in str(raised.value)
