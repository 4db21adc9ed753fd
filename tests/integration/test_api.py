"""The read-only JSON API and its OpenAPI document."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import httpx
import jsonschema
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from gathering.core import schema
from gathering.core.database import Database
from gathering.demo import NEXT_SLUG, ORGANISATIONS
from gathering.programme.release import load_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo

pytestmark = pytest.mark.anyio
CONFERENCE = "labour-conference-2019"
NATIONAL = "dont-leave-organise-2021"
PALESTINE = "Let's Talk about Palestine"
BASE = "http://127.0.0.1:8000"


async def _write(db: Database, statement: sa.Executable) -> None:
    async def _unit(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_unit)


async def _scalar(db: Database, statement: sa.Executable) -> int:
    async def _read(conn: AsyncConnection) -> int:
        return int((await conn.execute(statement)).scalar_one())

    return await db.read(_read)


async def _session_id(db: Database, title: str) -> int:
    """The session ``title`` of the seeds' gatherings (the next one repeats its titles)."""
    table, g = schema.programme_session, schema.gathering
    query = (
        sa.select(table.c.id)
        .join(g, g.c.id == table.c.gathering_id)
        .where(table.c.title == title, g.c.slug != NEXT_SLUG)
    )
    return await _scalar(db, query)


async def _get_json(client: httpx.AsyncClient, path: str, status: int = 200) -> dict:
    response = await client.get(path)
    assert response.status_code == status, (path, response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0] == "application/json"
    return response.json()


async def _openapi(client: httpx.AsyncClient) -> dict:
    return await _get_json(client, "/api/openapi.json")


def _conforms(document: dict, component: str, instance: object) -> None:
    """``instance`` is valid against the OpenAPI document's schema ``component``."""
    wrapper = {"components": document["components"], "$ref": f"#/components/schemas/{component}"}
    errors = list(jsonschema.Draft202012Validator(wrapper).iter_errors(instance))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


async def test_gatherings_lists_released_programmes(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    data = await _get_json(client, "/api/gatherings")
    _conforms(await _openapi(client), "GatheringList", data)
    # The demo's next gathering first (dated after today, issue 16), then the seeds' history.
    assert [g["slug"] for g in data["gatherings"]] == [NEXT_SLUG, NATIONAL, CONFERENCE]
    conference = data["gatherings"][2]
    assert conference["session_count"] == 4
    assert conference["timezone"] == "Europe/London"
    assert conference["release"]["number"] == 1
    assert conference["release"]["released_at"].endswith("+00:00")  # November: GMT
    assert conference["exports"] == {
        "frab_xml": f"{BASE}/g/{CONFERENCE}/schedule.xml",
        "schedule_json": f"{BASE}/g/{CONFERENCE}/schedule.json",
    }
    assert conference["api_url"] == f"{BASE}/api/gatherings/{CONFERENCE}"


async def test_gathering_has_released_sessions_with_live_places(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    session_id = await _session_id(db, PALESTINE)
    data = await _get_json(client, f"/api/gatherings/{CONFERENCE}")
    _conforms(await _openapi(client), "GatheringDetail", data)
    assert [s["id"] for s in data["sessions"]] == [s.id for s in programme.sessions]
    palestine = data["sessions"][0]
    assert {
        key: palestine[key]
        for key in ("id", "title", "starts_at", "ends_at", "timezone", "venue_tbc", "room")
    } == {
        "id": session_id,
        "title": PALESTINE,
        "starts_at": "2019-09-22T17:30:00+01:00",
        "ends_at": "2019-09-22T19:00:00+01:00",
        "timezone": "Europe/London",
        "venue_tbc": True,
        "room": None,
    }
    assert [(s["name"], s["role"]) for s in palestine["speakers"]] == [
        ("Haneen Zoabi", "speaker"),
        ("Ilan Pappé", "speaker"),
        ("Graham Bash", "speaker"),
    ]
    assert [(h["slug"], h["role"]) for h in palestine["hosts"]] == [("jvl", "host")]
    assert palestine["url"] == f"{BASE}/g/{CONFERENCE}/s/{session_id}"
    assert palestine["places_left"] == programme.sessions[0].places_left
    assert palestine["capacity"] == 120

    # Places left are live: a registration changes them (and the ETag) without a release.
    etag = (await client.get(f"/api/gatherings/{CONFERENCE}")).headers["etag"]
    table = schema.programme_session
    await _write(
        db,
        sa.update(table)
        .where(table.c.id == session_id)
        .values(places_taken=table.c.places_taken + 5),
    )
    response = await client.get(f"/api/gatherings/{CONFERENCE}", headers={"if-none-match": etag})
    assert response.status_code == 200
    assert response.json()["sessions"][0]["places_left"] == palestine["places_left"] - 5
    assert response.headers["etag"] != etag


async def test_session_detail_and_unknown_session(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _session_id(db, "Organising locally: mutual aid and left groups")
    data = await _get_json(client, f"/api/gatherings/{NATIONAL}/sessions/{session_id}")
    _conforms(await _openapi(client), "Session", data)
    assert (data["id"], data["format"], data["venue_tbc"], data["room"]) == (
        session_id,
        "online",
        False,
        None,
    )
    assert data["track"] == {"slug": "organising", "name": "Organising"}
    assert data["starts_at"] == "2021-09-18T14:00:00+01:00"
    assert data["places_left"] is None  # no limit
    assert [(h["slug"], h["role"]) for h in data["hosts"]] == [
        ("red-labour", "host"),
        ("nell", "co_host"),
    ]
    # A session of another gathering is not found under this one.
    other = await _session_id(db, PALESTINE)
    missing = await _get_json(client, f"/api/gatherings/{NATIONAL}/sessions/{other}", 404)
    assert missing["error"] == "not_found"


async def test_speakers_come_from_released_programmes(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    # A speaker added to a session but not yet released is not public.
    now = dt.datetime.now(dt.UTC)
    await _write(
        db,
        sa.insert(schema.speaker).values(
            slug="unannounced", name="Unannounced Guest", created_at=now
        ),
    )
    speaker_id = await _scalar(
        db, sa.select(schema.speaker.c.id).where(schema.speaker.c.slug == "unannounced")
    )
    session_id = await _session_id(db, PALESTINE)
    await _write(
        db, sa.insert(schema.session_speaker).values(session_id=session_id, speaker_id=speaker_id)
    )

    document = await _openapi(client)
    data = await _get_json(client, "/api/speakers")
    _conforms(document, "SpeakerList", data)
    slugs = [s["slug"] for s in data["speakers"]]
    assert "unannounced" not in slugs
    assert len(slugs) == 12
    assert slugs[:2] == ["asa-winstanley", "ben-selby"]
    missing = await _get_json(client, "/api/speakers/unannounced", 404)
    assert missing == {"error": "not_found", "message": "There is no speaker at this address."}

    ben = await _get_json(client, "/api/speakers/ben-selby")
    _conforms(document, "SpeakerDetail", ben)
    assert ben["affiliation"] == "FBU Vice President; Chair of Don't Leave, Organise"
    # Both national gatherings (the demo's next one has the same programme, issue 16).
    assert [(a["role"], a["session"]["title"]) for a in ben["sessions"]] == 2 * [
        ("chair", "Welcome: reclaiming our party"),
        ("chair", "Closing plenary"),
    ]
    assert {a["session"]["gathering"]["slug"] for a in ben["sessions"]} == {NATIONAL, NEXT_SLUG}
    chris = await _get_json(client, "/api/speakers/chris-williamson")
    assert [a["session"]["gathering"]["slug"] for a in chris["sessions"]] == [CONFERENCE] * 2


async def test_organisations_with_the_sessions_they_host(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    document = await _openapi(client)
    data = await _get_json(client, "/api/organisations")
    _conforms(document, "OrganisationList", data)
    assert sorted(o["slug"] for o in data["organisations"]) == sorted(
        s for s, _, _ in ORGANISATIONS
    )
    counts = {o["slug"]: o["session_count"] for o in data["organisations"]}
    # FBU (co-)hosts two sessions at each national gathering (the demo's next one too).
    assert (counts["lla"], counts["fbu"], counts["derby-red-labour"]) == (3, 4, 0)

    lla = await _get_json(client, "/api/organisations/lla")
    _conforms(document, "OrganisationDetail", lla)
    assert [(a["role"], a["session"]["title"]) for a in lla["sessions"]] == [
        ("co_host", "What kind of Labour Left do we need?"),
        ("co_host", "Labour Against the Witchhunt fringe meeting"),
        ("host", "Labour Left Alliance networking meeting for all signatories"),
    ]
    missing = await _get_json(client, "/api/organisations/no-such-group", 404)
    assert missing["error"] == "not_found"


async def test_unknown_gathering_is_json_404(client: httpx.AsyncClient) -> None:
    for path in ("/api/gatherings/nowhere", "/api/gatherings/nowhere/sessions/1"):
        data = await _get_json(client, path, 404)
        assert data == {"error": "not_found", "message": "There is no gathering at this address."}
    data = await _get_json(client, "/api/no-such-endpoint", 404)
    assert data["error"] == "not_found"


API_PATHS = [
    "/api/openapi.json",
    "/api/gatherings",
    f"/api/gatherings/{CONFERENCE}",
    "/api/speakers",
    "/api/speakers/jackie-walker",
    "/api/organisations",
    "/api/organisations/jvl",
]


async def test_api_responses_are_cacheable_and_open(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    for path in API_PATHS:
        first = await client.get(path)
        second = await client.get(path)
        assert first.status_code == second.status_code == 200, path
        assert first.content == second.content, path
        assert first.headers["access-control-allow-origin"] == "*"
        etag = first.headers["etag"]
        again = await client.get(path, headers={"if-none-match": etag})
        assert (again.status_code, again.content) == (304, b""), path
        assert again.headers["etag"] == etag


async def test_nothing_private_in_any_response(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    table = schema.programme_session
    await _write(db, sa.update(table).values(invite_code="SECRET-INVITE-42"))
    await _write(db, sa.update(schema.organisation).values(contact_email="secretary@example.org"))
    paths = [*API_PATHS]
    for slug in (CONFERENCE, NATIONAL):
        programme = await load_programme(db, slug)
        paths += [f"/api/gatherings/{slug}/sessions/{s.id}" for s in programme.sessions]
        paths += [f"/g/{slug}/schedule.xml", f"/g/{slug}/schedule.json"]
    data = await _get_json(client, "/api/organisations")
    paths += [f"/api/organisations/{o['slug']}" for o in data["organisations"]]
    data = await _get_json(client, "/api/speakers")
    paths += [f"/api/speakers/{s['slug']}" for s in data["speakers"]]
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 200, path
        markers = ["meet.example.org", "SECRET-INVITE", "@example.", "joining", "invite_code"]
        if path == "/api/openapi.json":  # documents the registration request's invite_codes
            markers.remove("invite_code")
        for secret in markers:
            assert secret not in response.text, (path, secret)


def _all_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    """Every route with its full path, walking the mounts that group them by first segment."""
    for route in routes:
        if isinstance(route, Mount):
            yield from _all_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def _template(path: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def _route_paths(app: Starlette) -> set[str]:
    paths = set()
    for path, route in _all_routes(app.routes):
        if path.startswith("/api/") or (route.name or "").startswith("exports:"):
            paths.add(_template(path))
    return paths


def _operation(success: str) -> dict:
    """An operation with an id and a ``success`` response that has content with a schema."""
    return {
        "type": "object",
        "required": ["operationId", "responses"],
        "properties": {
            "responses": {
                "type": "object",
                "required": [success],
                "properties": {
                    success: {
                        "type": "object",
                        "required": ["description", "content"],
                        "properties": {
                            "content": {
                                "type": "object",
                                "minProperties": 1,
                                "additionalProperties": {"type": "object", "required": ["schema"]},
                            }
                        },
                    }
                },
            }
        },
    }


# The shape this project relies on; openapi-spec-validator checks the rest (below).
OPENAPI_SHAPE = {
    "type": "object",
    "required": ["openapi", "info", "paths", "components"],
    "properties": {
        "openapi": {"type": "string", "pattern": r"^3\.1\.\d+$"},
        "info": {"type": "object", "required": ["title", "version"]},
        "servers": {"type": "array", "items": {"type": "object", "required": ["url"]}},
        "paths": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": False,
                "properties": {"get": _operation("200"), "post": _operation("202")},
            },
        },
        "components": {"type": "object", "required": ["schemas"]},
    },
}


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(document: dict, ref: str) -> object:
    assert ref.startswith("#/"), ref
    node: object = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, ref
        node = node[part]
    return node


async def test_openapi_document_describes_every_route(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "etag" in response.headers
    document = json.loads(response.content)

    jsonschema.Draft202012Validator(OPENAPI_SHAPE).validate(document)
    assert set(document["paths"]) == _route_paths(app)
    assert len(_route_paths(app)) == 13  # with schedule v2 (issue 18)
    for path, route in _all_routes(app.routes):  # each route's methods are its operations
        if path.startswith("/api/"):
            item = document["paths"][_template(path)]
            methods = {m.lower() for m in route.methods or ()} - {"head", "options"}
            assert methods == set(item), path
    operations = [op for item in document["paths"].values() for op in item.values()]
    operation_ids = [op["operationId"] for op in operations]
    assert len(operation_ids) == len(set(operation_ids))
    refs = _refs(document)
    assert refs
    for ref in refs:
        _resolve(document, ref)
    for component in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(component)
    # Path parameters declared for every template variable.
    for path, item in document["paths"].items():
        for operation in item.values():
            parameters = operation.get("parameters", [])
            declared = {p["name"] for p in parameters if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", path)), path
    assert document["servers"] == [{"url": BASE}]

    from openapi_spec_validator import validate

    validate(document)  # the OpenAPI 3.1 specification's own schema
