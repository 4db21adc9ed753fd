"""Personal data spread the way real use spreads it, for the retention and erasure tests: the demo
conference gets a new registrant (with mail, some sent), door scans naming attendees (admitted and
"already inside"), a help-desk search, supporters lists, a throttle keyed by an address and audit
details naming people. Plus helpers that read every personal value back out of any table."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.audit import insert_audit_event
from gathering.core.database import Database
from gathering.demo import PRACTICE_SLUG, STEWARD_PIN, steward_token
from gathering.door import rules as checkin
from gathering.programme.release import load_programme
from gathering.registration import rules as reg
from tests.app_clock import BEFORE_CONFERENCE, app_clock_at
from tests.conftest import TEST_SECRET

CONFERENCE = "labour-conference-2019"
NATIONAL = "dont-leave-organise-2021"
BASE = "http://127.0.0.1:8000"
LINKS = reg.Links(
    secret_key=TEST_SECRET,
    confirm=BASE + "/r/confirm/{token}",
    manage=BASE + "/r/{token}",
    offer=BASE + "/r/offer/{token}",
    agenda=BASE + "/my/{token}",
    ticket=BASE + "/r/{token}/ticket",
    session_page=BASE + "/g/{slug}/s/{session_id}",
    base_url=BASE,
)
NEWCOMER = ("Quentin Extraordinary", "quentin.extra@example.com")
SIGNATORY = "signatory.only@example.com"  # on a supporters list, never registered
AT_THE_DOOR = dt.datetime(2019, 9, 22, 10, 0, tzinfo=dt.UTC)
# Well after the conference's retention (the demo keeps 3650 days) and before the national's.
PURGE_AT = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)


async def rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def execute(db: Database, *statements: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        for statement in statements:
            await conn.execute(statement)

    await db.write(_write)


async def gathering_id(db: Database, slug: str) -> int:
    g = schema.gathering
    [row] = await rows(db, sa.select(g.c.id).where(g.c.slug == slug))
    return int(row.id)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def spread_personal_data(db: Database) -> None:
    """The demo conference's people, in every place the service keeps something about them.

    The demo's practice evening (dated today) is dropped first: its tickets belong to the same
    fictional people, and these tests look for the conference's values alone.
    """
    await execute(db, sa.delete(schema.gathering).where(schema.gathering.c.slug == PRACTICE_SLUG))
    programme = await load_programme(db, CONFERENCE)
    supporters_only = next(s for s in programme.sessions if s.access == "supporters")
    public = next(s for s in programme.sessions if s.access == "public")
    conference = await gathering_id(db, CONFERENCE)
    o = schema.organisation
    [lla] = await rows(db, sa.select(o.c.id).where(o.c.slug == "lla"))

    # A newcomer asks for a supporters-only session without being on its list (mail without a
    # registration, naming them), then confirms (ticket mail with QR code and calendar).
    name, email = NEWCOMER
    form = reg.RegistrationInput(
        name=name,
        email=email,
        session_ids=(str(supporters_only.id), str(public.id)),
        contact_organisation_ids=(str(lla.id),),
    )
    with app_clock_at(BEFORE_CONFERENCE):  # registered while it was open
        await reg.register(db, CONFERENCE, form, links=LINKS, confirm_hours=24)
    out = schema.outbox
    [confirm] = await rows(
        db, sa.select(out).where(out.c.kind == "confirm_email", out.c.to_address == email)
    )
    await reg.confirm_registration(
        db, token_of(confirm.context["confirm_url"]), links=LINKS, confirm_hours=24
    )
    # Some of that mail went out, some still waits.
    await execute(
        db,
        sa.update(out)
        .where(out.c.kind.in_(["supporters_only", "confirm_email"]))
        .values(sent_at=AT_THE_DOOR),
    )

    # Supporters lists: a registrant, the newcomer, and someone who never registered.
    await execute(
        db,
        sa.insert(schema.supporter).values(
            [
                {"session_id": supporters_only.id, "email": "sam.okafor@example.org"},
                {"session_id": supporters_only.id, "email": email},
                {"session_id": supporters_only.id, "email": SIGNATORY},
            ]
        ),
    )

    # The door: Sam is admitted, then scanned again (the answer names him, with no check-in).
    r = schema.registration
    [sam] = await rows(db, sa.select(r).where(r.c.email == "sam.okafor@example.org"))
    steward = await checkin.open_pass(
        db,
        steward_token(TEST_SECRET),
        STEWARD_PIN,
        client_address="127.0.0.1",
        now=AT_THE_DOOR,
        secret_key=TEST_SECRET,
    )
    for nonce in ("first-scan", "second-scan"):
        result = await checkin.scan(
            db,
            steward.device,
            sam.ticket_code,
            session_id=None,
            door="Main door",
            client_nonce=nonce,
            kind="entry",
            now=AT_THE_DOOR,
        )
        assert result.name == "Sam Okafor"
    await checkin.search(
        db, steward.device, "Rhiannon Pri", session_id=None, now=AT_THE_DOOR, secret_key=TEST_SECRET
    )

    # A throttle keyed by an attendee's address, and audit details naming people: among them a
    # help-desk search and a list filter as the service used to log them, with what was typed.
    async def _traces(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.insert(schema.throttle).values(
                key="reset:tom.aldridge@example.net", window_start=AT_THE_DOOR, count=1
            )
        )
        await insert_audit_event(
            conn,
            now=AT_THE_DOOR,
            actor_kind="steward_pass",
            actor_id=steward.device.pass_id,
            action="door_search",
            subject_kind="gathering",
            subject_id=conference,
            detail={"query": "Rhiannon Pri", "session_id": None, "matches": 1},
        )
        await insert_audit_event(
            conn,
            now=AT_THE_DOOR,
            actor_kind="account",
            actor_id=None,
            action="attendee_list_viewed",
            subject_kind="session",
            subject_id=public.id,
            detail={"query": "priya", "scope": "everyone"},
        )
        await insert_audit_event(
            conn,
            now=AT_THE_DOOR,
            actor_kind="account",
            actor_id=None,
            action="attendees_exported",
            subject_kind="gathering",
            subject_id=conference,
            detail={"rows": 1, "note": "Sent to Priya Natarajan <priya.n@example.org>"},
        )

    await db.write(_traces)


# Read by another process: closing any file descriptor of the database in this process would
# drop the POSIX locks the test's open SQLite connections hold on it (see SQLite's "How To
# Corrupt", section 2.2), and the CLI would then take them for the last connection.
_SCAN = """
import json, sys
from pathlib import Path
path = Path(sys.argv[1])
data = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
print(json.dumps(sorted(v for v in json.load(sys.stdin) if v.encode() in data)))
"""


def in_files(db_url: str, values: set[str]) -> set[str]:
    """Which of ``values`` occur, as UTF-8 bytes, in the database file or its write-ahead log."""
    path = make_url(db_url).database or ""
    found = subprocess.run(
        [sys.executable, "-c", _SCAN, path],
        input=json.dumps(sorted(values)),
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(found.stdout))


async def personal_values(db: Database, slug: str) -> set[str]:
    """Every name, address, ticket code and link secret of the gathering's registrations."""
    r = schema.registration
    found = await rows(
        db,
        sa.select(r.c.name, r.c.email, r.c.ticket_code, r.c.manage_key, r.c.feed_key)
        .join(schema.gathering, schema.gathering.c.id == r.c.gathering_id)
        .where(schema.gathering.c.slug == slug),
    )
    return {v for row in found for v in row if isinstance(v, str) and v}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


async def values_left(db: Database, needles: set[str]) -> dict[str, set[str]]:
    """table.column → the needles still found in it, reading every column of every table."""
    left: dict[str, set[str]] = {}
    for table in schema.metadata.sorted_tables:
        for row in await rows(db, sa.select(table)):
            for column, value in row._mapping.items():
                text = _text(value).casefold()
                hits = {n for n in needles if n.casefold() in text}
                if hits:
                    left.setdefault(f"{table.name}.{column}", set()).update(hits)
    return left


async def counts(db: Database) -> dict[str, Counter[Any]]:
    """What statistics rest on: registrations and places by status, check-ins, scans."""
    r, p, c = schema.registration, schema.session_place, schema.check_in
    return {
        "registrations": Counter(
            (row.gathering_id, row.status)
            for row in await rows(db, sa.select(r.c.gathering_id, r.c.status))
        ),
        "places": Counter(
            (row.session_id, row.status)
            for row in await rows(db, sa.select(p.c.session_id, p.c.status))
        ),
        "check_ins": Counter(
            (row.registration_id, row.kind, row.door, row.at)
            for row in await rows(db, sa.select(c.c.registration_id, c.c.kind, c.c.door, c.c.at))
        ),
        "scans": Counter(
            (row.result, row.reason)
            for row in await rows(db, sa.select(schema.scan.c.result, schema.scan.c.reason))
        ),
    }


# --- a crowd, for timing the purge --------------------------------------------------------------


def crowd_name(n: int) -> str:
    return f"Crowd Member{n:05d}"


async def add_crowd(db: Database, slug: str, people: int, events: int) -> None:
    """``people`` confirmed registrations of the gathering and ``events`` audit events about it,
    the way a large conference leaves them: help-desk searches (as once logged, with what was
    typed), list filters, export notes naming someone, messages naming nobody."""
    g, r, p, ps = (
        schema.gathering,
        schema.registration,
        schema.steward_pass,
        schema.programme_session,
    )
    [target] = await rows(db, sa.select(g.c.id).where(g.c.slug == slug))
    [door] = await rows(db, sa.select(p.c.id).where(p.c.gathering_id == target.id).limit(1))
    [session] = await rows(db, sa.select(ps.c.id).where(ps.c.gathering_id == target.id).limit(1))
    registrations = [
        {
            "gathering_id": target.id,
            "name": crowd_name(n),
            "email": f"crowd.member{n:05d}@example.net",
            "answers": {"constituency": "Brighton Pavilion"},
            "status": "confirmed",
            "ticket_code": f"CROWD{n:05d}TICKET",
            "manage_key": f"crowd-manage-{n:05d}",
            "feed_key": f"crowd-feed-{n:05d}",
            "created_at": AT_THE_DOOR - dt.timedelta(days=10, minutes=n),
        }
        for n in range(people)
    ]

    def _event(n: int) -> dict[str, Any]:
        person = n % people
        shapes: list[tuple[str, str, str, int, dict[str, Any]]] = [
            (
                "steward_pass",
                "door_search",
                "gathering",
                target.id,
                {"query": crowd_name(person)[:9], "session_id": None, "matches": 1},
            ),
            (
                "account",
                "attendee_list_viewed",
                "session",
                session.id,
                {"query": "member", "scope": "everyone", "shown": 3},
            ),
            (
                "account",
                "attendees_exported",
                "gathering",
                target.id,
                {
                    "rows": 1,
                    "note": f"Sent to {crowd_name(person)} <crowd.member{person:05d}@example.net>",
                },
            ),
            ("account", "attendees_messaged", "session", session.id, {"subject": "Room change"}),
        ]
        actor, action, subject_kind, subject_id, detail = shapes[n % len(shapes)]
        return {
            "at": AT_THE_DOOR + dt.timedelta(seconds=n),
            "actor_kind": actor,
            "actor_id": door.id if actor == "steward_pass" else None,
            "action": action,
            "subject_kind": subject_kind,
            "subject_id": subject_id,
            "detail": detail,
        }

    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(sa.insert(r), registrations)
        await conn.execute(sa.insert(schema.audit_event), [_event(n) for n in range(events)])

    await db.write(_write)
