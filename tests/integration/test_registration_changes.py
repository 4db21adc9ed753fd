"""Issue 16: people change their minds. Adding sessions from the manage link (same capacity
rules and place-taking code as registering), registering again, waiting lists that tell the
truth, giving up with a confirmation step and an undo window, and mail that says what happened.
Every test runs on both engines."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import icalendar
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.calendars import rules as calendars
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import Conflict, InvalidInput
from gathering.demo_data import NEXT_SLUG
from gathering.programme.release import load_programme, release_programme
from gathering.registration import changing, undoing
from gathering.registration import rules as reg
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, texts

pytestmark = pytest.mark.anyio
SLUG = NEXT_SLUG  # the demo's upcoming gathering: open for registration whenever it is loaded
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
WELCOME = "Welcome: reclaiming our party"
UNIONS = "Repeal the anti-union laws"
CLOSING = "Closing plenary"


async def _rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _execute(db: Database, statement: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_write)


async def _outbox(db: Database, kind: str, to: str | None = None) -> list[Any]:
    o = schema.outbox
    query = sa.select(o).where(o.c.kind == kind).order_by(o.c.id)
    if to is not None:
        query = query.where(o.c.to_address == to)
    return await _rows(db, query)


async def _session(db: Database, title: str) -> int:
    programme = await load_programme(db, SLUG)
    return next(s.id for s in programme.sessions if s.title == title)


async def _fill(db: Database, session_id: int, places_left: int = 0) -> None:
    ps = schema.programme_session
    await _execute(
        db,
        sa.update(ps).where(ps.c.id == session_id).values(capacity=ps.c.places_taken + places_left),
    )


async def _taken(db: Database, session_id: int) -> int:
    ps = schema.programme_session
    [row] = await _rows(db, sa.select(ps.c.places_taken).where(ps.c.id == session_id))
    return int(row.places_taken)


async def _ticket_type(db: Database, position: int = 0) -> str:
    t, g = schema.ticket_type, schema.gathering
    rows = await _rows(
        db,
        sa.select(t.c.id)
        .join(g, g.c.id == t.c.gathering_id)
        .where(g.c.slug == SLUG)
        .order_by(t.c.position, t.c.id),
    )
    return str(rows[position].id)


def _token(url: str) -> str:
    return urlsplit(url).path.split("/")[2]


async def _register(db: Database, email: str, titles: list[str], **extra: Any) -> reg.Registered:
    form = reg.RegistrationInput(
        name=extra.pop("name", "Test Person"),
        email=email,
        ticket_type_id=await _ticket_type(db),
        session_ids=tuple([str(await _session(db, t)) for t in titles]),
    )
    return await reg.register(db, SLUG, form, links=LINKS, confirm_hours=24)


async def _confirm(db: Database, email: str) -> str:
    """Register-confirm through the queued link; the manage token."""
    [message] = await _outbox(db, "confirm_email", email)
    done = await reg.confirm_registration(
        db,
        urlsplit(message.context["confirm_url"]).path.rsplit("/", 1)[1],
        links=LINKS,
        confirm_hours=24,
    )
    return _token(done.manage_url)


async def _booked(db: Database, email: str, titles: list[str]) -> str:
    await _register(db, email, titles)
    return await _confirm(db, email)


async def _places(db: Database, email: str) -> dict[str, str]:
    p, r, s = schema.session_place, schema.registration, schema.programme_session
    rows = await _rows(
        db,
        sa.select(s.c.title, p.c.status)
        .join(p, p.c.session_id == s.c.id)
        .join(r, r.c.id == p.c.registration_id)
        .where(r.c.email == email),
    )
    return {row.title: row.status for row in rows}


def _ics_titles(message: Any) -> list[str]:
    [ics] = [a for a in message.attachments if a["kind"] == "file"]
    return sorted(
        str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(ics["text"]).walk("VEVENT")
    )


# --- 1. registering again, adding sessions -----------------------------------------------------


async def test_registering_again_mails_the_manage_link_instead_of_silently_adding_nothing(
    db: Database,
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await _booked(db, "again@example.org", [WELCOME])
    again = await _register(db, "Again@Example.org", [UNIONS], name="Someone Else")
    assert again.registration_id is None
    assert await _places(db, "again@example.org") == {WELCOME: "confirmed"}
    # Not a second "confirmed" mail listing no sessions: a mail saying what happened.
    assert len(await _outbox(db, "registration_confirmed", "again@example.org")) == 1
    [told] = await _outbox(db, "already_registered", "again@example.org")
    assert told.context["name"] == "Test Person"
    assert told.context["asked"] == [UNIONS]
    add_url = urlsplit(told.context["add_url"])
    assert add_url.path.endswith("/sessions")
    assert parse_qs(add_url.query) == {"session": [str(await _session(db, UNIONS))]}
    assert told.context["manage_url"].startswith(BASE + "/r/")


async def test_adding_a_session_books_it_and_the_mail_ticket_and_feed_follow(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    token = await _booked(db, "adder@example.org", [WELCOME])
    unions = await _session(db, UNIONS)
    page = parse_html((await client.get(f"/r/{token}/sessions?session={unions}")).text)
    assert page.xpath(f"//input[@id='session-{unions}']/@checked") == ["checked"]
    assert page.xpath(f"//input[@id='session-{await _session(db, WELCOME)}']") == []  # held
    form = await csrf_from(client, f"/r/{token}/sessions")
    before = await _taken(db, unions)
    added = await client.post(
        f"/r/{token}/sessions", data={"csrftoken": form, "session_ids": [str(unions)]}
    )
    assert added.status_code == 303
    assert added.headers["location"].endswith("?done=added")
    assert await _places(db, "adder@example.org") == {WELCOME: "confirmed", UNIONS: "confirmed"}
    assert await _taken(db, unions) == before + 1

    [changed] = await _outbox(db, "booking_changed", "adder@example.org")
    assert changed.context["has_ticket"] is True
    assert [s["title"] for s in changed.context["places"]] == [WELCOME, UNIONS]
    assert changed.context["waiting"] == []
    assert changed.context["changes"] == [f"You have a place at “{UNIONS}”."]
    assert _ics_titles(changed) == sorted([WELCOME, UNIONS])
    assert {"kind": "qr_png", "cid": "ticket-qr", "data": changed.context["ticket_code"]} in (
        changed.attachments
    )
    manage = parse_html((await client.get(added.headers["location"])).text)
    assert texts(manage, "//ul[@id='places']/li/a[1]") == [WELCOME, UNIONS]
    ticket = parse_html((await client.get(f"/r/{token}/ticket")).text)
    assert [t.strip() for t in texts(ticket, "//article//li/strong")] == [WELCOME, UNIONS]
    r = schema.registration
    [row] = await _rows(db, sa.select(r.c.feed_key).where(r.c.email == "adder@example.org"))
    agenda = await calendars.load_agenda(db, row.feed_key)
    assert [s.title for s in agenda.sessions] == [WELCOME, UNIONS]


async def test_adding_a_full_session_joins_its_waiting_list_and_bad_choices_say_why(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    token = await _booked(db, "full@example.org", [WELCOME])
    unions = await _session(db, UNIONS)
    await _fill(db, unions)
    form = await csrf_from(client, f"/r/{token}/sessions")
    nothing = await client.post(f"/r/{token}/sessions", data={"csrftoken": form})
    assert nothing.status_code == 422
    assert texts(parse_html(nothing.text), "//fieldset[@id='session_ids']/p[@class='error']") == [
        "Choose at least one session to add."
    ]
    forged = await client.post(
        f"/r/{token}/sessions", data={"csrftoken": form, "session_ids": ["999999"]}
    )
    assert forged.status_code == 422
    assert "Choose sessions from the programme" in forged.text
    added = await client.post(
        f"/r/{token}/sessions", data={"csrftoken": form, "session_ids": [str(unions)]}
    )
    assert added.headers["location"].endswith("?done=waiting")
    assert await _places(db, "full@example.org") == {WELCOME: "confirmed", UNIONS: "waitlisted"}
    [changed] = await _outbox(db, "booking_changed", "full@example.org")
    assert [s["title"] for s in changed.context["places"]] == [WELCOME]
    assert [s["title"] for s in changed.context["waiting"]] == [UNIONS]
    assert changed.context["changes"] == [f"“{UNIONS}” is full: you are on its waiting list."]
    assert _ics_titles(changed) == [WELCOME]  # a waiting-list entry is not in the calendar
    # Adding it again is harmless: nothing new, no mail.
    again = await changing.add_sessions(db, token, (str(unions),), {}, links=LINKS)
    assert again.places == {}
    assert len(await _outbox(db, "booking_changed", "full@example.org")) == 1


async def test_two_people_adding_the_last_place_at_once_get_one_place(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    unions = await _session(db, UNIONS)
    first = await _booked(db, "one@example.org", [])
    second = await _booked(db, "two@example.org", [])
    await _fill(db, unions, places_left=1)
    capacity = await _taken(db, unions) + 1
    results = await asyncio.gather(
        changing.add_sessions(db, first, (str(unions),), {}, links=LINKS),
        changing.add_sessions(db, second, (str(unions),), {}, links=LINKS),
    )
    assert sorted(r.places[unions] for r in results) == ["confirmed", "waitlisted"]
    assert await _taken(db, unions) == capacity
    statuses = [
        (await _places(db, "one@example.org"))[UNIONS],
        (await _places(db, "two@example.org"))[UNIONS],
    ]
    assert sorted(statuses) == ["confirmed", "waitlisted"]


async def test_changing_the_ticket_type(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    token = await _booked(db, "type@example.org", [WELCOME])
    other = await _ticket_type(db, 1)
    form = await csrf_from(client, f"/r/{token}")
    bad = await client.post(
        f"/r/{token}/ticket-type", data={"csrftoken": form, "ticket_type_id": "x"}
    )
    assert bad.status_code == 422
    assert texts(parse_html(bad.text), "//p[@id='ticket_type_id-error']") == [
        "Choose a ticket type."
    ]
    done = await client.post(
        f"/r/{token}/ticket-type", data={"csrftoken": form, "ticket_type_id": other}
    )
    assert done.status_code == 303
    r = schema.registration
    [row] = await _rows(db, sa.select(r.c.ticket_type_id).where(r.c.email == "type@example.org"))
    assert str(row.ticket_type_id) == other
    [changed] = await _outbox(db, "booking_changed", "type@example.org")
    assert changed.context["changes"][0].startswith("Your ticket type is now ")


# --- 2. waiting lists tell the truth -----------------------------------------------------------


async def test_someone_only_on_a_waiting_list_is_told_so_and_gets_no_ticket(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    unions = await _session(db, UNIONS)
    await _fill(db, unions)
    token = await _booked(db, "waiting@example.org", [UNIONS])
    [mail] = await _outbox(db, "registration_confirmed", "waiting@example.org")
    assert mail.context["has_ticket"] is False
    assert mail.context["ticket_code"] == ""
    assert [s["title"] for s in mail.context["waiting"]] == [UNIONS]
    assert mail.context["places"] == []
    assert [a["kind"] for a in mail.attachments] == []  # no QR code, no calendar of nothing
    manage = parse_html((await client.get(f"/r/{token}?confirmed=1")).text)
    assert "You're on the waiting list" in texts(manage, "//p[@role='status']")[0]
    assert texts(manage, "//p[@id='waiting-only']")[0].startswith(
        f"You're on the waiting list for {UNIONS}."
    )
    assert texts(manage, "//a[.='Show my ticket']") == []
    assert texts(manage, "//ul[@id='waiting']/li/a[1]") == [UNIONS]
    ticket = await client.get(f"/r/{token}/ticket")
    assert ticket.status_code == 404
    assert "only on the waiting list" in ticket.text
    assert (await client.get(f"/r/{token}/ticket.png")).status_code == 404


async def test_an_offer_names_the_session_and_taking_it_mails_the_ticket(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    unions = await _session(db, UNIONS)
    await _fill(db, unions, places_left=1)
    first = await _booked(db, "placed@example.org", [UNIONS])
    await _booked(db, "next@example.org", [UNIONS, WELCOME])
    booking = await reg.booking(db, first, secret_key=TEST_SECRET)
    await reg.cancel_place(db, first, booking.places[0].id, links=LINKS, offer_hours=24)
    [offer] = await _outbox(db, "place_offered", "next@example.org")
    # The rest of the booking, places and waiting-list entries apart (not the offered one).
    assert ([s["title"] for s in offer.context["places"]], offer.context["waiting"]) == (
        [WELCOME],
        [],
    )
    path = urlsplit(offer.context["accept_url"]).path
    page = parse_html((await client.get(path)).text)
    assert texts(page, "//h1") == [f"A place has freed up for you at “{UNIONS}”"]
    assert "It is held for you until" in page.text_content()
    taken = await client.post(path, data={"csrftoken": await csrf_from(client, path)})
    assert taken.status_code == 303
    [mail] = await _outbox(db, "booking_changed", "next@example.org")
    assert mail.context["has_ticket"] is True
    assert [s["title"] for s in mail.context["places"]] == [UNIONS, WELCOME]
    assert mail.context["changes"] == [f"You took up the place offered to you at “{UNIONS}”."]
    again = await client.get(path)
    assert again.status_code == 410
    assert "You took up this place already" in again.text


# --- 6. mail that says what happened; giving up asks first and can be undone --------------------


async def test_a_cancelled_session_is_mailed_as_a_cancellation(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    unions = await _session(db, UNIONS)
    await _fill(db, unions, places_left=1)
    await _booked(db, "seat@example.org", [UNIONS])
    await _booked(db, "queue@example.org", [UNIONS])
    ps = schema.programme_session
    await _execute(db, sa.update(ps).where(ps.c.id == unions).values(status="cancelled"))
    programme = await load_programme(db, SLUG)
    await release_programme(
        db, programme.gathering.id, released_by=None, on_release=reg.change_notifier(LINKS)
    )
    ours = ("seat@example.org", "queue@example.org")
    assert [m for m in await _outbox(db, "session_changed") if m.to_address in ours] == []
    cancelled = [m for m in await _outbox(db, "session_cancelled") if m.to_address in ours]
    assert sorted((m.to_address, m.context["status"]) for m in cancelled) == [
        ("queue@example.org", "waitlisted"),
        ("seat@example.org", "confirmed"),
    ]
    assert all(m.context["session_title"] == UNIONS for m in cancelled)
    assert all("Cancelled" not in m.context["changes_text"] for m in cancelled)


async def test_giving_up_asks_first_holds_the_place_for_the_undo_window_then_offers_it_once(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    unions = await _session(db, UNIONS)
    await _fill(db, unions, places_left=1)
    token = await _booked(db, "giver@example.org", [UNIONS])
    await _booked(db, "waiter@example.org", [UNIONS])
    taken = await _taken(db, unions)
    booking = await reg.booking(db, token, secret_key=TEST_SECRET)
    place = booking.places[0].id
    asked = parse_html((await client.get(f"/r/{token}/places/{place}/cancel")).text)
    assert texts(asked, "//h1") == [f"Give up your place at “{UNIONS}”?"]
    assert await _places(db, "giver@example.org") == {UNIONS: "confirmed"}  # asking changes nothing
    form = await csrf_from(client, f"/r/{token}")
    gone = await client.post(f"/r/{token}/places/{place}/cancel", data={"csrftoken": form})
    assert gone.status_code == 303
    notice = texts(
        parse_html((await client.get(gone.headers["location"])).text), "//p[@role='status']"
    )
    assert notice[0].startswith(f"You gave up “{UNIONS}”. Changed your mind? You can undo it until")
    assert await _places(db, "giver@example.org") == {UNIONS: "cancelled"}
    assert await _taken(db, unions) == taken  # held for the undo window: nobody can take it
    assert await _outbox(db, "place_offered") == []

    undone = await client.post(f"/r/{token}/places/{place}/undo", data={"csrftoken": form})
    assert undone.status_code == 303
    assert await _places(db, "giver@example.org") == {UNIONS: "confirmed"}

    # Given up again and not undone: the window closes, the next person is offered it, once.
    await client.post(f"/r/{token}/places/{place}/cancel", data={"csrftoken": form})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    for _ in range(2):
        await reg.expire_overdue(db, links=LINKS, offer_hours=24, now=later)
    [offer] = await _outbox(db, "place_offered")
    assert offer.to_address == "waiter@example.org"
    assert await _places(db, "waiter@example.org") == {UNIONS: "offered"}
    assert await _taken(db, unions) == taken
    [final] = await _outbox(db, "booking_changed", "giver@example.org")
    assert final.context["changes"] == [f"You gave up your place at “{UNIONS}”."]
    late = await client.post(f"/r/{token}/places/{place}/undo", data={"csrftoken": form})
    assert late.status_code == 409
    assert "too late to undo" in late.text


async def test_an_undo_racing_the_window_closing_wins_or_loses_whole(db: Database) -> None:
    """Undo and the housekeeping's closing at once: the place comes back or goes on, never both,
    and the next person is offered it at most once."""
    await load_demo(db, secret_key=TEST_SECRET)
    unions = await _session(db, UNIONS)
    await _fill(db, unions, places_left=1)
    token = await _booked(db, "racer@example.org", [UNIONS])
    await _booked(db, "patient@example.org", [UNIONS])
    taken = await _taken(db, unions)
    booking = await reg.booking(db, token, secret_key=TEST_SECRET)
    now = dt.datetime.now(dt.UTC)
    until = await reg.cancel_place(
        db, token, booking.places[0].id, links=LINKS, offer_hours=24, undo_minutes=5, now=now
    )
    assert until == now + dt.timedelta(minutes=5)
    # The undo's clock still in the window, the closing's past it: both think they may act.
    results = await asyncio.gather(
        undoing.undo_give_up(
            db,
            token,
            booking.places[0].id,
            secret_key=TEST_SECRET,
            now=until - dt.timedelta(seconds=1),
        ),
        reg.expire_overdue(db, links=LINKS, offer_hours=24, now=until + dt.timedelta(seconds=1)),
        return_exceptions=True,
    )
    mine = (await _places(db, "racer@example.org"))[UNIONS]
    theirs = (await _places(db, "patient@example.org"))[UNIONS]
    offers = await _outbox(db, "place_offered")
    if mine == "confirmed":
        assert (theirs, len(offers), results[0]) == ("waitlisted", 0, "confirmed")
    else:
        assert (mine, theirs, len(offers)) == ("cancelled", "offered", 1)
        assert isinstance(results[0], Conflict)
    assert await _taken(db, unions) == taken


async def test_cancelling_everything_asks_first_and_can_be_undone(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    token = await _booked(db, "quitter@example.org", [WELCOME, UNIONS])
    asked = parse_html((await client.get(f"/r/{token}/cancel")).text)
    assert texts(asked, "//h1") == [
        "Cancel your whole registration for Don't Leave, Organise: the next national gathering?"
    ]
    form = await csrf_from(client, f"/r/{token}")
    r = schema.registration
    [before] = await _rows(db, sa.select(r).where(r.c.email == "quitter@example.org"))
    done = await client.post(f"/r/{token}/cancel", data={"csrftoken": form})
    assert texts(parse_html(done.text), "//button") == ["Undo: bring my registration back"]
    [row] = await _rows(db, sa.select(r).where(r.c.id == before.id))
    assert (row.status, row.ticket_code) == ("cancelled", before.ticket_code)
    assert await _places(db, "quitter@example.org") == {WELCOME: "cancelled", UNIONS: "cancelled"}
    assert await _outbox(db, "registration_cancelled", "quitter@example.org") == []

    back = await client.post(f"/r/{token}/undo", data={"csrftoken": form})
    assert back.headers["location"].endswith("?done=restored")
    [row] = await _rows(db, sa.select(r).where(r.c.id == before.id))
    assert (row.status, row.ticket_code, row.undo_until) == ("confirmed", before.ticket_code, None)
    assert await _places(db, "quitter@example.org") == {WELCOME: "confirmed", UNIONS: "confirmed"}

    unions = await _session(db, UNIONS)
    taken = await _taken(db, unions)
    await client.post(f"/r/{token}/cancel", data={"csrftoken": form})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    await reg.expire_overdue(db, links=LINKS, offer_hours=24, now=later)
    [row] = await _rows(db, sa.select(r).where(r.c.id == before.id))
    assert (row.status, row.ticket_code, row.undo_until) == ("cancelled", None, None)
    assert await _taken(db, unions) == taken - 1
    [mail] = await _outbox(db, "registration_cancelled", "quitter@example.org")
    assert mail.context["what_text"] == "your registration and every session place in it"
    assert await _outbox(db, "booking_changed", "quitter@example.org") == []
    late = await client.post(f"/r/{token}/undo", data={"csrftoken": form})
    assert late.status_code == 409


async def test_undo_is_refused_when_the_address_registered_again_meanwhile(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    token = await _booked(db, "twice@example.org", [WELCOME])
    await reg.cancel_registration(db, token, links=LINKS, offer_hours=24, undo_minutes=5)
    await _register(db, "twice@example.org", [UNIONS])
    with pytest.raises(Conflict) as refused:
        await undoing.undo_cancellation(db, token, secret_key=TEST_SECRET)
    assert "registered again since" in str(refused.value)
    with pytest.raises(InvalidInput) as cancelled:
        await changing.add_sessions(db, token, (str(await _session(db, UNIONS)),), {}, links=LINKS)
    assert cancelled.value.errors == {"session_ids": "This registration is cancelled."}


async def test_adding_follows_the_forms_rules_invite_codes_closed_registration_and_requeueing(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    token = await _booked(db, "rules@example.org", [WELCOME])
    unions, closing = await _session(db, UNIONS), await _session(db, CLOSING)
    ps = schema.programme_session
    await _execute(
        db, sa.update(ps).where(ps.c.id == closing).values(access="invite", invite_code="Unity")
    )
    programme = await load_programme(db, SLUG)
    await release_programme(db, programme.gathering.id, released_by=None)
    form = await csrf_from(client, f"/r/{token}/sessions")
    missing = await client.post(
        f"/r/{token}/sessions", data={"csrftoken": form, "session_ids": [str(closing)]}
    )
    assert missing.status_code == 422
    page = parse_html(missing.text)
    assert texts(page, f"//p[@id='invite_{closing}-error']") == [
        f"“{CLOSING}” needs its invite code."
    ]
    assert page.xpath(f"//input[@id='session-{closing}']/@checked") == ["checked"]  # kept
    ok = await client.post(
        f"/r/{token}/sessions",
        data={"csrftoken": form, "session_ids": [str(closing)], f"invite_{closing}": " unity "},
    )
    assert ok.status_code == 303
    assert (await _places(db, "rules@example.org"))[CLOSING] == "confirmed"

    # A place given up for good and booked again goes to the back of the waiting list.
    await _fill(db, unions, places_left=1)
    await changing.add_sessions(db, token, (str(unions),), {}, links=LINKS)
    await _booked(db, "behind@example.org", [UNIONS])  # full now: waits
    booking = await reg.booking(db, token, secret_key=TEST_SECRET)
    place = next(p for p in booking.places if p.session.id == unions)
    await reg.cancel_place(db, token, place.id, links=LINKS, offer_hours=24, undo_minutes=5)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    await reg.expire_overdue(db, links=LINKS, offer_hours=24, now=later)
    assert (await _places(db, "behind@example.org"))[UNIONS] == "offered"
    again = await changing.add_sessions(db, token, (str(unions),), {}, links=LINKS, now=later)
    assert again.places == {unions: "waitlisted"}

    # Registration closed by the organisers: the add page says so and nothing is added.
    g = schema.gathering
    await _execute(db, sa.update(g).where(g.c.slug == SLUG).values(registration_open=False))
    shown = parse_html((await client.get(f"/r/{token}/sessions")).text)
    assert texts(shown, "//form[.//button[.='Add']]") == []
    assert texts(shown, "//p[@class='notice']")[0].startswith("Registration is not open")
    refused = await client.post(
        f"/r/{token}/sessions", data={"csrftoken": form, "session_ids": [str(unions)]}
    )
    assert refused.status_code == 422


async def test_undoing_a_cancellation_racing_its_closing_is_all_or_nothing(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    unions = await _session(db, UNIONS)
    await _fill(db, unions, places_left=1)
    token = await _booked(db, "all@example.org", [WELCOME, UNIONS])
    await _booked(db, "hopeful@example.org", [UNIONS])
    taken = await _taken(db, unions)
    now = dt.datetime.now(dt.UTC)
    until = await reg.cancel_registration(
        db, token, links=LINKS, offer_hours=24, undo_minutes=5, now=now
    )
    assert until is not None
    results = await asyncio.gather(
        undoing.undo_cancellation(
            db, token, secret_key=TEST_SECRET, now=until - dt.timedelta(seconds=1)
        ),
        reg.expire_overdue(db, links=LINKS, offer_hours=24, now=until + dt.timedelta(seconds=1)),
        return_exceptions=True,
    )
    r = schema.registration
    [row] = await _rows(db, sa.select(r).where(r.c.email == "all@example.org"))
    mine = await _places(db, "all@example.org")
    offers = await _outbox(db, "place_offered", "hopeful@example.org")
    if row.status == "confirmed":
        assert results[0] is None
        assert mine == {WELCOME: "confirmed", UNIONS: "confirmed"}
        assert offers == []
    else:
        assert isinstance(results[0], Conflict)
        assert (row.status, row.ticket_code) == ("cancelled", None)
        assert mine == {WELCOME: "cancelled", UNIONS: "cancelled"}
        assert len(offers) == 1
    assert await _taken(db, unions) == taken
