"""The joining link appears nowhere before its time (issue 16): months before an online session,
a person's own joining link is on no page (ticket, manage page, agenda), in no feed, in no mail's
calendar attachment and in no API answer; the personal feed gains it the moment it is revealed
(``GATHERING_JOINING_LINK_MINUTES`` before the start), with a new ETag and no copy kept beyond
that moment. Time is moved with the app's clock (``gathering.core.clock``), never by sleeping.
Both engines."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from icalendar import Calendar
from starlette.routing import Route

from gathering.core import clock, schema
from gathering.core.database import Database
from gathering.mail.messages import Outgoing
from gathering.mail.sender import render
from tests.helpers import csrf_from, parse_html
from tests.integration.online_world import SLUG, World, build, rows

pytestmark = pytest.mark.anyio

BASE_LINK = "http://127.0.0.1:8000"
REVEAL_MINUTES = 30  # the default GATHERING_JOINING_LINK_MINUTES
PEOPLE: dict[str, dict[str, Any]] = {
    "Ann": {"places": {"Online": "confirmed", "Hybrid": "confirmed", "Hall": "confirmed"}},
}
ANN_FEED = "feed-ann-0123456789abcdef0123456789abcdef"


class MovedClock:
    """The app's clock, set by the test: every reader of ``clock.utc_now()`` sees ``at``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = dt.datetime.now(dt.UTC)
        monkeypatch.setattr(clock, "utc_now", self)

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def moved_clock(monkeypatch: pytest.MonkeyPatch) -> MovedClock:
    return MovedClock(monkeypatch)


async def _starts(db: Database, world: World, title: str) -> dt.datetime:
    s = schema.programme_session
    [row] = await rows(db, sa.select(s.c.starts_at).where(s.c.id == world.sessions[title]))
    return row.starts_at.astimezone(dt.UTC)


def _link(world: World, name: str, session: str) -> str:
    return world.join_path(name, session)  # "/j/<place>-<signature>", in pages and feeds alike


def _feed_links(body: bytes) -> dict[str, str]:
    """SUMMARY → the CONFERENCE link of each event of a feed ("" when none)."""
    calendar = Calendar.from_ical(body)
    return {str(e["SUMMARY"]): str(e.get("CONFERENCE", "")) for e in calendar.walk("VEVENT")}


def _attendee_get_paths(app: Any, world: World, token: str) -> list[str]:
    """Every GET route an attendee or the public can reach, with this world's values."""
    from gathering.app import route_list

    values = {
        "slug": SLUG,
        "session_id": str(world.sessions["Online"]),
        "token": token,
        "feed_key": ANN_FEED,
        "kind": "svg",
    }
    skipped = ("/organiser", "/admin", "/steward", "/door", "/signin", "/account", "/static", "/j/")
    paths = []
    for route in route_list():
        if not isinstance(route, Route) or "GET" not in (route.methods or set()):
            continue
        if route.path.startswith(skipped) or not set(route.param_convertors) <= set(values):
            continue
        params = {name: values[name] for name in route.param_convertors}
        paths.append(str(app.url_path_for(route.name, **params)))
    return paths


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


async def _register_and_confirm(client: httpx.AsyncClient, world: World) -> None:
    """Zed registers for the online session through the form and confirms by the mailed link."""
    form = f"/g/{SLUG}/register"
    registered = await client.post(
        form,
        data={
            "csrftoken": await csrf_from(client, form),
            "name": "Zed Newcomer",
            "email": "zed@example.org",
            "session_ids": str(world.sessions["Online"]),
        },
    )
    assert registered.status_code == 200, registered.text[:500]


async def test_months_before_the_session_the_link_is_on_no_page_feed_mail_or_api(
    db: Database, client: httpx.AsyncClient, moved_clock: MovedClock
) -> None:
    world = await build(db, PEOPLE)
    app = client._transport.app  # type: ignore[attr-defined]
    online_starts = await _starts(db, world, "Online")
    moved_clock.at = online_starts - dt.timedelta(days=90)
    ann = world.manage("Ann")
    secrets = [_link(world, "Ann", s) for s in ("Online", "Hybrid")]

    # Every page, feed and API answer an attendee can fetch: her ticket, her manage page, her
    # agenda and its feed, her data download, the programme, the API.
    paths = _attendee_get_paths(app, world, ann)
    for wanted in (
        f"/r/{ann}/ticket",
        f"/r/{ann}",
        f"/r/{ann}/data.json",
        f"/my/{ANN_FEED}",
        f"/my/{ANN_FEED}/agenda.ics",
        f"/api/gatherings/{SLUG}",
        f"/api/gatherings/{SLUG}/sessions/{world.sessions['Online']}",
    ):
        assert wanted in paths
    fetched = 0
    for path in paths:
        response = await client.get(path)
        if response.status_code >= 400:
            continue
        fetched += 1
        for secret in secrets:
            assert secret.encode() not in response.content, path
        assert b"/j/" not in response.content, path
    assert fetched >= 15

    # The pages say when it will appear instead.
    ticket = parse_html((await client.get(f"/r/{ann}/ticket")).text)
    assert ticket.xpath("//a[contains(@class,'joining-link')]") == []
    later = ticket.xpath("string(//span[contains(@class,'joining-later')])")
    assert "appears here at" in later
    agenda = parse_html((await client.get(f"/my/{ANN_FEED}")).text)
    assert agenda.xpath("//a[contains(@class,'joining-link')]") == []
    notes = [
        " ".join(p.text_content().split())
        for p in agenda.xpath("//p[@class='joining joining-later']")
    ]
    assert len(notes) == 2 and all("appears here" in note for note in notes)
    feed = await client.get(f"/my/{ANN_FEED}/agenda.ics")
    assert set(_feed_links(feed.content).values()) == {""}

    # The confirmation mail and its calendar attachment, for someone who registers now.
    await _register_and_confirm(client, world)
    o = schema.outbox
    [confirm] = await rows(db, sa.select(o).where(o.c.kind == "confirm_email"))
    confirm_path = urlsplit(confirm.context["confirm_url"]).path
    confirmed = await client.post(
        confirm_path, data={"csrftoken": await csrf_from(client, confirm_path)}
    )
    assert confirmed.status_code == 303
    [mail] = await rows(db, sa.select(o).where(o.c.kind == "registration_confirmed"))
    [ics] = [a for a in mail.attachments if a.get("content_type") == "text/calendar"]
    assert "BEGIN:VEVENT" in ics["text"] and "Online" in ics["text"]
    assert "CONFERENCE" not in ics["text"]
    everything = _rendered(mail) + json.dumps(mail.context) + json.dumps(mail.attachments)
    assert "/j/" not in everything and "meet.example.org" not in everything
    # Zed's own feed, linked from the mail, has no link either.
    feed_key = urlsplit(mail.context["agenda_url"]).path.split("/")[2]
    zed_feed = await client.get(f"/my/{feed_key}/agenda.ics")
    assert zed_feed.status_code == 200
    assert set(_feed_links(zed_feed.content).values()) == {""}


async def test_the_personal_feed_gains_the_link_at_reveal_time_with_a_new_etag(
    db: Database, client: httpx.AsyncClient, moved_clock: MovedClock
) -> None:
    world = await build(db, PEOPLE)
    online_starts = await _starts(db, world, "Online")
    hybrid_starts = await _starts(db, world, "Hybrid")
    reveal = online_starts - dt.timedelta(minutes=REVEAL_MINUTES)
    ann = world.manage("Ann")
    path = f"/my/{ANN_FEED}/agenda.ics"
    online_link = BASE_LINK + _link(world, "Ann", "Online")

    # Months ahead: nothing, and the feed may be kept for the usual five minutes.
    moved_clock.at = online_starts - dt.timedelta(days=120)
    early = await client.get(path)
    assert early.headers["cache-control"] == "private, max-age=300"
    assert set(_feed_links(early.content).values()) == {""}

    # Ten seconds before the hybrid session's link appears: still nothing, and no copy of the
    # feed is to be kept beyond the moment it does.
    hybrid_reveal = hybrid_starts - dt.timedelta(minutes=REVEAL_MINUTES)
    moved_clock.at = hybrid_reveal - dt.timedelta(seconds=10)
    before = await client.get(path)
    assert before.headers["cache-control"] == "private, max-age=10"
    assert before.content == early.content and before.headers["etag"] == early.headers["etag"]
    # A calendar that asks again with its copy's ETag is told it is current.
    same = await client.get(path, headers={"if-none-match": before.headers["etag"]})
    assert same.status_code == 304

    # At the hybrid session's reveal: its link, and a new ETag; the polling calendar gets it.
    moved_clock.at = hybrid_reveal
    polled = await client.get(path, headers={"if-none-match": before.headers["etag"]})
    assert polled.status_code == 200
    assert polled.headers["etag"] != before.headers["etag"]
    links = _feed_links(polled.content)
    assert links["Hybrid"] == BASE_LINK + _link(world, "Ann", "Hybrid")
    assert links["Online"] == "" and links["Hall"] == ""
    # The next copy may be kept only until the online session's link appears.
    expected_age = min(300, math.ceil((reveal - hybrid_reveal).total_seconds()))
    assert polled.headers["cache-control"] == f"private, max-age={expected_age}"

    # One second before the online session's reveal: no link for it on any of her pages.
    moved_clock.at = reveal - dt.timedelta(seconds=1)
    assert _feed_links((await client.get(path)).content)["Online"] == ""
    ticket = await client.get(f"/r/{ann}/ticket")
    assert _link(world, "Ann", "Online") not in ticket.text
    assert _link(world, "Ann", "Online") not in (await client.get(f"/my/{ANN_FEED}")).text

    # At reveal time: in the feed (a new ETag again), on the agenda page and on the ticket.
    moved_clock.at = reveal
    revealed = await client.get(path)
    assert _feed_links(revealed.content)["Online"] == online_link
    assert revealed.headers["etag"] != polled.headers["etag"]
    assert revealed.headers["cache-control"] == "private, max-age=300"
    agenda = parse_html((await client.get(f"/my/{ANN_FEED}")).text)
    assert online_link in agenda.xpath("//a[contains(@class,'joining-link')]/@href")
    ticket_page = parse_html((await client.get(f"/r/{ann}/ticket")).text)
    hrefs = ticket_page.xpath("//a[contains(@class,'joining-link')]/@href")
    assert BASE_LINK + _link(world, "Ann", "Online") in hrefs
    # The link itself leads to the meeting from then on (the same clock).
    opened = await client.get(_link(world, "Ann", "Online"))
    assert opened.status_code == 303
    assert opened.headers["location"] == world.meeting("Online")
