"""Issue 20, personal joining links: each confirmed place at an online or hybrid session has its
own link, which leads to the meeting only inside its window, records the join, dies with the
place, and is the only way the meeting's address ever reaches an attendee. Both engines."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gathering.core import schema
from gathering.core.database import Database
from gathering.registration import manage as booking_rules
from gathering.registration.joining import SHARED_DEVICES
from gathering.registration.links import links_for
from gathering.registration.tokens import join_token
from tests.helpers import parse_html, sign_in
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
