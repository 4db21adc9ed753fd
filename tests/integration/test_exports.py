"""frab schedule XML and schedule JSON: valid against the vendored C3VOC schemas, stable ids."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path

import httpx
import jsonschema
import lxml.etree
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from gathering.core import schema
from gathering.core.database import Database
from gathering.programme.release import load_programme, release_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.factories import add_room, add_unreleased_gathering

pytestmark = pytest.mark.anyio
SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "voc-schedule"
CONFERENCE = "labour-conference-2019"
NATIONAL = "dont-leave-organise-2021"
SLUGS = [CONFERENCE, NATIONAL]
PALESTINE = "Let's Talk about Palestine"
BASE = "http://127.0.0.1:8000"


def _xml_schema() -> lxml.etree.XMLSchema:
    return lxml.etree.XMLSchema(lxml.etree.parse(str(SCHEMAS / "xsd" / "schedule.xml.xsd")))


def _json_validator() -> jsonschema.protocols.Validator:
    document = json.loads((SCHEMAS / "json" / "schema.json").read_text())
    cls = jsonschema.validators.validator_for(document)
    cls.check_schema(document)
    return cls(document, format_checker=cls.FORMAT_CHECKER)


def _valid_xml(body: bytes) -> lxml.etree._Element:
    root = lxml.etree.fromstring(body)
    xml_schema = _xml_schema()
    assert xml_schema.validate(root), str(xml_schema.error_log)
    return root


def _valid_json(body: bytes) -> dict:
    document = json.loads(body)
    errors = [f"{list(e.path)}: {e.message}" for e in _json_validator().iter_errors(document)]
    assert errors == []
    # The format checker skips date-time without optional packages; check offsets ourselves.
    for day in document["schedule"]["conference"]["days"]:
        for value in (day["day_start"], day["day_end"]):
            assert dt.datetime.fromisoformat(value).tzinfo is not None
        for events in day["rooms"].values():
            for event in events:
                assert dt.datetime.fromisoformat(event["date"]).utcoffset() is not None
    return document


def _events_json(document: dict) -> list[dict]:
    return [
        event
        for day in document["schedule"]["conference"]["days"]
        for events in day["rooms"].values()
        for event in events
    ]


def _event(root: lxml.etree._Element, title: str) -> lxml.etree._Element:
    matches = [e for e in root.iter("event") if e.findtext("title").endswith(title)]
    assert len(matches) == 1, title
    return matches[0]


async def _write(db: Database, statement: sa.Executable) -> None:
    async def _unit(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_unit)


async def _session_id(db: Database, title: str) -> int:
    async def _read(conn: AsyncConnection) -> int:
        query = sa.select(schema.programme_session.c.id).where(
            schema.programme_session.c.title == title
        )
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


async def _get(client: httpx.AsyncClient, path: str, **headers: str) -> httpx.Response:
    response = await client.get(path, headers=headers)
    assert response.status_code in (200, 304), (path, response.status_code, response.text)
    return response


def test_vendored_schemas_are_unmodified() -> None:
    expected = {
        "xsd/schedule.xml.xsd": "8cc5f7aab933c87fb20a99220e618f5e069655ac2f3a75a8a0df845d7329e51c",
        "json/schema.json": "0f64db03e6a43b31ed109d358fecd1750a158488e44a2e52933a33a775208236",
    }
    actual = {name: hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest() for name in expected}
    assert actual == expected
    assert (SCHEMAS / "LICENCE-EUPL-1.2.txt").is_file()


@pytest.mark.parametrize("slug", SLUGS)
async def test_exports_of_demo_data_validate(
    db: Database, client: httpx.AsyncClient, slug: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, slug)
    root = _valid_xml((await _get(client, f"/g/{slug}/schedule.xml")).content)
    document = _valid_json((await _get(client, f"/g/{slug}/schedule.json")).content)

    expected_ids = sorted(s.id for s in programme.sessions)
    assert sorted(int(e.get("id")) for e in root.iter("event")) == expected_ids
    assert sorted(e["id"] for e in _events_json(document)) == expected_ids
    xml_guids = {int(e.get("id")): e.get("guid") for e in root.iter("event")}
    assert xml_guids == {e["id"]: e["guid"] for e in _events_json(document)}
    for session_id, guid in xml_guids.items():
        url = f"{BASE}/g/{slug}/s/{session_id}"
        assert guid == str(uuid.uuid5(uuid.NAMESPACE_URL, url))
    assert root.findtext("version") == "1"
    assert document["schedule"]["version"] == "1"
    assert root.findtext("conference/time_zone_name") == "Europe/London"
    conference = document["schedule"]["conference"]
    assert conference["time_zone_name"] == "Europe/London"
    assert root.findtext("conference/acronym") == conference["acronym"] == slug.replace("-", "_")
    # Every event's room is one of the day's rooms, named alike in both exports.
    for day in root.iter("day"):
        for room in day.findall("room"):
            assert {e.findtext("room") for e in room.iter("event")} == {room.get("name")}
    room_names = {r["name"] for r in conference["rooms"]}
    assert {e["room"] for e in _events_json(document)} == room_names


async def test_frab_xml_event_details(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _session_id(db, PALESTINE)
    root = _valid_xml((await _get(client, f"/g/{CONFERENCE}/schedule.xml")).content)

    assert root.findtext("conference/title") == "Labour Left at Labour Party conference 2019"
    assert root.findtext("conference/start") == "2019-09-21"
    assert root.findtext("conference/end") == "2019-09-25"
    assert root.findtext("conference/days") == "5"
    assert root.findtext("conference/base_url") == BASE + "/"
    days = [(d.get("index"), d.get("date"), d.get("start"), d.get("end")) for d in root.iter("day")]
    assert days[1] == ("2", "2019-09-22", "2019-09-22T04:00:00+01:00", "2019-09-23T03:59:00+01:00")
    assert [d[1] for d in days] == [f"2019-09-{n}" for n in range(21, 26)]

    event = _event(root, PALESTINE)
    assert event.getparent().get("name") == "Venue tbc"
    assert event.getparent().getparent().get("date") == "2019-09-22"
    assert int(event.get("id")) == session_id
    assert {
        tag: event.findtext(tag)
        for tag in ("date", "start", "duration", "room", "title", "type", "language", "url")
    } == {
        "date": "2019-09-22T17:30:00+01:00",
        "start": "17:30",
        "duration": "01:30",
        "room": "Venue tbc",
        "title": PALESTINE,
        "type": "meeting",
        "language": "en",
        "url": f"{BASE}/g/{CONFERENCE}/s/{session_id}",
    }
    assert event.findtext("subtitle") == "Jewish Voice for Labour"
    assert event.findtext("abstract") == "Jewish Voice for Labour's fringe meeting."
    assert [p.text for p in event.iter("person")] == ["Haneen Zoabi", "Ilan Pappé", "Graham Bash"]
    assert all(int(p.get("id")) > 0 for p in event.iter("person"))
    assert [(a.get("href"), a.text) for a in event.iter("link")] == [
        (f"{BASE}/g/{CONFERENCE}/s/{session_id}", "Session page")
    ]
    assert (
        event.findtext("slug") == f"labour_conference_2019-{session_id}-let-s-talk-about-palestine"
    )


async def test_schedule_json_event_details(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _session_id(db, PALESTINE)
    document = _valid_json((await _get(client, f"/g/{CONFERENCE}/schedule.json")).content)
    assert document["$schema"] == "https://c3voc.de/schedule/schema.json"
    assert document["generator"]["name"] == "Gathering"
    day = document["schedule"]["conference"]["days"][1]
    assert (day["index"], day["date"]) == (2, "2019-09-22")
    [event] = day["rooms"]["Venue tbc"]
    assert {k: event[k] for k in ("id", "date", "end", "start", "duration", "room", "title")} == {
        "id": session_id,
        "date": "2019-09-22T17:30:00+01:00",
        "end": "2019-09-22T19:00:00+01:00",
        "start": "17:30",
        "duration": "01:30",
        "room": "Venue tbc",
        "title": PALESTINE,
    }
    assert [p["name"] for p in event["persons"]] == ["Haneen Zoabi", "Ilan Pappé", "Graham Bash"]
    assert event["url"] == f"{BASE}/g/{CONFERENCE}/s/{session_id}"


async def test_national_gathering_rooms_online_and_tbc(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    root = _valid_xml((await _get(client, f"/g/{NATIONAL}/schedule.xml")).content)
    rooms = {
        r.get("name"): [e.findtext("title") for e in r.iter("event")]
        for r in root.iterfind("day/room")
    }
    assert rooms == {
        "Online": ["Organising locally: mutual aid and left groups"],
        "Venue tbc": [
            "Welcome: reclaiming our party",
            "Restoring democracy throughout our party",
            "Repeal the anti-union laws",
            "Closing plenary",
        ],
    }
    assert [t.get("name") for t in root.iterfind("conference/track")] == [
        "Democracy",
        "Organising",
        "Plenary",
        "Workplace",
    ]
    assert _event(root, "Welcome: reclaiming our party").findtext("track") == "Plenary"


async def test_ids_and_guids_survive_a_room_move_and_release(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    before = _valid_xml((await _get(client, f"/g/{CONFERENCE}/schedule.xml")).content)
    before_json = _valid_json((await _get(client, f"/g/{CONFERENCE}/schedule.json")).content)
    old = _event(before, PALESTINE)

    room_id = await add_room(db, programme.gathering.id)
    session_id = await _session_id(db, PALESTINE)
    table = schema.programme_session
    await _write(db, sa.update(table).where(table.c.id == session_id).values(room_id=room_id))
    await release_programme(db, programme.gathering.id, released_by=None)

    after = _valid_xml((await _get(client, f"/g/{CONFERENCE}/schedule.xml")).content)
    after_json = _valid_json((await _get(client, f"/g/{CONFERENCE}/schedule.json")).content)
    new = _event(after, PALESTINE)
    assert (new.get("id"), new.get("guid")) == (old.get("id"), old.get("guid"))
    assert (old.findtext("room"), new.findtext("room")) == ("Venue tbc", "Main hall")
    assert new.getparent().get("name") == "Main hall"
    assert (before.findtext("version"), after.findtext("version")) == ("1", "2")
    assert after_json["schedule"]["version"] == "2"
    guids = {e["id"]: e["guid"] for e in _events_json(before_json)}
    assert {e["id"]: e["guid"] for e in _events_json(after_json)} == guids
    [main_hall] = [r for r in after_json["schedule"]["conference"]["rooms"] if r["capacity"]]
    assert main_hall == {
        "name": "Main hall",
        "guid": main_hall["guid"],
        "capacity": 200,
        "description": "Brighthelm Centre, North Road, Brighton BN1 1YD",
    }


async def test_cancelled_session_stays_and_is_marked(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    session_id = await _session_id(db, PALESTINE)
    table = schema.programme_session
    await _write(db, sa.update(table).where(table.c.id == session_id).values(status="cancelled"))
    await release_programme(db, programme.gathering.id, released_by=None)

    root = _valid_xml((await _get(client, f"/g/{CONFERENCE}/schedule.xml")).content)
    event = _event(root, PALESTINE)
    assert event.get("id") == str(session_id)
    assert event.findtext("title") == f"Cancelled: {PALESTINE}"
    assert event.findtext("type") == "cancelled"
    assert event.findtext("description").startswith("Jewish Voice for Labour's fringe meeting.")
    assert "This session has been cancelled." in event.findtext("description")
    assert len(list(root.iter("event"))) == 4
    document = _valid_json((await _get(client, f"/g/{CONFERENCE}/schedule.json")).content)
    [cancelled] = [e for e in _events_json(document) if e["id"] == session_id]
    assert (cancelled["title"], cancelled["type"]) == (f"Cancelled: {PALESTINE}", "cancelled")


@pytest.mark.parametrize("path", ["schedule.xml", "schedule.json"])
async def test_exports_are_cacheable(db: Database, client: httpx.AsyncClient, path: str) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    first = await _get(client, f"/g/{CONFERENCE}/{path}")
    second = await _get(client, f"/g/{CONFERENCE}/{path}")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    etag = first.headers["etag"]
    assert etag == second.headers["etag"]
    assert first.headers["access-control-allow-origin"] == "*"
    expected_type = "application/xml" if path.endswith("xml") else "application/json"
    assert first.headers["content-type"].split(";")[0] == expected_type
    assert programme.release is not None
    modified = dt.datetime.strptime(first.headers["last-modified"], "%a, %d %b %Y %H:%M:%S GMT")
    assert modified.replace(tzinfo=dt.UTC) == programme.release.released_at.replace(microsecond=0)

    not_modified = await _get(client, f"/g/{CONFERENCE}/{path}", **{"if-none-match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    since = await _get(
        client, f"/g/{CONFERENCE}/{path}", **{"if-modified-since": first.headers["last-modified"]}
    )
    assert since.status_code == 304


async def test_exports_never_carry_joining_links(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    for slug in SLUGS:
        for path in ("schedule.xml", "schedule.json"):
            body = (await _get(client, f"/g/{slug}/{path}")).text
            assert "meet.example.org" not in body
            assert "@example." not in body  # no attendee or contact addresses


async def test_exports_of_unknown_gathering_are_404(client: httpx.AsyncClient) -> None:
    for path in ("schedule.xml", "schedule.json"):
        response = await client.get(f"/g/no-such-gathering/{path}")
        assert response.status_code == 404


async def test_exports_before_first_release_are_valid_and_empty(
    db: Database, client: httpx.AsyncClient
) -> None:
    await add_unreleased_gathering(db)
    xml_response = await _get(client, "/g/spring-school-2027/schedule.xml")
    root = _valid_xml(xml_response.content)
    assert root.findtext("version") == "0"
    assert [d.get("date") for d in root.iter("day")] == ["2027-03-27", "2027-03-28"]
    assert list(root.iter("event")) == []
    assert "last-modified" not in xml_response.headers
    document = _valid_json((await _get(client, "/g/spring-school-2027/schedule.json")).content)
    assert document["schedule"]["version"] == "0"
    assert _events_json(document) == []


async def test_exports_are_built_once_per_release(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    for _ in range(3):
        await _get(client, f"/g/{CONFERENCE}/schedule.xml")
        await _get(client, f"/g/{CONFERENCE}/schedule.json")
    cache = app.state.export_cache
    assert sorted((key[0], key[2]) for key in cache._items) == [
        ("frab_xml", 1),
        ("schedule_json", 1),
    ]
    session_id = await _session_id(db, PALESTINE)
    table = schema.programme_session
    await _write(db, sa.update(table).where(table.c.id == session_id).values(title="Palestine"))
    await release_programme(db, programme.gathering.id, released_by=None)
    root = _valid_xml((await _get(client, f"/g/{CONFERENCE}/schedule.xml")).content)
    assert _event(root, "Palestine").findtext("title") == "Palestine"
    assert sorted((key[0], key[2]) for key in cache._items) == [
        ("frab_xml", 1),
        ("frab_xml", 2),
        ("schedule_json", 1),
    ]
