"""Calendar feeds (issue 4): parsed with icalendar, checked property by property, both engines."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import zoneinfo
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from gathering.calendars.rules import FeedEvent, FeedInfo, build_calendar, ensure_feed_key
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import NotFound
from gathering.programme.catalogue import list_organisations, list_speakers, released_programmes
from gathering.programme.release import Programme, PublicSession, load_programme, release_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.factories import add_room, add_unreleased_gathering
from tests.helpers import parse_html

pytestmark = pytest.mark.anyio
CONFERENCE = "labour-conference-2019"
NATIONAL = "dont-leave-organise-2021"
SLUGS = [CONFERENCE, NATIONAL]
PALESTINE = "Let's Talk about Palestine"
BASE = "http://127.0.0.1:8000"
HOST = "127.0.0.1"
LONDON = zoneinfo.ZoneInfo("Europe/London")
GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "palestine-session.ics"


# --- helpers -----------------------------------------------------------------------------------


async def _write(db: Database, *statements: sa.Executable) -> None:
    async def _unit(conn: AsyncConnection) -> None:
        for statement in statements:
            await conn.execute(statement)

    await db.write(_unit)


async def _session_id(db: Database, title: str, slug: str | None = None) -> int:
    async def _read(conn: AsyncConnection) -> int:
        table, g = schema.programme_session, schema.gathering
        query = sa.select(table.c.id).where(table.c.title == title)
        if slug is not None:  # the demo's next gathering repeats the 2021 titles (issue 16)
            query = query.join(g, g.c.id == table.c.gathering_id).where(g.c.slug == slug)
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


async def _update_session(db: Database, session_id: int, **values: object) -> None:
    table = schema.programme_session
    await _write(db, sa.update(table).where(table.c.id == session_id).values(**values))


async def _get(client: httpx.AsyncClient, path: str, **headers: str) -> httpx.Response:
    response = await client.get(path, headers=headers)
    assert response.status_code in (200, 304), (path, response.status_code, response.text[:300])
    return response


async def _calendar(client: httpx.AsyncClient, path: str) -> tuple[Calendar, httpx.Response]:
    response = await _get(client, path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content), response


def _vevents(body: bytes) -> dict[str, bytes]:
    """Raw VEVENT blocks by UID, byte for byte as served."""
    blocks = re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", body, flags=re.S)
    out = {}
    for block in blocks:
        uid = re.search(rb"\r\nUID:([^\r]+)\r\n", block)
        assert uid is not None
        out[uid.group(1).decode()] = block
    return out


def _uid(session_id: int) -> str:
    return f"session-{session_id}@{HOST}"


def _expected_location(session: PublicSession) -> str:
    if session.format == "online":
        return "Online"
    if session.room is None:
        return "Venue tbc"
    venue = session.room.venue
    return ", ".join(p for p in (session.room.name, venue.name, venue.address) if p)


def _check_calendar_properties(calendar: Calendar, body: bytes, name: str) -> None:
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//Gathering//Gathering calendar feeds//EN"
    assert str(calendar["X-WR-CALNAME"]) == str(calendar["NAME"]) == name
    assert calendar["REFRESH-INTERVAL"].dt == dt.timedelta(hours=1)
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT1H"
    assert str(calendar["METHOD"]) == "PUBLISH"
    # Never invitations, never addresses or private links.
    for component in calendar.walk():
        assert "ORGANIZER" not in component
        assert "ATTENDEE" not in component
    assert b"meet.example.org" not in body
    assert b"@example." not in body
    assert b"GMT:" not in body and b"TZID=GMT" not in body


def _check_event(event: object, programme: Programme, session: PublicSession) -> None:
    """Every rule of issue 4 for one VEVENT against the released session."""
    gathering = programme.gathering
    url = f"{BASE}/g/{gathering.slug}/s/{session.id}"
    changed = session.changed_at.astimezone(dt.UTC).replace(microsecond=0)
    assert str(event["UID"]) == _uid(session.id)
    assert int(event["SEQUENCE"]) == session.version
    assert event["DTSTAMP"].dt == changed
    assert event["LAST-MODIFIED"].dt == changed
    for prop, moment in (("DTSTART", session.starts_at), ("DTEND", session.ends_at)):
        assert event[prop].params["TZID"] == gathering.timezone
        assert event[prop].dt.tzinfo.key == gathering.timezone
        assert event[prop].dt.astimezone(dt.UTC) == moment
    expected_status = "CANCELLED" if session.is_cancelled else "CONFIRMED"
    assert str(event["STATUS"]) == expected_status
    prefix = "Cancelled: " if session.is_cancelled else ""
    assert str(event["SUMMARY"]) == prefix + session.title
    assert str(event["LOCATION"]) == _expected_location(session)
    assert str(event["URL"]) == url
    description = str(event["DESCRIPTION"])
    assert description.startswith(session.description.strip().split("\n")[0])
    for person in session.speakers:
        assert person.name in description
    for host in session.hosts:
        assert host.name in description
    assert url in description
    expected_categories = ([session.track.name] if session.track else []) + [
        h.name for h in session.hosts
    ]
    assert [str(c) for c in event["CATEGORIES"].cats] == expected_categories
    assert "CONFERENCE" not in event


# --- every demo feed, property by property -----------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
async def test_gathering_feed_of_demo_data_follows_every_rule(
    db: Database, client: httpx.AsyncClient, slug: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, slug)
    calendar, response = await _calendar(client, f"/g/{slug}/calendar.ics")

    _check_calendar_properties(calendar, response.content, programme.gathering.title)
    assert str(calendar["URL"]) == f"{BASE}/g/{slug}"
    assert str(calendar["SOURCE"]) == f"{BASE}/g/{slug}/calendar.ics"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/London"
    [timezone] = calendar.timezones
    assert str(timezone["TZID"]) == "Europe/London"
    # The VTIMEZONE comes before every event.
    assert response.content.index(b"BEGIN:VTIMEZONE") < response.content.index(b"BEGIN:VEVENT")
    events = calendar.events
    assert [str(e["UID"]) for e in events] == [_uid(s.id) for s in programme.sessions]
    for event, session in zip(events, programme.sessions, strict=True):
        _check_event(event, programme, session)
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["access-control-allow-origin"] == "*"
    assert programme.release is not None
    modified = dt.datetime.strptime(response.headers["last-modified"], "%a, %d %b %Y %H:%M:%S GMT")
    assert modified.replace(tzinfo=dt.UTC) == programme.release.released_at.replace(microsecond=0)


@pytest.mark.parametrize("slug", SLUGS)
async def test_every_session_and_track_feed_of_demo_data(
    db: Database, client: httpx.AsyncClient, slug: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, slug)
    for session in programme.sessions:
        path = f"/g/{slug}/s/{session.id}/calendar.ics"
        calendar, response = await _calendar(client, path)
        name = f"{session.title} · {programme.gathering.title}"
        _check_calendar_properties(calendar, response.content, name)
        [event] = calendar.events
        _check_event(event, programme, session)
        assert response.headers["content-disposition"] == (
            f'attachment; filename="{slug}-session-{session.id}.ics"'
        )
    tracks = {s.track.slug: s.track.name for s in programme.sessions if s.track}
    assert (slug, sorted(tracks)) in [
        (CONFERENCE, []),
        (NATIONAL, ["democracy", "organising", "plenary", "workplace"]),
    ]
    for track_slug, track_name in tracks.items():
        calendar, response = await _calendar(client, f"/g/{slug}/tracks/{track_slug}/calendar.ics")
        _check_calendar_properties(
            calendar, response.content, f"{track_name} · {programme.gathering.title}"
        )
        expected = [s for s in programme.sessions if s.track and s.track.slug == track_slug]
        assert [str(e["UID"]) for e in calendar.events] == [_uid(s.id) for s in expected]
        for event, session in zip(calendar.events, expected, strict=True):
            _check_event(event, programme, session)


async def test_every_speaker_and_organisation_feed_of_demo_data(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    # Every released programme: the seeds' two and the demo's next gathering (issue 16).
    gathering_of = {s.id: p for p in await released_programmes(db) for s in p.sessions}
    speakers = await list_speakers(db)
    organisations = await list_organisations(db)
    assert len(speakers) > 10 and len(organisations) > 5
    for kind, profiles, prefix in (
        ("speakers", speakers, "Sessions with "),
        ("organisations", organisations, "Sessions hosted by "),
    ):
        for profile in profiles:
            calendar, response = await _calendar(client, f"/{kind}/{profile.slug}/calendar.ics")
            _check_calendar_properties(calendar, response.content, prefix + profile.name)
            expected = sorted(
                {a.session.id: a.session for a in profile.appearances}.values(),
                key=lambda s: (s.starts_at, s.id),
            )
            assert [str(e["UID"]) for e in calendar.events] == [_uid(s.id) for s in expected]
            for event, session in zip(calendar.events, expected, strict=True):
                _check_event(event, gathering_of[session.id], session)
            assert "last-modified" not in response.headers
            assert response.headers["etag"]


async def test_chris_williamson_feed_spans_his_two_sessions(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    calendar, _ = await _calendar(client, "/speakers/chris-williamson/calendar.ics")
    assert [str(e["SUMMARY"]) for e in calendar.events] == [
        "What kind of Labour Left do we need?",
        "Labour Against the Witchhunt fringe meeting",
    ]


async def test_unknown_feeds_are_404(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    for path in (
        "/g/no-such-gathering/calendar.ics",
        f"/g/{CONFERENCE}/s/999999/calendar.ics",
        f"/g/{NATIONAL}/tracks/no-such-track/calendar.ics",
        "/speakers/nobody/calendar.ics",
        "/organisations/nobody/calendar.ics",
        "/my/not-a-key/agenda.ics",
        "/my/not-a-key",
    ):
        assert (await client.get(path)).status_code == 404, path


# --- golden file -------------------------------------------------------------------------------


async def test_session_feed_matches_the_golden_file(db: Database) -> None:
    """One session's feed, byte for byte (line folding, escaping, property order, VTIMEZONE).

    The demo session's id and release time vary, so they are pinned first. To regenerate after a
    deliberate change to the builder, run this test with ``GATHERING_WRITE_GOLDEN=1`` once, review
    the diff of ``tests/golden/palestine-session.ics``, and commit it.
    """
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    [session] = [s for s in programme.sessions if s.title == PALESTINE]
    session = dataclasses.replace(
        session, id=7, version=2, changed_at=dt.datetime(2019, 9, 20, 9, 15, 0, tzinfo=dt.UTC)
    )
    url = f"{BASE}/g/{CONFERENCE}/s/7"
    info = FeedInfo(f"{PALESTINE} · {programme.gathering.title}", url, url + "/calendar.ics")
    body = build_calendar(info, [FeedEvent(programme.gathering, session, url)], BASE)
    if os.environ.get("GATHERING_WRITE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_bytes(body)
    assert body == GOLDEN.read_bytes()


# --- changes: move, cancel -----------------------------------------------------------------------


async def test_move_then_cancel_keeps_the_uid_and_raises_sequence(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    session_id = await _session_id(db, PALESTINE)
    other_id = await _session_id(db, "What kind of Labour Left do we need?")
    path = f"/g/{CONFERENCE}/calendar.ics"
    first = await _get(client, path)
    before = {str(e["UID"]): e for e in Calendar.from_ical(first.content).events}
    old = before[_uid(session_id)]

    session = programme.session(session_id)
    assert session is not None
    room_id = await add_room(db, programme.gathering.id)
    later = dt.timedelta(hours=1)
    await _update_session(
        db,
        session_id,
        starts_at=session.starts_at + later,
        ends_at=session.ends_at + later,
        room_id=room_id,
    )
    await release_programme(db, programme.gathering.id, released_by=None)
    moved_response = await _get(client, path)
    moved = {str(e["UID"]): e for e in Calendar.from_ical(moved_response.content).events}
    new = moved[_uid(session_id)]
    assert int(new["SEQUENCE"]) == int(old["SEQUENCE"]) + 1
    assert new["DTSTART"].dt == old["DTSTART"].dt + later
    assert new["DTSTART"].dt.astimezone(dt.UTC) == dt.datetime(2019, 9, 22, 17, 30, tzinfo=dt.UTC)
    assert str(new["LOCATION"]) == "Main hall, Brighthelm Centre, North Road, Brighton BN1 1YD"
    assert new["LAST-MODIFIED"].dt > old["LAST-MODIFIED"].dt
    assert moved_response.headers["etag"] != first.headers["etag"]
    # An unrelated session is untouched, byte for byte.
    assert (
        _vevents(moved_response.content)[_uid(other_id)] == _vevents(first.content)[_uid(other_id)]
    )

    await _update_session(db, session_id, status="cancelled")
    await release_programme(db, programme.gathering.id, released_by=None)
    cancelled_response = await _get(client, path)
    cancelled = {str(e["UID"]): e for e in Calendar.from_ical(cancelled_response.content).events}
    gone = cancelled[_uid(session_id)]
    assert str(gone["STATUS"]) == "CANCELLED"
    assert int(gone["SEQUENCE"]) == int(new["SEQUENCE"]) + 1
    assert str(gone["SUMMARY"]) == f"Cancelled: {PALESTINE}"
    assert len(cancelled) == 4
    assert (
        _vevents(cancelled_response.content)[_uid(other_id)]
        == _vevents(first.content)[_uid(other_id)]
    )
    # The one-session download follows the same rules.
    single, _ = await _calendar(client, f"/g/{CONFERENCE}/s/{session_id}/calendar.ics")
    assert str(single.events[0]["STATUS"]) == "CANCELLED"
    assert str(single.events[0]["UID"]) == _uid(session_id)


# --- daylight saving ---------------------------------------------------------------------------


async def test_session_in_the_repeated_hour_has_the_right_instant(
    db: Database, client: httpx.AsyncClient
) -> None:
    """01:30 on Sunday 27 October 2019 happens twice in London (BST, then GMT).

    RFC 5545 §3.3.5 reads a repeated local time as its first occurrence, but libical reads it as
    the second (issue 16), so a session at 01:30 BST (fold=0, 00:30 UTC) and one at 01:30 GMT
    (the second pass, 01:30 UTC) are both written in UTC, which every reader agrees on.
    """
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    first_pass = dt.datetime(2019, 10, 27, 1, 30, tzinfo=LONDON)  # fold=0: BST
    assert first_pass.astimezone(dt.UTC) == dt.datetime(2019, 10, 27, 0, 30, tzinfo=dt.UTC)
    second_pass = dt.datetime(2019, 10, 27, 1, 30, tzinfo=dt.UTC)  # 01:30 GMT
    now = dt.datetime.now(dt.UTC)
    table = schema.programme_session
    ids = []
    for title, start in (("Night owls", first_pass), ("Night owls again", second_pass)):
        statement = (
            sa.insert(table)
            .values(
                gathering_id=programme.gathering.id,
                title=title,
                starts_at=start.astimezone(dt.UTC),
                ends_at=dt.datetime(2019, 10, 27, 4, 0, tzinfo=dt.UTC),
                status="published",
                created_at=now,
                updated_at=now,
            )
            .returning(table.c.id)
        )

        async def _insert(conn: AsyncConnection, statement: sa.Executable = statement) -> int:
            return int((await conn.execute(statement)).scalar_one())

        ids.append(await db.write(_insert))
    await release_programme(db, programme.gathering.id, released_by=None)

    calendar, response = await _calendar(client, f"/g/{CONFERENCE}/s/{ids[0]}/calendar.ics")
    [event] = calendar.events
    assert b"\r\nDTSTART:20191027T003000Z\r\n" in response.content
    assert event["DTSTART"].dt.astimezone(dt.UTC) == dt.datetime(2019, 10, 27, 0, 30, tzinfo=dt.UTC)
    assert event["DTEND"].dt.astimezone(dt.UTC) == dt.datetime(2019, 10, 27, 4, 0, tzinfo=dt.UTC)
    # The VTIMEZONE knows the clocks go back that night.
    [timezone] = calendar.timezones
    transitions = {
        (sub.name, sub["DTSTART"].dt, sub["TZOFFSETFROM"].td, sub["TZOFFSETTO"].td)
        for sub in timezone.subcomponents
    }
    assert (
        "STANDARD",
        dt.datetime(2019, 10, 27, 2, 0),
        dt.timedelta(hours=1),
        dt.timedelta(0),
    ) in transitions

    calendar, response = await _calendar(client, f"/g/{CONFERENCE}/s/{ids[1]}/calendar.ics")
    [event] = calendar.events
    assert b"\r\nDTSTART:20191027T013000Z\r\n" in response.content
    assert event["DTSTART"].dt == second_pass


# --- conditional GET and caching -----------------------------------------------------------------


async def test_feeds_answer_304_when_unchanged(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _session_id(db, PALESTINE)
    for path in (
        f"/g/{CONFERENCE}/calendar.ics",
        f"/g/{CONFERENCE}/s/{session_id}/calendar.ics",
        f"/g/{NATIONAL}/tracks/plenary/calendar.ics",
        "/speakers/ilan-pappe/calendar.ics",
        "/organisations/jvl/calendar.ics",
    ):
        first = await _get(client, path)
        second = await _get(client, path)
        assert first.content == second.content, path
        etag = first.headers["etag"]
        assert etag == second.headers["etag"]
        not_modified = await _get(client, path, **{"if-none-match": etag})
        assert not_modified.status_code == 304, path
        assert not_modified.content == b""
        if "last-modified" in first.headers:
            since = await _get(
                client, path, **{"if-modified-since": first.headers["last-modified"]}
            )
            assert since.status_code == 304, path


async def test_feeds_are_built_once_per_release(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    for _ in range(3):
        await _get(client, f"/g/{CONFERENCE}/calendar.ics")
    cache = app.state.calendar_cache
    assert len(cache._items) == 1
    session_id = await _session_id(db, PALESTINE)
    await _update_session(db, session_id, title="Palestine")
    await release_programme(db, programme.gathering.id, released_by=None)
    calendar, _ = await _calendar(client, f"/g/{CONFERENCE}/calendar.ics")
    assert f"{_uid(session_id)}" in [str(e["UID"]) for e in calendar.events]
    assert "Palestine" in [str(e["SUMMARY"]) for e in calendar.events]
    await _get(client, f"/g/{CONFERENCE}/calendar.ics")
    assert len(cache._items) == 2


async def test_gathering_feed_before_first_release_is_empty(
    db: Database, client: httpx.AsyncClient
) -> None:
    await add_unreleased_gathering(db)
    calendar, response = await _calendar(client, "/g/spring-school-2027/calendar.ics")
    assert str(calendar["X-WR-CALNAME"]) == "Spring school"
    assert calendar.events == []
    assert "last-modified" not in response.headers


# --- pages: alternates and add-to-calendar links -----------------------------------------------


async def test_pages_advertise_calendar_feeds_that_resolve(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _session_id(db, PALESTINE)
    pages = {
        f"/g/{CONFERENCE}": f"/g/{CONFERENCE}/calendar.ics",
        f"/g/{CONFERENCE}/s/{session_id}": f"/g/{CONFERENCE}/calendar.ics",
        "/speakers/ilan-pappe": "/speakers/ilan-pappe/calendar.ics",
        "/organisations/jvl": "/organisations/jvl/calendar.ics",
    }
    for page, feed in pages.items():
        doc = parse_html((await _get(client, page)).text)
        [href] = doc.xpath("//head/link[@rel='alternate'][@type='text/calendar']/@href")
        assert href == BASE + feed, page
        calendar, _ = await _calendar(client, href)
        assert calendar.events, page
        # Pages with a whole feed offer download, subscribe, Google and Outlook.
        if "/s/" not in page:
            [webcal] = doc.xpath("//a[@class='calendar-webcal']/@href")
            assert webcal == "webcal://127.0.0.1:8000" + feed
            [google] = doc.xpath("//a[@class='calendar-google']/@href")
            assert parse_qs(urlsplit(google).query) == {"cid": [webcal]}
            [outlook] = doc.xpath("//a[@class='calendar-outlook']/@href")
            assert parse_qs(urlsplit(outlook).query)["url"] == [BASE + feed]


async def test_session_page_links_carry_the_right_utc_times(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _session_id(db, PALESTINE)
    doc = parse_html((await _get(client, f"/g/{CONFERENCE}/s/{session_id}")).text)
    section = doc.xpath("//section[contains(@class, 'add-to-calendar')]")[0]

    [ics] = section.xpath(".//a[@class='calendar-ics']/@href")
    assert ics == f"{BASE}/g/{CONFERENCE}/s/{session_id}/calendar.ics"
    [webcal] = section.xpath(".//a[@class='calendar-webcal']/@href")
    assert webcal == f"webcal://127.0.0.1:8000/g/{CONFERENCE}/s/{session_id}/calendar.ics"
    download = await client.get(ics)
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment; filename=")

    [google] = section.xpath(".//a[@class='calendar-google']/@href")
    parts = urlsplit(google)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "calendar.google.com",
        "/calendar/render",
    )
    query = parse_qs(parts.query)
    # 17:30–19:00 BST on 22 September 2019 is 16:30–18:00 UTC.
    assert query["action"] == ["TEMPLATE"]
    assert query["text"] == [PALESTINE]
    assert query["dates"] == ["20190922T163000Z/20190922T180000Z"]
    assert query["location"] == ["Venue tbc"]
    assert "Ilan Pappé" in query["details"][0]
    assert "Jewish Voice for Labour" in query["details"][0]

    [outlook] = section.xpath(".//a[@class='calendar-outlook']/@href")
    parts = urlsplit(outlook)
    assert (parts.netloc, parts.path) == ("outlook.live.com", "/calendar/0/deeplink/compose")
    query = parse_qs(parts.query)
    assert query["subject"] == [PALESTINE]
    assert query["startdt"] == ["2019-09-22T16:30:00Z"]
    assert query["enddt"] == ["2019-09-22T18:00:00Z"]
    assert query["location"] == ["Venue tbc"]
    assert "Haneen Zoabi" in query["body"][0]


async def test_hybrid_session_page_never_shows_the_joining_link(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _session_id(db, "Welcome: reclaiming our party", NATIONAL)
    page = await _get(client, f"/g/{NATIONAL}/s/{session_id}")
    assert "meet.example.org" not in page.text
    assert "meet.example.org" not in (await _get(client, f"/g/{NATIONAL}")).text


# --- the personal agenda -----------------------------------------------------------------------


async def _registration(db: Database, email: str) -> int:
    async def _read(conn: AsyncConnection) -> int:
        table = schema.registration
        query = sa.select(table.c.id).where(table.c.email == email)
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


async def _feed_key(db: Database, registration_id: int) -> str:
    async def _unit(conn: AsyncConnection) -> str:
        return await ensure_feed_key(conn, registration_id)

    return await db.write(_unit)


async def test_ensure_feed_key_creates_once(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    registration_id = await _registration(db, "aisha.rahman@example.org")
    key = await _feed_key(db, registration_id)
    assert len(key) >= 43
    assert await _feed_key(db, registration_id) == key
    other = await _feed_key(db, await _registration(db, "lucy.hart@example.org"))
    assert other != key
    with pytest.raises(NotFound):
        await _feed_key(db, 999_999)


async def test_personal_feed_has_joining_links_only_for_own_online_sessions(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, NATIONAL)
    by_title = {s.title: s for s in programme.sessions}
    registration_id = await _registration(db, "aisha.rahman@example.org")
    # Aisha holds confirmed places at "Repeal the anti-union laws" (in person) and the closing
    # plenary (hybrid). Give the in-person session a link anyway (it must not show), and put her
    # on the waiting list of the online session (it must not show either).
    repeal, closing = by_title["Repeal the anti-union laws"], by_title["Closing plenary"]
    online = by_title["Organising locally: mutual aid and left groups"]
    await _update_session(db, repeal.id, joining_link="https://meet.example.org/in-person-only")
    now = dt.datetime.now(dt.UTC)
    await _write(
        db,
        sa.insert(schema.session_place).values(
            registration_id=registration_id,
            session_id=online.id,
            status="waitlisted",
            created_at=now,
            updated_at=now,
        ),
    )
    key = await _feed_key(db, registration_id)

    calendar, response = await _calendar(client, f"/my/{key}/agenda.ics")
    assert response.headers["cache-control"] == "private, max-age=300"
    assert "access-control-allow-origin" not in response.headers
    assert str(calendar["X-WR-CALNAME"]) == f"My agenda · {programme.gathering.title}"
    assert "SOURCE" not in calendar
    assert key.encode() not in response.content
    events = {str(e["UID"]): e for e in calendar.events}
    assert sorted(events) == sorted([_uid(repeal.id), _uid(closing.id)])
    closing_event = events[_uid(closing.id)]
    # Issue 20: her place's personal link (its window has opened), never the meeting's address.
    personal = str(closing_event["CONFERENCE"])
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/j/\d+-[A-Za-z0-9_-]{32}", personal)
    assert closing_event["CONFERENCE"].params["FEATURE"] == "VIDEO"
    assert f"Join online: {personal}" in str(closing_event["DESCRIPTION"])
    assert "meet.example.org" not in response.text
    assert "CONFERENCE" not in events[_uid(repeal.id)]
    body = response.text
    assert "in-person-only" not in body
    assert "dlo-organising" not in body and "dlo-democracy" not in body
    assert "aisha" not in body.lower()
    for component in calendar.walk():
        assert "ATTENDEE" not in component and "ORGANIZER" not in component

    page = await _get(client, f"/my/{key}")
    doc = parse_html(page.text)
    assert doc.xpath("//meta[@name='robots']/@content") == ["noindex, nofollow"]
    assert page.headers["cache-control"] == "private, no-store"
    assert doc.xpath("//a[@class='joining-link']/@href") == [personal]
    assert "meet.example.org" not in page.text
    [webcal] = doc.xpath("//a[@class='calendar-webcal']/@href")
    assert webcal == f"webcal://127.0.0.1:8000/my/{key}/agenda.ics"
    [help_text] = doc.xpath("//p[@class='subscribe-help']")
    assert "phone" in help_text.text_content()
    titles = [" ".join(t.split()) for t in doc.xpath("//ul[contains(@class,'agenda')]//h2//text()")]
    assert titles == ["Repeal the anti-union laws", "Closing plenary"]

    # Public feeds of the same gathering still carry none of it.
    for path in (f"/g/{NATIONAL}/calendar.ics", f"/g/{NATIONAL}/s/{closing.id}/calendar.ics"):
        assert b"meet.example.org" not in (await _get(client, path)).content


async def test_rotating_the_secret_stops_the_old_address(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    key = await _feed_key(db, await _registration(db, "dana.whitfield@example.org"))
    page = await _get(client, f"/my/{key}")
    [action] = parse_html(page.text).xpath("//form[@method='post']/@action")
    assert action == f"{BASE}/my/{key}/new-address"
    token = parse_html(page.text).xpath("//form//input[@name='csrftoken']/@value")[0]

    forged = await client.post(action, data={})
    assert forged.status_code == 403
    assert (await client.get(f"/my/{key}")).status_code == 200

    response = await client.post(action, data={"csrftoken": token})
    assert response.status_code == 303
    new_path = urlsplit(response.headers["location"]).path
    new_key = new_path.removeprefix("/my/")
    assert new_key != key and len(new_key) >= 43
    assert (await client.get(f"/my/{key}")).status_code == 404
    assert (await client.get(f"/my/{key}/agenda.ics")).status_code == 404
    assert (await client.get(new_path)).status_code == 200
    calendar, _ = await _calendar(client, f"{new_path}/agenda.ics")
    assert len(calendar.events) == 2
    # The old key cannot rotate again either.
    assert (await client.post(action, data={"csrftoken": token})).status_code == 404


async def test_cancelled_registration_has_no_feed(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    registration_id = await _registration(db, "gwen.morgan@example.org")
    key = await _feed_key(db, registration_id)
    assert (await client.get(f"/my/{key}/agenda.ics")).status_code == 200
    table = schema.registration
    await _write(
        db, sa.update(table).where(table.c.id == registration_id).values(status="cancelled")
    )
    assert (await client.get(f"/my/{key}/agenda.ics")).status_code == 404
    assert (await client.get(f"/my/{key}")).status_code == 404


def test_access_log_never_shows_a_feed_key() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/my/s3cret-key/agenda.ics?x=1", "1.1", 200),
        None,
    )
    logger = logging.getLogger("uvicorn.access")
    assert all(f.filter(record) for f in logger.filters if isinstance(f, logging.Filter))
    assert "s3cret" not in record.getMessage()
    assert "/my/…/agenda.ics" in record.getMessage()
