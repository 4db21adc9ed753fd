"""Calendars that span years read the same everywhere (issue 16): every feed of the demo, and a
synthetic feed over many years and zones, read by four parsers — icalendar, vobject (dateutil
underneath, as Radicale and other vobject tools read), ics-py 0.7 and libical (Evolution, GNOME)
— give the same (UID, start, end) instants, and those are the sessions' stored instants.

Before issue 16 the VTIMEZONE listed every later change of a kind in one multi-valued RDATE;
vobject keeps only the first value, so it read every summer session after the second year of a
feed one hour late (``test_the_old_rdate_lists_were_misread_by_vobject`` keeps that evidence).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable

import httpx
import icalendar
import ics
import pytest
import sqlalchemy as sa
import vobject
import vobject.icalendar
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.calendars.rules import FeedEvent, FeedInfo, build_calendar
from gathering.calendars.timezones import vtimezone_text
from gathering.core import schema
from gathering.core.database import Database
from gathering.programme.catalogue import list_organisations, list_speakers, released_programmes
from gathering.programme.published import PublicGathering, PublicSession
from gathering.programme.release import release_programme
from tests import libical_reader
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo

BASE = "http://127.0.0.1:8000"
HOST = "127.0.0.1"
Instants = set[tuple[str, dt.datetime, dt.datetime]]


# --- the four readers --------------------------------------------------------------------------


def read_icalendar(text: str) -> Instants:
    calendar = icalendar.Calendar.from_ical(text)
    return {
        (
            str(e["UID"]),
            e["DTSTART"].dt.astimezone(dt.UTC),
            e["DTEND"].dt.astimezone(dt.UTC),
        )
        for e in calendar.walk("VEVENT")
    }


def read_vobject(text: str) -> Instants:
    # vobject keeps the first VTIMEZONE it saw for a TZID for the rest of the process; forget
    # it, so that this feed is read with its own VTIMEZONE, as a fresh reader would.
    tzids: dict[str, object] = vars(vobject.icalendar)["__tzidMap"]
    tzids.clear()
    calendar = vobject.readOne(text)
    return {
        (
            e.uid.value,
            e.dtstart.value.astimezone(dt.UTC),
            e.dtend.value.astimezone(dt.UTC),
        )
        for e in getattr(calendar, "vevent_list", [])
    }


def read_ics_py(text: str) -> Instants:
    calendar = ics.Calendar(text)
    return {(e.uid, e.begin.to("utc").datetime, e.end.to("utc").datetime) for e in calendar.events}


def read_libical(text: str) -> Instants:
    found = libical_reader.read(text)
    # libical read each zoned time with the feed's own VTIMEZONE (never a built-in zone).
    for uid, _, _, start_zone, end_zone in found:
        for zone in (start_zone, end_zone):
            assert "freeassociation" not in zone and zone, (uid, zone)
    return {(uid, start, end) for uid, start, end, _, _ in found}


READERS: dict[str, Callable[[str], Instants]] = {
    "icalendar": read_icalendar,
    "vobject": read_vobject,
    "ics-py": read_ics_py,
    "libical": read_libical,
}


def read_by_all(text: str) -> dict[str, Instants]:
    return {name: reader(text) for name, reader in READERS.items()}


def assert_all_read(text: str, expected: Instants, where: str) -> None:
    """Every reader gives exactly ``expected``; a failure names the reader and what differs."""
    for name, got in read_by_all(text).items():
        assert got == expected, (where, name, sorted(got ^ expected)[:6])


def _years(text: str) -> set[int]:
    return {int(y) for y in re.findall(r"\nDTSTART[;:][^\r\n]*?(\d{4})\d{4}T", text)}


# --- every feed of the demo --------------------------------------------------------------------


async def _stored(db: Database) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    async def _read(conn: AsyncConnection) -> dict[str, tuple[dt.datetime, dt.datetime]]:
        s = schema.programme_session
        rows = await conn.execute(sa.select(s.c.id, s.c.starts_at, s.c.ends_at))
        return {
            f"session-{sid}@{HOST}": (start.astimezone(dt.UTC), end.astimezone(dt.UTC))
            for sid, start, end in rows
        }

    return await db.read(_read)


async def _feed_keys(db: Database) -> list[str]:
    async def _read(conn: AsyncConnection) -> list[str]:
        r = schema.registration
        query = sa.select(r.c.feed_key).where(r.c.status == "confirmed", r.c.feed_key.is_not(None))
        return [str(key) for key in (await conn.scalars(query)).all()]

    return await db.read(_read)


async def _demo_feed_paths(db: Database) -> dict[str, list[str]]:
    programmes = await released_programmes(db)
    paths: dict[str, list[str]] = {"organisation": [], "speaker": [], "personal": [], "other": []}
    paths["organisation"] = [
        f"/organisations/{o.slug}/calendar.ics" for o in await list_organisations(db)
    ]
    paths["speaker"] = [f"/speakers/{s.slug}/calendar.ics" for s in await list_speakers(db)]
    paths["personal"] = [f"/my/{key}/agenda.ics" for key in await _feed_keys(db)]
    for programme in programmes:
        slug = programme.gathering.slug
        paths["other"].append(f"/g/{slug}/calendar.ics")
        tracks = {s.track.slug for s in programme.sessions if s.track}
        paths["other"] += [f"/g/{slug}/tracks/{t}/calendar.ics" for t in sorted(tracks)]
        paths["other"] += [f"/g/{slug}/s/{s.id}/calendar.ics" for s in programme.sessions]
    return paths


async def _walk(client: httpx.AsyncClient, db: Database) -> dict[str, int]:
    """Read every feed with the four readers; how many feeds of each kind span several years."""
    stored = await _stored(db)
    paths = await _demo_feed_paths(db)
    assert len(paths["organisation"]) >= 10 and len(paths["speaker"]) >= 10
    assert len(paths["personal"]) >= 10
    spanning = dict.fromkeys(paths, 0)
    events = 0
    for kind, kind_paths in paths.items():
        for path in kind_paths:
            response = await client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            text = response.text
            expected = {(uid, *stored[uid]) for uid in re.findall(r"\r\nUID:([^\r\n]+)", text)}
            assert_all_read(text, expected, path)
            events += len(expected)
            if len(_years(text)) > 1:
                spanning[kind] += 1
    assert events >= 100
    return spanning


async def _move_the_latest_gathering_half_a_year(db: Database) -> None:
    """The demo's next gathering is a few weeks after the day it is loaded, so in winter or in
    summer depending on that day: moved by 26 weeks, the two walks see it in both seasons."""
    shift = dt.timedelta(weeks=26)
    g, s = schema.gathering, schema.programme_session

    async def _write(conn: AsyncConnection) -> int:
        query = sa.select(g.c.id, g.c.starts_on, g.c.ends_on).order_by(g.c.starts_on.desc())
        gid, starts_on, ends_on = (await conn.execute(query.limit(1))).one()
        await conn.execute(
            sa.update(g)
            .where(g.c.id == gid)
            .values(starts_on=starts_on + shift, ends_on=ends_on + shift)
        )
        sessions = await conn.execute(
            sa.select(s.c.id, s.c.starts_at, s.c.ends_at).where(s.c.gathering_id == gid)
        )
        for sid, starts_at, ends_at in sessions.all():
            await conn.execute(
                sa.update(s)
                .where(s.c.id == sid)
                .values(starts_at=starts_at + shift, ends_at=ends_at + shift)
            )
        return int(gid)

    await release_programme(db, await db.write(_write), released_by=None)


@pytest.mark.anyio
async def test_every_feed_of_the_demo_reads_the_same_in_four_parsers(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    spanning = await _walk(client, db)
    # The demo's organisations and speakers appear in 2019, 2021 and the coming months, so some
    # of their feeds span several years (the case vobject misread).
    assert spanning["organisation"] >= 3 and spanning["speaker"] >= 3, spanning
    await _move_the_latest_gathering_half_a_year(db)
    await _walk(client, db)


# --- a synthetic feed over many years and zones --------------------------------------------------


def _gathering(gid: int, zone: str) -> PublicGathering:
    day = dt.date(2020, 1, 1)
    return PublicGathering(gid, f"g{gid}", f"Gathering {gid}", "", day, day, zone, "hybrid", "")


def _session(sid: int, start: dt.datetime, minutes: int) -> PublicSession:
    at = start.astimezone(dt.UTC)
    return PublicSession(
        id=sid,
        title=f"Session {sid}",
        description="",
        starts_at=at,
        ends_at=at + dt.timedelta(minutes=minutes),
        status="published",
        format="in_person",
        access="public",
        access_note="",
        capacity=None,
        language="en",
        track=None,
        room=None,
        hosts=(),
        speakers=(),
        version=1,
        changed_at=dt.datetime(2019, 1, 1, tzinfo=dt.UTC),
    )


def _synthetic_events() -> list[FeedEvent]:
    """Sessions in four zones, every month of several years, on and around each change of
    offset (the days clocks change, the hour repeated in autumn, an evening across midnight)."""
    spans = {
        "Europe/London": range(2019, 2028),
        "America/New_York": range(2005, 2010),  # the US rules changed in 2007
        "Australia/Sydney": range(2006, 2011),  # summer across the new year; rules changed 2008
        "Europe/Moscow": range(2009, 2016),  # summer time ended in 2011, the offset moved in 2014
    }
    events = []
    sid = 1
    for gid, (zone_name, years) in enumerate(spans.items(), start=1):
        zone = zoneinfo.ZoneInfo(zone_name)
        gathering = _gathering(gid, zone_name)
        starts = [
            dt.datetime(year, month, day, hour, 30, tzinfo=zone)
            for year in years
            for month in range(1, 13)
            for day, hour in ((3, 10), (17, 19))
        ]
        # Around each change of offset (found here hour by hour, independently of the code):
        # an hour and a half and half an hour before and after, in UTC.
        changes = []
        moment = dt.datetime(min(years), 1, 1, tzinfo=dt.UTC)
        last = dt.datetime(max(years) + 1, 1, 1, tzinfo=dt.UTC)
        while moment < last:
            later = moment + dt.timedelta(hours=1)
            if moment.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset():
                changes.append(later)
            moment = later
        assert len(changes) >= 4
        for change in changes:
            for delta in (-90, -30, 30, 90):
                starts.append(change + dt.timedelta(minutes=delta))
        for start in starts:
            events.append(FeedEvent(gathering, _session(sid, start, 150), f"{BASE}/s/{sid}"))
            sid += 1
    return events


def test_a_synthetic_feed_over_many_years_and_zones_reads_the_same_in_four_parsers() -> None:
    events = _synthetic_events()
    info = FeedInfo("Years of sessions", BASE, f"{BASE}/years.ics")
    text = build_calendar(info, events, BASE).decode()
    assert text.count("BEGIN:VTIMEZONE") == 4
    assert "RDATE" not in text
    expected = {
        (f"session-{e.session.id}@{HOST}", e.session.starts_at, e.session.ends_at) for e in events
    }
    assert len(expected) > 600
    assert_all_read(text, expected, "synthetic")


def test_the_vtimezone_is_one_yearly_rule_per_change_while_the_rule_holds() -> None:
    london = vtimezone_text("Europe/London", 2019, 2027)
    assert london.count("BEGIN:DAYLIGHT") == 1 and london.count("BEGIN:STANDARD") == 2
    # The spring change is at 01:00 GMT, the autumn one at 02:00 BST (local time before it).
    assert "DTSTART:20190331T010000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n" in london
    assert "DTSTART:20191027T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n" in london
    new_york = vtimezone_text("America/New_York", 2005, 2009)
    # The old rule stops with 2006 (UNTIL a day after its last change); the new one holds.
    assert "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060403T070000Z\r\n" in new_york
    assert "DTSTART:20070311T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n" in new_york
    assert "DTSTART:20071104T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n" in new_york
    # A change that follows no rule is an observance of its own.
    moscow = vtimezone_text("Europe/Moscow", 2012, 2016)
    assert "RRULE" not in moscow
    assert (
        "DTSTART:20141026T020000\r\nTZNAME:MSK\r\nTZOFFSETFROM:+0400\r\nTZOFFSETTO:+0300" in moscow
    )
    # A zone without changes has its one offset.
    tokyo = vtimezone_text("Asia/Tokyo", 2020, 2030)
    assert tokyo.count("BEGIN:STANDARD") == 1 and "TZOFFSETTO:+0900" in tokyo


def test_the_old_rdate_lists_were_misread_by_vobject() -> None:
    """The cause, kept as evidence: the VTIMEZONE icalendar's ``from_tzinfo`` writes (what the
    feeds carried before issue 16) puts later changes in one multi-valued RDATE; vobject reads
    its first value only, so summer 2021 on reads as GMT. Our own VTIMEZONE reads right."""
    from icalendar import Timezone

    old = (
        Timezone.from_tzinfo(
            zoneinfo.ZoneInfo("Europe/London"),
            tzid="Europe/London",
            first_date=dt.date(2019, 1, 1),
            last_date=dt.date(2028, 1, 1),
        )
        .to_ical()
        .decode()
    )
    assert re.search(r"RDATE:\d{8}T\d{6},\d{8}T", old)
    summer = dt.datetime(2023, 7, 15, 18, 0, tzinfo=zoneinfo.ZoneInfo("Europe/London"))

    def feed(vtimezone: str) -> str:
        return (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            + vtimezone.replace("\r\n", "\n").replace("\n", "\r\n")
            + "BEGIN:VEVENT\r\nUID:summer\r\nDTSTAMP:20230101T000000Z\r\n"
            + "DTSTART;TZID=Europe/London:20230715T180000\r\n"
            + "DTEND;TZID=Europe/London:20230715T190000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )

    [(_, misread, _)] = read_vobject(feed(old))
    assert misread - summer.astimezone(dt.UTC) == dt.timedelta(hours=1)
    ours = feed(vtimezone_text("Europe/London", 2019, 2027))
    expected = {
        ("summer", summer.astimezone(dt.UTC), summer.astimezone(dt.UTC) + dt.timedelta(hours=1))
    }
    assert_all_read(ours, expected, "ours")
