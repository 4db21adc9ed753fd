"""Loading the demo network (its data is in ``gathering.demo_data``), and the logins it prints.

Loading is idempotent: every row is found by a natural key first and inserted only if missing, so
``gathering demo`` can run on every start. Attendees are fictional (example.org addresses).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.accounts import create_or_update_account, hash_password
from gathering.calendars.rules import new_feed_key
from gathering.core import clock
from gathering.core.database import Database
from gathering.core.rows import ids_or_insert, insert_missing
from gathering.core.schema import (
    gathering,
    organisation,
    programme_session,
    question,
    registration,
    session_host,
    session_place,
    session_speaker,
    speaker,
    steward_pass,
    ticket_type,
    track,
)
from gathering.demo_data import (
    CONFERENCE,
    DEMO_ACCOUNTS,
    DEMO_RETENTION_DAYS,
    GATHERINGS,
    NATIONAL,
    NEXT_CLOSES_AT,
    NEXT_SLUG,
    ORGANISATIONS,
    PRACTICE_PASS_DAYS,
    PRACTICE_PASS_LABEL,
    PRACTICE_SLUG,
    SPEAKERS,
    STEWARD_PASS_LABEL,
    STEWARD_PIN,
    DemoGathering,
    next_gathering,
    next_gathering_day,
    practice_gathering,
)
from gathering.programme.queries import add_places_taken, gathering_row, latest_release
from gathering.programme.release import release_programme
from gathering.registration.queries import live_registration_by_email
from gathering.registration.tickets import new_ticket_code
from gathering.registration.tokens import manage_token
from gathering.registration.window_queries import gathering_window

__all__ = [
    "NEXT_SLUG",
    "ORGANISATIONS",
    "PRACTICE_SLUG",
    "STEWARD_PASS_LABEL",
    "STEWARD_PIN",
    "DemoLogins",
    "load_demo",
    "practice_steward_token",
    "steward_token",
]


@dataclass(frozen=True)
class DemoLogins:
    accounts: tuple[tuple[str, str, str], ...]  # (email, password, role)
    steward_label: str
    steward_token: str
    steward_pin: str
    inserted: int
    attendee_name: str = ""
    attendee_manage_token: str = ""  # a fictional attendee's manage link token
    practice_attendee_name: str = ""
    practice_manage_token: str = ""  # their manage link at the practice evening (its ticket)


def steward_token(secret_key: str) -> str:
    """The demo steward pass's token, derived from the secret so it can be printed again."""
    return hmac.new(secret_key.encode(), b"demo-steward-pass", hashlib.sha256).hexdigest()[:32]


def practice_steward_token(secret_key: str) -> str:
    """The practice evening's pass token, derived from the secret like the conference's."""
    return hmac.new(secret_key.encode(), b"demo-practice-pass", hashlib.sha256).hexdigest()[:32]


async def load_demo(db: Database, *, secret_key: str) -> DemoLogins:
    """Load the demo network; return the logins to print. Safe to run again."""
    token = steward_token(secret_key)
    practice_token = practice_steward_token(secret_key)
    pin_hash = hash_password(STEWARD_PIN)

    async def _write(conn: AsyncConnection) -> tuple[int, int | None]:
        now = clock.utc_now()  # the app clock: tests move it to see the next gathering move
        made = await ids_or_insert(
            conn,
            organisation,
            ("slug",),
            [
                {"slug": slug, "name": name, "short_name": short, "created_at": now}
                for slug, name, short in ORGANISATIONS
            ],
        )
        orgs = {slug: id_ for (slug, _, _), (id_, _) in zip(ORGANISATIONS, made, strict=True)}
        inserted = sum(new for _, new in made)
        made = await ids_or_insert(
            conn,
            speaker,
            ("slug",),
            [
                {"slug": slug, "name": name, "affiliation": affiliation, "created_at": now}
                for slug, (name, affiliation) in SPEAKERS.items()
            ],
        )
        speakers = {slug: id_ for slug, (id_, _) in zip(SPEAKERS, made, strict=True)}
        inserted += sum(new for _, new in made)
        gathering_ids = []
        for demo in GATHERINGS:
            gathering_id, new = await _load_gathering(conn, demo, orgs, speakers, now)
            gathering_ids.append(gathering_id)
            inserted += new
        # The network's next gathering is always ahead of the day the demo is loaded: moved on
        # (with its sessions) once that day has come, so a new user has something to book.
        today = now.astimezone(zoneinfo.ZoneInfo("Europe/London")).date()
        moved = await _keep_next_ahead(conn, today, now)
        upcoming = next_gathering(today)
        closes = dt.datetime.combine(
            upcoming.starts_on - dt.timedelta(days=1),
            dt.time.fromisoformat(NEXT_CLOSES_AT),
            zoneinfo.ZoneInfo("Europe/London"),
        )
        window = {"registration_closes_at": closes.astimezone(dt.UTC)}
        _, new = await _load_gathering(conn, upcoming, orgs, speakers, now, window)
        inserted += new
        # The practice evening is dated the first time the demo is loaded; loading it again
        # finds it by its slug and leaves its date alone.
        practice = practice_gathering(now.astimezone(zoneinfo.ZoneInfo("Europe/London")).date())
        practice_id, new = await _load_gathering(conn, practice, orgs, speakers, now)
        inserted += new
        passes = [  # the conference's (long expired) and the practice evening's
            {
                "token_hash": hashlib.sha256(token.encode()).hexdigest(),
                "gathering_id": gathering_ids[0],
                "label": STEWARD_PASS_LABEL,
                "pin_hash": pin_hash,
                "valid_from": dt.datetime(2019, 9, 21, tzinfo=dt.UTC),
                "valid_until": dt.datetime(2019, 9, 26, tzinfo=dt.UTC),
                "created_at": now,
            },
            {
                "token_hash": hashlib.sha256(practice_token.encode()).hexdigest(),
                "gathering_id": practice_id,
                "label": PRACTICE_PASS_LABEL,
                "pin_hash": pin_hash,
                "valid_from": now - dt.timedelta(hours=1),
                "valid_until": now + dt.timedelta(days=PRACTICE_PASS_DAYS),
                "created_at": now,
            },
        ]
        made = await ids_or_insert(conn, steward_pass, ("token_hash",), passes)
        return inserted + sum(new for _, new in made), moved

    inserted, moved = await db.write(_write)
    attendee_name, attendee_id, nonce = await db.read(_first_attendee)
    practice_name, practice_id, practice_nonce = await db.read(_first_practice_attendee)
    for gathering_id in await db.read(_unreleased_gatherings):
        await release_programme(db, gathering_id, released_by=None, note="First programme.")
    if moved is not None:
        await release_programme(db, moved, released_by=None, note="Moved to its new date.")
    logins = []
    for email, name, password, is_admin, org in DEMO_ACCOUNTS:
        await create_or_update_account(
            db,
            email=email,
            display_name=name,
            password=password,
            is_admin=is_admin,
            organisation_slug=org,
        )
        logins.append((email, password, "network admin" if is_admin else f"organiser of {org}"))
    manage = manage_token(secret_key, attendee_id, nonce) if nonce else ""
    practice = manage_token(secret_key, practice_id, practice_nonce) if practice_nonce else ""
    # The pass printed is the practice evening's: the conference's is long expired.
    return DemoLogins(
        tuple(logins),
        PRACTICE_PASS_LABEL,
        practice_token,
        STEWARD_PIN,
        inserted,
        attendee_name,
        manage,
        practice_name,
        practice,
    )


async def _registered(
    conn: AsyncConnection, slug: str, attendee: tuple[str, str]
) -> tuple[str, int, str]:
    """(name, registration id, manage key) of a demo attendee, just loaded at ``slug``."""
    name, email = attendee
    row = await gathering_row(conn, slug=slug)
    found = None if row is None else await live_registration_by_email(conn, row.id, email)
    if found is None:
        raise LookupError(f"the demo attendee {email} is not registered at {slug}")
    return name, found.id, found.manage_key or ""


async def _first_attendee(conn: AsyncConnection) -> tuple[str, int, str]:
    return await _registered(conn, NATIONAL.slug, NATIONAL.attendees[0])


async def _first_practice_attendee(conn: AsyncConnection) -> tuple[str, int, str]:
    return await _registered(conn, PRACTICE_SLUG, CONFERENCE.attendees[0])


async def _unreleased_gatherings(conn: AsyncConnection) -> list[int]:
    ids = []
    for slug in [*(demo.slug for demo in GATHERINGS), NEXT_SLUG, PRACTICE_SLUG]:
        row = await gathering_row(conn, slug=slug)
        if row is not None and await latest_release(conn, row.id) is None:
            ids.append(row.id)
    return ids


async def _load_gathering(
    conn: AsyncConnection,
    demo: DemoGathering,
    orgs: dict[str, int],
    speakers: dict[str, int],
    now: dt.datetime,
    window: dict[str, dt.datetime] | None = None,
) -> tuple[int, int]:
    """Load one gathering, a table at a time (``core/rows.py``): its id, and how many rows were
    inserted."""
    zone = zoneinfo.ZoneInfo("Europe/London")
    [(gathering_id, inserted)] = await ids_or_insert(
        conn,
        gathering,
        ("slug",),
        [
            {
                "slug": demo.slug,
                "title": demo.title,
                "description": demo.description,
                "starts_on": demo.starts_on,
                "ends_on": demo.ends_on,
                "timezone": "Europe/London",
                "mode": demo.mode,
                "location": demo.location,
                "host_organisation_id": orgs[demo.host],
                "registration_open": True,
                "is_listed": demo.is_listed,
                "data_controller": {s: n for s, n, _ in ORGANISATIONS}[demo.host],
                # Long enough that the retention purge leaves the (fictional) attendees of these
                # past gatherings in place for years; real gatherings default to 30 days.
                "retention_days": DEMO_RETENTION_DAYS,
                "created_at": now,
                "updated_at": now,
                **(window or {}),
            }
        ],
    )
    count = int(inserted)
    of_gathering = {"gathering_id": gathering_id}
    made = await ids_or_insert(
        conn,
        track,
        ("gathering_id", "slug"),
        [{**of_gathering, "slug": name.lower(), "name": name} for name in demo.tracks],
    )
    tracks = {name: id_ for name, (id_, _) in zip(demo.tracks, made, strict=True)}
    count += sum(new for _, new in made)
    made = await ids_or_insert(
        conn,
        ticket_type,
        ("gathering_id", "name"),
        [
            {**of_gathering, "name": name, "suggested_contribution": contribution, "position": n}
            for n, (name, contribution) in enumerate(demo.ticket_types)
        ],
    )
    ticket_ids = [id_ for id_, _ in made]
    count += sum(new for _, new in made)
    made = await ids_or_insert(
        conn,
        question,
        ("gathering_id", "key"),
        [
            {**of_gathering, "key": key, "label": label, "is_required": required, "position": n}
            for n, (key, label, required) in enumerate(demo.questions)
        ],
    )
    count += sum(new for _, new in made)
    session_rows = []
    for item in demo.sessions:
        hour, minute = map(int, item.start.split(":"))
        starts = dt.datetime.combine(item.day, dt.time(hour, minute), zone).astimezone(dt.UTC)
        session_rows.append(
            {
                **of_gathering,
                "title": item.title,
                "description": item.description,
                "starts_at": starts,
                "ends_at": starts + dt.timedelta(minutes=item.minutes),
                "format": item.format,
                "access": item.access,
                "access_note": item.access_note,
                "capacity": item.capacity,
                "track_id": tracks.get(item.track) if item.track else None,
                "joining_link": item.joining_link,
                "status": "published",
                "created_at": now,
                "updated_at": now,
            }
        )
    made = await ids_or_insert(conn, programme_session, ("gathering_id", "title"), session_rows)
    session_ids = [id_ for id_, _ in made]
    count += sum(new for _, new in made)
    hosts = [
        {"session_id": session_id, "organisation_id": orgs[slug], "role": role}
        for item, session_id in zip(demo.sessions, session_ids, strict=True)
        for role, slugs in (("host", item.hosts), ("co_host", item.co_hosts))
        for slug in slugs
    ]
    count += await insert_missing(conn, session_host, hosts)
    speaking = [
        {"session_id": session_id, "speaker_id": speakers[slug], "role": role, "position": n}
        for item, session_id in zip(demo.sessions, session_ids, strict=True)
        for n, (slug, role) in enumerate(item.speakers)
    ]
    count += await insert_missing(conn, session_speaker, speaking)
    people: list[dict[str, Any]] = []
    for index, (name, email) in enumerate(demo.attendees):
        # Past gatherings: people registered over the weeks before (the dashboard's chart).
        registered_at = now
        if demo.starts_on < now.date():
            weeks_before = len(demo.attendees) - index
            day = demo.starts_on - dt.timedelta(days=5 * weeks_before + index % 3)
            registered_at = dt.datetime.combine(day, dt.time(19, 30), zone).astimezone(dt.UTC)
        people.append(
            {
                **of_gathering,
                "email": email,
                "name": name,
                "ticket_type_id": ticket_ids[index % len(ticket_ids)] if ticket_ids else None,
                "answers": {},
                "status": "confirmed",
                "ticket_code": new_ticket_code(),
                "manage_key": secrets.token_urlsafe(16),
                "feed_key": new_feed_key(),
                "confirmed_at": registered_at,
                "created_at": registered_at,
            }
        )
    made = await ids_or_insert(conn, registration, ("gathering_id", "email"), people)
    count += sum(new for _, new in made)
    # Everyone new takes a place at two sessions, so the door and dashboards have something to
    # show (one place when both are the last session).
    places: list[dict[str, Any]] = [
        {
            "registration_id": registration_id,
            "session_id": session_id,
            "status": "confirmed",
            "created_at": now,
            "updated_at": now,
        }
        for index, (registration_id, new) in enumerate(made)
        if new and session_ids
        for session_id in (session_ids[index % len(session_ids)], session_ids[-1])
    ]
    placed = await ids_or_insert(conn, session_place, ("registration_id", "session_id"), places)
    taken = Counter(row["session_id"] for row, (_, new) in zip(places, placed, strict=True) if new)
    for session_id, number in sorted(taken.items()):
        await add_places_taken(conn, session_id, number)
    return gathering_id, count


async def _keep_next_ahead(conn: AsyncConnection, today: dt.date, now: dt.datetime) -> int | None:
    """Move the next gathering (its dates, sessions and window) to its day after ``today`` once
    ``today`` has reached it; its id when moved (its programme is then released again)."""
    row = await gathering_window(conn, slug=NEXT_SLUG)
    if row is None or row.starts_on > today:
        return None
    shift = next_gathering_day(today) - row.starts_on
    moved_window = {
        name: (value + shift if value is not None else None)
        for name, value in (
            ("registration_opens_at", row.registration_opens_at),
            ("registration_closes_at", row.registration_closes_at),
        )
    }
    await conn.execute(
        sa.update(gathering)
        .where(gathering.c.id == row.id)
        .values(
            starts_on=row.starts_on + shift,
            ends_on=row.ends_on + shift,
            updated_at=now,
            **moved_window,
        )
    )
    sessions = await conn.execute(
        sa.select(
            programme_session.c.id, programme_session.c.starts_at, programme_session.c.ends_at
        ).where(programme_session.c.gathering_id == row.id)
    )
    for session_id, starts_at, ends_at in sessions.all():
        await conn.execute(
            sa.update(programme_session)
            .where(programme_session.c.id == session_id)
            .values(starts_at=starts_at + shift, ends_at=ends_at + shift, updated_at=now)
        )
    return row.id
