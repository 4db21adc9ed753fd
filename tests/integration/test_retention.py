"""The retention purge: a gathering's personal data is erased its set number of days after it
ends, everywhere (down to the bytes of the SQLite file), while every count stays; idempotent;
previewed."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from gathering.db import schema
from gathering.db.database import Database
from gathering.domain import retention
from gathering.domain.demo import load_demo
from gathering.housekeeping import housekeeping
from tests.conftest import TEST_SECRET
from tests.helpers import run_cli
from tests.privacy_data import (
    CONFERENCE,
    LINKS,
    NATIONAL,
    NEWCOMER,
    PURGE_AT,
    SIGNATORY,
    counts,
    execute,
    gathering_id,
    personal_values,
    rows,
    spread_personal_data,
    values_left,
)

pytestmark = pytest.mark.anyio


def _env(url: str) -> dict[str, str]:
    return {"GATHERING_DATABASE_URL": url, "GATHERING_SECRET_KEY": TEST_SECRET}


def _purge_lines(output: str) -> list[str]:
    return [line.replace("would erase", "erased") for line in output.splitlines()]


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


def _in_files(db_url: str, values: set[str]) -> set[str]:
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


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_purge_leaves_no_personal_byte_in_the_sqlite_files(db: Database, db_url: str) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await spread_personal_data(db)
    erased = await personal_values(db, CONFERENCE) | {SIGNATORY}
    kept = await personal_values(db, NATIONAL)
    assert {"Sam Okafor", "sam.okafor@example.org", *NEWCOMER} <= erased
    assert "Dana Whitfield" in kept
    before = await counts(db)
    assert _in_files(db_url, erased) == erased

    # The preview says what will go, in numbers; the purge then does exactly that. The test's
    # own connections stay open meanwhile, as a running service's would.
    now = ["--now", PURGE_AT.isoformat()]
    preview = run_cli("purge", "--dry-run", *now, env=_env(db_url))
    assert preview.returncode == 0, preview.stderr
    assert "would erase 5 registrations" in preview.stdout
    assert NATIONAL not in preview.stdout  # not due until 2031
    purge = run_cli("purge", *now, env=_env(db_url))
    assert purge.returncode == 0, purge.stderr
    assert _purge_lines(purge.stdout) == _purge_lines(preview.stdout)

    assert _in_files(db_url, erased) == set()
    assert _in_files(db_url, kept) == kept  # the national gathering's people are all still there
    assert await counts(db) == before
    assert await values_left(db, kept) != {}  # the national gathering is untouched ...
    r = schema.registration
    national = await rows(
        db, sa.select(r).where(r.c.gathering_id == await gathering_id(db, NATIONAL))
    )
    assert all(row.name and row.anonymised_at is None for row in national)

    again = run_cli("purge", *now, env=_env(db_url))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1:] == ["  nothing left to erase"]


async def test_purge_erases_every_personal_value_and_keeps_every_count(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await spread_personal_data(db)
    erased = await personal_values(db, CONFERENCE) | {SIGNATORY}
    kept = await personal_values(db, NATIONAL)
    before = await counts(db)
    conference = await gathering_id(db, CONFERENCE)

    [preview] = await retention.preview(db, PURGE_AT)
    assert (preview.slug, preview.erase_from) == (CONFERENCE, dt.date(2029, 9, 23))
    assert preview.counts() == {
        "registrations": 5,  # four demo attendees and the newcomer
        "mails": 3,  # confirm (sent), ticket (waiting), supporters-only notice (sent)
        "scans": 2,  # admitted, and "already inside"
        "supporters": 3,
        "audit_events": 3,  # the help-desk search, a list filter, an export note
        "throttles": 1,
    }
    [done] = await retention.purge(db, PURGE_AT)
    assert done == preview

    assert await values_left(db, erased) == {}
    assert set(await values_left(db, kept)) >= {"registration.name", "registration.email"}
    assert await counts(db) == before
    r, o = schema.registration, schema.outbox
    people = await rows(db, sa.select(r).where(r.c.gathering_id == conference))
    assert {p.status for p in people} == {"confirmed"}  # statuses kept, for the counts
    assert all(p.anonymised_at == PURGE_AT and p.ticket_code is None for p in people)
    mail = await rows(db, sa.select(o))
    assert all(m.sent_at is not None for m in mail if m.to_address.startswith("erased"))
    assert not [m for m in mail if m.kind == "registration_confirmed"]  # unsent: dropped
    a = schema.audit_event
    events = await rows(db, sa.select(a).order_by(a.c.id))
    search = next(e for e in events if e.action == "door_search")
    assert search.detail["query"] == "[erased]" and search.detail["matches"] == 1
    [purged] = [e for e in events if e.action == "retention_purge"]
    assert (purged.actor_kind, purged.subject_id) == ("system", conference)
    assert purged.detail == preview.counts()
    g = schema.gathering
    [row] = await rows(db, sa.select(g.c.anonymised_at).where(g.c.id == conference))
    assert row.anonymised_at == PURGE_AT

    # Idempotent: a second run (another replica, the next hour) finds nothing and says so.
    [second] = await retention.purge(db, PURGE_AT + dt.timedelta(hours=1))
    assert second.total == 0
    assert [e.action for e in await rows(db, sa.select(a))].count("retention_purge") == 1
    assert await counts(db) == before


async def test_due_from_midnight_in_the_gatherings_zone(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    g = schema.gathering
    await execute(db, sa.update(g).where(g.c.slug == CONFERENCE).values(retention_days=30))
    # Ends Wednesday 25 September 2019; kept 30 days; erased from 26 October, 00:00 BST.
    midnight = dt.datetime(2019, 10, 25, 23, 0, tzinfo=dt.UTC)
    assert await retention.preview(db, midnight - dt.timedelta(seconds=1)) == []
    assert await retention.purge(db, midnight - dt.timedelta(seconds=1)) == []
    [due] = await retention.purge(db, midnight)
    assert (due.slug, due.registrations) == (CONFERENCE, 4)


async def test_the_service_runs_the_purge_on_its_schedule(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    g, r = schema.gathering, schema.registration
    await execute(db, sa.update(g).where(g.c.slug == CONFERENCE).values(retention_days=30))
    conference = await gathering_id(db, CONFERENCE)
    async with housekeeping(db, LINKS, 24, 3, interval=0.05, first_purge_after=0):
        for _ in range(200):
            [row] = await rows(db, sa.select(g.c.anonymised_at).where(g.c.id == conference))
            if row.anonymised_at is not None:
                break
            await asyncio.sleep(0.05)
    names = await rows(db, sa.select(r.c.gathering_id, r.c.name))
    assert {n.name for n in names if n.gathering_id == conference} == {""}
    assert all(n.name for n in names if n.gathering_id != conference)


async def test_a_schedule_of_zero_never_purges(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    g = schema.gathering
    await execute(db, sa.update(g).where(g.c.slug == CONFERENCE).values(retention_days=30))
    async with housekeeping(db, LINKS, 24, 3, interval=0.05, purge_minutes=0, first_purge_after=0):
        await asyncio.sleep(0.3)
    assert {row.anonymised_at for row in await rows(db, sa.select(g.c.anonymised_at))} == {None}


def test_purge_refuses_a_bad_moment(tmp_path: Path) -> None:
    result = run_cli(
        "purge", "--now", "next tuesday", env=_env(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    )
    assert result.returncode == 2
    assert "must be a date or time like 2030-01-31T09:00+00:00" in result.stderr
    assert "Traceback" not in result.stderr
