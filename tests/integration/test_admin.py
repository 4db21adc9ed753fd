"""Network admin pages: gatherings, venues, rooms, tracks, organisations, speakers and photos."""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.admin import forms
from gathering.admin import rules as manage
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.permissions import Actor
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
ADMIN = ("admin@example.org", "demo-admin-password")
ORGANISER = ("organiser@example.org", "demo-organiser-password")
WATCHED = (
    schema.gathering,
    schema.venue,
    schema.room,
    schema.track,
    schema.organisation,
    schema.speaker,
    schema.speaker_photo,
)


def tiny_png() -> bytes:
    """A real 1×1 red PNG, built by hand (Pillow is not a dependency)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def _rows(db: Database, table: sa.Table, *where: Any) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(sa.select(table).where(*where))).all())

    return await db.read(_read)


async def _counts(db: Database) -> dict[str, int]:
    async def _read(conn: AsyncConnection) -> dict[str, int]:
        counts = {}
        for table in (*WATCHED, schema.audit_event):
            query = sa.select(sa.func.count()).select_from(table)
            counts[table.name] = int((await conn.execute(query)).scalar_one())
        return counts

    return await db.read(_read)


async def _admin(db: Database, client: httpx.AsyncClient) -> str:
    await load_demo(db, secret_key=TEST_SECRET)
    assert (await sign_in(client, *ADMIN)).status_code == 303
    return await csrf_from(client, "/admin/gatherings/new")


def _gathering_form(token: str, **changes: str) -> dict[str, str]:
    form = {
        "csrftoken": token,
        "title": "Brighton Fringe 2027",
        "slug": "",
        "description": "Fringe meetings beside the conference.",
        "starts_on": "2027-09-25",
        "ends_on": "2027-09-29",
        "timezone": "Europe/London",
        "mode": "hybrid",
        "location": "Brighton",
        "host_organisation_id": "",
        "is_listed": "on",
        "data_controller": "Labour Left Alliance",
        "retention_days": "60",
    }
    form.update(changes)
    return form


def _location_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text[:2000]
    path = response.headers["location"].split("?")[0]
    return int(path.rstrip("/").split("/")[-1])


async def test_admin_creates_a_gathering_with_venue_room_track_organisation_and_speaker(
    db: Database, client: httpx.AsyncClient
) -> None:
    token = await _admin(db, client)
    org = await client.post(
        "/admin/organisations/new",
        data={
            "csrftoken": token,
            "name": "Brighton Left Forum",
            "short_name": "BLF",
            "slug": "",
            "description": "A local forum.",
            "website": "https://blf.example.org",
            "contact_email": "Hello@BLF.example.org",
        },
    )
    org_id = _location_id(org)
    [org_row] = await _rows(db, schema.organisation, schema.organisation.c.id == org_id)
    assert (org_row.slug, org_row.short_name, org_row.contact_email) == (
        "brighton-left-forum",
        "BLF",
        "hello@blf.example.org",
    )

    created = await client.post(
        "/admin/gatherings/new", data=_gathering_form(token, host_organisation_id=str(org_id))
    )
    gathering_id = _location_id(created)
    assert created.headers["location"] == f"/admin/gatherings/{gathering_id}?saved=1"
    [g] = await _rows(db, schema.gathering, schema.gathering.c.id == gathering_id)
    assert (g.slug, g.title, g.mode, g.timezone) == (
        "brighton-fringe-2027",
        "Brighton Fringe 2027",
        "hybrid",
        "Europe/London",
    )
    assert (str(g.starts_on), str(g.ends_on), g.retention_days) == ("2027-09-25", "2027-09-29", 60)
    assert (g.host_organisation_id, g.is_listed) == (org_id, True)

    page = await client.get(created.headers["location"])
    doc = parse_html(page.text)
    assert texts(doc, "//h1") == ["Edit Brighton Fringe 2027"]
    assert texts(doc, "//p[@role='status']") == ["Saved."]
    assert doc.xpath("//input[@name='timezone']/@list") == ["timezones"]
    assert "Europe/Berlin" in doc.xpath("//datalist[@id='timezones']/option/@value")

    venue = await client.post(
        f"/admin/gatherings/{gathering_id}/venues/new",
        data={
            "csrftoken": token,
            "name": "The Old Market",
            "address": "11A Upper Market St, Hove",
            "step_free": "yes",
            "hearing_loop": "no",
            "bsl": "unknown",
            "quiet_room": "yes",
            "access_notes": "Lift to the first floor.",
        },
    )
    venue_id = _location_id(venue)
    [v] = await _rows(db, schema.venue, schema.venue.c.id == venue_id)
    assert (v.gathering_id, v.step_free, v.hearing_loop, v.bsl, v.quiet_room) == (
        gathering_id,
        True,
        False,
        None,
        True,
    )
    room = await client.post(
        f"/admin/venues/{venue_id}/rooms/new",
        data={"csrftoken": token, "name": "Studio", "capacity": "80", "step_free": "yes"},
    )
    room_id = _location_id(room)
    [r] = await _rows(db, schema.room, schema.room.c.id == room_id)
    assert (r.venue_id, r.name, r.capacity, r.step_free) == (venue_id, "Studio", 80, True)
    venue_page = parse_html((await client.get(f"/admin/venues/{venue_id}")).text)
    assert texts(venue_page, "//section//ul/li") == ["Studio · 80 places"]
    assert venue_page.xpath("//select[@name='step_free']/option[@selected]/@value") == ["yes"]

    track = await client.post(
        f"/admin/gatherings/{gathering_id}/tracks/new",
        data={"csrftoken": token, "name": "Housing & Land", "slug": ""},
    )
    track_id = _location_id(track)
    [t] = await _rows(db, schema.track, schema.track.c.id == track_id)
    assert (t.gathering_id, t.name, t.slug) == (gathering_id, "Housing & Land", "housing-land")

    speaker = await client.post(
        "/admin/speakers/new",
        data={"csrftoken": token, "name": "Zoë Ångström", "affiliation": "BLF", "bio": "Hi."},
    )
    speaker_id = _location_id(speaker)
    [s] = await _rows(db, schema.speaker, schema.speaker.c.id == speaker_id)
    assert (s.slug, s.name, s.affiliation, s.photo) == ("zoe-angstrom", "Zoë Ångström", "BLF", None)
    renamed = await client.post(
        f"/admin/speakers/{speaker_id}",
        data={"csrftoken": token, "name": "Zoë Å.", "slug": s.slug, "bio": "Longer."},
    )
    assert renamed.status_code == 303

    events = await _rows(db, schema.audit_event, schema.audit_event.c.action.like("admin.%"))
    assert sorted(e.action for e in events) == sorted(
        [
            "admin.organisation_created",
            "admin.gathering_created",
            "admin.venue_created",
            "admin.room_created",
            "admin.track_created",
            "admin.speaker_created",
            "admin.speaker_updated",
        ]
    )
    admin_id = events[0].actor_id
    assert admin_id is not None and {e.actor_id for e in events} == {admin_id}


async def test_editing_a_gathering_keeps_typed_values_on_error(
    db: Database, client: httpx.AsyncClient
) -> None:
    token = await _admin(db, client)
    gathering_id = _location_id(
        await client.post("/admin/gatherings/new", data=_gathering_form(token))
    )
    before = await _counts(db)
    response = await client.post(
        f"/admin/gatherings/{gathering_id}",
        data=_gathering_form(token, title="Renamed", ends_on="2027-09-01"),
    )
    assert response.status_code == 422
    doc = parse_html(response.text)
    assert doc.xpath("//input[@name='title']/@value") == ["Renamed"]
    assert texts(doc, "//p[@id='ends_on-error']") == [
        "The last day must be on or after the first day."
    ]
    assert await _counts(db) == before
    [g] = await _rows(db, schema.gathering, schema.gathering.c.id == gathering_id)
    assert g.title == "Brighton Fringe 2027"

    ok = await client.post(
        f"/admin/gatherings/{gathering_id}", data=_gathering_form(token, title="Renamed")
    )
    assert ok.status_code == 303
    [g] = await _rows(db, schema.gathering, schema.gathering.c.id == gathering_id)
    assert g.title == "Renamed"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"starts_on": "2027-09-29", "ends_on": "2027-09-25"},
            "ends_on",
            "The last day must be on or after the first day.",
        ),
        (
            {"timezone": "Mars/Olympus"},
            "timezone",
            "Enter an IANA time zone such as Europe/London.",
        ),
        ({"title": ""}, "title", "Enter title."),
        ({"mode": "telepathy"}, "mode", "Choose in person, online or hybrid."),
        (
            {"retention_days": "0"},
            "retention_days",
            "Retention must be between 1 and 3,650.",
        ),
        (
            {"slug": "Not A Slug!"},
            "slug",
            "Use only a–z, 0–9 and single hyphens between them (at most 80).",
        ),
        (
            {"description": "x" * 20_001},
            "description",
            "Description must be at most 20,000 characters (it has 20,001).",
        ),
    ],
)
async def test_invalid_gathering_is_refused_with_a_message_next_to_the_field(
    db: Database, client: httpx.AsyncClient, changes: dict[str, str], field: str, message: str
) -> None:
    token = await _admin(db, client)
    before = await _counts(db)
    response = await client.post("/admin/gatherings/new", data=_gathering_form(token, **changes))
    assert response.status_code == 422
    doc = parse_html(response.text)
    assert texts(doc, f"//p[@id='{field}-error']") == [message]
    assert doc.xpath(f"//*[@name='{field}']/@aria-invalid") == ["true"]
    assert await _counts(db) == before


async def test_ten_megabyte_description_is_refused_next_to_the_field_and_nothing_saved(
    db: Database, client: httpx.AsyncClient
) -> None:
    token = await _admin(db, client)
    before = await _counts(db)
    big = "x" * (10 * 1024 * 1024)
    response = await client.post(
        "/admin/gatherings/new", data=_gathering_form(token, description=big)
    )
    assert response.status_code == 422
    doc = parse_html(response.text)
    assert texts(doc, "//p[@id='description-error']") != []
    assert doc.xpath("//input[@name='title']/@value") == [_gathering_form(token)["title"]]
    assert await _counts(db) == before


async def test_script_in_a_title_is_shown_escaped(db: Database, client: httpx.AsyncClient) -> None:
    token = await _admin(db, client)
    title = "<script>alert(1)</script> Fringe"
    refused = await client.post(
        "/admin/gatherings/new", data=_gathering_form(token, title=title, timezone="Mars/Olympus")
    )
    assert refused.status_code == 422
    assert "<script>alert(1)" not in refused.text
    assert parse_html(refused.text).xpath("//input[@name='title']/@value") == [title]

    created = await client.post("/admin/gatherings/new", data=_gathering_form(token, title=title))
    gathering_id = _location_id(created)
    [g] = await _rows(db, schema.gathering, schema.gathering.c.id == gathering_id)
    assert (g.title, g.slug) == (title, "script-alert-1-script-fringe")
    listing = await client.get("/admin/gatherings")
    assert "<script>alert(1)" not in listing.text
    assert title in texts(parse_html(listing.text), "//ul[@class='admin-list']/li/a")
    assert parse_html(listing.text).xpath("//main//script") == []


async def _admin_actor(db: Database) -> Actor:
    [row] = await _rows(db, schema.account, schema.account.c.email == ADMIN[0])
    return Actor(row.id, row.email, row.display_name, True, frozenset())


async def test_stored_photo_is_served_with_an_etag_and_can_be_removed(
    db: Database, client: httpx.AsyncClient
) -> None:
    token = await _admin(db, client)
    png = tiny_png()
    speaker_id = await manage.create_speaker(
        db, await _admin_actor(db), {"name": "Zoë Ångström"}, forms.Photo(png, "me.jpg")
    )
    [s] = await _rows(db, schema.speaker, schema.speaker.c.id == speaker_id)
    assert s.photo == hashlib.sha256(png).hexdigest()[:12]
    edit = parse_html((await client.get(f"/admin/speakers/{speaker_id}")).text)
    [src] = edit.xpath("//img[@class='speaker-photo']/@src")
    assert src.endswith(f"/speakers/zoe-angstrom/photo?v={s.photo}")
    photo = await client.get(f"/speakers/{s.slug}/photo")
    assert photo.status_code == 200
    assert photo.content == png
    assert photo.headers["content-type"] == "image/png"
    assert photo.headers["x-content-type-options"] == "nosniff"
    again = await client.get(
        f"/speakers/{s.slug}/photo", headers={"if-none-match": photo.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""

    removed = await client.post(
        f"/admin/speakers/{speaker_id}",
        data={"csrftoken": token, "name": s.name, "slug": s.slug, "remove_photo": "on"},
    )
    assert removed.status_code == 303
    [s] = await _rows(db, schema.speaker, schema.speaker.c.id == speaker_id)
    assert s.photo is None
    assert await _rows(db, schema.speaker_photo) == []
    assert (await client.get(f"/speakers/{s.slug}/photo")).status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"just some text, honest\n", "The photo must be a JPEG, PNG or WebP image."),
        (
            tiny_png() + b"\x00" * (3 * 1024 * 1024),
            "The photo is larger than 2 MB. Choose a smaller image.",
        ),
        (b"", "The chosen file is empty."),
    ],
)
async def test_photo_is_checked_by_its_bytes_and_size(
    db: Database, client: httpx.AsyncClient, data: bytes, message: str
) -> None:
    await _admin(db, client)
    before = await _counts(db)
    with pytest.raises(InvalidInput) as refused:
        await manage.create_speaker(
            db, await _admin_actor(db), {"name": "Pat"}, forms.Photo(data, "photo.png")
        )
    assert refused.value.errors == {"photo": message}
    assert await _counts(db) == before


async def test_admin_uploads_a_speaker_photo_through_the_form(
    db: Database, client: httpx.AsyncClient
) -> None:
    token = await _admin(db, client)
    png = tiny_png()
    speaker = await client.post(
        "/admin/speakers/new",
        data={"csrftoken": token, "name": "Zoë Ångström", "affiliation": "BLF", "bio": "Hi."},
        files={"photo": ("me.png", png, "application/octet-stream")},
    )
    speaker_id = _location_id(speaker)
    [s] = await _rows(db, schema.speaker, schema.speaker.c.id == speaker_id)
    assert (s.slug, s.name, s.affiliation) == ("zoe-angstrom", "Zoë Ångström", "BLF")
    assert s.photo is not None and len(s.photo) == 12
    photo = await client.get(f"/speakers/{s.slug}/photo")
    assert photo.status_code == 200
    assert photo.content == png
    assert photo.headers["content-type"] == "image/png"
    assert photo.headers["x-content-type-options"] == "nosniff"
    again = await client.get(
        f"/speakers/{s.slug}/photo", headers={"if-none-match": photo.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""

    # Removing the photo clears the version and the bytes.
    removed = await client.post(
        f"/admin/speakers/{speaker_id}",
        data={"csrftoken": token, "name": s.name, "slug": s.slug, "remove_photo": "on"},
    )
    assert removed.status_code == 303
    [s] = await _rows(db, schema.speaker, schema.speaker.c.id == speaker_id)
    assert s.photo is None
    assert (await client.get(f"/speakers/{s.slug}/photo")).status_code == 404


async def test_photo_must_really_be_an_image_of_at_most_two_megabytes(
    db: Database, client: httpx.AsyncClient
) -> None:
    token = await _admin(db, client)
    before = await _counts(db)
    fake = await client.post(
        "/admin/speakers/new",
        data={"csrftoken": token, "name": "Pat Fake", "bio": "Typed bio"},
        files={"photo": ("photo.png", b"just some text, honest\n", "image/png")},
    )
    assert fake.status_code == 422
    doc = parse_html(fake.text)
    assert texts(doc, "//p[@id='photo-error']") == ["The photo must be a JPEG, PNG or WebP image."]
    assert doc.xpath("//input[@name='name']/@value") == ["Pat Fake"]
    assert texts(doc, "//textarea[@name='bio']") == ["Typed bio"]
    # The CSRF token is a field of the multipart form, before the file input.
    names = doc.xpath("//form[@enctype='multipart/form-data']//input/@name")
    assert names[0] == "csrftoken" and names.index("photo") > 0

    huge = tiny_png() + b"\x00" * (3 * 1024 * 1024)
    too_big = await client.post(
        "/admin/speakers/new",
        data={"csrftoken": token, "name": "Pat Big"},
        files={"photo": ("big.png", huge, "image/png")},
    )
    assert too_big.status_code == 422
    assert texts(parse_html(too_big.text), "//p[@id='photo-error']") == [
        "The photo is larger than 2 MB. Choose a smaller image."
    ]
    assert await _counts(db) == before


async def test_duplicate_slugs_are_refused(db: Database, client: httpx.AsyncClient) -> None:
    token = await _admin(db, client)
    existing = (await _rows(db, schema.organisation))[0]
    before = await _counts(db)
    response = await client.post(
        "/admin/organisations/new",
        data={"csrftoken": token, "name": "Copycat", "slug": existing.slug},
    )
    assert response.status_code == 422
    assert texts(parse_html(response.text), "//p[@id='slug-error']") == [
        "That short address name is already used. Choose another."
    ]
    assert await _counts(db) == before
    # A slug made from the name steps aside instead of failing.
    slugs = []
    for _ in range(2):
        made = await client.post(
            "/admin/organisations/new", data={"csrftoken": token, "name": "Copycat"}
        )
        [row] = await _rows(db, schema.organisation, schema.organisation.c.id == _location_id(made))
        slugs.append(row.slug)
    assert slugs == ["copycat", "copycat-2"]


async def test_delete_is_refused_while_sessions_depend_on_the_row(
    db: Database, client: httpx.AsyncClient
) -> None:
    token = await _admin(db, client)
    speakers = await _rows(db, schema.speaker)
    links = await _rows(db, schema.session_speaker)
    busy = next(s for s in speakers if s.id in {link.speaker_id for link in links})
    confirm = parse_html((await client.get(f"/admin/speakers/{busy.id}/delete")).text)
    assert texts(confirm, "//div[@role='alert']/h2") == ["This speaker cannot be deleted"]
    assert confirm.xpath("//form[@method='post']//button") == []
    refused = await client.post(f"/admin/speakers/{busy.id}/delete", data={"csrftoken": token})
    assert refused.status_code == 409
    assert "cannot be deleted while it has" in texts(parse_html(refused.text), "//main")[0]
    assert len(await _rows(db, schema.speaker, schema.speaker.c.id == busy.id)) == 1

    free_id = _location_id(
        await client.post("/admin/speakers/new", data={"csrftoken": token, "name": "Free Person"})
    )
    deleted = await client.post(f"/admin/speakers/{free_id}/delete", data={"csrftoken": token})
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/admin/speakers")
    assert await _rows(db, schema.speaker, schema.speaker.c.id == free_id) == []
    events = await _rows(
        db, schema.audit_event, schema.audit_event.c.action == "admin.speaker_deleted"
    )
    assert [e.subject_id for e in events] == [free_id]


def _admin_paths() -> list[tuple[str, str]]:
    """Every admin route with ids filled in (1 everywhere: refusals come before any lookup)."""
    from gathering.admin.pages import routes

    paths = []
    for route in routes:
        path = getattr(route, "path", "")
        if not path.startswith("/admin"):
            continue
        filled = path.replace("{gathering_id:int}", "1").replace("{venue_id:int}", "1")
        for name in ("room", "track", "organisation", "speaker", "ticket_type", "message"):
            filled = filled.replace(f"{{{name}_id:int}}", "1")
        for method in sorted(getattr(route, "methods", {"GET"}) - {"HEAD"}):
            paths.append((method, filled))
    return paths


async def test_every_admin_route_sends_anonymous_visitors_to_sign_in(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    before = await _counts(db)
    paths = _admin_paths()
    assert len(paths) > 30
    for method, path in paths:
        response = await client.request(
            method, path, data={"name": "x"} if method == "POST" else None
        )
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/signin?next=%2Fadmin"), (method, path)
    assert await _counts(db) == before


async def test_every_admin_route_refuses_an_organiser_who_is_not_admin(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    assert (await sign_in(client, *ORGANISER)).status_code == 303
    token = await csrf_from(client, "/organiser")
    before = await _counts(db)
    for method, path in _admin_paths():
        data = {"csrftoken": token, "name": "Hijack", "title": "Hijack"}
        response = await client.request(method, path, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, path)
        assert (
            texts(parse_html(response.text), "//main//p")[0] == "Only a network admin may do this."
        )
    assert await _counts(db) == before


@pytest.mark.parametrize(
    ("field", "typed", "label"),
    [
        ("ends_on", "9999-12-31", "last day"),
        ("starts_on", "1900-01-01", "first day"),
        ("ends_on", "2101-01-01", "last day"),
    ],
)
async def test_a_date_outside_the_sane_years_is_refused_keeping_what_was_typed(
    db: Database, client: httpx.AsyncClient, field: str, typed: str, label: str
) -> None:
    """Issue 14 #15: a gathering ending 9999-12-31 broke its privacy page, frab export and the
    purge; such dates are refused when saved, with the organiser's words."""
    token = await _admin(db, client)
    gathering_id = _location_id(
        await client.post("/admin/gatherings/new", data=_gathering_form(token))
    )
    before = await _counts(db)
    response = await client.post(
        f"/admin/gatherings/{gathering_id}",
        data=_gathering_form(token, title="Renamed", **{field: typed}),
    )
    assert response.status_code == 422
    doc = parse_html(response.text)
    assert texts(doc, f"//p[@id='{field}-error']") == [
        f"Enter {label} between the years 2000 and 2100 (you entered {typed})."
    ]
    assert doc.xpath(f"//input[@name='{field}']/@value") == [typed]
    assert doc.xpath("//input[@name='title']/@value") == ["Renamed"]
    assert await _counts(db) == before
    [g] = await _rows(db, schema.gathering, schema.gathering.c.id == gathering_id)
    assert (g.starts_on.isoformat(), g.ends_on.isoformat()) == ("2027-09-25", "2027-09-29")
    # The same refusal for a new gathering.
    created = await client.post(
        "/admin/gatherings/new", data=_gathering_form(token, **{field: typed})
    )
    assert created.status_code == 422
    assert await _counts(db) == before
    # What the date used to break still answers.
    slug = g.slug
    assert (await client.get(f"/g/{slug}/privacy")).status_code == 200
