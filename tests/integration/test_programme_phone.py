"""The programme for people on the move (issue 16 #7, #8): the speakers and organisations indexes,
now and next (time moved with the app clock), the starred sessions' page and calendar feed, and
the programme page's folded tools and timetable grid. Both engines."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from gathering.core import clock, schema
from gathering.core.database import Database
from gathering.programme.release import PublicSession, load_programme, release_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.factories import add_room
from tests.helpers import parse_html, texts
from tests.integration.test_public_speed_cache import assert_remembered, counted, remember_long

pytestmark = pytest.mark.anyio
CONFERENCE = "labour-conference-2019"
NATIONAL = "dont-leave-organise-2021"
PS = schema.programme_session


async def _execute(db: Database, statement: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_write)


async def _demo(db: Database, slug: str = NATIONAL) -> dict[str, PublicSession]:
    await load_demo(db, secret_key=TEST_SECRET)
    return {s.title: s for s in (await load_programme(db, slug)).sessions}


async def _release(db: Database, slug: str) -> None:
    programme = await load_programme(db, slug)
    await release_programme(db, programme.gathering.id, released_by=None)


@pytest.fixture
def moment(monkeypatch: pytest.MonkeyPatch) -> list[dt.datetime]:
    """The app clock, set by the test: ``moment[0] = instant``."""
    now = [dt.datetime.now(dt.UTC)]
    monkeypatch.setattr(clock, "utc_now", lambda: now[0])
    return now


# --- /speakers and /organisations ---------------------------------------------------------


async def test_speakers_index_lists_released_speakers_by_name_with_links(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    await _demo(db)
    # A speaker in a session that was never released stays off the index.
    S = schema.speaker
    await _execute(
        db,
        sa.insert(S).values(
            slug="not-announced", name="Aaron Unannounced", created_at=dt.datetime.now(dt.UTC)
        ),
    )
    since = remember_long(app)
    with counted(app) as miss:
        response = await client.get("/speakers")
    assert response.status_code == 200
    assert response.headers["x-page-cache"] == "miss"
    # The version, the listed gatherings, 3 per released programme, the speakers' current rows.
    assert len(miss) <= 12, miss
    doc = parse_html(response.text)
    names = texts(doc, "//main//ul[@class='index-list']/li/a")
    assert names == [
        "Asa Winstanley",
        "Ben Selby",
        "Chris Williamson",
        "Graham Bash",
        "Haneen Zoabi",
        "Ian Hodson",
        "Ilan Pappé",
        "Jackie Walker",
        "Jo Bird",
        "Ken Livingstone",
        "Laura Pidcock",
        "Tosh McDonald",
    ]
    hrefs = doc.xpath("//main//ul[@class='index-list']/li/a/@href")
    assert urlsplit(hrefs[0]).path == "/speakers/asa-winstanley"
    speaker = parse_html((await client.get(hrefs[0])).text)
    assert texts(speaker, "//h1") == ["Asa Winstanley"]
    # Chris Williamson speaks twice at conference; the count says so.
    chris = next(
        li for li in doc.xpath("//ul[@class='index-list']/li") if "Chris" in li.text_content()
    )
    assert "2 sessions" in " ".join(chris.text_content().split())
    with counted(app) as hit:
        again = await client.get("/speakers")
    assert again.headers["x-page-cache"] == "hit"
    assert_remembered(hit, since)  # its version is remembered (programme.page_cache)


async def test_organisations_index_lists_every_organisation_with_its_sessions(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    await _demo(db)
    with counted(app) as miss:
        response = await client.get("/organisations")
    assert response.status_code == 200
    # The version, the organisations, the listed gatherings, 3 per released programme.
    assert len(miss) <= 12, miss
    doc = parse_html(response.text)
    items = {
        li.xpath("./a")[0].text_content(): (
            li.xpath("./a/@href")[0],
            " ".join(li.text_content().split()),
        )
        for li in doc.xpath("//main//ul[@class='index-list']/li")
    }
    assert len(items) == 18
    assert urlsplit(items["Jewish Voice for Labour"][0]).path == "/organisations/jvl"
    assert items["Jewish Voice for Labour"][1].endswith("· 1 session")
    assert items["Derby Red Labour"][1].endswith("no sessions at the moment")
    assert list(items) == sorted(items, key=str.casefold)
    page = await client.get(items["Red Labour"][0])
    assert page.status_code == 200
    # Renaming an organisation shows on the index at the next request (no release needed).
    orgs = schema.organisation
    await _execute(db, sa.update(orgs).where(orgs.c.slug == "jvl").values(name="JVL renamed"))
    doc = parse_html((await client.get("/organisations")).text)
    assert "JVL renamed" in texts(doc, "//main//ul[@class='index-list']/li/a")


# --- now and next -------------------------------------------------------------------------


def _titles(doc: object, heading: str) -> list[str]:
    return texts(doc, f"//section[h2[@id='{heading}']]//li//h3/a")  # type: ignore[arg-type]


async def test_now_and_next_follows_the_clock_in_the_gatherings_zone(
    db: Database, app: Starlette, client: httpx.AsyncClient, moment: list[dt.datetime]
) -> None:
    sessions = await _demo(db)
    welcome = sessions["Welcome: reclaiming our party"]
    democracy = sessions["Restoring democracy throughout our party"]
    path = f"/g/{NATIONAL}/now"

    # The evening before: not started, the first session named in London time.
    moment[0] = welcome.starts_at - dt.timedelta(hours=14)
    doc = parse_html((await client.get(path)).text)
    assert "has not started yet: its first session begins on Saturday 18 September at 10:30" in (
        " ".join(texts(doc, "//p[@class='notice']"))
    )
    assert _titles(doc, "next-heading") == ["Welcome: reclaiming our party"]
    assert texts(doc, "//h2[@id='next-heading']") == ["First"]

    # 11:45 BST (10:45 UTC): two sessions on; nothing starts within 90 minutes, so the next
    # start (14:00) is shown.
    moment[0] = democracy.starts_at + dt.timedelta(minutes=15, seconds=20)
    assert moment[0].hour == 10 and moment[0].minute == 45  # UTC; 11:45 in London
    since = remember_long(app)
    with counted(app) as miss:
        first = await client.get(path)
    assert first.headers["x-page-cache"] == "miss"
    assert len(miss) <= 5, miss
    doc = parse_html(first.text)
    assert _titles(doc, "now-heading") == [
        "Restoring democracy throughout our party",
        "Repeal the anti-union laws",
    ]
    assert _titles(doc, "next-heading") == ["Organising locally: mutual aid and left groups"]
    assert "Saturday 18 September, 11:45 BST" in texts(doc, "//main/p[@class='meta']")[0]

    # The same minute is kept (no statement: the version is remembered); the next minute is
    # rendered again.
    moment[0] += dt.timedelta(seconds=30)
    with counted(app) as hit:
        kept = await client.get(path)
    assert kept.headers["x-page-cache"] == "hit"
    assert_remembered(hit, since)
    moment[0] += dt.timedelta(minutes=1)
    later = await client.get(path)
    assert later.headers["x-page-cache"] == "miss"
    assert "11:46 BST" in later.text

    # 13:50: nothing on, Organising next (within 90 minutes) and the closing plenary not yet.
    moment[0] = sessions["Organising locally: mutual aid and left groups"].starts_at - (
        dt.timedelta(minutes=10)
    )
    doc = parse_html((await client.get(path)).text)
    assert _titles(doc, "now-heading") == []
    assert "No session is on at the moment." in texts(doc, "//section//p")
    assert _titles(doc, "next-heading") == [
        "Organising locally: mutual aid and left groups",
        "Closing plenary",
    ]

    # After the end.
    moment[0] = sessions["Closing plenary"].ends_at + dt.timedelta(days=2)
    doc = parse_html((await client.get(path)).text)
    assert "The gathering is over" in " ".join(texts(doc, "//p[@class='notice']"))
    assert doc.xpath("//h2[@id='now-heading']") == []


async def test_now_and_next_marks_a_cancelled_session_and_shows_a_release_at_once(
    db: Database, client: httpx.AsyncClient, moment: list[dt.datetime]
) -> None:
    sessions = await _demo(db)
    organising = sessions["Organising locally: mutual aid and left groups"]
    moment[0] = organising.starts_at - dt.timedelta(minutes=30)
    path = f"/g/{NATIONAL}/now"
    before = parse_html((await client.get(path)).text)
    assert (
        before.xpath("//section[h2[@id='next-heading']]//li[contains(@class,'is-cancelled')]") == []
    )
    await _execute(db, sa.update(PS).where(PS.c.id == organising.id).values(status="cancelled"))
    await _release(db, NATIONAL)
    after = parse_html((await client.get(path)).text)  # same minute: the release still shows
    cancelled = after.xpath(
        "//section[h2[@id='next-heading']]//li[contains(@class,'is-cancelled')]"
    )
    assert len(cancelled) == 1
    assert "This session will not take place." in " ".join(cancelled[0].text_content().split())


async def test_now_and_next_of_unknown_or_unpublished_gatherings(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _demo(db)
    assert (await client.get("/g/no-such-gathering/now")).status_code == 404
    from tests.factories import add_unreleased_gathering

    await add_unreleased_gathering(db)
    doc = parse_html((await client.get("/g/spring-school-2027/now")).text)
    assert texts(doc, "//p[@class='notice']") == ["The programme has not been published yet."]


# --- starred sessions ---------------------------------------------------------------------


def _uids(body: bytes) -> list[str]:
    calendar = Calendar.from_ical(body)
    return [str(event["UID"]) for event in calendar.walk("VEVENT")]


async def test_starred_feed_holds_exactly_the_starred_sessions(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    sessions = await _demo(db)
    a = sessions["Closing plenary"]
    b = sessions["Welcome: reclaiming our party"]
    with counted(app) as statements:
        response = await client.get(f"/g/{NATIONAL}/starred.ics?s={a.id},{b.id},{a.id}")
    # The gathering, its newest release, that release's snapshot: no per-session reads.
    assert len(statements) <= 3, statements
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]) == (
        "Starred sessions · Don't Leave, Organise: national gathering"
    )
    assert str(calendar["SOURCE"]).endswith(f"/g/{NATIONAL}/starred.ics?s={b.id},{a.id}")
    events = calendar.walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == [
        "Welcome: reclaiming our party",
        "Closing plenary",
    ]
    assert [e.decoded("DTSTART") for e in events] == [b.starts_at, a.starts_at]
    assert events[0]["DTSTART"].params["TZID"] == "Europe/London"
    # Same list in another order or spelling: the same feed, and its ETag answers 304.
    again = await client.get(f"/g/{NATIONAL}/starred.ics?s={b.id}&s={a.id}")
    assert again.content == response.content
    cached = await client.get(
        f"/g/{NATIONAL}/starred.ics?s={a.id},{b.id}",
        headers={"if-none-match": response.headers["etag"]},
    )
    assert cached.status_code == 304


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("", "names no sessions"),
        ("?s=", "names no sessions"),
        ("?s=,,", "names no sessions"),
        ("?s=12,abc", "“abc” is not one"),
        ("?s=-4", "“-4” is not one"),
        ("?s=1.5", "“1.5” is not one"),
        ("?s=99999999999999999999999", "is not one"),
        ("?s=" + ",".join(str(n) for n in range(1, 300)), "at most 200 sessions"),
        ("?s=" + "1" * 5000, "too long"),
    ],
)
async def test_a_bad_starred_list_is_a_400_in_words(
    db: Database, client: httpx.AsyncClient, query: str, words: str
) -> None:
    await _demo(db)
    for path in (f"/g/{NATIONAL}/starred.ics{query}", f"/g/{NATIONAL}/starred{query}"):
        response = await client.get(path)
        assert response.status_code == 400, path
        assert words in " ".join(texts(parse_html(response.text), "//main//p")), path


async def test_starred_sessions_withdrawn_unreleased_or_elsewhere_are_left_out(
    db: Database, client: httpx.AsyncClient
) -> None:
    sessions = await _demo(db)
    conference = (await load_programme(db, CONFERENCE)).sessions
    plenary = sessions["Closing plenary"]
    welcome = sessions["Welcome: reclaiming our party"]
    workplace = sessions["Repeal the anti-union laws"]
    # Cancelled and released: kept, marked cancelled. Welcome withdrawn (back to draft) but
    # the release not yet made: still in the feed; after the release it goes.
    await _execute(db, sa.update(PS).where(PS.c.id == plenary.id).values(status="cancelled"))
    await _execute(db, sa.update(PS).where(PS.c.id == welcome.id).values(status="draft"))
    await _release(db, NATIONAL)
    ids = f"{plenary.id},{welcome.id},{workplace.id},{conference[0].id},987654"
    response = await client.get(f"/g/{NATIONAL}/starred.ics?s={ids}")
    assert response.status_code == 200
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert [(str(e["SUMMARY"]), str(e["STATUS"])) for e in events] == [
        ("Repeal the anti-union laws", "CONFIRMED"),
        ("Cancelled: Closing plenary", "CANCELLED"),
    ]
    page = parse_html((await client.get(f"/g/{NATIONAL}/starred?s={ids}")).text)
    assert texts(page, "//main//li//h2/a") == ["Repeal the anti-union laws", "Closing plenary"]
    assert texts(page, "//p[@class='notice']") == [
        "3 of the starred sessions are no longer in the programme."
    ]
    feed = page.xpath("//a[@class='calendar-ics']/@href")[0]
    assert feed.endswith(f"/g/{NATIONAL}/starred.ics?s={workplace.id},{plenary.id}")
    # None left at all: a 404 that says why; an unknown gathering: 404.
    gone = await client.get(f"/g/{NATIONAL}/starred.ics?s={welcome.id},987654")
    assert gone.status_code == 404
    assert "may have been withdrawn" in gone.text
    assert (await client.get("/g/nowhere/starred.ics?s=1")).status_code == 404


# --- the programme page -------------------------------------------------------------------


async def test_programme_puts_sessions_first_and_folds_the_tools(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _demo(db)
    doc = parse_html((await client.get(f"/g/{NATIONAL}?track=plenary")).text)
    main = doc.xpath("//main")[0]
    # Nothing but a line of links and closed folds stands between the title and the sessions.
    folds = main.xpath(".//div[@class='folds']/details")
    assert [" ".join(d.xpath("./summary")[0].text_content().split()) for d in folds] == [
        "About",
        "Filter the programme (2 of 5)",
        "Calendar feeds and other formats",
    ]
    assert [d.get("open") is not None for d in folds] == [
        False,
        True,
        False,
    ]  # the filter in use is shown
    assert main.xpath(".//form//select[@id='filter-track']/option[@selected]/@value") == ["plenary"]
    assert texts(main, ".//nav[@aria-label='This programme']//a") == ["Now and next", "Changes"]
    bar = main.xpath(".//section[@id='starred-bar']")[0]
    assert bar.get("hidden") is not None  # shown by the script only
    assert bar.get("data-feed").endswith(f"/g/{NATIONAL}/starred.ics")
    scripts = doc.xpath("//script/@src")
    assert len(scripts) == 1 and "/static/js/programme-stars.js" in scripts[0]
    assert doc.xpath("//script[not(@src)][not(@type='application/ld+json')]") == []
    unfiltered = parse_html((await client.get(f"/g/{NATIONAL}")).text)
    assert unfiltered.xpath("//details[contains(@class,'filters')]/@open") == []


async def test_programme_grid_places_sessions_by_room_and_quarter_hour(
    db: Database, client: httpx.AsyncClient
) -> None:
    sessions = await _demo(db)
    programme = await load_programme(db, NATIONAL)
    hall = await add_room(db, programme.gathering.id, room="Main hall")
    side = await add_room(db, programme.gathering.id, venue="Brighthelm Centre", room="Side room")
    for title, room in (
        ("Welcome: reclaiming our party", hall),
        ("Closing plenary", hall),
        ("Restoring democracy throughout our party", side),
    ):
        await _execute(db, sa.update(PS).where(PS.c.id == sessions[title].id).values(room_id=room))
    await _release(db, NATIONAL)
    doc = parse_html((await client.get(f"/g/{NATIONAL}")).text)
    grid = doc.xpath("//ul[contains(@class,'timetable')]")[0]
    assert texts(grid, "./li[contains(@class,'tt-head')]") == [
        "Main hall, Brighthelm Centre",
        "Side room, Brighthelm Centre",
        "Online",
        "Venue tbc",
    ]
    assert all(
        li.get("aria-hidden") == "true"
        for li in grid.xpath("./li[not(contains(@class,'session'))]")
    )
    assert texts(grid, "./li[contains(@class,'tt-hour')]")[:2] == ["11:00", "12:00"]
    classes = {
        li.xpath(".//h3/a")[0].text_content(): set(li.get("class").split())
        for li in grid.xpath("./li[contains(@class,'session')]")
    }
    # 10:30 is the first quarter (row 2); each quarter hour one row; columns in heading order.
    assert classes["Welcome: reclaiming our party"] >= {"tt", "c2", "t2", "s3"}
    assert classes["Restoring democracy throughout our party"] >= {"c3", "t6", "s5"}
    assert classes["Organising locally: mutual aid and left groups"] >= {"c4", "t16", "s4"}
    assert classes["Repeal the anti-union laws"] >= {"c5", "t6", "s5"}
    assert classes["Closing plenary"] >= {"c2", "t21", "s3"}
    # The list order (phones, screen readers, the keyboard) stays time order.
    assert [
        li.xpath(".//h3/a")[0].text_content()
        for li in grid.xpath("./li[contains(@class,'session')]")
    ] == [
        "Welcome: reclaiming our party",
        "Restoring democracy throughout our party",
        "Repeal the anti-union laws",
        "Organising locally: mutual aid and left groups",
        "Closing plenary",
    ]
