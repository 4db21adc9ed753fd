"""Seed a fresh, migrated database for one benchmark scenario, through the schema and the domain.

Programmes are written as rows (organisations, venues, rooms, tracks, speakers, sessions with
hosts and speakers) and then released with ``gathering.programme.release.release_programme``, so
the public pages, feeds and exports read a real release snapshot. Tickets are confirmed
registrations with real ticket codes; the steward pass has a real argon2 PIN hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import zoneinfo
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.accounts import hash_password
from gathering.core import migrate, schema
from gathering.core.database import Database
from gathering.programme.release import release_programme
from gathering.registration.tickets import new_ticket_code

ZONE = zoneinfo.ZoneInfo("Europe/London")
STEWARD_TOKEN = secrets.token_urlsafe(24)  # made up per run; handed to the load generator
STEWARD_PIN = "2468"
DOOR_TICKETS = 2000
RUSH_PLACES = 400
ROOMS_PER_VENUE = 4
VENUES = 2
TRACKS = ("Plenary", "Democracy", "Workplace", "Organising", "International")
DESCRIPTION = (
    "A fringe meeting on **{topic}**: speakers from local groups and union branches, then "
    "questions from the floor.\n\nBring a friend. The room is step-free; there is a quiet room "
    "next door and tea from half an hour before. See [the network's site]"
    "(https://example.org/{slug}) for papers to read beforehand."
)
TOPICS = (
    "public ownership of rail",
    "council housing",
    "repealing the anti-union laws",
    "party democracy",
    "climate jobs",
    "migrants' rights",
    "the NHS",
    "local organising",
)


@dataclass
class Seeded:
    """What the load generator needs to know about the seeded data."""

    slugs: list[str] = field(default_factory=list)
    session_ids: list[int] = field(default_factory=list)
    ticket_codes: list[str] = field(default_factory=list)
    rush_session_id: int = 0
    ticket_type_id: int = 0
    steward_token: str = STEWARD_TOKEN
    steward_pin: str = STEWARD_PIN


async def migrated(url: str) -> Database:
    db = Database(url)
    await migrate.upgrade(db)
    return db


async def _insert(conn: AsyncConnection, table: sa.Table, **values: object) -> int:
    result = await conn.execute(sa.insert(table).values(**values).returning(table.c.id))
    return int(result.scalar_one())


async def _gathering(
    conn: AsyncConnection, slug: str, *, registration_open: bool, now: dt.datetime
) -> tuple[int, int]:
    """An organisation and a gathering from yesterday to four days ahead (the door is open, and
    the registration bench's sessions from tomorrow lie within it); their ids."""
    host = await _insert(
        conn,
        schema.organisation,
        slug=f"{slug}-host",
        name=f"Host of {slug}",
        short_name="HOST",
        created_at=now,
    )
    today = now.astimezone(ZONE).date()
    gathering_id = await _insert(
        conn,
        schema.gathering,
        slug=slug,
        title=f"Benchmark gathering {slug}",
        description="A gathering made up for the benchmarks.",
        starts_on=today - dt.timedelta(days=1),
        ends_on=today + dt.timedelta(days=4),
        timezone="Europe/London",
        mode="hybrid",
        location="Brighton and online",
        host_organisation_id=host,
        registration_open=registration_open,
        data_controller=f"Host of {slug}",
        created_at=now,
        updated_at=now,
    )
    return host, gathering_id


async def _programme(
    conn: AsyncConnection,
    slug: str,
    gathering_id: int,
    host_id: int,
    sessions: int,
    now: dt.datetime,
    *,
    first_capacity: int | None = None,
    days_ahead: int = -1,
) -> list[int]:
    """``sessions`` published sessions over four days from ``days_ahead`` days from today (the
    day before by default: a gathering under way), with rooms, tracks, hosts and speakers."""
    rooms: list[int | None] = []
    for v in range(VENUES):
        venue_id = await _insert(
            conn,
            schema.venue,
            gathering_id=gathering_id,
            name=f"Venue {v + 1}",
            address=f"{v + 1} North Road, Brighton BN1 1YD",
            step_free=True,
            hearing_loop=v == 0,
            created_at=now,
        )
        for r in range(ROOMS_PER_VENUE):
            rooms.append(
                await _insert(
                    conn,
                    schema.room,
                    venue_id=venue_id,
                    name=f"Room {v + 1}.{r + 1}",
                    capacity=80 + 20 * r,
                    created_at=now,
                )
            )
    tracks = [
        await _insert(conn, schema.track, gathering_id=gathering_id, slug=name.lower(), name=name)
        for name in TRACKS
    ]
    organisations = [host_id] + [
        await _insert(
            conn,
            schema.organisation,
            slug=f"{slug}-group-{i}",
            name=f"Local group {i} ({slug})",
            short_name=f"LG{i}",
            created_at=now,
        )
        for i in range(20)
    ]
    speakers = [
        await _insert(
            conn,
            schema.speaker,
            slug=f"{slug}-speaker-{i}",
            name=f"Speaker {i}",
            affiliation=f"Branch {i % 30}",
            created_at=now,
        )
        for i in range(120)
    ]
    first_day = now.astimezone(ZONE).date() + dt.timedelta(days=days_ahead)
    per_day = max(1, -(-sessions // 4))
    ids = []
    for i in range(sessions):
        day = first_day + dt.timedelta(days=i // per_day)
        slot = (i % per_day) // len(rooms)
        starts = dt.datetime.combine(day, dt.time(9 + slot % 12, 0), ZONE).astimezone(dt.UTC)
        online = i % 11 == 10
        session_id = await _insert(
            conn,
            schema.programme_session,
            gathering_id=gathering_id,
            title=f"Session {i + 1}: {TOPICS[i % len(TOPICS)]}",
            description=DESCRIPTION.format(topic=TOPICS[i % len(TOPICS)], slug=slug),
            starts_at=starts,
            ends_at=starts + dt.timedelta(minutes=50),
            room_id=None if online or i % 7 == 6 else rooms[i % len(rooms)],
            track_id=tracks[i % len(tracks)],
            format="online" if online else ("hybrid" if i % 5 == 4 else "in_person"),
            joining_link="https://meet.example.org/room" if online else "",
            capacity=first_capacity if i == 0 else 100,
            status="published",
            created_at=now,
            updated_at=now,
        )
        ids.append(session_id)
        await conn.execute(
            sa.insert(schema.session_host),
            [
                {
                    "session_id": session_id,
                    "organisation_id": organisations[i % 21],
                    "role": "host",
                },
                {
                    "session_id": session_id,
                    "organisation_id": organisations[(i + 5) % 21],
                    "role": "co_host",
                },
            ][: 1 + i % 2],
        )
        await conn.execute(
            sa.insert(schema.session_speaker),
            [
                {
                    "session_id": session_id,
                    "speaker_id": speakers[(i * 3 + k) % len(speakers)],
                    "role": "chair" if k == 0 else "speaker",
                    "position": k,
                }
                for k in range(1 + i % 3)
            ],
        )
    return ids


async def seed_programmes(db: Database, slugs: list[str], sessions: int) -> Seeded:
    """Gatherings of ``sessions`` released sessions each (feeds, exports, the programme page)."""
    seeded = Seeded(slugs=list(slugs))
    for slug in slugs:

        async def _write(conn: AsyncConnection, slug: str = slug) -> int:
            now = dt.datetime.now(dt.UTC)
            host, gathering_id = await _gathering(conn, slug, registration_open=False, now=now)
            seeded.session_ids += await _programme(conn, slug, gathering_id, host, sessions, now)
            return gathering_id

        gathering_id = await db.write(_write)
        await release_programme(db, gathering_id, released_by=None, note="Benchmark programme.")
    return seeded


async def seed_registration(db: Database, slug: str, places: int) -> Seeded:
    """An open gathering of five sessions, the first with ``places`` places, one ticket type."""

    async def _write(conn: AsyncConnection) -> tuple[int, int, int]:
        now = dt.datetime.now(dt.UTC)
        host, gathering_id = await _gathering(conn, slug, registration_open=True, now=now)
        # From tomorrow: registration closes by itself once a session has ended (issue 16).
        ids = await _programme(
            conn, slug, gathering_id, host, 5, now, first_capacity=places, days_ahead=1
        )
        ticket = await _insert(
            conn, schema.ticket_type, gathering_id=gathering_id, name="Standard", position=0
        )
        return gathering_id, ids[0], ticket

    gathering_id, session_id, ticket = await db.write(_write)
    await release_programme(db, gathering_id, released_by=None, note="Benchmark programme.")
    return Seeded(slugs=[slug], rush_session_id=session_id, ticket_type_id=ticket)


async def seed_door(db: Database, slug: str, tickets: int) -> Seeded:
    """A gathering open today with ``tickets`` confirmed registrations and one steward pass."""
    pin_hash = hash_password(STEWARD_PIN)

    async def _write(conn: AsyncConnection) -> list[str]:
        now = dt.datetime.now(dt.UTC)
        host, gathering_id = await _gathering(conn, slug, registration_open=True, now=now)
        await _programme(conn, slug, gathering_id, host, 10, now)
        ticket = await _insert(
            conn, schema.ticket_type, gathering_id=gathering_id, name="Standard", position=0
        )
        codes = [new_ticket_code() for _ in range(tickets)]
        await conn.execute(
            sa.insert(schema.registration),
            [
                {
                    "gathering_id": gathering_id,
                    "name": f"Attendee {i}",
                    "email": f"attendee{i}@example.org",
                    "ticket_type_id": ticket,
                    "answers": {},
                    "status": "confirmed",
                    "ticket_code": code,
                    "manage_key": secrets.token_urlsafe(16),
                    "confirmed_at": now,
                    "created_at": now,
                }
                for i, code in enumerate(codes)
            ],
        )
        await conn.execute(
            sa.insert(schema.steward_pass).values(
                gathering_id=gathering_id,
                label="Main door",
                token_hash=hashlib.sha256(STEWARD_TOKEN.encode()).hexdigest(),
                pin_hash=pin_hash,
                all_sessions=True,
                valid_from=now - dt.timedelta(hours=1),
                valid_until=now + dt.timedelta(days=1),
                created_at=now,
            )
        )
        return codes

    codes = await db.write(_write)
    return Seeded(slugs=[slug], ticket_codes=codes)
