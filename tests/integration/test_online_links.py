"""Issue 20, personal joining links: each confirmed place at an online or hybrid session has its
own link, which leads to the meeting only inside its window, records the join, dies with the
place, and is the only way the meeting's address ever reaches an attendee. Both engines."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from icalendar import Calendar

from gathering.core import schema
from gathering.core.database import Database
from gathering.mail.messages import Outgoing
from gathering.mail.sender import render
from gathering.registration import manage as booking_rules
from gathering.registration.joining import SHARED_DEVICES
from gathering.registration.links import links_for
from gathering.registration.notices import queue_reminders
from gathering.registration.tokens import join_token
from tests.helpers import csrf_from, parse_html, sign_in
from tests.integration.online_world import LLA, SLUG, World, build, rows

pytestmark = pytest.mark.anyio

PEOPLE: dict[str, dict[str, Any]] = {
    "Ann": {"places": {"Hybrid": "confirmed", "Online": "confirmed", "Ended": "confirmed"}},
    "Ben": {"places": {"Hybrid": "confirmed", "Hall": "confirmed"}},
    "Cat": {"places": {"Hybrid": "confirmed"}},
    "Dan": {"places": {"Hybrid": "waitlisted"}},
    "Eve": {"places": {"Hybrid": "confirmed"}},
}


async def _joins(db: Database, world: World, name: str, session: str) -> list[Any]:
    table = schema.online_join
    return await rows(db, sa.select(table).where(table.c.place_id == world.places[(name, session)]))


async def test_joining_link_leads_to_the_meeting_only_inside_its_window(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await build(db, PEOPLE)
    opened = await client.get(world.join_path("Ann", "Hybrid"))
    assert opened.status_code == 303
    assert opened.headers["location"] == world.meeting("Hybrid")
    assert opened.headers["cache-control"] == "no-store"
    assert opened.headers["referrer-policy"] == "no-referrer"
    [join] = await _joins(db, world, "Ann", "Hybrid")
    assert join.opens == 1 and join.first_joined_at == join.last_joined_at
    assert join.shared_at is None

    again = await client.get(world.join_path("Ann", "Hybrid"))
    assert again.status_code == 303
    [join2] = await _joins(db, world, "Ann", "Hybrid")
    assert join2.opens == 2 and join2.first_joined_at == join.first_joined_at
    # Her own download of her data says so.
    held = (await client.get(f"/r/{world.manage('Ann')}/data.json")).json()
    assert [(j["session"], j["times_opened"]) for j in held["joined_online"]] == [("Hybrid", 2)]
    assert join2.last_joined_at >= join.last_joined_at
    assert join2.window_devices == 1  # the same browser, by its cookie

    early = await client.get(world.join_path("Ann", "Online"))
    assert early.status_code == 200
    doc = parse_html(early.text)
    assert doc.xpath("//p[@id='joining-state']/@data-state") == ["early"]
    assert "opens at" in doc.xpath("string(//p[@id='joining-state'])")
    assert world.meeting("Online") not in early.text
    assert await _joins(db, world, "Ann", "Online") == []

    ended = await client.get(world.join_path("Ann", "Ended"))
    assert ended.status_code == 410
    assert parse_html(ended.text).xpath("//p[@id='joining-state']/@data-state") == ["ended"]
    assert world.meeting("Ended") not in ended.text
    assert await _joins(db, world, "Ann", "Ended") == []


async def test_joining_link_dies_with_the_place_and_cannot_be_forged(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await build(db, PEOPLE)
    app = client._transport.app  # type: ignore[attr-defined]
    links = links_for(app, app.state.settings)
    # Ben gives up his place: his link stops at once.
    await booking_rules.cancel_place(
        db, world.manage("Ben"), world.places[("Ben", "Hybrid")], links=links, offer_hours=24
    )
    gone = await client.get(world.join_path("Ben", "Hybrid"))
    assert gone.status_code == 404
    assert world.meeting("Hybrid") not in gone.text
    # Cat cancels her whole registration.
    await booking_rules.cancel_registration(db, world.manage("Cat"), links=links, offer_hours=24)
    assert (await client.get(world.join_path("Cat", "Hybrid"))).status_code == 404
    # Dan is on the waiting list: a link made for his place (with the secret) does not work.
    assert (await client.get(world.join_path("Dan", "Hybrid"))).status_code == 404
    # Forged: another place's number with Ann's signature, a wrong key, garbage.
    ann = world.join_path("Ann", "Hybrid").removeprefix("/j/")
    signature = ann.partition("-")[2]
    forged = [
        f"{world.places[('Eve', 'Hybrid')]}-{signature}",
        join_token("another-secret-key-that-is-long", world.places[("Eve", "Hybrid")], "key-eve"),
        "not-a-token",
        "9" * 40,
    ]
    for token in forged:
        response = await client.get(f"/j/{token}")
        assert response.status_code == 404, token
        assert "meet.example.org" not in response.text
    assert await rows(db, sa.select(schema.online_join)) == []
    # The session is cancelled: Eve's link stops too.
    await db.write(
        lambda conn: conn.execute(
            sa.update(schema.programme_session)
            .where(schema.programme_session.c.id == world.sessions["Hybrid"])
            .values(status="cancelled")
        )
    )
    assert (await client.get(world.join_path("Eve", "Hybrid"))).status_code == 404


async def test_link_opened_from_many_devices_is_flagged_not_blocked(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await build(db, PEOPLE)
    path = world.join_path("Eve", "Hybrid")
    # One device, many times: not shared.
    for _ in range(SHARED_DEVICES + 2):
        assert (await client.get(path)).status_code == 303
    [join] = await _joins(db, world, "Eve", "Hybrid")
    assert join.shared_at is None and join.window_devices == 1
    # Other devices (no cookie of this link): every one still gets in, the link is flagged.
    for _ in range(SHARED_DEVICES - 1):
        client.cookies.clear()
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == world.meeting("Hybrid")
    [join] = await _joins(db, world, "Eve", "Hybrid")
    assert join.window_devices == SHARED_DEVICES and join.shared_at is not None
    # The cookie holds a random value the database never sees.
    cookie = response.cookies.get("gathering_device")
    assert cookie and cookie not in json.dumps([str(v) for v in join])
    # The organiser sees it flagged on the session's dashboard (a count, no one named).
    await sign_in(client, *LLA)
    page = await client.get(f"/organiser/g/{SLUG}/sessions/{world.sessions['Hybrid']}/dashboard")
    assert page.status_code == 200, page.text[:300]
    doc = parse_html(page.text)
    notice = doc.xpath("string(//p[@id='shared-links'])")
    assert notice.startswith("1 joining link was opened from several devices")
    assert "Eve" not in notice


async def test_dashboard_counts_online_joins_beside_arrivals(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await build(db, PEOPLE)
    # Ann joins online; Ben comes in person; Cat does both (counted once in "attended").
    for name in ("Ann", "Cat"):
        assert (await client.get(world.join_path(name, "Hybrid"))).status_code == 303
    now = dt.datetime.now(dt.UTC)

    async def _arrive(conn: Any) -> None:
        for name in ("Ben", "Cat"):
            await conn.execute(
                sa.insert(schema.check_in).values(
                    registration_id=world.people[name],
                    session_id=world.sessions["Hybrid"],
                    kind="entry",
                    door="Front",
                    at=now,
                )
            )

    await db.write(_arrive)
    await sign_in(client, *LLA)
    hybrid = world.sessions["Hybrid"]
    page = await client.get(f"/organiser/g/{SLUG}/sessions/{hybrid}/dashboard")
    assert page.status_code == 200
    doc = parse_html(page.text)

    def count(key: str) -> str:
        return doc.xpath(f"string(//dl[@id='totals']//dd[@data-count='{key}'])")

    assert (count("arrived"), count("joined_online"), count("attended")) == ("2", "2", "3")
    assert "Ann" not in page.text and "Cat" not in page.text

    whole = parse_html((await client.get(f"/organiser/g/{SLUG}/dashboard")).text)
    row = f"//table[@id='sessions']//tr[@data-session-id='{hybrid}']"
    assert whole.xpath(f"string({row}/td[@data-count='joined_online'])").strip() == "2"
    assert whole.xpath(f"string({row}/td[@data-count='attended'])").strip() == "3"
    assert whole.xpath(f"string({row}/td[@data-count='arrived'])").strip() == "2"
    assert whole.xpath("string(//dl[@id='totals']//dd[@data-count='joined_online'])") == "2"
    hall = f"//table[@id='sessions']//tr[@data-session-id='{world.sessions['Hall']}']"
    assert whole.xpath(f"string({hall}/td[@data-count='joined_online'])").strip() == "–"

    # The attendee list and the host's export say who joined online (hosts see everyone).
    listing = parse_html(
        (await client.get(f"/organiser/g/{SLUG}/sessions/{hybrid}/attendees")).text
    )
    joined = {
        tr.xpath("string(th)"): tr.xpath("string(td[@data-field='joined_online'])")
        for tr in listing.xpath("//table//tbody/tr")
    }
    assert set(joined) == {"Ann", "Ben", "Cat", "Dan", "Eve"}
    assert joined["Ben"] == "Not yet" and joined["Eve"] == "Not yet"
    assert joined["Ann"] != "Not yet" and joined["Cat"] != "Not yet"


# --- the meeting's address reaches no attendee ---------------------------------------------------

SKIPPED_PREFIXES = ("/organiser", "/admin", "/steward", "/door", "/signin", "/account", "/static")
ATTENDEE_ROUTE_PARAMS = ("slug", "session_id", "token", "feed_key", "kind", "track")


def _attendee_paths(app: Any, world: World) -> list[str]:
    """Every GET route an attendee or the public can reach, with this world's values."""
    from starlette.routing import Route

    values = {
        "slug": SLUG,
        "session_id": str(world.sessions["Hybrid"]),
        "token": world.manage("Ann"),
        "feed_key": "feed-ann-0123456789abcdef0123456789abcdef",
        "kind": "svg",
    }
    paths = []
    from gathering.app import route_list

    for route in route_list():
        if not isinstance(route, Route) or "GET" not in (route.methods or set()):
            continue
        if route.path.startswith(SKIPPED_PREFIXES) or route.path.startswith("/j/"):
            continue
        if not set(route.param_convertors) <= set(values):
            continue
        params = {name: values[name] for name in route.param_convertors}
        paths.append(str(app.url_path_for(route.name, **params)))
    return paths


async def test_the_meeting_address_reaches_no_attendee_page_mail_feed_or_api(
    db: Database, client: httpx.AsyncClient
) -> None:
    from gathering.programme.release import release_programme
    from gathering.registration.notices import change_notifier

    world = await build(db, PEOPLE)
    app = client._transport.app  # type: ignore[attr-defined]
    links = links_for(app, app.state.settings)
    meetings = [world.meeting(title) for title in ("Hybrid", "Online", "Ended")]

    # Mail of every kind a person with a place gets: the reminder, a released change, a place
    # given up, the confirmation and ticket of someone registering through the form.
    now = dt.datetime.now(dt.UTC)
    assert await queue_reminders(db, links=links, reminder_hours=24, now=now) >= 3
    await db.write(
        lambda conn: conn.execute(
            sa.update(schema.programme_session)
            .where(schema.programme_session.c.id == world.sessions["Online"])
            .values(title="Online, retitled", version=schema.programme_session.c.version + 1)
        )
    )
    await release_programme(
        db, world.gathering_id, released_by=None, on_release=change_notifier(links)
    )
    await booking_rules.cancel_place(
        db, world.manage("Ben"), world.places[("Ben", "Hall")], links=links, offer_hours=24
    )
    form = f"/g/{SLUG}/register"
    registered = await client.post(
        form,
        data={
            "csrftoken": await csrf_from(client, form),
            "name": "Zed Newcomer",
            "email": "zed@example.org",
            "session_ids": str(world.sessions["Hybrid"]),
        },
    )
    assert registered.status_code == 200, registered.text[:500]
    o = schema.outbox
    [confirm] = await rows(db, sa.select(o).where(o.c.kind == "confirm_email"))
    confirm_path = urlsplit(confirm.context["confirm_url"]).path
    confirmed = await client.post(
        confirm_path, data={"csrftoken": await csrf_from(client, confirm_path)}
    )
    assert confirmed.status_code == 303
    mails = await rows(db, sa.select(o).order_by(o.c.id))
    kinds = {m.kind for m in mails}
    assert {
        "session_reminder",
        "session_changed",
        "confirm_email",
        "registration_confirmed",
    } <= kinds
    reminders = [m for m in mails if m.kind == "session_reminder"]
    for mail in mails:
        text = _rendered(mail) + json.dumps(mail.context) + json.dumps(mail.attachments)
        for meeting in meetings:
            assert meeting not in text, mail.kind
    ann_reminders = [m for m in reminders if m.to_address == "ann@example.org"]
    assert any(BASE_LINK + world.join_path("Ann", "Hybrid") in _rendered(m) for m in ann_reminders)

    # Every page, feed and API answer an attendee or the public can fetch.
    paths = _attendee_paths(app, world)
    assert f"/r/{world.manage('Ann')}/ticket" in paths
    assert "/my/feed-ann-0123456789abcdef0123456789abcdef/agenda.ics" in paths
    assert f"/api/gatherings/{SLUG}" in paths
    fetched = 0
    for path in paths:
        response = await client.get(path)
        if response.status_code >= 400:
            continue
        fetched += 1
        for meeting in meetings:
            assert meeting.encode() not in response.content, path
    assert fetched >= 15
    # The early link's page and the ended link's page do not carry it either.
    for name, session in (("Ann", "Online"), ("Ann", "Ended")):
        response = await client.get(world.join_path(name, session))
        assert "meet.example.org" not in response.text

    # Her own link is on her ticket and in her feed (the hybrid session's window is open; the
    # online one's is not, so neither has anything for it yet: issue 16).
    ticket = parse_html((await client.get(f"/r/{world.manage('Ann')}/ticket")).text)
    hrefs = ticket.xpath("//a[contains(@class,'joining-link')]/@href")
    assert BASE_LINK + world.join_path("Ann", "Hybrid") in hrefs
    assert BASE_LINK + world.join_path("Ann", "Online") not in hrefs
    feed = await client.get("/my/feed-ann-0123456789abcdef0123456789abcdef/agenda.ics")
    calendar = Calendar.from_ical(feed.content)
    conference = {str(e["SUMMARY"]): str(e.get("CONFERENCE", "")) for e in calendar.walk("VEVENT")}
    assert conference["Hybrid"] == BASE_LINK + world.join_path("Ann", "Hybrid")
    assert conference["Online, retitled"] == ""
    assert "meet.example.org" not in feed.text


BASE_LINK = "http://127.0.0.1:8000"


def _rendered(row: Any) -> str:
    message = Outgoing(
        id=row.id,
        kind=row.kind,
        to_address=row.to_address,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        attachments=row.attachments,
        context=row.context,
        created_at=row.created_at,
        attempts=row.attempts,
    )
    shown = render(message)
    return "\n".join((shown.subject, shown.text, shown.html))


async def test_erasure_and_the_purge_thin_online_joins(
    db: Database, client: httpx.AsyncClient
) -> None:
    from gathering.privacy import retention

    world = await build(db, PEOPLE)
    for name in ("Ann", "Cat", "Eve"):
        assert (await client.get(world.join_path(name, "Hybrid"))).status_code == 303
    app = client._transport.app  # type: ignore[attr-defined]
    links = links_for(app, app.state.settings)
    await booking_rules.erase(db, world.manage("Ann"), links=links, offer_hours=24)
    [ann] = await _joins(db, world, "Ann", "Hybrid")
    assert ann.last_joined_at is None and ann.opens == 0 and ann.window_started_at is None
    [cat] = await _joins(db, world, "Cat", "Hybrid")
    assert cat.last_joined_at is not None and cat.opens == 1
    # Her link is dead with her manage key.
    assert (await client.get(world.join_path("Ann", "Hybrid"))).status_code == 404

    await retention.purge(db, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=400))
    joins = await rows(db, sa.select(schema.online_join))
    assert len(joins) == 3  # the counts stay, as check-ins do
    for join in joins:
        assert (join.last_joined_at, join.opens, join.window_devices, join.shared_at) == (
            None,
            0,
            0,
            None,
        )


async def test_host_export_says_who_joined_online_for_consented_people_only(
    db: Database, client: httpx.AsyncClient
) -> None:
    import csv
    import io

    world = await build(db, PEOPLE)
    now = dt.datetime.now(dt.UTC)

    async def _consent(conn: Any) -> None:
        for name in ("Ann", "Ben"):  # Cat joins too, but never agreed to be contacted
            await conn.execute(
                sa.insert(schema.consent).values(
                    registration_id=world.people[name],
                    purpose="contact",
                    organisation_id=world.orgs["lla"],
                    text="may contact me",
                    given_at=now,
                )
            )

    await db.write(_consent)
    for name in ("Ann", "Cat"):
        assert (await client.get(world.join_path(name, "Hybrid"))).status_code == 303
    await sign_in(client, *LLA)
    hybrid, hall = world.sessions["Hybrid"], world.sessions["Hall"]
    response = await client.get(f"/organiser/g/{SLUG}/sessions/{hybrid}/attendees.csv")
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == [
        "name",
        "email",
        "place_status",
        "checked_in",
        "joined_online",
        "consented_at",
    ]
    assert [row[:5] for row in table[1:]] == [
        ["Ann", "ann@example.org", "confirmed", "no", "yes"],
        ["Ben", "ben@example.org", "confirmed", "no", "no"],
    ]
    # An in-person session's export is as it always was.
    response = await client.get(f"/organiser/g/{SLUG}/sessions/{hall}/attendees.csv")
    assert next(csv.reader(io.StringIO(response.text))) == [
        "name",
        "email",
        "place_status",
        "checked_in",
        "consented_at",
    ]
