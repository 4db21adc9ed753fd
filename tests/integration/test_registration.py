"""Registration: double opt-in, places without overselling, waiting lists, the manage link."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import icalendar
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import InvalidInput, NotFound
from gathering.demo import NEXT_SLUG
from gathering.programme.release import load_programme
from gathering.registration import rules as reg
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, texts

pytestmark = pytest.mark.anyio
SLUG = NEXT_SLUG  # the demo's upcoming gathering: past ones take no registrations
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
)


async def _rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _execute(db: Database, statement: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_write)


async def _outbox(db: Database, kind: str) -> list[Any]:
    o = schema.outbox
    return await _rows(db, sa.select(o).where(o.c.kind == kind).order_by(o.c.id))


async def _session(db: Database, title: str) -> int:
    programme = await load_programme(db, SLUG)
    return next(s.id for s in programme.sessions if s.title == title)


async def _ticket_type(db: Database) -> str:
    t, g = schema.ticket_type, schema.gathering
    query = sa.select(t.c.id).join(g, g.c.id == t.c.gathering_id).where(g.c.slug == SLUG)
    rows = await _rows(db, query.order_by(t.c.position))
    return str(rows[0].id)


def _token(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[1]


async def _register(
    db: Database, email: str, session_ids: list[int], **extra: Any
) -> reg.Registered:
    form = reg.RegistrationInput(
        name=extra.pop("name", "Test Person"),
        email=email,
        ticket_type_id=extra.pop("ticket_type_id", await _ticket_type(db)),
        session_ids=tuple(str(s) for s in session_ids),
        **extra,
    )
    return await reg.register(db, SLUG, form, links=LINKS, confirm_hours=24)


async def _confirm(db: Database, email: str) -> str:
    """Confirm through the queued mail's link; return the manage token."""
    [message] = [m for m in await _outbox(db, "confirm_email") if m.to_address == email]
    result = await reg.confirm_registration(
        db, _token(message.context["confirm_url"]), links=LINKS, confirm_hours=24
    )
    return _token(result.manage_url)


async def test_register_confirm_and_manage_through_the_pages(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    plenary = await _session(db, "Welcome: reclaiming our party")
    token = await csrf_from(client, f"/g/{SLUG}/register?session={plenary}")
    page = parse_html((await client.get(f"/g/{SLUG}/register?session={plenary}")).text)
    assert page.xpath(f"//input[@id='session-{plenary}']/@checked") == ["checked"]
    assert page.xpath("//input[@name='contact' and @checked]") == []  # consent unticked

    organisations = await _rows(db, sa.select(schema.organisation.c.id, schema.organisation.c.slug))
    fbu = next(o.id for o in organisations if o.slug == "fbu")
    response = await client.post(
        f"/g/{SLUG}/register",
        data={
            "csrftoken": token,
            "name": "Rosa Example",
            "email": "Rosa@Example.org",
            "ticket_type_id": await _ticket_type(db),
            "answer_constituency": "Brighton Kemptown",
            "answer_access_needs": "Step-free route, please",
            "share_access_needs": "yes",
            "session_ids": [str(plenary)],
            "contact": [str(fbu)],
        },
    )
    assert response.status_code == 200
    assert texts(parse_html(response.text), "//h1") == ["Check your email"]

    r = schema.registration
    [row] = await _rows(db, sa.select(r).where(r.c.email == "rosa@example.org"))
    assert (row.status, row.ticket_code, row.answers["constituency"]) == (
        "pending",
        None,
        "Brighton Kemptown",
    )
    assert row.share_access_needs is True
    consents = await _rows(
        db, sa.select(schema.consent).where(schema.consent.c.registration_id == row.id)
    )
    assert [(c.purpose, c.organisation_id, c.text) for c in consents] == [
        ("contact", fbu, "Fire Brigades Union may contact me about its work.")
    ]

    [mail] = await _outbox(db, "confirm_email")
    confirm_path = urlsplit(mail.context["confirm_url"]).path
    shown = await client.get(confirm_path)  # a mail scanner's GET confirms nothing
    assert texts(parse_html(shown.text), "//button") == ["Confirm my registration"]
    [row] = await _rows(db, sa.select(r).where(r.c.id == row.id))
    assert row.status == "pending"

    done = await client.post(
        confirm_path, data={"csrftoken": await csrf_from(client, confirm_path)}
    )
    assert done.status_code == 303
    manage_path = urlsplit(done.headers["location"]).path
    [row] = await _rows(db, sa.select(r).where(r.c.id == row.id))
    assert row.status == "confirmed"
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{26}", row.ticket_code)
    [ticket_mail] = await _outbox(db, "registration_confirmed")
    assert ticket_mail.context["ticket_code"] == row.ticket_code
    qr, ics = ticket_mail.attachments
    assert qr == {"kind": "qr_png", "cid": "ticket-qr", "data": row.ticket_code}
    assert (ics["kind"], ics["filename"], ics["content_type"]) == (
        "file",
        "my-sessions.ics",
        "text/calendar",
    )
    [event] = icalendar.Calendar.from_ical(ics["text"]).walk("VEVENT")
    assert str(event["UID"]) == f"session-{plenary}@127.0.0.1"
    # Issue 20: never the meeting's address; the personal feed adds their own link once it opens.
    assert "meet.example.org" not in ics["text"]
    assert "CONFERENCE" not in event
    assert row.feed_key
    assert ticket_mail.context["agenda_url"] == f"{BASE}/my/{row.feed_key}"

    manage = parse_html((await client.get(manage_path + "?confirmed=1")).text)
    assert "your registration is confirmed" in texts(manage, "//p[@role='status']")[0]
    assert texts(manage, "//ul[contains(@class,'places')]//span[contains(@class,'status')]") == [
        "Place confirmed"
    ]

    ticket = parse_html((await client.get(manage_path + "/ticket")).text)
    assert texts(ticket, "//p[@class='ticket-code']/code") == [row.ticket_code]
    assert texts(ticket, "//p[@class='ticket-holder']")[0].startswith("Rosa Example")
    svg = await client.get(manage_path + "/ticket.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.content.startswith(b"<?xml")
    png = await client.get(manage_path + "/ticket.png")
    assert png.content.startswith(b"\x89PNG")
    assert "no-store" in png.headers["cache-control"]


async def test_race_for_the_last_places_oversells_nothing(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _session(db, "Repeal the anti-union laws")
    ps = schema.programme_session
    await _execute(
        db, sa.update(ps).where(ps.c.id == session_id).values(capacity=ps.c.places_taken + 50)
    )

    results = await asyncio.gather(
        *(_register(db, f"person{i}@example.org", [session_id]) for i in range(300))
    )
    statuses = [r.places[session_id] for r in results]
    assert statuses.count("confirmed") == 50
    assert statuses.count("waitlisted") == 250
    places, r = schema.session_place, schema.registration
    racers = sa.select(places.c.status, sa.func.count()).join(r, r.c.id == places.c.registration_id)
    racers = racers.where(places.c.session_id == session_id, r.c.email.like("person%"))
    counts = await _rows(db, racers.group_by(places.c.status))
    assert dict(counts) == {"confirmed": 50, "waitlisted": 250}

    # Only people who confirmed their address are offered a freed place (issue 14, squatting):
    # everyone waiting confirms (the status is set directly; confirming is tested above).
    waiting_ids = [r.registration_id for r in results if r.places[session_id] == "waitlisted"]
    await _execute(db, sa.update(r).where(r.c.id.in_(waiting_ids)).values(status="confirmed"))
    # Ten people with places confirm and then give them up, all at once.
    confirmed = [r for r in results if r.places[session_id] == "confirmed"][:10]
    emails = [f"person{results.index(r)}@example.org" for r in confirmed]
    tokens = [await _confirm(db, email) for email in emails]

    async def give_up(token: str) -> None:
        booking = await reg.booking(db, token, secret_key=TEST_SECRET)
        await reg.cancel_place(db, token, booking.places[0].id, links=LINKS, offer_hours=24)

    await asyncio.gather(*(give_up(t) for t in tokens))
    assert len(await _outbox(db, "place_offered")) == 10
    counts = await _rows(db, racers.group_by(places.c.status))
    assert dict(counts) == {
        "confirmed": 40,
        "offered": 10,
        "cancelled": 10,
        "waitlisted": 240,
    }
    # The offers went to the ten who waited longest.
    offered = await _rows(
        db,
        sa.select(schema.registration.c.email)
        .join(places, places.c.registration_id == schema.registration.c.id)
        .where(places.c.status == "offered"),
    )
    waited = [
        f"person{results.index(r)}@example.org"
        for r in results
        if r.places[session_id] == "waitlisted"
    ]
    first_ten = await _rows(
        db,
        sa.select(schema.registration.c.email)
        .join(places, places.c.registration_id == schema.registration.c.id)
        .where(places.c.session_id == session_id, places.c.status.in_(["offered", "waitlisted"]))
        .order_by(places.c.created_at, places.c.id)
        .limit(10),
    )
    assert {o.email for o in offered} == {f.email for f in first_ten}
    assert {o.email for o in offered} <= set(waited)


async def test_accepting_an_offer_confirms_and_a_lapsed_offer_passes_on(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _session(db, "Repeal the anti-union laws")
    ps = schema.programme_session
    await _execute(
        db, sa.update(ps).where(ps.c.id == session_id).values(capacity=ps.c.places_taken + 1)
    )
    await _register(db, "first@example.org", [session_id])
    await _register(db, "second@example.org", [session_id])
    await _register(db, "third@example.org", [session_id])
    first = await _confirm(db, "first@example.org")
    await _confirm(db, "second@example.org")
    await _confirm(db, "third@example.org")
    booking = await reg.booking(db, first, secret_key=TEST_SECRET)
    await reg.cancel_place(db, first, booking.places[0].id, links=LINKS, offer_hours=24)

    [offer] = await _outbox(db, "place_offered")
    assert offer.to_address == "second@example.org"
    # Nobody accepts within the offer window: the next person is offered the place.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    assert await reg.expire_overdue(db, links=LINKS, offer_hours=24, now=later) == (0, 1)
    offers = await _outbox(db, "place_offered")
    assert [o.to_address for o in offers] == ["second@example.org", "third@example.org"]
    with pytest.raises(InvalidInput) as lapsed:
        await reg.accept_offer(
            db, _token(offers[0].context["accept_url"]), links=LINKS, offer_hours=24
        )
    await reg.accept_offer(db, _token(offers[1].context["accept_url"]), links=LINKS, offer_hours=24)
    places = schema.session_place
    rows = await _rows(
        db,
        sa.select(schema.registration.c.email, places.c.status)
        .join(places, places.c.registration_id == schema.registration.c.id)
        .where(
            places.c.session_id == session_id,
            schema.registration.c.email.in_(
                ["first@example.org", "second@example.org", "third@example.org"]
            ),
        )
        .order_by(schema.registration.c.email),
    )
    assert "lapsed" in lapsed.value.errors["token"]
    assert [tuple(r) for r in rows] == [
        ("first@example.org", "cancelled"),
        ("second@example.org", "cancelled"),
        ("third@example.org", "confirmed"),
    ]


async def test_unconfirmed_registrations_expire_and_free_their_places(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _session(db, "Repeal the anti-union laws")
    ps = schema.programme_session
    [before] = await _rows(db, sa.select(ps.c.places_taken).where(ps.c.id == session_id))
    held = before.places_taken
    await _execute(
        db, sa.update(ps).where(ps.c.id == session_id).values(capacity=ps.c.places_taken + 1)
    )
    await _register(db, "slow@example.org", [session_id])
    await _register(db, "waiting@example.org", [session_id])
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    assert await reg.expire_overdue(db, links=LINKS, offer_hours=24, now=later) == (2, 0)
    # Both were pending, so both expire; the place is free again for the next registration.
    [taken] = await _rows(db, sa.select(ps.c.places_taken).where(ps.c.id == session_id))
    assert taken.places_taken == held
    result = await _register(db, "new@example.org", [session_id])
    assert result.places == {session_id: "confirmed"}


async def test_registering_twice_reveals_nothing_and_mails_the_owner(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    first = await _register(db, "twice@example.org", [])
    await _confirm(db, "twice@example.org")
    second = await _register(db, "Twice@Example.org", [], name="Someone Else")
    assert first.registration_id is not None
    assert second.registration_id is None
    r = schema.registration
    rows = await _rows(db, sa.select(r.c.name).where(r.c.email == "twice@example.org"))
    assert [row.name for row in rows] == ["Test Person"]
    # Issue 16: the ticket once, then "already registered" with the link, not "booked" again.
    reminders = await _outbox(db, "registration_confirmed")
    assert [m.to_address for m in reminders] == ["twice@example.org"]
    [again] = await _outbox(db, "already_registered")
    assert again.to_address == "twice@example.org"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter an email address"),
        ({"name": "x" * 5000}, "name", "200 characters"),
        ({"name": "   "}, "name", "Enter the name"),
        ({"ticket_type_id": "999999"}, "ticket_type_id", "Choose a ticket type"),
        ({"session_ids": ["999999"]}, "session_ids", "Choose sessions"),
        ({"answer_constituency": "x" * 3000}, "answer_constituency", "2,000 characters"),
    ],
)
async def test_bad_registration_says_why_keeps_the_form_and_saves_nothing(
    db: Database, client: httpx.AsyncClient, changes: dict[str, Any], field: str, message: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    token = await csrf_from(client, f"/g/{SLUG}/register")
    data: dict[str, Any] = {
        "csrftoken": token,
        "name": "Rosa Example",
        "email": "rosa@example.org",
        "ticket_type_id": await _ticket_type(db),
        "answer_dietary": "Vegan",
        **changes,
    }
    before = await _rows(db, sa.select(sa.func.count()).select_from(schema.registration))
    response = await client.post(f"/g/{SLUG}/register", data=data)
    assert response.status_code == 422
    doc = parse_html(response.text)
    errors = texts(doc, f"//p[@id='{field}-error']") + texts(
        doc, f"//fieldset[@id='{field}']/p[@class='error']"
    )
    assert any(message in e for e in errors), errors
    assert texts(doc, "//textarea[@name='answer_dietary']") == ["Vegan"]
    after = await _rows(db, sa.select(sa.func.count()).select_from(schema.registration))
    assert after == before
    assert await _outbox(db, "confirm_email") == []


async def test_required_answers_supporters_and_invite_codes(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    q = schema.question
    await _execute(db, sa.update(q).where(q.c.key == "constituency").values(is_required=True))
    with pytest.raises(InvalidInput) as caught:
        await _register(db, "a@example.org", [])
    assert caught.value.errors == {
        "answer_constituency": "Please answer: Constituency Labour Party (CLP)."
    }

    ps = schema.programme_session
    closing = await _session(db, "Closing plenary")
    organising = await _session(db, "Organising locally: mutual aid and left groups")
    await _execute(
        db,
        sa.update(ps)
        .where(ps.c.id == closing)
        .values(access="supporters", access_note="Sign the appeal first."),
    )
    await _execute(
        db,
        sa.update(ps)
        .where(ps.c.id == organising)
        .values(access="invite", invite_code="Solidarity"),
    )
    from gathering.programme.release import release_programme

    programme = await load_programme(db, SLUG)
    await release_programme(db, programme.gathering.id, released_by=None)
    answers = {"constituency": "Cardiff West"}
    # Not eligible: the page says nothing different (eligibility is political information);
    # the session is left out and the address itself is told why.
    refused = await _register(db, "b@example.org", [closing], answers=answers)
    assert refused.places == {}
    [told] = await _outbox(db, "supporters_only")
    assert told.to_address == "b@example.org"
    assert told.context["sessions"] == [
        {"title": "Closing plenary", "access_note": "Sign the appeal first."}
    ]
    await _execute(
        db,
        sa.update(schema.registration)
        .where(schema.registration.c.email == "b@example.org")
        .values(status="cancelled"),
    )
    await _execute(
        db, sa.insert(schema.supporter).values(session_id=closing, email="b@example.org")
    )
    ok = await _register(db, "b@example.org", [closing], answers=answers)
    assert ok.places == {closing: "confirmed"}

    with pytest.raises(InvalidInput) as caught:
        await _register(
            db,
            "c@example.org",
            [organising],
            answers=answers,
            invite_codes={str(organising): "wrong"},
        )
    assert caught.value.errors == {
        f"invite_{organising}": "That invite code for "
        "“Organising locally: mutual aid and left groups” is not right."
    }
    ok = await _register(
        db,
        "c@example.org",
        [organising],
        answers=answers,
        invite_codes={str(organising): " solidarity "},
    )
    assert ok.places == {organising: "confirmed"}


async def test_forged_or_replayed_links(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await _register(db, "link@example.org", [])
    token = await _confirm(db, "link@example.org")
    registration_id = token.split("-")[0]
    for forged in (
        f"{registration_id}-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "1",
        "x" * 500,
        "../../etc",
        "²-x",  # a digit to str.isdigit, not to int()
        "9" * 30 + "-x",
    ):
        response = await client.get(f"/r/{forged}")
        assert response.status_code == 404, forged
        if "/" not in forged:
            assert "not valid any more" in response.text
    [mail] = await _outbox(db, "confirm_email")
    # Replaying the confirmation is harmless: same registration, no second ticket mail.
    again = await reg.confirm_registration(
        db, _token(mail.context["confirm_url"]), links=LINKS, confirm_hours=24
    )
    assert again.already is True
    assert len(await _outbox(db, "registration_confirmed")) == 1
    bad = await client.post(
        "/r/confirm/forged-token",
        data={"csrftoken": await csrf_from(client, "/r/confirm/forged-token")},
    )
    assert bad.status_code == 400
    assert "not valid" in bad.text


async def test_erasure_frees_the_place_and_offers_it_on(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _session(db, "Repeal the anti-union laws")
    ps = schema.programme_session
    await _execute(
        db, sa.update(ps).where(ps.c.id == session_id).values(capacity=ps.c.places_taken + 1)
    )
    await _register(
        db, "erase.me@example.org", [session_id], name="Erin Erasable", answers={"dietary": "Vegan"}
    )
    await _register(db, "next@example.org", [session_id])
    token = await _confirm(db, "erase.me@example.org")
    await _confirm(db, "next@example.org")  # only confirmed people are offered places

    download = await client.get(f"/r/{token}/data.json")
    held = download.json()
    assert (held["name"], held["email"], held["answers"]) == (
        "Erin Erasable",
        "erase.me@example.org",
        {"dietary": "Vegan"},
    )
    assert "attachment" in download.headers["content-disposition"]

    o = schema.outbox
    delivered = dt.datetime.now(dt.UTC)
    await _execute(
        db, sa.update(o).where(o.c.to_address == "erase.me@example.org").values(sent_at=delivered)
    )
    form = await csrf_from(client, f"/r/{token}/erase")
    erased = await client.post(f"/r/{token}/erase", data={"csrftoken": form})
    assert texts(parse_html(erased.text), "//h1") == ["Your data is erased"]
    r = schema.registration
    [row] = await _rows(db, sa.select(r).where(r.c.email.like("erased-%")))
    assert (row.name, row.answers, row.ticket_code, row.status) == ("", {}, None, "anonymised")
    assert (await client.get(f"/r/{token}")).status_code == 404
    sent = [m for m in await _rows(db, sa.select(schema.outbox)) if m.registration_id == row.id]
    assert sent  # the confirmation mails stay counted ...
    assert all(m.to_address.startswith("erased-") and m.context is None for m in sent)
    assert all("Erin" not in (m.body_text + m.subject) for m in sent)  # ... with nothing of Erin
    [offer] = await _outbox(db, "place_offered")
    assert offer.to_address == "next@example.org"
    assert [
        m
        for m in await _rows(db, sa.select(schema.outbox))
        if "erase.me" in m.to_address and m.sent_at is None
    ] == []


async def test_joining_link_appears_only_from_the_lead_time(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    online = await _session(db, "Organising locally: mutual aid and left groups")
    programme = await load_programme(db, SLUG)
    starts = programme.session(online).starts_at  # type: ignore[union-attr]
    await _register(db, "online@example.org", [online])
    token = await _confirm(db, "online@example.org")
    early = await reg.ticket(
        db,
        token,
        secret_key=TEST_SECRET,
        joining_link_minutes=30,
        now=starts - dt.timedelta(minutes=31),
    )
    assert not early.joining[online].is_open
    assert early.joining[online].opens_at == starts - dt.timedelta(minutes=30)
    due = await reg.ticket(
        db,
        token,
        secret_key=TEST_SECRET,
        joining_link_minutes=30,
        now=starts - dt.timedelta(minutes=29),
    )
    # Issue 20: the place's personal link (open now), never the meeting's address; issue 16:
    # before it opens the ticket does not carry it at all.
    assert due.joining[online].is_open
    assert early.joining[online].token == ""
    assert re.fullmatch(r"\d+-[A-Za-z0-9_-]{32}", due.joining[online].token)


async def test_ticket_needs_a_confirmed_registration(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await _register(db, "pending@example.org", [])
    [row] = await _rows(
        db,
        sa.select(schema.registration).where(schema.registration.c.email == "pending@example.org"),
    )
    token = reg.manage_token(TEST_SECRET, row.id, row.manage_key)
    with pytest.raises(NotFound):
        await reg.ticket(db, token, secret_key=TEST_SECRET, joining_link_minutes=30)


async def test_a_released_change_is_mailed_to_people_with_a_place(db: Database) -> None:
    from gathering.programme.release import release_programme
    from tests.factories import add_room

    await load_demo(db, secret_key=TEST_SECRET)
    target = await _session(db, "Repeal the anti-union laws")
    other = await _session(db, "Closing plenary")
    ps = schema.programme_session
    await _execute(
        db, sa.update(ps).where(ps.c.id == target).values(capacity=ps.c.places_taken + 1)
    )
    await _register(db, "placed@example.org", [target])
    await _register(db, "waiting@example.org", [target])
    await _register(db, "elsewhere@example.org", [other])
    for email in ("placed@example.org", "waiting@example.org", "elsewhere@example.org"):
        await _confirm(db, email)
    programme = await load_programme(db, SLUG)
    room = await add_room(db, programme.gathering.id)
    await _execute(db, sa.update(ps).where(ps.c.id == target).values(room_id=room))
    await release_programme(
        db, programme.gathering.id, released_by=None, on_release=reg.change_notifier(LINKS)
    )
    ours = {"placed@example.org", "waiting@example.org", "elsewhere@example.org"}
    changed = [m for m in await _outbox(db, "session_changed") if m.to_address in ours]
    assert [m.to_address for m in changed] == ["placed@example.org"]
    context = changed[0].context
    assert context["changes_text"] == [
        "Moved from Venue tbc to Main hall, Brighthelm Centre",
        "Details updated",  # the capacity set above is released too
    ]
    assert context["where_text"] == "Main hall, Brighthelm Centre"
    assert context["manage_url"].startswith(BASE + "/r/")


async def test_one_reminder_per_place_with_the_joining_link(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    online = await _session(db, "Organising locally: mutual aid and left groups")
    await _register(db, "remind.me@example.org", [online])
    await _confirm(db, "remind.me@example.org")
    starts = (await load_programme(db, SLUG)).session(online).starts_at  # type: ignore[union-attr]

    async def mine() -> list[Any]:
        return [
            m
            for m in await _outbox(db, "session_reminder")
            if m.to_address == "remind.me@example.org"
        ]

    too_early = starts - dt.timedelta(hours=4)
    await reg.queue_reminders(db, links=LINKS, reminder_hours=3, now=too_early)
    assert await mine() == []
    due = starts - dt.timedelta(hours=2)
    counts = await asyncio.gather(
        reg.queue_reminders(db, links=LINKS, reminder_hours=3, now=due),
        reg.queue_reminders(db, links=LINKS, reminder_hours=3, now=due),
    )
    reminders = await mine()
    assert len(reminders) == 1  # two replicas at once still send one
    assert sum(counts) >= 1
    # Issue 20: the place's personal link, never the meeting's address.
    assert re.fullmatch(BASE + r"/j/\d+-[A-Za-z0-9_-]{32}", reminders[0].context["joining_link"])
    assert "meet.example.org" not in json.dumps(reminders[0].context)
    assert reminders[0].context["manage_url"].startswith(BASE + "/r/")
    await reg.queue_reminders(db, links=LINKS, reminder_hours=3, now=due)
    assert len(await mine()) == 1
