"""Issue 7, first half: dashboards with counts, the attendee list, the consented contact export and
messages to registrants, on both engines, against rows these tests write themselves."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.permissions import Actor
from gathering.organiser.attendees import CO_HOST_EXPORT_COLUMNS, EXPORT_COLUMNS
from gathering.organiser.registrant_messages import MessageInput, send_message
from gathering.registration.rules import Links
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
SLUG = "autumn-fringe-2027"
LLA = ("organiser@example.org", "demo-organiser-password")
JVL = ("jvl@example.org", "demo-organiser-password")
ADMIN = ("admin@example.org", "demo-admin-password")
UTC = dt.UTC
BASE = "http://127.0.0.1:8000"
LINKS = Links(
    secret_key=TEST_SECRET,
    confirm=BASE + "/r/confirm/{token}",
    manage=BASE + "/r/{token}",
    offer=BASE + "/r/offer/{token}",
    base_url=BASE,
)


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2027, 9, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    gathering_id: int = 0
    orgs: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    tickets: dict[str, int] = field(default_factory=dict)


# Who is in the world (all times UTC; the gathering is in Europe/London, BST = UTC+1):
#
# Housing (host LLA, capacity 3, 27 Sep 18:30-20:00 BST)
#   Ann   confirmed place, checked in 18:10 BST (inside), consents to LLA, shares access needs
#   Ben   confirmed place, in 18:20 out 19:00 BST (left), no consent
#   Zoë   offered a place, consents to JVL only
#   Dan   on the waiting list, a check-in that was undone
#   Eve   cancelled registration (place cancelled), consents to LLA
#   Fay   pending (email not confirmed), holds a confirmed place
#   Gus   expired unconfirmed (cancelled, never confirmed), place cancelled
#   Kim   purged by the retention job: counted, never listed, exported or written to
# Rail (host LRC, co-host LLA): Ann, Ben, Hal (LLA consent withdrawn), Ivy (consents to LRC)
# Climate (host LRC, co-host LLA): Ben and Ivy only: no one consented to LLA
# Peace (host JVL only): Ann
PEOPLE: dict[str, dict[str, Any]] = {
    "Ann": {
        "status": "confirmed",
        "ticket": "Free",
        "answers": {"constituency": "Brighton Kemptown", "access_needs": "Step-free seat"},
        "share": True,
        "created": _at(1, 9),
        "consents": ["lla"],
    },
    "Ben": {
        "status": "confirmed",
        "ticket": "Standard",
        "answers": {"constituency": "brighton  kemptown", "access_needs": "Hearing loop"},
        "created": _at(1, 15),
    },
    "Zoë": {
        "status": "confirmed",
        "ticket": "Standard",
        "answers": {"constituency": "Hove"},
        "created": _at(2, 10),
        "consents": ["jvl"],
    },
    "Dan": {"status": "confirmed", "ticket": None, "answers": {}, "created": _at(4, 8)},
    "Eve": {
        "status": "cancelled",
        "ticket": "Free",
        "answers": {"constituency": "Hove"},
        "created": _at(4, 12),
        "consents": ["lla"],
    },
    "Fay": {"status": "pending", "ticket": "Free", "answers": {}, "created": _at(3, 11)},
    "Gus": {"status": "cancelled", "ticket": "Free", "answers": {}, "created": _at(4, 20)},
    "Hal": {
        "status": "confirmed",
        "ticket": "Standard",
        "answers": {"constituency": "Brighton Kemptown"},
        "created": _at(5, 9),
        "withdrawn": ["lla"],
    },
    "Ivy": {
        "status": "confirmed",
        "ticket": "Free",
        "answers": {},
        "created": _at(5, 18),
        "consents": ["lrc"],
    },
    # Purged by the retention job: keeps its status (for the counts), has no person left.
    "Kim": {
        "status": "confirmed",
        "ticket": "Solidarity",
        "answers": {},
        "created": _at(5, 20),
        "consents": ["lla"],
        "purged": True,
    },
}
PLACES = {
    "Housing": {
        "Ann": "confirmed",
        "Ben": "confirmed",
        "Zoë": "offered",
        "Dan": "waitlisted",
        "Eve": "cancelled",
        "Fay": "confirmed",
        "Gus": "cancelled",
        "Kim": "confirmed",
    },
    "Rail": {"Ann": "confirmed", "Ben": "confirmed", "Hal": "confirmed", "Ivy": "confirmed"},
    "Climate": {"Ben": "confirmed", "Ivy": "confirmed"},
    "Peace": {"Ann": "confirmed"},
}


def _email(name: str) -> str:
    return f"{name.lower().replace('ë', 'e')}@example.org"


async def _insert(conn: AsyncConnection, table: sa.Table, **values: Any) -> int:
    result = await conn.execute(sa.insert(table).values(**values).returning(table.c.id))
    return int(result.scalar_one())


async def _world(db: Database) -> World:
    await load_demo(db, secret_key=TEST_SECRET)
    world = World()

    async def _write(conn: AsyncConnection) -> None:
        now = dt.datetime.now(UTC)
        o = schema.organisation
        world.orgs = {r.slug: r.id for r in (await conn.execute(sa.select(o.c.slug, o.c.id)))}
        world.gathering_id = gid = await _insert(
            conn,
            schema.gathering,
            slug=SLUG,
            title="Autumn fringe 2027",
            starts_on=dt.date(2027, 9, 26),
            ends_on=dt.date(2027, 9, 29),
            timezone="Europe/London",
            host_organisation_id=world.orgs["lla"],
            registration_open=True,
            created_at=now,
            updated_at=now,
        )
        for position, name in enumerate(("Free", "Standard", "Solidarity")):
            world.tickets[name] = await _insert(
                conn, schema.ticket_type, gathering_id=gid, name=name, position=position
            )
        await _insert(
            conn,
            schema.question,
            gathering_id=gid,
            key="constituency",
            label="Constituency",
            position=0,
        )
        sessions = {
            "Housing": ({"lla": "host"}, 3, 27),
            "Rail": ({"lrc": "host", "lla": "co_host"}, None, 28),
            "Climate": ({"lrc": "host", "lla": "co_host"}, 100, 28),
            "Peace": ({"jvl": "host"}, 50, 29),
        }
        for title, (hosts, capacity, day) in sessions.items():
            session_id = await _insert(
                conn,
                schema.programme_session,
                gathering_id=gid,
                title=title,
                starts_at=_at(day, 17, 30),
                ends_at=_at(day, 19),
                capacity=capacity,
                status="published",
                created_at=now,
                updated_at=now,
            )
            world.sessions[title] = session_id
            for slug, role in hosts.items():
                await conn.execute(
                    sa.insert(schema.session_host).values(
                        session_id=session_id, organisation_id=world.orgs[slug], role=role
                    )
                )
        for name, spec in PEOPLE.items():
            confirmed = spec["status"] == "confirmed" or name == "Eve"
            purged = spec.get("purged", False)
            rid = await _insert(
                conn,
                schema.registration,
                gathering_id=gid,
                name="" if purged else name,
                email=f"erased-{name}@invalid" if purged else _email(name),
                anonymised_at=now if purged else None,
                ticket_type_id=world.tickets[spec["ticket"]] if spec["ticket"] else None,
                answers=spec["answers"],
                share_access_needs=spec.get("share", False),
                status=spec["status"],
                manage_key=None if purged else f"key-{name.lower()}",
                confirmed_at=spec["created"] + dt.timedelta(minutes=5) if confirmed else None,
                created_at=spec["created"],
            )
            world.people[name] = rid
            for slug in spec.get("consents", []) + spec.get("withdrawn", []):
                await _insert(
                    conn,
                    schema.consent,
                    registration_id=rid,
                    purpose="contact",
                    organisation_id=world.orgs[slug],
                    text="may contact me",
                    given_at=spec["created"],
                    withdrawn_at=now if slug in spec.get("withdrawn", []) else None,
                )
        for title, places in PLACES.items():
            for name, status in places.items():
                await _insert(
                    conn,
                    schema.session_place,
                    registration_id=world.people[name],
                    session_id=world.sessions[title],
                    status=status,
                    created_at=PEOPLE[name]["created"],
                    updated_at=now,
                )
        housing = world.sessions["Housing"]
        moves = [
            ("Ann", "entry", _at(27, 17, 10), None),
            ("Ben", "entry", _at(27, 17, 20), None),
            ("Ben", "exit", _at(27, 18), None),
            ("Dan", "entry", _at(27, 17, 25), _at(27, 17, 26)),
        ]
        for name, kind, at, undone in moves:
            await _insert(
                conn,
                schema.check_in,
                registration_id=world.people[name],
                session_id=housing,
                kind=kind,
                door="Front",
                at=at,
                undone_at=undone,
            )

    await db.write(_write)
    return world


async def _add_co_host(db: Database, world: World, session: str, org: str) -> None:
    """Make ``org`` a co-host of ``session`` (JVL: neither a host nor the gathering's host)."""
    await db.write(
        lambda conn: conn.execute(
            sa.insert(schema.session_host).values(
                session_id=world.sessions[session], organisation_id=world.orgs[org], role="co_host"
            )
        )
    )


async def _rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _audit(db: Database, action: str) -> list[Any]:
    a = schema.audit_event
    return await _rows(db, sa.select(a).where(a.c.action == action).order_by(a.c.id))


async def _outbox(db: Database) -> list[Any]:
    o = schema.outbox
    return await _rows(db, sa.select(o).where(o.c.kind == "organiser_message").order_by(o.c.id))


def _base(world: World, session: str) -> str:
    return f"/organiser/g/{SLUG}/sessions/{world.sessions[session]}"


def _counts(row: Any) -> dict[str, str]:
    return {
        el.get("data-count"): el.text_content().strip() for el in row.xpath(".//*[@data-count]")
    }


def _numbers_table(doc: Any, table_id: str) -> list[tuple[str, int, int]]:
    rows = doc.xpath(f"//table[@id='{table_id}']/tbody/tr")
    return [
        (
            " ".join(r.xpath("./th")[0].text_content().split()),
            int(r.xpath("./td")[0].text_content().replace(",", "")),
            int(r.xpath("./td")[1].text_content().replace(",", "")),
        )
        for r in rows
    ]


def _breakdown(doc: Any, table_id: str) -> dict[str, int]:
    rows = doc.xpath(f"//table[@id='{table_id}']/tbody/tr")
    return {
        " ".join(r.xpath("./th")[0].text_content().split()): int(r.xpath("./td")[0].text_content())
        for r in rows
    }


def _parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# --- dashboards ----------------------------------------------------------------------------------


async def test_gathering_dashboard_counts_match_the_rows(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _world(db)
    await sign_in(client, *LLA)
    response = await client.get(f"/organiser/g/{SLUG}/dashboard")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    doc = parse_html(response.text)

    totals = _counts(doc.xpath("//dl[@id='totals']")[0])
    assert totals == {
        "confirmed": "7",  # Ann Ben Zoë Dan Hal Ivy, and Kim (purged, still counted)
        "pending": "1",  # Fay
        "cancelled": "2",  # Eve Gus
        "arrived": "2",  # Ann Ben (Dan's check-in was undone)
        "inside": "0",  # no one came through the gathering's own door
    }
    rows = {
        " ".join(r.xpath("./th/a")[0].text_content().split()): _counts(r)
        for r in doc.xpath("//table[@id='sessions']/tbody/tr")
    }
    assert list(rows) == ["Housing", "Rail", "Climate", "Peace"]
    assert rows["Housing"] == {
        "registered": "6",
        "confirmed": "4",
        "offered": "1",
        "waitlisted": "1",
        "cancelled": "2",
        "arrived": "2",
        "inside": "1",
        "capacity": "3",
    }
    assert rows["Rail"]["confirmed"] == "4"
    assert rows["Rail"]["capacity"] == "No limit"
    assert rows["Peace"]["registered"] == "1"

    # Registrations per day in London time; Gus expired unconfirmed and is not counted.
    assert _numbers_table(doc, "registrations-table") == [
        ("Wednesday 1 September 2027", 2, 2),
        ("Thursday 2 September 2027", 1, 3),
        ("Friday 3 September 2027", 1, 4),
        ("Saturday 4 September 2027", 2, 6),
        ("Sunday 5 September 2027", 3, 9),
    ]
    bars = doc.xpath("//svg[@id='registrations-chart']//rect[@class='chart-bar']")
    assert [float(b.get("height")) > 0 for b in bars] == [True] * 5
    heights = [float(b.get("height")) for b in bars]
    assert heights[0] == heights[3] == 2 * heights[1]
    assert heights[4] == 3 * heights[1]
    assert doc.xpath("//svg[@id='registrations-chart']/title")[0].text == "Registrations over time"

    # First arrivals, per 15 minutes (18:10 and 18:20 BST).
    assert _numbers_table(doc, "arrivals-table") == [
        ("Mon 27 Sep, 18:00–18:15", 1, 1),
        ("Mon 27 Sep, 18:15–18:30", 1, 2),
    ]
    assert _breakdown(doc, "tickets-table") == {
        "Free": 3,  # Ann Fay Ivy
        "Standard": 3,  # Ben Zoë Hal
        "Solidarity": 1,  # Kim
        "No ticket type": 1,  # Dan
    }
    assert _breakdown(doc, "constituencies-table") == {
        "Brighton Kemptown": 3,  # spelled two ways
        "Hove": 1,
        "Not given": 4,
    }
    # Counts only: no one is named.
    for name in PEOPLE:
        assert name not in response.text
        assert _email(name) not in response.text


async def test_session_dashboard_counts_and_charts(db: Database, client: httpx.AsyncClient) -> None:
    world = await _world(db)
    await sign_in(client, *LLA)
    response = await client.get(f"{_base(world, 'Housing')}/dashboard")
    assert response.status_code == 200
    doc = parse_html(response.text)
    assert _counts(doc.xpath("//dl[@id='totals']")[0]) == {
        "registered": "6",
        "confirmed": "4",
        "offered": "1",
        "waitlisted": "1",
        "cancelled": "2",
        "arrived": "2",
        "inside": "1",
        "capacity": "3",
        "places_left": "0",
    }
    # Arrivals from an hour before the start (17:30 BST) to the end (20:00), per 15 minutes.
    arrivals = _numbers_table(doc, "arrivals-table")
    assert len(arrivals) == 10
    assert arrivals[0][0] == "Mon 27 Sep, 17:30–17:45"
    assert [(label[-11:], n) for label, n, _ in arrivals if n] == [
        ("18:00–18:15", 1),
        ("18:15–18:30", 1),
    ]
    assert len(doc.xpath("//svg[@id='arrivals-chart']//rect[@class='chart-bar']")) == 10
    # Bookings per day: Gus (expired unconfirmed) is left out.
    assert [n for _, n, _ in _numbers_table(doc, "registrations-table")] == [2, 1, 1, 2, 1]
    assert _breakdown(doc, "tickets-table") == {
        "Free": 2,  # Ann Fay
        "Standard": 2,  # Ben Zoë
        "Solidarity": 1,  # Kim
        "No ticket type": 1,  # Dan
    }
    links = [urlsplit(h).path for h in doc.xpath("//p[@class='actions']/a/@href")]
    assert f"{_base(world, 'Housing')}/attendees" in links
    assert f"{_base(world, 'Housing')}/message" in links


async def test_dashboards_refuse_other_organisations(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await sign_in(client, *JVL)
    gathering = await client.get(f"/organiser/g/{SLUG}/dashboard")
    assert gathering.status_code == 403
    assert "host organisation" in parse_html(gathering.text).text_content()
    assert (await client.get(f"{_base(world, 'Housing')}/dashboard")).status_code == 403
    peace = await client.get(f"{_base(world, 'Peace')}/dashboard")
    assert peace.status_code == 200  # JVL hosts Peace
    # The gathering's host (LLA) sees a session it does not host in numbers, not its people.
    await client.post("/signout", data={"csrftoken": await csrf_from(client, "/organiser")})
    await sign_in(client, *LLA)
    peace = await client.get(f"{_base(world, 'Peace')}/dashboard")
    assert peace.status_code == 200
    assert not parse_html(peace.text).xpath("//p[@class='actions']")
    assert (await client.get(f"{_base(world, 'Peace')}/attendees")).status_code == 403
    assert (await client.get(f"{_base(world, 'Peace')}/attendees.csv")).status_code == 403
    assert (await client.get(f"/organiser/g/{SLUG}/sessions/999999/dashboard")).status_code == 404
    huge = await client.get(f"/organiser/g/{SLUG}/sessions/99999999999999/attendees")
    assert huge.status_code == 404


async def test_empty_gathering_dashboard_says_so(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *ADMIN)
    response = await client.get("/organiser/g/dont-leave-organise-2021/dashboard")
    assert response.status_code == 200
    doc = parse_html(response.text)
    assert texts(doc, "//p[@id='arrivals-empty']") == [
        "No one has been checked in yet. Arrivals appear here as stewards scan tickets."
    ]
    assert doc.xpath("//svg[@id='registrations-chart']//rect[@class='chart-bar']")


def _withheld_breakdown(doc: Any, table_id: str) -> dict[str, str]:
    """Label → what the count cell says (a number or the words standing in for one)."""
    rows = doc.xpath(f"//table[@id='{table_id}']/tbody/tr")
    return {
        " ".join(r.xpath("./th")[0].text_content().split()): " ".join(
            r.xpath("./td")[0].text_content().split()
        )
        for r in rows
    }


async def test_co_host_dashboard_withholds_counts_under_five(
    db: Database, client: httpx.AsyncClient
) -> None:
    """JVL co-hosts Housing (6 live places) but neither hosts it nor the gathering."""
    world = await _world(db)
    await _add_co_host(db, world, "Housing", "jvl")
    await sign_in(client, *JVL)
    response = await client.get(f"{_base(world, 'Housing')}/dashboard")
    assert response.status_code == 200
    doc = parse_html(response.text)
    # Every ticket type has fewer than 5 people: none is given as a number, and no bar is drawn.
    assert _withheld_breakdown(doc, "tickets-table") == {
        "Free": "Fewer than 5",
        "Standard": "Fewer than 5",
        "Solidarity": "Fewer than 5",
        "No ticket type": "Fewer than 5",
    }
    assert not doc.xpath("//table[@id='tickets-table']//rect")
    # Constituencies given by fewer than 5 are not named: Brighton Kemptown (2) and Hove (1)
    # are counted together, and how many constituencies that is is not said.
    assert _withheld_breakdown(doc, "constituencies-table") == {
        "Other constituencies": "Fewer than 5",
        "Not given": "Fewer than 5",
    }
    assert "Kemptown" not in response.text
    assert "Hove" not in response.text
    assert "Counts under 5 are shown only to the hosts' organisers" in " ".join(
        texts(doc, "//table[@id='tickets-table']/caption")
    )
    # The place counts are unchanged: they are what the co-host needs to plan the room.
    assert _counts(doc.xpath("//dl[@id='totals']")[0])["registered"] == "6"


async def test_co_host_dashboard_hides_breakdowns_of_fewer_than_five(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await _add_co_host(db, world, "Rail", "jvl")  # Rail: Ann, Ben, Hal, Ivy
    await sign_in(client, *JVL)
    doc = parse_html((await client.get(f"{_base(world, 'Rail')}/dashboard")).text)
    assert not doc.xpath("//table[@id='tickets-table' or @id='constituencies-table']")
    assert texts(doc, "//p[@id='tickets-withheld']") == [
        "Fewer than 5 people to count, so this is shown only to the hosts' organisers: "
        "it could tell who they are."
    ]
    assert len(doc.xpath("//p[@id='constituencies-withheld']")) == 1
    assert "Kemptown" not in doc.text_content()


async def test_hosts_gathering_host_and_admin_see_exact_small_counts(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await _add_co_host(db, world, "Rail", "jvl")
    await sign_in(client, *JVL)  # JVL hosts Peace, where Ann (Free, Brighton Kemptown) is booked
    peace = parse_html((await client.get(f"{_base(world, 'Peace')}/dashboard")).text)
    assert _breakdown(peace, "tickets-table") == {"Free": 1, "Standard": 0, "Solidarity": 0}
    await client.post("/signout", data={"csrftoken": await csrf_from(client, "/organiser")})
    # LLA only co-hosts Rail, but it hosts the gathering: it sees the whole gathering's counts.
    await sign_in(client, *LLA)
    rail = parse_html((await client.get(f"{_base(world, 'Rail')}/dashboard")).text)
    assert _breakdown(rail, "tickets-table") == {"Free": 2, "Standard": 2, "Solidarity": 0}
    assert _breakdown(rail, "constituencies-table") == {"Brighton Kemptown": 3, "Not given": 1}
    await client.post("/signout", data={"csrftoken": await csrf_from(client, "/organiser")})
    await sign_in(client, *ADMIN)
    rail = parse_html((await client.get(f"{_base(world, 'Rail')}/dashboard")).text)
    assert _breakdown(rail, "tickets-table") == {"Free": 2, "Standard": 2, "Solidarity": 0}


# --- the attendee list ---------------------------------------------------------------------------


def _attendees(doc: Any) -> dict[str, dict[str, str]]:
    return {
        " ".join(r.xpath("./th")[0].text_content().split()): {
            td.get("data-field"): " ".join(td.text_content().split()) for td in r.xpath("./td")
        }
        for r in doc.xpath("//table[@id='attendees']/tbody/tr")
    }


async def test_host_sees_everyone_confirmed_with_shared_access_needs_only(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await sign_in(client, *LLA)
    response = await client.get(f"{_base(world, 'Housing')}/attendees")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    people = _attendees(parse_html(response.text))
    # Fay's email is unconfirmed, Eve cancelled and Gus expired: not listed.
    assert people == {
        "Ann": {
            "email": "ann@example.org",
            "ticket_type": "Free",
            "place_status": "Confirmed",
            "came": "18:10, inside now",
            "access_needs": "Step-free seat",
        },
        "Ben": {
            "email": "ben@example.org",
            "ticket_type": "Standard",
            "place_status": "Confirmed",
            "came": "18:20, has left",
            "access_needs": "—",  # not shared
        },
        "Dan": {
            "email": "dan@example.org",
            "ticket_type": "—",
            "place_status": "Waiting list",
            "came": "Not yet",  # the check-in was undone
            "access_needs": "—",
        },
        "Zoë": {
            "email": "zoe@example.org",
            "ticket_type": "Standard",
            "place_status": "Offered",
            "came": "Not yet",
            "access_needs": "—",
        },
    }
    assert "Hearing loop" not in response.text


async def test_co_host_sees_only_people_who_consented_to_it(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await sign_in(client, *LLA)
    response = await client.get(f"{_base(world, 'Rail')}/attendees")
    assert response.status_code == 200
    doc = parse_html(response.text)
    # Ben never consented, Hal withdrew, Ivy consented to LRC only.
    # Only what the contact consent covers: no ticket type, no arrival, never access needs.
    assert _attendees(doc) == {"Ann": {"email": "ann@example.org", "place_status": "Confirmed"}}
    assert texts(doc, "//table[@id='attendees']/thead//th") == ["Name", "Email", "Place"]
    assert "Labour Left Alliance may contact them" in " ".join(texts(doc, "//div[@id='scope']"))
    for name in ("Ben", "Hal", "Ivy"):
        assert _email(name) not in response.text
    climate = await client.get(f"{_base(world, 'Climate')}/attendees")
    assert _attendees(parse_html(climate.text)) == {}
    assert texts(parse_html(climate.text), "//p[@id='result-count']") == ["0 people."]


async def test_co_host_list_says_nothing_of_arrivals_or_ticket_types(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    # Ann (who agreed LLA may contact her) came to Rail at 17:40 BST and is inside.
    await db.write(
        lambda conn: conn.execute(
            sa.insert(schema.check_in).values(
                registration_id=world.people["Ann"],
                session_id=world.sessions["Rail"],
                kind="entry",
                door="Front",
                at=_at(28, 16, 40),
            )
        )
    )
    await sign_in(client, *ADMIN)
    admin = await client.get(f"{_base(world, 'Rail')}/attendees")
    assert _attendees(parse_html(admin.text))["Ann"]["came"] == "17:40, inside now"
    await client.post("/signout", data={"csrftoken": await csrf_from(client, "/organiser")})
    await sign_in(client, *LLA)  # LLA only co-hosts Rail
    response = await client.get(f"{_base(world, 'Rail')}/attendees")
    doc = parse_html(response.text)
    assert _attendees(doc) == {"Ann": {"email": "ann@example.org", "place_status": "Confirmed"}}
    table = " ".join(texts(doc, "//table[@id='attendees']"))
    for hidden in ("17:40", "inside now", "Not yet", "Free", "Step-free seat"):
        assert hidden not in table
    audit = (await _audit(db, "attendee_list_viewed"))[-1]  # the co-host's view, after the admin's
    assert audit.detail["scope"] == "consented"
    assert audit.detail["consent_organisation_ids"] == [world.orgs["lla"]]
    assert (audit.detail["searched"], audit.detail["search_kind"]) == (False, "")
    assert (audit.detail["search_length"], audit.detail["shown"]) == (0, 1)


async def test_admin_sees_everyone_and_another_organisation_is_refused(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await sign_in(client, *JVL)
    refused = await client.get(f"{_base(world, 'Housing')}/attendees")
    assert refused.status_code == 403
    assert "ann@example.org" not in refused.text
    assert await _audit(db, "attendee_list_viewed") == []
    await client.post("/signout", data={"csrftoken": await csrf_from(client, "/organiser")})
    await sign_in(client, *ADMIN)
    rail = await client.get(f"{_base(world, 'Rail')}/attendees")
    assert list(_attendees(parse_html(rail.text))) == ["Ann", "Ben", "Hal", "Ivy"]


async def test_search_by_name_or_email_is_audited(db: Database, client: httpx.AsyncClient) -> None:
    world = await _world(db)
    await sign_in(client, *LLA)
    base = f"{_base(world, 'Housing')}/attendees"
    assert list(_attendees(parse_html((await client.get(base, params={"q": "ZOË"})).text))) == [
        "Zoë"
    ]
    by_email = await client.get(base, params={"q": "  BEN@example "})
    doc = parse_html(by_email.text)
    assert list(_attendees(doc)) == ["Ben"]
    assert texts(doc, "//p[@id='result-count']")[0].startswith(
        "1 of 4 people matches “BEN@example”."
    )
    assert doc.xpath("//input[@id='q']/@value") == ["BEN@example"]
    nobody = await client.get(base, params={"q": "x" * 500 + "\x00"})
    assert nobody.status_code == 200
    assert _attendees(parse_html(nobody.text)) == {}
    await client.get(base, params={"q": "07700 900"})

    audits = await _audit(db, "attendee_list_viewed")
    # What was searched for is a person's name or email: never stored, only its shape.
    assert [
        (a.detail["searched"], a.detail["search_kind"], a.detail["search_length"]) for a in audits
    ] == [(True, "name", 3), (True, "email", 11), (True, "name", 100), (True, "other", 9)]
    for audit in audits:
        assert "query" not in audit.detail
        stored = repr(audit.detail).casefold()
        assert "zoë" not in stored
        assert "ben@" not in stored
        assert "xxx" not in stored
        assert "07700" not in stored
    account = await _rows(
        db, sa.select(schema.account.c.id).where(schema.account.c.email == LLA[0])
    )
    assert {(a.actor_kind, a.actor_id, a.subject_kind, a.subject_id) for a in audits} == {
        ("account", account[0].id, "session", world.sessions["Housing"])
    }
    assert [a.detail["shown"] for a in audits] == [1, 1, 0, 0]
    assert audits[0].detail["organisation_ids"] == [world.orgs["lla"]]
    assert audits[0].detail["scope"] == "everyone"


# --- the contact export --------------------------------------------------------------------------


async def test_co_host_without_consent_exports_nothing_about_a_person(
    db: Database, client: httpx.AsyncClient
) -> None:
    """Issue 7's acceptance: LLA co-hosts Climate; Ben and Ivy never agreed to hear from LLA."""
    world = await _world(db)
    await sign_in(client, *LLA)
    response = await client.get(f"{_base(world, 'Climate')}/attendees.csv")
    assert response.status_code == 200
    # A co-host's contact list has no "checked_in": whether someone came is not theirs to know.
    assert _parse_csv(response.text) == [list(CO_HOST_EXPORT_COLUMNS)]
    for name in ("Ben", "Ivy"):
        assert name not in response.text
        assert _email(name) not in response.text
    # On Rail, only Ann (LLA consent) is exported: not Ben (none), Hal (withdrawn), Ivy (LRC).
    rail = _parse_csv((await client.get(f"{_base(world, 'Rail')}/attendees.csv")).text)
    assert rail == [
        ["name", "email", "place_status", "consented_at"],
        ["Ann", "ann@example.org", "confirmed", "2027-09-01T10:00+01:00"],
    ]
    audits = await _audit(db, "attendees_exported")
    assert [(a.subject_id, a.detail) for a in audits] == [
        (world.sessions["Climate"], {"organisation_id": world.orgs["lla"], "rows": 0}),
        (world.sessions["Rail"], {"organisation_id": world.orgs["lla"], "rows": 1}),
    ]


async def test_export_holds_exactly_the_consented_fields(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await sign_in(client, *LLA)
    response = await client.get(f"{_base(world, 'Housing')}/attendees.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="contacts-{SLUG}-session-{world.sessions["Housing"]}-lla.csv"'
    )
    # Eve consented to LLA but cancelled; Kim did too but was purged; Zoë consented to JVL only.
    assert _parse_csv(response.text) == [
        ["name", "email", "place_status", "checked_in", "consented_at"],
        ["Ann", "ann@example.org", "confirmed", "yes", "2027-09-01T10:00+01:00"],
    ]
    for private in ("Free", "Step-free seat", "Kemptown"):
        assert private not in response.text


async def test_export_cells_cannot_run_as_formulas(db: Database, client: httpx.AsyncClient) -> None:
    world = await _world(db)
    name = '=HYPERLINK("http://evil.example","Zoë")'
    r = schema.registration
    await db.write(
        lambda conn: conn.execute(
            sa.update(r).where(r.c.id == world.people["Ann"]).values(name=name)
        )
    )
    await sign_in(client, *LLA)
    response = await client.get(f"{_base(world, 'Housing')}/attendees.csv")
    rows = _parse_csv(response.content.decode("utf-8"))
    assert rows[1][0] == "'" + name


async def test_admin_must_choose_the_organisation_to_export_for(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await sign_in(client, *ADMIN)
    url = f"{_base(world, 'Rail')}/attendees.csv"
    unchosen = await client.get(url)
    assert unchosen.status_code == 422
    assert "Choose which organisation" in parse_html(unchosen.text).text_content()
    page = parse_html((await client.get(f"{_base(world, 'Rail')}/attendees")).text)
    choices = page.xpath("//select[@id='organisation']/option/@value")
    assert sorted(int(v) for v in choices) == sorted([world.orgs["lrc"], world.orgs["lla"]])
    lrc = _parse_csv((await client.get(url, params={"organisation": world.orgs["lrc"]})).text)
    assert lrc[0] == list(EXPORT_COLUMNS)  # LRC hosts Rail: its list says who came
    assert [row[0] for row in lrc[1:]] == ["Ivy"]
    lla = _parse_csv((await client.get(url, params={"organisation": world.orgs["lla"]})).text)
    assert lla[0] == list(CO_HOST_EXPORT_COLUMNS)  # LLA only co-hosts it
    assert [row[0] for row in lla[1:]] == ["Ann"]
    refused = await client.get(url, params={"organisation": world.orgs["jvl"]})
    assert refused.status_code == 403
    garbled = await client.get(url, params={"organisation": "1; DROP"})
    assert garbled.status_code == 422


async def test_export_refuses_other_organisations(db: Database, client: httpx.AsyncClient) -> None:
    world = await _world(db)
    await sign_in(client, *JVL)
    assert (await client.get(f"{_base(world, 'Housing')}/attendees.csv")).status_code == 403
    await client.post("/signout", data={"csrftoken": await csrf_from(client, "/organiser")})
    await sign_in(client, *LLA)
    # LLA may not download another host's contact list (LRC's, on Rail).
    other = await client.get(
        f"{_base(world, 'Rail')}/attendees.csv", params={"organisation": world.orgs["lrc"]}
    )
    assert other.status_code == 403
    assert "ivy@example.org" not in other.text
    assert await _audit(db, "attendees_exported") == []


# --- messages to registrants ---------------------------------------------------------------------


async def _message_form(client: httpx.AsyncClient, url: str) -> tuple[str, str]:
    doc = parse_html((await client.get(url)).text)
    token = doc.xpath("//form//input[@name='csrftoken']/@value")[0]
    nonce = doc.xpath("//form//input[@name='nonce']/@value")[0]
    return str(token), str(nonce)


async def test_message_goes_once_to_each_confirmed_person_and_a_double_submit_adds_nothing(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await sign_in(client, *LLA)
    url = f"{_base(world, 'Housing')}/message"
    token, nonce = await _message_form(client, url)
    data = {
        "csrftoken": token,
        "nonce": nonce,
        "subject": "Venue confirmed: Brighthelm Centre",
        "body": "We are in the main hall.\r\n\r\nDoors at 18:00 — tea and café.",
    }
    preview = await client.post(url, data={**data, "action": "preview"})
    assert preview.status_code == 200
    doc = parse_html(preview.text)
    assert texts(doc, "//p[@id='recipients']") == [
        "It will go to 2 people, each by their own email."  # Ann and Ben; Fay is unconfirmed
    ]
    assert texts(doc, "//dd[@id='preview-subject']") == [
        "Venue confirmed: Brighthelm Centre · Housing"
    ]
    assert await _outbox(db) == []
    hidden = {el.get("name"): el.get("value") for el in doc.xpath("//form//input[@type='hidden']")}
    assert hidden["nonce"] == nonce
    assert hidden["body"] == "We are in the main hall.\n\nDoors at 18:00 — tea and café."

    sent = await client.post(url, data={**hidden, "action": "send"})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{url}?sent=2"
    rows = await _outbox(db)
    assert sorted(r.to_address for r in rows) == ["ann@example.org", "ben@example.org"]
    assert {r.registration_id for r in rows} == {world.people["Ann"], world.people["Ben"]}
    context = next(r.context for r in rows if r.to_address == "ann@example.org")
    assert context["name"] == "Ann"
    assert context["session_title"] == "Housing"
    assert context["subject"] == "Venue confirmed: Brighthelm Centre"
    assert context["body_text"] == "We are in the main hall.\n\nDoors at 18:00 — tea and café."
    assert context["manage_url"].startswith("http://127.0.0.1:8000/r/")

    again = await client.post(url, data={**hidden, "action": "send"})
    assert again.status_code == 303
    assert again.headers["location"] == f"{url}?sent=2&again=1"
    assert len(await _outbox(db)) == 2
    audits = await _audit(db, "registrants_messaged")
    assert len(audits) == 1
    assert audits[0].subject_id == world.sessions["Housing"]
    assert audits[0].detail["recipients"] == 2
    notice = parse_html((await client.get(again.headers["location"])).text)
    assert texts(notice, "//p[@id='notice']") == [
        "This message had already been sent to 2 people. It was not sent again."
    ]


async def test_message_can_include_the_waiting_list(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await sign_in(client, *LLA)
    url = f"{_base(world, 'Housing')}/message"
    token, nonce = await _message_form(client, url)
    data = {
        "csrftoken": token,
        "nonce": nonce,
        "subject": "Room change",
        "body": "Now in room 2.",
        "include_waiting": "yes",
        "action": "send",
    }
    assert (await client.post(url, data=data)).status_code == 303
    rows = await _outbox(db)
    assert sorted(r.to_address for r in rows) == [
        "ann@example.org",
        "ben@example.org",
        "dan@example.org",
        "zoe@example.org",
    ]


async def test_co_host_message_goes_only_to_people_who_consented_to_it(
    db: Database, client: httpx.AsyncClient
) -> None:
    """LLA co-hosts Rail: Ann agreed LLA may contact her; Ben never did, Hal withdrew, Ivy agreed
    to LRC only. Dan (waiting, agreed to LLA) and Zoë (offered, agreed to JVL) join Rail here."""
    world = await _world(db)

    async def _more(conn: AsyncConnection) -> None:
        now = dt.datetime.now(UTC)
        for name, status in (("Dan", "waitlisted"), ("Zoë", "offered")):
            await _insert(
                conn,
                schema.session_place,
                registration_id=world.people[name],
                session_id=world.sessions["Rail"],
                status=status,
                created_at=now,
                updated_at=now,
            )
        await _insert(
            conn,
            schema.consent,
            registration_id=world.people["Dan"],
            purpose="contact",
            organisation_id=world.orgs["lla"],
            text="may contact me",
            given_at=now,
        )

    await db.write(_more)
    await sign_in(client, *LLA)
    url = f"{_base(world, 'Rail')}/message"
    page = parse_html((await client.get(url)).text)
    assert "Labour Left Alliance may contact them" in " ".join(texts(page, "//p[@id='scope']"))
    assert texts(page, "//p[@id='audience']") == [
        "1 person has a confirmed place and agreed to hear from you; "
        "1 is on the waiting list or offered a place."
    ]
    token, nonce = await _message_form(client, url)
    data = {"csrftoken": token, "nonce": nonce, "subject": "Rail", "body": "Room 3."}
    preview = parse_html((await client.post(url, data={**data, "action": "preview"})).text)
    assert texts(preview, "//p[@id='recipients']") == [
        "It will go to 1 person who agreed that Labour Left Alliance may contact them, "
        "each by their own email."
    ]
    waiting = {**data, "include_waiting": "yes"}
    preview = parse_html((await client.post(url, data={**waiting, "action": "preview"})).text)
    assert texts(preview, "//button[@value='send']") == ["Send to 2 people"]
    sent = await client.post(url, data={**waiting, "action": "send"})
    assert sent.headers["location"] == f"{url}?sent=2"
    assert sorted(r.to_address for r in await _outbox(db)) == ["ann@example.org", "dan@example.org"]
    # The mail says why this organisation may write: the person's consent to it.
    assert {r.context["consented_to"] for r in await _outbox(db)} == {"Labour Left Alliance"}
    [audit] = await _audit(db, "registrants_messaged")
    assert audit.detail["scope"] == "consented"
    assert audit.detail["consent_organisation_ids"] == [world.orgs["lla"]]
    assert audit.detail["recipients"] == 2

    # On Climate no one agreed to hear from LLA: nothing to send, and a forced send sends nothing.
    climate = f"{_base(world, 'Climate')}/message"
    token, nonce = await _message_form(client, climate)
    data = {"csrftoken": token, "nonce": nonce, "subject": "Hi", "body": "Hello"}
    preview = parse_html((await client.post(climate, data={**data, "action": "preview"})).text)
    assert texts(preview, "//p[@id='recipients']") == [
        "No one would get this message: no one with a confirmed place has agreed that "
        "Labour Left Alliance may contact them."
    ]
    assert not preview.xpath("//button[@value='send']")
    forced = await client.post(climate, data={**data, "action": "send"})
    assert forced.headers["location"] == f"{climate}?sent=0"
    assert len(await _outbox(db)) == 2

    # The admin (as a host would) writes to everyone booked for Rail, consent or not.
    await client.post("/signout", data={"csrftoken": await csrf_from(client, "/organiser")})
    await sign_in(client, *ADMIN)
    page = parse_html((await client.get(url)).text)
    assert not page.xpath("//p[@id='scope']")
    assert texts(page, "//p[@id='audience']") == [
        "4 people have a confirmed place; 2 are on the waiting list or offered a place."
    ]
    token, nonce = await _message_form(client, url)
    data = {"csrftoken": token, "nonce": nonce, "subject": "Rail", "body": "Room 4."}
    sent = await client.post(url, data={**data, "include_waiting": "yes", "action": "send"})
    assert sent.headers["location"] == f"{url}?sent=6"
    rows = await _outbox(db)
    assert sorted(r.to_address for r in rows[2:]) == [
        "ann@example.org",
        "ben@example.org",
        "dan@example.org",
        "hal@example.org",
        "ivy@example.org",
        "zoe@example.org",
    ]


@pytest.mark.parametrize(
    ("subject", "body", "field", "message"),
    [
        ("", "Café at 18:00 — bring ¡questions!", "subject", "Enter a subject"),
        ("Programme", "x" * 100 * 1024, "body", "10,000 characters or fewer (it has 102,400)"),
        ("S" * 151, "Zoë's talk moves to 19:00.", "subject", "150 characters or fewer"),
        ("Änderung", "  \r\n  ", "body", "Write the message"),
    ],
)
async def test_bad_message_is_refused_keeping_what_was_typed(
    db: Database,
    client: httpx.AsyncClient,
    subject: str,
    body: str,
    field: str,
    message: str,
) -> None:
    world = await _world(db)
    await sign_in(client, *LLA)
    url = f"{_base(world, 'Housing')}/message"
    token, nonce = await _message_form(client, url)
    data = {"csrftoken": token, "nonce": nonce, "subject": subject, "body": body}
    for action in ("preview", "send"):
        response = await client.post(url, data={**data, "action": action})
        assert response.status_code == 422
        doc = parse_html(response.text)
        assert message in " ".join(texts(doc, f"//p[@id='{field}-error']"))
        assert doc.xpath("//input[@id='subject']/@value") == [subject]
        assert doc.xpath("//textarea[@id='body']")[0].text_content() == body.replace("\r\n", "\n")
        assert doc.xpath("//input[@name='nonce']/@value") == [nonce]
    assert await _outbox(db) == []
    assert await _audit(db, "registrants_messaged") == []


async def test_message_without_a_valid_nonce_sends_nothing(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await sign_in(client, *LLA)
    url = f"{_base(world, 'Housing')}/message"
    token, _ = await _message_form(client, url)
    data = {"csrftoken": token, "subject": "Hi", "body": "Hello", "action": "send"}
    for nonce in ("", "short", "<script>" * 3):
        response = await client.post(url, data={**data, "nonce": nonce})
        assert response.status_code == 422
        doc = parse_html(response.text)
        assert texts(doc, "//p[@id='nonce']") == [
            "This form has expired. Check the message and press Send again."
        ]
        [fresh] = doc.xpath("//input[@name='nonce']/@value")
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", fresh)
    assert await _outbox(db) == []


async def test_message_refuses_another_organisation(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await sign_in(client, *JVL)
    url = f"{_base(world, 'Housing')}/message"
    assert (await client.get(url)).status_code == 403
    token = await csrf_from(client, "/organiser")
    data = {
        "csrftoken": token,
        "nonce": "n" * 20,
        "subject": "Hi",
        "body": "Hello",
        "action": "send",
    }
    assert (await client.post(url, data=data)).status_code == 403
    assert await _outbox(db) == []


async def test_organiser_home_links_the_dashboards(db: Database, client: httpx.AsyncClient) -> None:
    world = await _world(db)
    await sign_in(client, *LLA)
    doc = parse_html((await client.get("/organiser")).text)
    links = [urlsplit(h).path for h in doc.xpath("//a/@href")]
    assert f"/organiser/g/{SLUG}/dashboard" in links
    assert f"{_base(world, 'Housing')}/dashboard" in links
    assert f"{_base(world, 'Rail')}/attendees" in links
    assert f"{_base(world, 'Peace')}/dashboard" not in links


async def test_two_sends_of_one_form_at_once_queue_one_message_each(db: Database) -> None:
    world = await _world(db)
    accounts = await _rows(
        db, sa.select(schema.account.c.id).where(schema.account.c.email == LLA[0])
    )
    actor = Actor(accounts[0].id, LLA[0], "LLA organiser", False, frozenset({world.orgs["lla"]}))
    form = MessageInput("Room change", "Now in room 2.", False, "same-form-nonce-123456")
    results = await asyncio.gather(
        *(
            send_message(db, actor, SLUG, world.sessions["Housing"], form, links=LINKS)
            for _ in range(4)
        )
    )
    assert sorted(r.already for r in results) == [False, True, True, True]
    assert {r.recipients for r in results} == {2}
    assert sorted(r.to_address for r in await _outbox(db)) == ["ann@example.org", "ben@example.org"]
    assert len(await _audit(db, "registrants_messaged")) == 1


async def test_inside_now_finds_later_moves_by_person_not_by_walking_a_session(
    db: Database, engine_name: str
) -> None:
    """ "Inside now" asks, for every entry, whether the same person moved later for the same
    session. Looked up by session, whole-gathering check-ins (session NULL) walked each other:
    2.6 s for 10 000 people. The person-and-session index (migration 0009) makes it a lookup."""
    if engine_name != "sqlite":
        pytest.skip("SQLite's query plan")
    from gathering.organiser import queries as dashboard_queries

    async def plan(conn: AsyncConnection) -> list[str]:
        captured: list[Any] = []

        def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            captured.append((statement, parameters))

        sync = conn.sync_connection
        assert sync is not None
        sa.event.listen(sync, "before_cursor_execute", capture)
        try:
            await dashboard_queries.inside_counts(conn, 1)
        finally:
            sa.event.remove(sync, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return [str(row[-1]) for row in rows]

    steps = await db.read(plan)
    later = [step for step in steps if "newer" in step]
    assert later and all("ix_check_in_registration_session" in step for step in later), steps
