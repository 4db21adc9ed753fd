"""Issue 16, item 9: speakers have a private email address, entered by the network admin, never
shown on any public page, feed, export, API or fediverse document; a release that moves or
cancels their session mails them (an outbox row in the release's own unit, received here by a
real SMTP server) with what changed and their own calendar feed; erasure and retention take the
address away."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import Conflict
from gathering.core.settings import Settings
from gathering.privacy import retention, storage
from gathering.programme.release import load_programme, release_programme
from gathering.programme.speaker_notices import SPEAKER_FEED_PATH, SPEAKER_PAGE_PATH
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.factories import add_room
from tests.helpers import csrf_from, parse_html, sign_in, texts
from tests.integration import test_erasure_bytes as erasure_bytes
from tests.integration.test_erasure_bytes import RawFiles
from tests.integration.test_mail import SMTPServer, free_port

pytestmark = pytest.mark.anyio
CONFERENCE = "labour-conference-2019"
NATIONAL = "dont-leave-organise-2021"
LLA = ("organiser@example.org", "demo-organiser-password")
ADMIN = ("admin@example.org", "demo-admin-password")
BASE = "http://127.0.0.1:8000"
PRIVATE = "speaker-private.example"
# The raw database files, read as the erasure tests read them (fixtures shared by name).
raw = erasure_bytes.raw
pg_ready = erasure_bytes.pg_ready
wal_not_recycled = erasure_bytes.wal_not_recycled  # every speaker's address is at this domain here


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(db_url: str, smtp_server: SMTPServer) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key=TEST_SECRET,
        password_hash_cost="test",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_starttls=False,
        mail_from="Gathering <mail@127.0.0.1>",
    )


async def _rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _execute(db: Database, *statements: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        for statement in statements:
            await conn.execute(statement)

    await db.write(_write)


def _address(slug: str) -> str:
    return f"{slug}@{PRIVATE}"


async def _give_every_speaker_an_address(db: Database) -> None:
    sp = schema.speaker
    slugs = [slug for (slug,) in await _rows(db, sa.select(sp.c.slug))]
    await _execute(
        db, *(sa.update(sp).where(sp.c.slug == s).values(email=_address(s)) for s in slugs)
    )


async def _session_with_speakers(db: Database, slug: str, index: int = 0) -> tuple[int, list[str]]:
    """The ``index``-th released session of a gathering that has speakers, and their slugs."""
    programme = await load_programme(db, slug)
    sessions = [s for s in programme.sessions if s.speakers]
    session = sessions[index]
    return session.id, [ref.slug for ref in session.speakers]


async def _notices(db: Database) -> list[tuple[str, dict[str, Any]]]:
    o = schema.outbox
    query = (
        sa.select(o.c.to_address, o.c.context)
        .where(o.c.kind == "speaker_session_changed")
        .order_by(o.c.id)
    )
    return [(r.to_address, r.context) for r in await _rows(db, query)]


async def test_the_feed_and_page_paths_in_the_mail_are_the_apps_routes(app: Starlette) -> None:
    assert SPEAKER_FEED_PATH.format(slug="x") == app.url_path_for("calendars:speaker", slug="x")
    assert SPEAKER_PAGE_PATH.format(slug="x") == app.url_path_for("public:speaker", slug="x")


# --- the admin enters the address ---------------------------------------------------------------


async def test_the_admin_enters_a_speakers_private_email(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *ADMIN)
    token = await csrf_from(client, "/admin/speakers/new")
    form = {"csrftoken": token, "name": "Rosa Speaker", "affiliation": "", "slug": "", "bio": ""}
    bad = await client.post("/admin/speakers/new", data={**form, "email": "rosa at home"})
    assert bad.status_code == 422
    page = parse_html(bad.text)
    assert page.xpath("//input[@name='email']/@value") == ["rosa at home"]
    assert page.xpath("//input[@name='name']/@value") == ["Rosa Speaker"]
    assert texts(page, "//p[@id='email-error']") == [
        "Enter an email address like name@example.org."
    ]
    sp = schema.speaker
    assert await _rows(db, sa.select(sp.c.id).where(sp.c.name == "Rosa Speaker")) == []

    made = await client.post("/admin/speakers/new", data={**form, "email": " Rosa@Example.ORG "})
    assert made.status_code == 303
    [(speaker_id, email)] = await _rows(
        db, sa.select(sp.c.id, sp.c.email).where(sp.c.name == "Rosa Speaker")
    )
    assert email == "rosa@example.org"
    edit = parse_html((await client.get(f"/admin/speakers/{speaker_id}")).text)
    assert edit.xpath("//input[@name='email']/@value") == ["rosa@example.org"]
    assert texts(edit, "//label[@for='email']") == ["Private email (optional)"]
    # Emptying it is allowed: the speaker then gets no notices.
    token = await csrf_from(client, f"/admin/speakers/{speaker_id}")
    cleared = await client.post(
        f"/admin/speakers/{speaker_id}",
        data={**form, "csrftoken": token, "slug": "rosa-speaker", "email": ""},
    )
    assert cleared.status_code == 303
    assert await _rows(db, sa.select(sp.c.email).where(sp.c.id == speaker_id)) == [("",)]
    e = schema.audit_event
    details = [
        d for (d,) in await _rows(db, sa.select(e.c.detail).where(e.c.subject_kind == "speaker"))
    ]
    assert details and "rosa@example.org" not in json.dumps(details)


# --- notices on release ---------------------------------------------------------------------------


async def test_a_release_queues_a_notice_to_each_speaker_of_a_moved_or_cancelled_session(
    db: Database,
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, CONFERENCE)
    moved_id, moved_speakers = await _session_with_speakers(db, CONFERENCE, 0)
    cancelled_id, cancelled_speakers = await _session_with_speakers(db, CONFERENCE, 1)
    retold_id, retold_speakers = await _session_with_speakers(db, CONFERENCE, 2)
    sp, s = schema.speaker, schema.programme_session
    # Addresses for all but the last speaker of the moved session: that one gets nothing.
    with_address = [*moved_speakers[:-1], *cancelled_speakers, *retold_speakers]
    await _execute(
        db,
        *(
            sa.update(sp).where(sp.c.slug == slug).values(email=_address(slug))
            for slug in with_address
        ),
    )
    moved = programme.session(moved_id)
    assert moved is not None
    hour = dt.timedelta(hours=1)
    await _execute(
        db,
        sa.update(s)
        .where(s.c.id == moved_id)
        .values(starts_at=moved.starts_at + hour, ends_at=moved.ends_at + hour),
        sa.update(s).where(s.c.id == cancelled_id).values(status="cancelled"),
        # A new description is a change, but not one a speaker is mailed about.
        sa.update(s).where(s.c.id == retold_id).values(description="Now with a longer blurb."),
    )

    release = await release_programme(db, programme.gathering.id, released_by=None)

    notices = await _notices(db)
    assert [(to, c["session_id"]) for to, c in notices] == [
        *((_address(slug), moved_id) for slug in moved_speakers[:-1]),
        *((_address(slug), cancelled_id) for slug in cancelled_speakers),
    ]
    context = notices[0][1]
    assert context["is_cancelled"] is False
    assert context["gathering_id"] == programme.gathering.id
    assert context["feed_path"] == f"/speakers/{moved_speakers[0]}/calendar.ics"
    assert context["changes_text"][0].startswith("Time changed from ")
    assert context["gathering_title"] == programme.gathering.title
    cancelled_context = dict(notices)[_address(cancelled_speakers[0])]
    assert cancelled_context["is_cancelled"] is True
    assert cancelled_context["changes_text"] == ["Cancelled"]
    o = schema.outbox
    created = {
        r.created_at
        for r in await _rows(
            db, sa.select(o.c.created_at).where(o.c.kind == "speaker_session_changed")
        )
    }
    assert created == {release.released_at}  # written by the release's own unit

    # Nothing changed since: nothing released, nothing queued.
    with pytest.raises(Conflict):
        await release_programme(db, programme.gathering.id, released_by=None)
    assert len(await _notices(db)) == len(notices)


async def test_the_speaker_receives_the_change_and_a_link_to_their_calendar(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer, app: Starlette
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id, speakers = await _session_with_speakers(db, CONFERENCE, 0)
    cancelled_id, cancelled_speakers = await _session_with_speakers(db, CONFERENCE, 1)
    first, other = speakers[0], cancelled_speakers[0]
    programme = await load_programme(db, CONFERENCE)
    room_id = await add_room(db, programme.gathering.id)
    sp, s = schema.speaker, schema.programme_session
    await _execute(
        db,
        sa.update(sp).where(sp.c.slug == first).values(email=_address(first)),
        sa.update(sp).where(sp.c.slug == other).values(email=_address(other)),
        sa.update(s).where(s.c.id == session_id).values(room_id=room_id),
        sa.update(s).where(s.c.id == cancelled_id).values(status="cancelled"),
    )
    await sign_in(client, *LLA)
    path = f"/organiser/g/{CONFERENCE}/release"
    token = await csrf_from(client, path)
    released = await client.post(path, data={"csrftoken": token, "note": ""})
    assert released.status_code == 303

    # Attendees with a place are mailed too (registration's notices); the speakers' are these.
    for _ in range(400):
        received = smtp_server.recorder.parsed()
        mails = {m["To"]: m for m in received if m["To"].endswith("@" + PRIVATE)}
        if len(mails) >= 2:
            break
        await asyncio.sleep(0.05)
    assert sorted(mails) == sorted([_address(first), _address(other)])
    mail = mails[_address(first)]
    title = programme.session(session_id).title  # type: ignore[union-attr]
    assert mail["Subject"] == f"Changed: your session {title}"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    r, v = schema.room, schema.venue
    [(room, venue)] = await _rows(
        db, sa.select(r.c.name, v.c.name).join(v, v.c.id == r.c.venue_id).where(r.c.id == room_id)
    )
    assert f"- Moved from Venue tbc to {room}, {venue}" in text
    assert f"Where: {room}, {venue}" in text
    feed = BASE + app.url_path_for("calendars:speaker", slug=first)
    assert feed in text.split()
    html = parse_html(mail.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert feed in html.xpath("//a/@href")
    assert texts(html, "//li") == [f"Moved from Venue tbc to {room}, {venue}"]

    cancelled_title = programme.session(cancelled_id).title  # type: ignore[union-attr]
    cancelled = mails[_address(other)]
    assert cancelled["Subject"] == f"Cancelled: your session {cancelled_title}"
    assert "has been cancelled" in cancelled.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # The link opens the speaker's calendar, with the moved session in it.
    calendar = await client.get(urlsplit(feed).path)
    assert calendar.status_code == 200
    assert calendar.headers["content-type"].startswith("text/calendar")
    assert f"UID:session-{session_id}@" in calendar.text


async def test_a_speaker_page_shows_their_sessions_in_every_gathering(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id, _ = await _session_with_speakers(db, CONFERENCE, 0)
    national = await load_programme(db, NATIONAL)
    conference = await load_programme(db, CONFERENCE)
    speaker = next(ref for s in national.sessions for ref in s.speakers)
    ss = schema.session_speaker
    await _execute(
        db,
        sa.insert(ss).values(
            session_id=session_id, speaker_id=speaker.id, role="speaker", position=9
        ),
    )
    await release_programme(db, conference.gathering.id, released_by=None)
    page = parse_html((await client.get(f"/speakers/{speaker.slug}")).text)
    groups = texts(page, "//section[@class='group']/h3")
    assert {conference.gathering.title, national.gathering.title} <= set(groups)
    assert len(groups) == len(set(groups))  # one section per gathering
    added = conference.session(session_id)
    assert added is not None
    listed = texts(page, f"//section[h3/@id='group-{CONFERENCE}']//li")
    assert any(added.title in item for item in listed), listed


# --- never shown ----------------------------------------------------------------------------------

SKIPPED = (
    "/organiser",
    "/admin",
    "/signin",
    "/signout",
    "/password",
    "/r/",
    "/my/",
    "/door",
    "/invitation",
    "/static/",
)
URL = re.compile(r"http://127\.0\.0\.1:8000(/[^\s\"'<>\\]*)")


def _links(answer: httpx.Response) -> set[str]:
    found = {m.group(1) for m in URL.finditer(answer.text)}
    if answer.headers.get("content-type", "").startswith("text/html"):
        doc = parse_html(answer.text)
        for href in doc.xpath("//a/@href | //link/@href | //form[@method='get']/@action"):
            parts = urlsplit(href)
            if parts.netloc in ("", "127.0.0.1:8000") and parts.path.startswith("/"):
                found.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return {p.replace("&amp;", "&") for p in found if not p.startswith(SKIPPED)}


async def test_no_speakers_address_is_in_any_page_feed_export_api_or_fediverse_document(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await _give_every_speaker_an_address(db)
    # A release that mails speakers, so their addresses are in the outbox too.
    session_id, _ = await _session_with_speakers(db, CONFERENCE, 0)
    s = schema.programme_session
    await _execute(db, sa.update(s).where(s.c.id == session_id).values(status="cancelled"))
    await release_programme(
        db, (await load_programme(db, CONFERENCE)).gathering.id, released_by=None
    )
    assert await _notices(db)

    o, sp, g = schema.organisation, schema.speaker, schema.gathering
    orgs = [slug for (slug,) in await _rows(db, sa.select(o.c.slug))]
    speakers = [slug for (slug,) in await _rows(db, sa.select(sp.c.slug))]
    gatherings = [slug for (slug,) in await _rows(db, sa.select(g.c.slug))]
    start = {
        "/",
        "/speakers",
        "/organisations",
        "/search?q=a",
        "/api/openapi.json",
        "/api/gatherings",
        "/api/speakers",
        "/api/organisations",
    }
    for slug in speakers:
        start |= {f"/speakers/{slug}", f"/speakers/{slug}/calendar.ics", f"/api/speakers/{slug}"}
    for slug in orgs + gatherings:
        start.add(f"/.well-known/webfinger?resource=acct:{slug}@127.0.0.1:8000")
    for slug in gatherings:
        start |= {
            f"/g/{slug}",
            f"/g/{slug}/schedule.xml",
            f"/g/{slug}/schedule.json",
            f"/g/{slug}/changes.atom",
            f"/api/gatherings/{slug}",
            f"/oembed?url={BASE}/g/{slug}&format=json",
        }
    seen: set[str] = set()
    queue = deque(sorted(start))
    kinds: set[str] = set()
    while queue and len(seen) < 2500:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        accepts = ["*/*"]
        if path.startswith("/ap/"):
            accepts.append("application/activity+json")
        for accept in accepts:
            answer = await client.get(path, headers={"accept": accept})
            assert answer.status_code < 500, path
            assert PRIVATE not in answer.text, path
            kinds.add(answer.headers.get("content-type", "").split(";")[0])
            queue.extend(sorted(_links(answer) - seen))
    assert len(seen) > 150, len(seen)
    # Pages, feeds, exports, the API and the fediverse were all read.
    assert {
        "text/html",
        "text/calendar",
        "application/json",
        "application/activity+json",
        "application/jrd+json",
        "application/atom+xml",
        "application/xml",
    } <= kinds
    for needed in ("/ap/", "/api/", "/.well-known/webfinger", "/oembed", "/embed/"):
        assert any(p.startswith(needed) for p in seen), needed
    assert any(p.endswith(".atom") for p in seen)
    assert any(p.endswith("/schedule.xml") for p in seen)


# --- erasure and retention ---------------------------------------------------------------------


class _Address:
    def __init__(self, value: str) -> None:
        self.value = value

    def needles(self) -> dict[str, str]:
        return {"email": self.value}


async def test_deleting_a_speaker_takes_their_address_and_notices_away(
    db: Database, client: httpx.AsyncClient, raw: RawFiles
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id, speakers = await _session_with_speakers(db, CONFERENCE, 0)
    leaving, staying = speakers[0], speakers[1]
    sp, ss, s = schema.speaker, schema.session_speaker, schema.programme_session
    await _execute(
        db,
        sa.update(sp).where(sp.c.slug == leaving).values(email=_address(leaving)),
        sa.update(sp).where(sp.c.slug == staying).values(email=_address(staying)),
        sa.update(s).where(s.c.id == session_id).values(status="cancelled"),
    )
    gathering_id = (await load_programme(db, CONFERENCE)).gathering.id
    await release_programme(db, gathering_id, released_by=None)
    assert {to for to, _ in await _notices(db)} == {_address(leaving), _address(staying)}
    [(leaving_id,)] = await _rows(db, sa.select(sp.c.id).where(sp.c.slug == leaving))
    # Taken off every session (a speaker with sessions cannot be deleted), then deleted.
    await _execute(db, sa.delete(ss).where(ss.c.speaker_id == leaving_id))
    await sign_in(client, *ADMIN)
    path = f"/admin/speakers/{leaving_id}/delete"
    token = await csrf_from(client, path)
    assert (await client.post(path, data={"csrftoken": token})).status_code == 303

    assert await _rows(db, sa.select(sp.c.id).where(sp.c.id == leaving_id)) == []
    assert {to for to, _ in await _notices(db)} == {_address(staying)}
    e = schema.audit_event
    [(detail,)] = await _rows(db, sa.select(e.c.detail).where(e.c.action == "speaker_email_erased"))
    assert detail == {"mails": 1}
    # And no copy is left in the database's files.
    completed = await storage.complete(db, patience=30)
    assert completed.done
    assert await raw.left(_Address(_address(leaving))) == {}  # type: ignore[arg-type]
    assert await raw.holding(_Address(_address(staying)))  # type: ignore[arg-type]


async def test_the_purge_forgets_speakers_left_only_in_purged_gatherings(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    conference = await load_programme(db, CONFERENCE)
    national = await load_programme(db, NATIONAL)
    only_here = next(
        ref.slug
        for s in conference.sessions
        for ref in s.speakers
        if not any(r.slug == ref.slug for n in national.sessions for r in n.speakers)
    )
    elsewhere = next(ref for s in national.sessions for ref in s.speakers)
    session_id, _ = await _session_with_speakers(db, CONFERENCE, 0)
    sp, ss, s, g = (
        schema.speaker,
        schema.session_speaker,
        schema.programme_session,
        schema.gathering,
    )
    await _execute(
        db,
        sa.update(sp).where(sp.c.slug == only_here).values(email=_address(only_here)),
        sa.update(sp).where(sp.c.slug == elsewhere.slug).values(email=_address(elsewhere.slug)),
        # The national gathering's speaker also speaks at the conference.
        sa.insert(ss).values(
            session_id=session_id, speaker_id=elsewhere.id, role="speaker", position=9
        ),
        sa.update(s).where(s.c.gathering_id == conference.gathering.id).values(status="cancelled"),
    )
    await release_programme(db, conference.gathering.id, released_by=None)
    assert {to for to, _ in await _notices(db)} >= {_address(only_here), _address(elsewhere.slug)}
    # The conference's retention ends: purge it as of a day long after.
    await _execute(db, sa.update(g).where(g.c.slug == CONFERENCE).values(retention_days=1))
    erasures = await retention.purge(db, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    [mine] = [e for e in erasures if e.slug == CONFERENCE]
    assert mine.mails >= 2

    assert await _notices(db) == []
    emails = dict(await _rows(db, sa.select(sp.c.slug, sp.c.email)))
    assert emails[only_here] == ""  # speaks nowhere else: forgotten
    assert emails[elsewhere.slug] == _address(elsewhere.slug)  # still speaks at a live gathering
