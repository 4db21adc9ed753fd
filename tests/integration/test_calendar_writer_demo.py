"""Every feed of the demo data, written directly (``build_calendar``), is byte for byte what
icalendar writes for the same calendar made of its components (``make_calendar``): gathering,
track, speaker and organisation feeds, and personal agendas with joining links."""

from __future__ import annotations

import dataclasses

import pytest

from gathering.calendars.rules import FeedEvent, FeedInfo, build_calendar, make_calendar
from gathering.core.database import Database
from gathering.programme.catalogue import list_organisations, list_speakers, released_programmes
from gathering.programme.published import PublicGathering, PublicSession
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo

pytestmark = pytest.mark.anyio
BASE = "http://127.0.0.1:8000"


def _event(gathering: PublicGathering, session: PublicSession, link: str = "") -> FeedEvent:
    return FeedEvent(gathering, session, f"{BASE}/g/{gathering.slug}/s/{session.id}", link)


def _same(name: str, events: list[FeedEvent], description: str = "") -> int:
    info = FeedInfo(name, f"{BASE}/x", f"{BASE}/x/calendar.ics", description)
    body = build_calendar(info, events, BASE)
    assert body == make_calendar(info, events, BASE).to_ical(), name
    return body.count(b"BEGIN:VEVENT")


async def test_every_demo_feed_is_written_as_icalendar_writes_it(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programmes = await released_programmes(db)
    assert programmes
    written = 0
    for programme in programmes:
        gathering = programme.gathering
        events = [_event(gathering, s) for s in programme.sessions]
        written += _same(gathering.title, events, "The programme, kept up to date.")
        for track in {s.track for s in programme.sessions if s.track}:
            mine = [e for e in events if e.session.track == track]
            written += _same(f"{track.name} · {gathering.title}", mine)
        # A personal agenda: joining links for online and hybrid sessions, and one session
        # cancelled, as a cancelled registration's or session's feed shows it.
        agenda = [
            _event(
                gathering,
                s,
                f"https://meet.example/{s.id}?pwd=a;b" if s.format != "in_person" else "",
            )
            for s in programme.sessions
        ]
        if agenda:
            cancelled = dataclasses.replace(agenda[0].session, status="cancelled")
            agenda[0] = dataclasses.replace(agenda[0], session=cancelled)
        written += _same(f"My agenda · {gathering.title}", agenda, "Private.")
    gathering_of = {s.id: p.gathering for p in programmes for s in p.sessions}
    for profile in [*await list_speakers(db), *await list_organisations(db)]:
        events = [_event(gathering_of[a.session.id], a.session) for a in profile.appearances]
        written += _same(profile.name, events)
    assert written > 50
