"""A gathering with online, hybrid and in-person sessions around the real clock, for the tests of
personal joining links and CLP introductions (issue 20): rows written directly, no mocks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.programme.release import release_programme
from gathering.registration.tokens import join_token, manage_token
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo

SLUG = "online-fringe"
MEETING = "https://meet.example.org/very-secret-room-{}"
LLA = ("organiser@example.org", "demo-organiser-password")
ADMIN = ("admin@example.org", "demo-admin-password")


@dataclass
class World:
    gathering_id: int = 0
    orgs: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    places: dict[tuple[str, str], int] = field(default_factory=dict)

    def manage(self, name: str) -> str:
        return manage_token(TEST_SECRET, self.people[name], f"key-{name.lower()}")

    def join_path(self, name: str, session: str) -> str:
        place = self.places[(name, session)]
        return "/j/" + join_token(TEST_SECRET, place, f"key-{name.lower()}")

    def meeting(self, session: str) -> str:
        return MEETING.format(session.lower())


def email(name: str) -> str:
    return f"{name.lower()}@example.org"


async def insert(conn: AsyncConnection, table: sa.Table, **values: Any) -> int:
    result = await conn.execute(sa.insert(table).values(**values).returning(table.c.id))
    return int(result.scalar_one())


# Sessions relative to now: Hybrid is open (starts in 10 minutes), Online opens later (starts in
# 3 hours), Ended finished an hour ago, Hall is in person.
SESSIONS = {
    "Hybrid": ("hybrid", dt.timedelta(minutes=10), dt.timedelta(hours=2)),
    "Online": ("online", dt.timedelta(hours=3), dt.timedelta(hours=1)),
    "Ended": ("online", dt.timedelta(hours=-3), dt.timedelta(hours=2)),
    "Hall": ("in_person", dt.timedelta(minutes=10), dt.timedelta(hours=2)),
}


async def build(
    db: Database,
    people: dict[str, dict[str, Any]],
    *,
    ends_on: dt.date | None = None,
    match_question: bool = True,
) -> World:
    """The demo network, then our own gathering (host LLA) with ``people``: each a dict of
    ``status`` (registration), ``places`` {session: status}, ``constituency``, ``match``
    (opted in to CLP introductions)."""
    await load_demo(db, secret_key=TEST_SECRET)
    world = World()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    async def _write(conn: AsyncConnection) -> None:
        o = schema.organisation
        world.orgs = {r.slug: r.id for r in await conn.execute(sa.select(o.c.slug, o.c.id))}
        today = now.date()
        world.gathering_id = gid = await insert(
            conn,
            schema.gathering,
            slug=SLUG,
            title="Online fringe",
            starts_on=today - dt.timedelta(days=1),
            ends_on=ends_on or today + dt.timedelta(days=1),
            timezone="Europe/London",
            host_organisation_id=world.orgs["lla"],
            registration_open=True,
            created_at=now - dt.timedelta(days=30),
            updated_at=now,
        )
        if match_question:
            await insert(
                conn,
                schema.question,
                gathering_id=gid,
                key="constituency",
                label="Constituency",
                position=0,
            )
        for title, (fmt, start, length) in SESSIONS.items():
            world.sessions[title] = sid = await insert(
                conn,
                schema.programme_session,
                gathering_id=gid,
                title=title,
                format=fmt,
                joining_link="" if fmt == "in_person" else MEETING.format(title.lower()),
                starts_at=now + start,
                ends_at=now + start + length,
                status="published",
                created_at=now,
                updated_at=now,
            )
            await conn.execute(
                sa.insert(schema.session_host).values(
                    session_id=sid, organisation_id=world.orgs["lla"], role="host"
                )
            )
        for name, spec in people.items():
            status = spec.get("status", "confirmed")
            answers = {"constituency": spec["constituency"]} if "constituency" in spec else {}
            world.people[name] = rid = await insert(
                conn,
                schema.registration,
                gathering_id=gid,
                name=name,
                email=email(name),
                answers=answers,
                status=status,
                manage_key=f"key-{name.lower()}",
                feed_key=f"feed-{name.lower()}-0123456789abcdef0123456789abcdef",
                confirmed_at=now - dt.timedelta(days=2) if status != "pending" else None,
                created_at=now - dt.timedelta(days=3),
            )
            if spec.get("match"):
                await insert(
                    conn,
                    schema.consent,
                    registration_id=rid,
                    purpose="constituency_match",
                    organisation_id=None,
                    text="Put me in touch with other attendees from my constituency.",
                    given_at=now - dt.timedelta(days=3),
                )
            for session, place_status in spec.get("places", {}).items():
                world.places[(name, session)] = await insert(
                    conn,
                    schema.session_place,
                    registration_id=rid,
                    session_id=world.sessions[session],
                    status=place_status,
                    created_at=now - dt.timedelta(days=3),
                    updated_at=now,
                )

    await db.write(_write)
    await release_programme(db, world.gathering_id, released_by=None)
    return world


async def rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)
