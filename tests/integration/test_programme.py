"""Releases: the public sees the last released programme; versions rise on public change."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import Conflict, NotFound
from gathering.programme.release import load_programme, pending_changes, release_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.factories import add_room

pytestmark = pytest.mark.anyio
SLUG = "labour-conference-2019"


async def _execute(db: Database, statement: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_write)


async def test_demo_programme_is_released_once_with_every_session_new(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, SLUG)
    assert programme.release is not None
    assert programme.release.number == 1
    assert [c.kinds for c in programme.release.changes] == [("new",)] * 4
    assert [s.version for s in programme.sessions] == [1, 1, 1, 1]
    assert all(s.room is None for s in programme.sessions)  # venues tbc
    first = programme.sessions[0]
    assert first.title == "Let's Talk about Palestine"
    assert [sp.name for sp in first.speakers] == ["Haneen Zoabi", "Ilan Pappé", "Graham Bash"]
    assert [(h.short_name, h.role) for h in programme.sessions[1].hosts] == [
        ("LRC", "host"),
        ("LLA", "co_host"),
    ]
    # A second demo load does not release again.
    await load_demo(db, secret_key=TEST_SECRET)
    assert (await load_programme(db, SLUG)).release.number == 1  # type: ignore[union-attr]


async def test_public_programme_changes_only_on_release(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, SLUG)
    moved, other = programme.sessions[1], programme.sessions[2]
    room_id = await add_room(db, programme.gathering.id)
    await _execute(
        db,
        sa.update(schema.programme_session)
        .where(schema.programme_session.c.id == moved.id)
        .values(room_id=room_id),
    )

    # Edited but not released: the public still sees "tbc".
    assert (await load_programme(db, SLUG)).session(moved.id).room is None  # type: ignore[union-attr]
    pending = await pending_changes(db, programme.gathering.id)
    assert [(c.session_id, c.kinds) for c in pending] == [(moved.id, ("moved_room",))]
    assert pending[0].before == {"room": "Venue tbc"}
    assert pending[0].after == {"room": "Main hall, Brighthelm Centre"}

    release = await release_programme(db, programme.gathering.id, released_by=None)
    assert release.number == 2
    after = await load_programme(db, SLUG)
    moved_now, other_now = after.session(moved.id), after.session(other.id)
    assert moved_now is not None and other_now is not None
    assert moved_now.room is not None and moved_now.room.venue.step_free is True
    assert moved_now.version == moved.version + 1
    assert moved_now.changed_at > moved.changed_at
    assert (other_now.version, other_now.changed_at) == (other.version, other.changed_at)


async def test_cancel_and_time_move_are_recorded_and_raise_versions(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, SLUG)
    target = programme.sessions[0]
    ps = schema.programme_session
    later = target.starts_at + dt.timedelta(hours=1)
    await _execute(
        db,
        sa.update(ps)
        .where(ps.c.id == target.id)
        .values(
            starts_at=later,
            ends_at=target.ends_at + dt.timedelta(hours=1),
            title="Let's talk about Palestine",
        ),
    )
    release = await release_programme(
        db, programme.gathering.id, released_by=None, note="Later start"
    )
    assert [c.kinds for c in release.changes] == [("moved_time", "retitled")]
    await _execute(db, sa.update(ps).where(ps.c.id == target.id).values(status="cancelled"))
    release = await release_programme(db, programme.gathering.id, released_by=None)
    assert [c.kinds for c in release.changes] == [("cancelled",)]
    cancelled = (await load_programme(db, SLUG)).session(target.id)
    assert cancelled is not None
    assert (cancelled.status, cancelled.version, cancelled.starts_at) == ("cancelled", 3, later)


async def test_release_without_changes_is_refused(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, SLUG)
    with pytest.raises(Conflict):
        await release_programme(db, programme.gathering.id, released_by=None)


async def test_drafts_and_private_details_never_reach_the_snapshot(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, "dont-leave-organise-2021")
    ps = schema.programme_session
    target = programme.sessions[-1]
    await _execute(db, sa.update(ps).where(ps.c.id == target.id).values(status="draft"))
    release = await release_programme(db, programme.gathering.id, released_by=None)
    assert [(c.session_id, c.kinds) for c in release.changes] == [(target.id, ("withdrawn",))]

    async def _snapshots(conn: AsyncConnection) -> str:
        rows = (await conn.execute(sa.select(schema.programme_release.c.snapshot))).scalars()
        return json.dumps(list(rows))

    text = await db.read(_snapshots)
    assert "meet.example.org" not in text  # joining links are private
    assert (await load_programme(db, "dont-leave-organise-2021")).session(target.id) is None


async def test_unknown_gathering_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        await load_programme(db, "nope")
