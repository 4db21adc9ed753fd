"""Link previews (issue 19): OpenGraph and Twitter cards on every public page, schema.org/Event
JSON-LD on session pages (parsed with a JSON-LD processor), an ItemList on the programme page;
only public, released data, absolute URLs on GATHERING_BASE_URL whatever the Host header.

The JSON-LD says ``"@context": "https://schema.org"``. The tests have no network, so pyld's
document loader is given a local context for that address instead of fetching schema.org's: it
maps the terms the pages use onto https://schema.org/ and declares the properties whose values
are IRIs (url, eventStatus, eventAttendanceMode) as such, so the expanded graph can be checked
property by property against the schema.org vocabulary below.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pyld import jsonld
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.programme.release import PublicSession, load_programme, release_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.factories import add_room
from tests.helpers import parse_html

pytestmark = pytest.mark.anyio
CONFERENCE = "labour-conference-2019"
NATIONAL = "dont-leave-organise-2021"
OWN = "http://127.0.0.1:8000"
S = "https://schema.org/"
PS = schema.programme_session

# The schema.org terms the pages use, as schema.org defines them (https://schema.org/Event and the
# types of its values); "@type": "@id" where the value is an IRI.
LOCAL_CONTEXT: dict[str, Any] = {
    "@context": {
        "@vocab": S,
        "url": {"@type": "@id"},
        "eventStatus": {"@type": "@id"},
        "eventAttendanceMode": {"@type": "@id"},
    }
}
EVENT_PROPERTIES = {
    S + p
    for p in [
        "name",
        "description",
        "url",
        "startDate",
        "endDate",
        "eventStatus",
        "eventAttendanceMode",
        "location",
        "inLanguage",
        "organizer",
        "performer",
        "superEvent",
        "previousStartDate",
    ]
}
PROPERTIES_OF = {
    S + "Event": EVENT_PROPERTIES,
    S + "Place": {S + "name", S + "address"},
    S + "PostalAddress": {S + "streetAddress", S + "addressLocality"},
    S + "VirtualLocation": {S + "url"},
    S + "Organization": {S + "name", S + "url"},
    S + "Person": {S + "name", S + "url"},
}
LOCATION_TYPES = {S + "Place", S + "VirtualLocation"}


def _local_loader(url: str, options: object = None) -> dict[str, Any]:
    if url.rstrip("/") not in ("https://schema.org", "http://schema.org"):
        raise AssertionError(f"the JSON-LD asked for a remote document: {url}")
    return {"contextUrl": None, "documentUrl": url, "document": LOCAL_CONTEXT}


def _json_ld(body: str) -> list[dict[str, Any]]:
    doc = parse_html(body)
    return [json.loads(text) for text in doc.xpath("//script[@type='application/ld+json']/text()")]


def _expanded(data: dict[str, Any]) -> dict[str, Any]:
    expanded = jsonld.expand(data, {"documentLoader": _local_loader})
    assert len(expanded) == 1
    return dict(expanded[0])


def _check_node(node: dict[str, Any]) -> None:
    """Every node has one known schema.org type and only that type's properties."""
    types = node["@type"]
    assert len(types) == 1 and types[0] in PROPERTIES_OF, types
    unknown = set(node) - {"@type", "@id"} - PROPERTIES_OF[types[0]]
    assert not unknown, (types[0], unknown)
    for key, values in node.items():
        if key.startswith("@"):
            continue
        for value in values:
            if "@type" in value and isinstance(value["@type"], list):
                _check_node(value)


def _value(node: dict[str, Any], name: str) -> Any:
    values = node[S + name]
    assert len(values) == 1, (name, values)
    return values[0].get("@value", values[0].get("@id"))


def _values(node: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return list(node.get(S + name, []))


async def _event(client: httpx.AsyncClient, slug: str, session_id: int) -> dict[str, Any]:
    response = await client.get(f"/g/{slug}/s/{session_id}", headers={"host": "attacker.example"})
    assert response.status_code == 200
    blocks = _json_ld(response.text)
    assert len(blocks) == 1
    event = _expanded(blocks[0])
    assert event["@type"] == [S + "Event"]
    _check_node(event)
    return event


def _offset_time(instant: dt.datetime, zone: str) -> str:
    return instant.astimezone(zoneinfo.ZoneInfo(zone)).isoformat()


async def _execute(db: Database, *statements: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        for statement in statements:
            await conn.execute(statement)

    await db.write(_write)


async def _release(db: Database, slug: str) -> None:
    programme = await load_programme(db, slug)
    await release_programme(db, programme.gathering.id, released_by=None)


def _by_format(sessions: tuple[PublicSession, ...], fmt: str) -> PublicSession:
    return next(s for s in sessions if s.format == fmt)


# --- schema.org/Event on session pages -----------------------------------------------------


async def test_session_json_ld_is_a_schema_org_event_with_zone_offsets(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    session = programme.sessions[1]  # co-hosted, three speakers, venue tbc, in person
    event = await _event(client, CONFERENCE, session.id)
    page = f"{OWN}/g/{CONFERENCE}/s/{session.id}"
    assert event["@id"] == page
    assert _value(event, "url") == page
    assert _value(event, "name") == session.title
    start, end = _value(event, "startDate"), _value(event, "endDate")
    # In the gathering's zone with its offset: 18:30 BST, not 17:30Z.
    assert start == _offset_time(session.starts_at, "Europe/London") == "2019-09-23T18:30:00+01:00"
    assert end == _offset_time(session.ends_at, "Europe/London")
    assert _value(event, "eventStatus") == S + "EventScheduled"
    assert _value(event, "eventAttendanceMode") == S + "OfflineEventAttendanceMode"
    organisers = [(_value(o, "name"), _value(o, "url")) for o in _values(event, "organizer")]
    assert organisers == [(h.name, f"{OWN}/organisations/{h.slug}") for h in session.hosts]
    performers = [(_value(p, "name"), _value(p, "url")) for p in _values(event, "performer")]
    assert performers == [(p.name, f"{OWN}/speakers/{p.slug}") for p in session.speakers]
    (place,) = _values(event, "location")
    assert place["@type"] == [S + "Place"]
    assert _value(place, "name") == "Venue to be confirmed"
    (address,) = _values(place, "address")
    assert _value(address, "addressLocality") == "Brighton"
    (super_event,) = _values(event, "superEvent")
    assert _value(super_event, "url") == f"{OWN}/g/{CONFERENCE}"


async def test_hybrid_session_has_place_with_address_and_virtual_location_never_the_link(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, NATIONAL)
    hybrid = _by_format(programme.sessions, "hybrid")
    room = await add_room(db, programme.gathering.id, address="1 Example Street, Leeds LS1 1AA")
    await _execute(db, sa.update(PS).where(PS.c.id == hybrid.id).values(room_id=room))
    await _release(db, NATIONAL)
    event = await _event(client, NATIONAL, hybrid.id)
    assert _value(event, "eventAttendanceMode") == S + "MixedEventAttendanceMode"
    place, virtual = _values(event, "location")
    assert place["@type"] == [S + "Place"] and virtual["@type"] == [S + "VirtualLocation"]
    (address,) = _values(place, "address")
    assert _value(address, "streetAddress") == "1 Example Street, Leeds LS1 1AA"
    assert _value(virtual, "url") == f"{OWN}/g/{NATIONAL}/s/{hybrid.id}"
    page = (await client.get(f"/g/{NATIONAL}/s/{hybrid.id}")).text
    assert "meet.example.org" not in page

    online = _by_format(programme.sessions, "online")
    event = await _event(client, NATIONAL, online.id)
    assert _value(event, "eventAttendanceMode") == S + "OnlineEventAttendanceMode"
    (virtual,) = _values(event, "location")
    assert virtual["@type"] == [S + "VirtualLocation"]
    assert _value(virtual, "url") == f"{OWN}/g/{NATIONAL}/s/{online.id}"


async def test_cancelled_session_says_event_cancelled(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session = (await load_programme(db, CONFERENCE)).sessions[0]
    await _execute(db, sa.update(PS).where(PS.c.id == session.id).values(status="cancelled"))
    # Not released yet: the public page still says scheduled.
    assert _value(await _event(client, CONFERENCE, session.id), "eventStatus") == (
        S + "EventScheduled"
    )
    await _release(db, CONFERENCE)
    event = await _event(client, CONFERENCE, session.id)
    assert _value(event, "eventStatus") == "https://schema.org/EventCancelled"
    page = parse_html((await client.get(f"/g/{CONFERENCE}/s/{session.id}")).text)
    assert page.xpath("//meta[@property='og:title']/@content") == [f"Cancelled: {session.title}"]


async def test_session_moved_after_release_says_event_rescheduled(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    moved, other = (await load_programme(db, CONFERENCE)).sessions[:2]
    later = dt.timedelta(hours=1)
    await _execute(
        db,
        sa.update(PS)
        .where(PS.c.id == moved.id)
        .values(starts_at=moved.starts_at + later, ends_at=moved.ends_at + later),
        # Another change that is not a move: stays scheduled.
        sa.update(PS).where(PS.c.id == other.id).values(title="A new title"),
    )
    await _release(db, CONFERENCE)
    event = await _event(client, CONFERENCE, moved.id)
    assert _value(event, "eventStatus") == S + "EventRescheduled"
    assert _value(event, "startDate") == _offset_time(moved.starts_at + later, "Europe/London")
    assert _value(await _event(client, CONFERENCE, other.id), "eventStatus") == (
        S + "EventScheduled"
    )
    # Cancelled after the move: cancelled wins.
    await _execute(db, sa.update(PS).where(PS.c.id == moved.id).values(status="cancelled"))
    await _release(db, CONFERENCE)
    event = await _event(client, CONFERENCE, moved.id)
    assert _value(event, "eventStatus") == S + "EventCancelled"


async def test_supporters_only_session_shows_no_more_than_its_page(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    supporters = next(s for s in programme.sessions if s.access == "supporters")
    body = (await client.get(f"/g/{CONFERENCE}/s/{supporters.id}")).text
    (data,) = _json_ld(body)
    text = json.dumps(data)
    # Places left, capacity, joining links and attendees are never in the preview.
    for word in ("capacity", "remainingAttendeeCapacity", "maximumAttendeeCapacity", "attendee"):
        assert word not in text
    assert set(data) <= {
        "@context", "@type", "@id", "url", "name", "description", "startDate", "endDate",
        "eventStatus", "eventAttendanceMode", "location", "inLanguage", "organizer",
        "performer", "superEvent",
    }  # fmt: skip


# --- OpenGraph and Twitter cards -----------------------------------------------------------


def _meta(doc: Any, key: str) -> list[str]:
    return [str(v) for v in doc.xpath(f"//head/meta[@property='{key}' or @name='{key}']/@content")]


async def test_every_public_page_has_opengraph_and_twitter_cards_on_the_base_url(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    session = programme.sessions[1]
    pages = {
        "/": ("Gatherings", f"{OWN}/"),
        f"/g/{CONFERENCE}": (f"Programme: {programme.gathering.title}", f"{OWN}/g/{CONFERENCE}"),
        f"/g/{CONFERENCE}/s/{session.id}": (
            session.title,
            f"{OWN}/g/{CONFERENCE}/s/{session.id}",
        ),
        "/speakers/chris-williamson": ("Chris Williamson", f"{OWN}/speakers/chris-williamson"),
        "/organisations/lla": ("Labour Left Alliance", f"{OWN}/organisations/lla"),
    }
    for path, (title, url) in pages.items():
        response = await client.get(path, headers={"host": "attacker.example"})
        assert response.status_code == 200, path
        assert "attacker.example" not in response.text
        doc = parse_html(response.text)
        assert _meta(doc, "og:title") == [title], path
        assert _meta(doc, "twitter:title") == [title], path
        assert _meta(doc, "og:url") == [url], path
        assert doc.xpath("//head/link[@rel='canonical']/@href") == [url], path
        assert _meta(doc, "twitter:card") == ["summary"], path
        assert _meta(doc, "og:site_name") == ["Gathering"], path
        (description,) = _meta(doc, "og:description")
        assert description and _meta(doc, "twitter:description") == [description], path
    doc = parse_html((await client.get(f"/g/{CONFERENCE}/s/{session.id}")).text)
    (description,) = _meta(doc, "og:description")
    assert description.startswith("Monday 23 September 2019, 18:30–20:00 BST · Venue to be")
    assert "Hosted by Labour Representation Committee, Labour Left Alliance" in description


async def test_programme_page_lists_its_sessions_as_an_item_list(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    (data,) = _json_ld((await client.get(f"/g/{CONFERENCE}")).text)
    listing = _expanded(data)
    assert listing["@type"] == [S + "ItemList"]
    items = listing[S + "itemListElement"]
    assert [_value(i, "url") for i in items] == [
        f"{OWN}/g/{CONFERENCE}/s/{s.id}" for s in programme.sessions
    ]
    assert [_value(i, "position") for i in items] == list(range(1, len(programme.sessions) + 1))


async def test_json_ld_cannot_be_closed_by_a_title(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session = (await load_programme(db, CONFERENCE)).sessions[0]
    title = "</script><script>alert(1)</script> & <!-- more"
    await _execute(db, sa.update(PS).where(PS.c.id == session.id).values(title=title))
    await _release(db, CONFERENCE)
    body = (await client.get(f"/g/{CONFERENCE}/s/{session.id}")).text
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    assert len(blocks) == 1
    assert "<" not in blocks[0] and ">" not in blocks[0]
    assert json.loads(blocks[0])["name"] == title
    assert parse_html(body).xpath("//script[not(@type) and not(@src)]") == []
