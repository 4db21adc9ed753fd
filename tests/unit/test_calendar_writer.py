"""Whole feeds: ``build_calendar`` writes exactly the bytes of icalendar's ``to_ical()`` of
``make_calendar`` (the same calendar as icalendar components), for sessions with awkward text,
places, zones and times, in one gathering or several."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from gathering.calendars.rules import FeedEvent, FeedInfo, build_calendar, make_calendar
from gathering.programme.published import (
    Host,
    PublicGathering,
    PublicSession,
    Room,
    SpeakerRef,
    Track,
    Venue,
)

BASE = "https://gathering.example.org"

# Commas, semicolons, backslashes (and "\N", which icalendar reads as a line break), carets,
# quotes, every kind of line break, Welsh, CJK and emoji: long enough to fold many times.
PIECES = [*"abc XYZ019,;:\\^\"'\n\r\t·–ŵŷâ中😀N", "\r\n", "\\N", "https://x.org/a?b=c;d"]
awkward = st.lists(st.sampled_from(PIECES), max_size=200).map("".join)
names = st.one_of(awkward.filter(str.strip), st.sampled_from(["Plenary", "Unite, Wales; Cymru"]))
# icalendar writes the calendar's NAME, X-WR-CALNAME and X-WR-CALDESC as they are (unknown types,
# not escaped), so it refuses line breaks in them; the header is icalendar's own in both.
one_line = awkward.map(lambda text: text.replace("\r", " ").replace("\n", " "))
ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
# Instants around the changes of the clocks: the hour repeated in autumn is written in UTC.
TURNS = [
    dt.datetime(2021, 10, 31, 0, 30, tzinfo=dt.UTC),  # 01:30 BST, the first 01:30 in London
    dt.datetime(2021, 10, 31, 1, 30, tzinfo=dt.UTC),  # 01:30 GMT, the second
    dt.datetime(2022, 3, 27, 0, 59, tzinfo=dt.UTC),
    dt.datetime(2023, 11, 5, 5, 30, tzinfo=dt.UTC),  # 01:30 in New York, twice
    dt.datetime(2023, 11, 5, 6, 30, tzinfo=dt.UTC),
]
instants = st.one_of(
    st.sampled_from(TURNS),
    st.datetimes(
        min_value=dt.datetime(2019, 1, 1),
        max_value=dt.datetime(2030, 12, 31),
        timezones=st.just(dt.UTC),
    ).map(lambda moment: moment.replace(microsecond=0)),
)


@st.composite
def rooms(draw: st.DrawFn) -> Room | None:
    if draw(st.booleans()):
        return None  # venue to be confirmed
    venue = Venue(1, draw(names), draw(awkward), None, None, None, None, "")
    return Room(
        1, draw(st.sampled_from(["", "Room 1", "Ystafell 2, llawr 1"])), None, None, "", venue
    )


@st.composite
def sessions(draw: st.DrawFn, session_id: int) -> PublicSession:
    starts_at = draw(instants)
    hosts = tuple(
        Host(i, f"org-{i}", draw(names), "", draw(st.sampled_from(["host", "co_host"])))
        for i in range(draw(st.integers(0, 2)))
    )
    speakers = tuple(
        SpeakerRef(
            i, f"s-{i}", draw(names), "", "", None, draw(st.sampled_from(["chair", "speaker"]))
        )
        for i in range(draw(st.integers(0, 3)))
    )
    track = draw(st.one_of(st.none(), names.map(lambda name: Track("t", name))))
    return PublicSession(
        id=session_id,
        title=draw(names),
        description=draw(awkward),
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=draw(st.sampled_from([30, 60, 90, 24 * 60]))),
        status=draw(st.sampled_from(["published", "cancelled"])),
        format=draw(st.sampled_from(["in_person", "online", "hybrid"])),
        access=draw(st.sampled_from(["public", "supporters", "invite"])),
        access_note=draw(st.sampled_from(["", "Step-free; BSL, on request."])),
        capacity=None,
        language="en",
        track=track,
        room=draw(rooms()),
        hosts=hosts,
        speakers=speakers,
        version=draw(st.integers(1, 40)),
        changed_at=draw(instants) + dt.timedelta(microseconds=draw(st.integers(0, 999_999))),
    )


@st.composite
def feeds(draw: st.DrawFn) -> tuple[FeedInfo, list[FeedEvent]]:
    gatherings = [
        PublicGathering(
            i,
            f"g{i}",
            draw(names),
            "",
            dt.date(2021, 1, 1),
            dt.date(2021, 1, 2),
            draw(st.sampled_from(ZONES)),
            "in_person",
            "",
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    events = []
    for number in range(draw(st.integers(0, 6))):
        gathering = draw(st.sampled_from(gatherings))
        session = draw(sessions(number % 4))  # some ids repeat: the feed keeps one of each
        url = f"{BASE}/g/{gathering.slug}/s/{session.id}"
        link = draw(st.sampled_from(["", "https://meet.example/room-1?pwd=a;b,c"]))
        events.append(FeedEvent(gathering, session, url, link))
    info = FeedInfo(
        draw(one_line.filter(str.strip)),
        f"{BASE}/g/x",
        draw(st.sampled_from(["", f"{BASE}/g/x/calendar.ics"])),
        draw(st.one_of(st.just(""), one_line)),
    )
    return info, events


@settings(max_examples=300, deadline=None)
@given(feeds())
def test_feeds_are_written_as_icalendar_writes_them(feed: tuple[FeedInfo, list[FeedEvent]]) -> None:
    info, events = feed
    assert build_calendar(info, events, BASE) == make_calendar(info, events, BASE).to_ical()
