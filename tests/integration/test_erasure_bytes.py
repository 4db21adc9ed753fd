"""Erasure to the bytes (issue 14, items 12-14): after a person erases themselves, and after the
retention purge, no personal value can be read in the database's files, on either engine.

The files are read raw: SQLite's database file, ``-wal`` and ``-shm``; PostgreSQL's data directory
(this database's folder, the shared catalogs and the write-ahead log) after a CHECKPOINT. The
values are random and distinctive, in UTF-8, UTF-16 and JSON-escaped forms; one answer is long and
incompressible, so PostgreSQL stores it out of line in TOAST, as it was typed. Before erasing, the
same scan finds every value (it can see them). PostgreSQL's test server runs on this machine with
its files readable by the test (the CI runs as root); the rewrite needs ``wal_recycle = off``,
which the ``wal_not_recycled`` fixture sets, as the deployment must (README, "What erasure
guarantees on each engine").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import secrets
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.audit import insert_audit_event
from gathering.core.database import Database
from gathering.demo import load_demo
from gathering.housekeeping import housekeeping
from gathering.privacy import retention, storage
from gathering.programme.release import load_programme
from gathering.registration import rules as reg
from tests.app_clock import BEFORE_CONFERENCE, app_clock_at
from tests.conftest import TEST_SECRET
from tests.privacy_data import (
    CONFERENCE,
    LINKS,
    NATIONAL,
    PURGE_AT,
    execute,
    gathering_id,
    rows,
    token_of,
)

# The files are read as the server left them: its commits wait for the disk, as deployed.
pytestmark = [pytest.mark.anyio, pytest.mark.durable_commits]
LETTERS = string.ascii_lowercase
ALPHANUMERIC = string.ascii_letters + string.digits


def _random(n: int, alphabet: str = LETTERS) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass(frozen=True)
class Person:
    """Distinctive personal values, all carrying one random marker."""

    marker: str
    name: str
    email: str
    constituency: str
    access_needs: str
    organisation: str  # long and incompressible: stored out of line (TOAST) on PostgreSQL
    dietary: str

    @classmethod
    def made_up(cls) -> Person:
        m = _random(12)
        return cls(
            marker=m,
            name=f"Zoë {m.capitalize()}{_random(6)} Quill",
            email=f"{m}.{_random(8)}@example.org",
            constituency=f"{m}{_random(10)} and {_random(8)}",
            access_needs=f"Hearing loop {m}{_random(14)}",
            organisation=m + _random(1950, ALPHANUMERIC) + m,
            dietary=f"{m}{_random(9)} free",
        )

    def answers(self) -> dict[str, str]:
        return {
            "constituency": self.constituency,
            "organisation": self.organisation,
            "access_needs": self.access_needs,
            "dietary": self.dietary,
        }

    def needles(self) -> dict[str, str]:
        """label → a value (or a 40-character window of the long one) to look for."""
        short = {
            "name": self.name,
            "email": self.email,
            "constituency": self.constituency,
            "access_needs": self.access_needs,
            "dietary": self.dietary,
        }
        # TOAST cuts a long value into chunks of about 2 kB: windows, not the whole value.
        windows = {
            f"organisation[{at}]": self.organisation[at : at + 40] for at in (0, 600, 1200, 1900)
        }
        return {**short, **windows, "marker": self.marker}


def encodings(value: str) -> dict[str, bytes]:
    """Every form in which a string may sit in a database file."""
    escaped = json.dumps(value)[1:-1]  # as SQLAlchemy's JSON stores it (\\u00eb for ë)
    forms = {
        "utf-8": value.encode(),
        "utf-16-le": value.encode("utf-16-le"),
        "utf-16-be": value.encode("utf-16-be"),
        "json": escaped.encode(),
        "casefold": value.casefold().encode(),
    }
    return forms


# Run in another process: closing any file descriptor of the SQLite database in this process
# would drop the POSIX locks the test's open connections hold on it (SQLite's "How To Corrupt",
# section 2.2). It prints, per needle found, the files it was found in.
_SCAN = """
import json, os, sys
wanted = {k: bytes.fromhex(v) for k, v in json.load(sys.stdin).items()}
found = {}
for path in sys.argv[1:]:
    try:
        data = open(path, "rb").read()
    except (FileNotFoundError, IsADirectoryError):
        continue
    for label, needle in wanted.items():
        if needle in data:
            found.setdefault(label, []).append(path)
print(json.dumps(found))
"""


@dataclass(frozen=True)
class RawFiles:
    """The files of one test database, as the disk holds them."""

    engine: str
    sqlite_path: Path | None = None
    pg_dsn: str = ""
    data_directory: Path | None = None
    database_oid: int = 0

    async def paths(self) -> list[str]:
        if self.sqlite_path is not None:
            base = self.sqlite_path
            return [str(base), f"{base}-wal", f"{base}-shm"]
        await self.checkpoint()
        assert self.data_directory is not None
        others = {
            p.name
            for p in (self.data_directory / "base").iterdir()
            if p.name != str(self.database_oid)
        }
        found = []
        for folder, dirs, files in os.walk(self.data_directory):
            here = Path(folder)
            if here == self.data_directory / "base":
                dirs[:] = [d for d in dirs if d not in others]  # other tests' databases
            found.extend(str(here / f) for f in files)
        return found

    async def checkpoint(self) -> None:
        if self.engine == "postgresql":
            conn = await asyncpg.connect(self.pg_dsn)
            try:
                await conn.execute("CHECKPOINT")
            finally:
                await conn.close()

    async def holding(self, person: Person) -> dict[str, list[str]]:
        """label/encoding → the files in which that value was found."""
        wanted = {
            f"{label}/{form}": data.hex()
            for label, value in person.needles().items()
            for form, data in encodings(value).items()
        }
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", _SCAN, *await self.paths()],
            input=json.dumps(wanted),
            capture_output=True,
            text=True,
            check=True,
        )
        found: dict[str, list[str]] = json.loads(result.stdout)
        return found

    async def left(self, person: Person) -> dict[str, list[str]]:
        """What of the person is still in the files, by the relation that holds it (PostgreSQL)
        or the file: readable when a test fails."""
        holding = await self.holding(person)
        if self.engine != "postgresql" or not holding:
            return holding
        conn = await asyncpg.connect(self.pg_dsn)
        try:
            named: dict[str, list[str]] = {}
            for key, paths in holding.items():
                for path in paths:
                    node = Path(path).name.split(".")[0].split("_")[0]
                    name = None
                    if node.isdigit() and f"base{os.sep}{self.database_oid}" in path:
                        name = await conn.fetchval(
                            "SELECT pg_filenode_relation(0, $1)::regclass::text", int(node)
                        )
                    named.setdefault(key, []).append(name or path)
            return named
        finally:
            await conn.close()

    async def values_found(self, person: Person) -> set[str]:
        """Which of the person's values (by label) are in the files, in any encoding."""
        return {key.split("/")[0] for key in await self.holding(person)}


@pytest.fixture(scope="session")
def wal_not_recycled() -> None:
    """PostgreSQL renames a WAL segment it no longer needs for reuse, old content and all, unless
    ``wal_recycle`` is off (then it deletes it). Only the checkpointer reads the setting, so it
    is set for the server (ALTER SYSTEM, then a reload), as the deployment must set it. It is
    left off afterwards: resetting it could race with another worker's test that relies on it,
    and off costs other tests nothing but creating a fresh file per 16 MB of log."""
    dsn = os.environ.get("GATHERING_TEST_POSTGRES_URL", "")

    async def _set() -> None:
        conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute("ALTER SYSTEM SET wal_recycle = off")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()
        # The reload is signalled, not awaited: wait until a new session sees it.
        for _ in range(50):
            conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                if await conn.fetchval("SHOW wal_recycle") == "off":
                    return
            finally:
                await conn.close()
            await asyncio.sleep(0.1)
        pytest.fail("the server did not take wal_recycle = off")

    if dsn:
        asyncio.run(_set())


@pytest.fixture
def pg_ready(engine_name: str, request: pytest.FixtureRequest) -> None:
    if engine_name == "postgresql":
        request.getfixturevalue("wal_not_recycled")


@pytest.fixture
async def raw(engine_name: str, db_url: str, pg_ready: None) -> RawFiles:
    url = make_url(db_url)
    if engine_name == "sqlite":
        return RawFiles("sqlite", sqlite_path=Path(url.database or ""))
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        directory = Path(await conn.fetchval("SHOW data_directory"))
        oid = int(
            await conn.fetchval("SELECT oid FROM pg_database WHERE datname = $1", url.database)
        )
    finally:
        await conn.close()
    if not os.access(directory / "base" / str(oid), os.R_OK):
        message = f"PostgreSQL's data directory {directory} is not readable here"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return RawFiles("postgresql", pg_dsn=dsn, data_directory=directory, database_oid=oid)


async def _register(db: Database, person: Person, slug: str = NATIONAL) -> int:
    """Register ``person`` through the registration rules and confirm them; their id."""
    programme = await load_programme(db, slug)
    page = await reg.registration_page(db, slug)
    form = reg.RegistrationInput(
        name=person.name,
        email=person.email,
        ticket_type_id=page.ticket_types[-1].value if page.ticket_types else "",
        answers=person.answers(),
        session_ids=(str(programme.sessions[0].id),),
        share_access_needs=True,
    )
    with app_clock_at(BEFORE_CONFERENCE):  # registered while it was open (both are past)
        await reg.register(db, slug, form, links=LINKS, confirm_hours=24)
    out, r = schema.outbox, schema.registration
    [confirm] = await rows(
        db, sa.select(out).where(out.c.kind == "confirm_email", out.c.to_address == person.email)
    )
    await reg.confirm_registration(
        db, token_of(confirm.context["confirm_url"]), links=LINKS, confirm_hours=24
    )
    [row] = await rows(db, sa.select(r.c.id).where(r.c.email == person.email))
    return int(row.id)


async def _spread(db: Database, person: Person, registration_id: int, slug: str) -> None:
    """The person's values where the service keeps them besides the registration: a door answer
    naming them (with the access needs they share), a supporters list, a throttle keyed by their
    address, an audit note naming them, an organiser's message whose subject names them."""
    programme = await load_programme(db, slug)
    session = programme.sessions[0]

    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.insert(schema.scan).values(
                client_nonce=_random(16),
                at=dt.datetime(2021, 9, 18, 9, 0, tzinfo=dt.UTC),
                session_id=session.id,
                result="refused",
                reason="already_checked_in",
                response={
                    "status": "refused",
                    "reason": "already_checked_in",
                    "name": person.name,
                    "ticket_type": "Solidarity",
                    "access_needs": person.access_needs,
                },
            )
        )
        await conn.execute(
            sa.insert(schema.supporter).values(session_id=session.id, email=person.email)
        )
        await conn.execute(
            sa.insert(schema.throttle).values(
                key=f"reset:{person.email}", window_start=dt.datetime.now(dt.UTC), count=1
            )
        )
        for action, detail in (
            ("attendees_exported", {"rows": 1, "note": f"Sent to {person.name} <{person.email}>"}),
            ("registrants_messaged", {"recipients": 3, "subject": f"{person.name}: room change"}),
        ):
            await insert_audit_event(
                conn,
                now=dt.datetime.now(dt.UTC),
                actor_kind="account",
                actor_id=None,
                action=action,
                subject_kind="session",
                subject_id=session.id,
                detail=detail,
            )

    await db.write(_write)


async def _analyse(db: Database) -> None:
    """PostgreSQL: sample the tables as autovacuum would (pg_statistic then holds values)."""
    if not db.is_sqlite:
        async with db.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("ANALYZE registration, outbox, supporter, throttle")


async def _assert_seen(raw: RawFiles, person: Person) -> None:
    """The scan sees every value before erasure: in the table files themselves, not only in
    the log (on PostgreSQL, this database's folder; on SQLite, the file or its log). A TOAST
    chunk boundary may cut one window of the long answer in two, never more (they are 600
    characters apart)."""
    holding = await raw.holding(person)
    wanted = set(person.needles())
    windows = {label for label in wanted if label.startswith("organisation[")}
    seen = {key.split("/")[0] for key in holding}
    assert wanted - windows <= seen
    assert len(windows & seen) >= len(windows) - 1
    if raw.engine == "postgresql":
        tables = f"{os.sep}base{os.sep}{raw.database_oid}{os.sep}"
        in_tables = {
            k.split("/")[0] for k, paths in holding.items() if any(tables in p for p in paths)
        }
        assert wanted - windows <= in_tables
        assert len(windows & in_tables) >= len(windows) - 1


def _manage_token(registration_id: int, manage_key: str) -> str:
    return reg.manage_token(TEST_SECRET, registration_id, manage_key)


async def _erase(db: Database, registration_id: int) -> None:
    r = schema.registration
    [row] = await rows(db, sa.select(r.c.manage_key).where(r.c.id == registration_id))
    await reg.erase(db, _manage_token(registration_id, row.manage_key), links=LINKS, offer_hours=24)


# --- one person's erasure -----------------------------------------------------------------------


async def test_an_erased_person_leaves_no_value_in_the_database_files(
    db: Database, raw: RawFiles
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    person, other = Person.made_up(), Person.made_up()
    erin = await _register(db, person)
    kept = await _register(db, other)
    await _spread(db, person, erin, NATIONAL)
    await _spread(db, other, kept, NATIONAL)
    await _analyse(db)
    await _assert_seen(raw, person)

    await _erase(db, erin)
    # What housekeeping runs (on PostgreSQL the rewrite waits for it; on SQLite it is done).
    completed = await storage.complete(db, patience=30)
    assert completed.done

    assert await raw.left(person) == {}
    assert await raw.values_found(other) >= {"name", "email", "access_needs", "marker"}
    a = schema.audit_event
    [event] = await rows(db, sa.select(a.c.detail).where(a.c.action == "erasure_completed"))
    assert event.detail["log_cleared"] is True
    # Nothing more is owed: the next run does nothing.
    assert await storage.complete(db) == storage.Completion(True)


async def test_an_erasure_under_an_open_snapshot_is_finished_by_housekeeping(
    db: Database, db_url: str, raw: RawFiles
) -> None:
    """Issue 14, item 13: a reader holding a snapshot made the one checkpoint give up, and the
    person stayed in SQLite's log for good. The rewrite is tried again until it succeeds; on
    PostgreSQL an old snapshot makes it wait the same way (VACUUM FULL would copy rows that
    snapshot can still see)."""
    await load_demo(db, secret_key=TEST_SECRET)
    person = Person.made_up()
    erin = await _register(db, person)
    await _spread(db, person, erin, NATIONAL)

    reader = Database(db_url)
    try:
        async with reader.engine.connect() as conn:
            async with conn.begin():
                if not reader.is_sqlite:
                    await conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                await conn.execute(sa.select(sa.func.count()).select_from(schema.registration))
                started = time.monotonic()
                await _erase(db, erin)
                assert await storage.complete(db, patience=0.3) == storage.Completion(
                    False, "readers"
                )
                assert time.monotonic() - started < 5  # nobody waited for the reader
                assert await raw.values_found(person) >= {"name", "email"}
            # The reader is done; the service's next round of housekeeping finishes it.
            async with housekeeping(db, LINKS, 24, 3, interval=0.05, purge_minutes=0):
                for _ in range(400):
                    if (await storage.complete(db, patience=0)).done:
                        break
                    await asyncio.sleep(0.05)
    finally:
        await reader.dispose()
    assert await raw.left(person) == {}


# --- the retention purge ------------------------------------------------------------------------


async def test_the_purge_leaves_no_value_in_the_database_files(db: Database, raw: RawFiles) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    g = schema.gathering
    # The national gathering is due at PURGE_AT; the conference is kept (a long retention).
    await execute(
        db,
        sa.update(g).where(g.c.slug == NATIONAL).values(retention_days=30),
        sa.update(g).where(g.c.slug == CONFERENCE).values(retention_days=36500),
    )
    person, other = Person.made_up(), Person.made_up()
    erin = await _register(db, person, NATIONAL)
    await _spread(db, person, erin, NATIONAL)
    # Someone of the conference, which is not due: the scan must still find them afterwards.
    await execute(
        db,
        sa.insert(schema.registration).values(
            gathering_id=await gathering_id(db, CONFERENCE),
            name=other.name,
            email=other.email,
            answers=other.answers(),
            status="confirmed",
            created_at=dt.datetime(2019, 9, 1, tzinfo=dt.UTC),
        ),
    )
    await _analyse(db)
    await _assert_seen(raw, person)
    r = schema.registration
    national = await rows(
        db, sa.select(r.c.id).where(r.c.gathering_id == await gathering_id(db, NATIONAL))
    )

    [done] = await retention.purge(db, PURGE_AT)
    assert (done.slug, done.registrations) == (NATIONAL, len(national))
    # The purge rewrites the files at once when it can; an old snapshot elsewhere on the
    # server (other tests share it) may leave that to housekeeping's next run, which is this.
    assert (await storage.complete(db, patience=30)).done
    assert await raw.left(person) == {}
    assert await raw.values_found(other) >= {"name", "email", "access_needs", "marker"}


async def test_the_purge_scrubs_free_text_from_audit_details(db: Database) -> None:
    """Issue 14, item 14: an organiser's message subject (which can name an attendee) outlived
    the purge. Free text goes; counts, ids and scopes stay."""
    await load_demo(db, secret_key=TEST_SECRET)
    g, a = schema.gathering, schema.audit_event
    await execute(db, sa.update(g).where(g.c.slug == NATIONAL).values(retention_days=30))
    national = await gathering_id(db, NATIONAL)
    session = (await load_programme(db, NATIONAL)).sessions[0]

    async def _write(conn: AsyncConnection) -> None:
        await insert_audit_event(
            conn,
            now=dt.datetime(2021, 9, 17, tzinfo=dt.UTC),
            actor_kind="account",
            actor_id=None,
            action="registrants_messaged",
            subject_kind="session",
            subject_id=session.id,
            # A subject naming someone no search would find (a nickname, a first name alone).
            detail={
                "nonce": "n1",
                "recipients": 40,
                "scope": "everyone",
                "consent_organisation_ids": [3],
                "subject": "Jo B., your access route changed",
            },
        )

    await db.write(_write)
    await retention.purge(db, PURGE_AT)
    [event] = await rows(
        db, sa.select(a.c.subject_id, a.c.detail).where(a.c.action == "registrants_messaged")
    )
    assert event.detail == {
        "nonce": "n1",
        "recipients": 40,
        "scope": "everyone",
        "consent_organisation_ids": [3],
        "subject": "[erased]",
    }
    assert event.subject_id == session.id
    [purge] = await rows(
        db,
        sa.select(a.c.detail).where(a.c.action == "retention_purge", a.c.subject_id == national),
    )
    assert purge.detail["audit_events"] >= 1


# --- the engines' settings ----------------------------------------------------------------------


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_every_sqlite_connection_zeroes_what_it_deletes(db: Database) -> None:
    async def _read(conn: AsyncConnection) -> int:
        return int((await conn.exec_driver_sql("PRAGMA secure_delete")).scalar_one())

    assert await db.read(_read) == 1
    assert await db.read(_read, offload=True) == 1
    assert await db.write(_read) == 1


@pytest.mark.parametrize("engine_name", ["postgresql"])
async def test_the_rewrite_gives_way_to_a_locked_table_and_holds_up_nobody(
    db: Database, db_url: str, raw: RawFiles
) -> None:
    """VACUUM FULL needs each table alone. While another unit holds one (a long export of a
    supporters list), the rewrite gives up after a short wait instead of queueing every reader
    of that table behind it, and is done later, by the next round."""
    await load_demo(db, secret_key=TEST_SECRET)
    person = Person.made_up()
    erin = await _register(db, person)
    await _spread(db, person, erin, NATIONAL)
    await _erase(db, erin)

    async def _door(conn: AsyncConnection) -> int:
        return int(
            (
                await conn.execute(sa.select(sa.func.count()).select_from(schema.supporter))
            ).scalar_one()
        )

    slowest = 0.0

    async def _reads_meanwhile(stop: asyncio.Event) -> None:
        nonlocal slowest
        while not stop.is_set():
            started = time.monotonic()
            await db.read(_door)
            slowest = max(slowest, time.monotonic() - started)
            await asyncio.sleep(0.02)

    other = Database(db_url)
    try:
        async with other.engine.connect() as conn, conn.begin():
            # The lock a reading statement takes, without the snapshot it would hold (a snapshot
            # older than the erasure makes the rewrite wait for "readers" before any lock).
            await conn.exec_driver_sql("LOCK TABLE supporter IN ACCESS SHARE MODE")
            stop = asyncio.Event()
            reads = asyncio.create_task(_reads_meanwhile(stop))
            started = time.monotonic()
            completed = await storage.complete(db, patience=5)
            took = time.monotonic() - started
            stop.set()
            await reads
        assert completed == storage.Completion(False, "locks")
        assert took < 10
        assert slowest < storage.LOCK_TIMEOUT_MS / 1000 + 0.5  # never frozen behind it
        # The supporters list (deleted from, not yet rewritten) still holds the address.
        assert "email" in await raw.values_found(person)
    finally:
        await other.dispose()
    assert (await storage.complete(db, patience=30)).done
    assert await raw.left(person) == {}
