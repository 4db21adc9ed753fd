"""The programme's typed seams: what its queries return, and a release's JSON read back."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import NotFound
from gathering.programme import queries
from gathering.programme.release import load_programme, pending_changes, release_programme
from gathering.programme.snapshots import current_sessions, session_from_json
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.factories import add_room

pytestmark = pytest.mark.anyio
SLUG = "labour-conference-2019"


async def test_release_of_an_unknown_gathering_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound) as raised:
        await release_programme(db, 987654, released_by=None)
    assert raised.value.message == "There is no such gathering."
    assert await pending_changes(db, 987654) == []


async def test_gathering_rows_are_typed_and_a_missing_slug_is_none(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)

    async def _read(
        conn: AsyncConnection,
    ) -> tuple[queries.GatheringRow | None, queries.GatheringRow | None]:
        return (
            await queries.gathering_row(conn, slug=SLUG),
            await queries.gathering_row(conn, slug="no-such-gathering"),
        )

    found, missing = await db.read(_read)
    assert missing is None
    assert isinstance(found, queries.GatheringRow)
    assert (found.slug, found.timezone, found.registration_open) == (SLUG, "Europe/London", True)
    assert found.released_version == 1

    async def _by_id(conn: AsyncConnection) -> queries.GatheringRow:
        return await queries.gathering_row(conn, gathering_id=found.id)

    assert await db.read(_by_id) == found


async def test_released_snapshot_reads_back_as_the_sessions_it_was_made_from(
    db: Database,
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    programme = await load_programme(db, SLUG, live_places=False)
    room_id = await add_room(db, programme.gathering.id)

    async def _place(conn: AsyncConnection) -> None:
        table = schema.programme_session
        await conn.execute(
            table.update().where(table.c.id == programme.sessions[0].id).values(room_id=room_id)
        )

    await db.write(_place)
    await release_programme(db, programme.gathering.id, released_by=None)
    released = await load_programme(db, SLUG, live_places=False)

    # The rows as a snapshot stores them now, read back as values: the released sessions exactly.
    current = await db.read(lambda conn: current_sessions(conn, programme.gathering.id))
    rebuilt = tuple(session_from_json(item) for item in current.values())
    assert sorted(rebuilt, key=lambda s: s.id) == sorted(released.sessions, key=lambda s: s.id)
    placed = released.session(programme.sessions[0].id)
    assert placed is not None and placed.room is not None
    assert (placed.room.name, placed.room.venue.name) == ("Main hall", "Brighthelm Centre")
