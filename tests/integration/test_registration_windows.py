"""Registration windows (issue 16, item 3): a past gathering is not bookable, anywhere."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import clock, schema
from gathering.core.database import Database
from gathering.core.errors import Conflict
from gathering.demo import NEXT_SLUG
from gathering.programme.release import load_programme
from gathering.registration import rules as reg
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import parse_html, texts

pytestmark = pytest.mark.anyio
CONFERENCE = "labour-conference-2019"
LONDON = zoneinfo.ZoneInfo("Europe/London")
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


async def _count(db: Database, table: sa.Table) -> int:
    async def _read(conn: AsyncConnection) -> int:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())

    return await db.read(_read)


async def _first_public_session(db: Database, slug: str) -> int:
    programme = await load_programme(db, slug)
    return next(s.id for s in programme.sessions if s.access == "public")


async def test_a_2019_session_cannot_be_booked_today(db: Database) -> None:
    """Reproduces the report: a 2019 session was confirmed in December 2026."""
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _first_public_session(db, CONFERENCE)
    before: dict[str, Any] = {
        "registration": await _count(db, schema.registration),
        "place": await _count(db, schema.session_place),
    }
    form = reg.RegistrationInput(
        name="Late Comer", email="late@example.org", session_ids=(str(session_id),)
    )
    with pytest.raises(Conflict) as refused:
        await reg.register(db, CONFERENCE, form, links=LINKS, confirm_hours=24)
    assert "ended" in refused.value.message
    assert await _count(db, schema.registration) == before["registration"]
    assert await _count(db, schema.session_place) == before["place"]


async def test_the_api_refuses_a_past_gathering_with_its_reason(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _first_public_session(db, CONFERENCE)
    registrations = await _count(db, schema.registration)
    form = await client.get(f"/api/gatherings/{CONFERENCE}/registration")
    assert form.status_code == 200
    assert form.json()["is_open"] is False
    answer = await client.post(
        f"/api/gatherings/{CONFERENCE}/registrations",
        json={"name": "Late Comer", "email": "late@example.org", "session_ids": [session_id]},
    )
    assert answer.status_code == 409
    assert "ended" in answer.text
    assert await _count(db, schema.registration) == registrations


# --- the demo: its next gathering is always ahead -------------------------------------------


async def _gathering_dates(db: Database, slug: str) -> tuple[dt.date, list[dt.datetime], int]:
    async def _read(conn: AsyncConnection) -> tuple[dt.date, list[dt.datetime], int]:
        g, s = schema.gathering, schema.programme_session
        row = (
            await conn.execute(
                sa.select(g.c.id, g.c.starts_on, g.c.released_version).where(g.c.slug == slug)
            )
        ).one()
        starts = (
            await conn.execute(
                sa.select(s.c.starts_at).where(s.c.gathering_id == row.id).order_by(s.c.starts_at)
            )
        ).scalars()
        return row.starts_on, list(starts), int(row.released_version)

    return await db.read(_read)


async def test_the_demo_offers_an_upcoming_gathering_and_keeps_history(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    today = dt.datetime.now(LONDON).date()
    starts_on, sessions, _ = await _gathering_dates(db, NEXT_SLUG)
    assert starts_on > today + dt.timedelta(weeks=5)
    assert starts_on.weekday() == 5  # a Saturday
    assert all(s.astimezone(LONDON).date() == starts_on for s in sessions)
    # The seeds' conference and gathering keep their real dates.
    assert (await _gathering_dates(db, CONFERENCE))[0] == dt.date(2019, 9, 21)
    assert (await _gathering_dates(db, "dont-leave-organise-2021"))[0] == dt.date(2021, 9, 18)
    form = await client.get(f"/api/gatherings/{NEXT_SLUG}/registration")
    assert form.json()["is_open"] is True
    assert len(form.json()["sessions"]) == 5


async def test_loading_the_demo_after_its_next_gathering_moves_it_ahead(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = dt.datetime.now(dt.UTC)
    await load_demo(db, secret_key=TEST_SECRET)
    old_day, old_sessions, old_release = await _gathering_dates(db, NEXT_SLUG)
    later = first + dt.timedelta(days=80)  # its day has passed
    monkeypatch.setattr(clock, "utc_now", lambda: later)
    await load_demo(db, secret_key=TEST_SECRET)
    new_day, new_sessions, new_release = await _gathering_dates(db, NEXT_SLUG)
    assert new_day > later.astimezone(LONDON).date() + dt.timedelta(weeks=5)
    assert new_day.weekday() == 5
    shift = new_day - old_day
    assert new_sessions == [s + shift for s in old_sessions]
    assert new_release == old_release + 1  # released again: the moves are on its changes page
    # Loading once more the same day moves nothing.
    await load_demo(db, secret_key=TEST_SECRET)
    assert (await _gathering_dates(db, NEXT_SLUG))[0] == new_day


# --- public pages say why, and change by themselves at the window's edges ---------------------


async def _set(db: Database, table: sa.Table, row_id: int, **values: Any) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(sa.update(table).where(table.c.id == row_id).values(**values))

    await db.write(_write)


async def _next(db: Database) -> tuple[int, int, int]:
    """The next gathering's id, its plenary's id and its online session's id."""
    programme = await load_programme(db, NEXT_SLUG)
    plenary = next(s.id for s in programme.sessions if s.title.startswith("Welcome"))
    online = next(s.id for s in programme.sessions if s.format == "online")
    return programme.gathering.id, plenary, online


def _state(page: httpx.Response) -> tuple[list[str], list[str]]:
    doc = parse_html(page.text)
    return texts(doc, "//*[@id='registration-state']"), texts(doc, "//p[@class='register']/a")


async def test_a_past_gatherings_pages_show_no_register_button_and_say_why(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _first_public_session(db, CONFERENCE)
    page = await client.get(f"/g/{CONFERENCE}/s/{session_id}")
    assert page.status_code == 200
    assert _state(page) == (["Registration is closed: this session has ended."], [])
    assert parse_html(page.text).xpath("//dd[@class='places']") == []  # no places "left"
    programme = await client.get(f"/g/{CONFERENCE}")
    assert _state(programme) == (["Registration is closed: this gathering has ended."], [])
    form = parse_html((await client.get(f"/g/{CONFERENCE}/register")).text)
    assert texts(form, "//*[@id='registration-state']") == [
        "Registration is closed: this gathering has ended."
    ]
    assert form.xpath("//form[@method='post']") == []


async def test_the_session_page_follows_the_window_on_the_app_clock(
    db: Database, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    gathering_id, plenary, _ = await _next(db)
    path = f"/g/{NEXT_SLUG}/s/{plenary}"
    open_page = await client.get(path)
    assert _state(open_page)[1] == ["Register for this session"]

    now = clock.utc_now()
    opens, closes = now + dt.timedelta(hours=1), now + dt.timedelta(hours=3)
    await _set(
        db,
        schema.gathering,
        gathering_id,
        registration_opens_at=opens,
        registration_closes_at=closes,
    )
    before = await client.get(path)
    opens_text = before.text
    assert _state(before) == ([f"Registration opens on {_moment(opens)}."], [])
    assert before.headers["x-page-cache"] == "miss"
    again = await client.get(path)
    assert again.headers["x-page-cache"] == "hit"  # kept while nothing changes
    assert again.text == opens_text

    # No write, no release: only the clock moves past the opening.
    monkeypatch.setattr(clock, "utc_now", lambda: opens + dt.timedelta(minutes=1))
    opened = await client.get(path)
    assert opened.headers["x-page-cache"] == "miss"
    assert _state(opened) == (
        [f"Registration is open until {_moment(closes)}."],
        ["Register for this session"],
    )
    assert (await client.get(path)).headers["x-page-cache"] == "hit"
    monkeypatch.setattr(clock, "utc_now", lambda: closes)
    closed = await client.get(path)
    assert _state(closed) == ([f"Registration closed on {_moment(closes)}."], [])
    # The programme page too.
    assert _state(await client.get(f"/g/{NEXT_SLUG}")) == (
        [f"Registration closed on {_moment(closes)}."],
        [],
    )


def _moment(moment: dt.datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} {local.tzname()}"


async def test_a_full_session_offers_the_waiting_list_and_a_closed_one_says_so(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    gathering_id, plenary, online = await _next(db)
    ps = schema.programme_session
    await _set(db, ps, plenary, places_taken=ps.c.capacity)
    assert _state(await client.get(f"/g/{NEXT_SLUG}/s/{plenary}")) == (
        ["Full — join the waiting list."],
        ["Join the waiting list"],
    )
    # A session with its own window, opening later: its page says so and the form leaves it out.
    later = clock.utc_now() + dt.timedelta(days=2)
    await _set(db, ps, online, registration_opens_at=later)
    assert _state(await client.get(f"/g/{NEXT_SLUG}/s/{online}")) == (
        [f"Registration opens on {_moment(later)}."],
        [],
    )
    form = parse_html((await client.get(f"/g/{NEXT_SLUG}/register")).text)
    offered = form.xpath("//input[@name='session_ids']/@value")
    assert str(plenary) in offered
    assert str(online) not in offered
    # Organisers closing it: the pages say nobody can register yet, the POST is refused.
    await _set(db, schema.gathering, gathering_id, registration_open=False)
    assert _state(await client.get(f"/g/{NEXT_SLUG}")) == (
        ["Registration is not open: the organisers have not opened it."],
        [],
    )
    form = reg.RegistrationInput(name="A Person", email="a.person@example.org")
    with pytest.raises(Conflict) as refused:
        await reg.register(db, NEXT_SLUG, form, links=LINKS, confirm_hours=24)
    assert refused.value.message == "Registration is not open: the organisers have not opened it."
