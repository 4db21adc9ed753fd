"""``tests/demo_state.py``: the demo put back from a real load's rows is that load's database, row
for row and sequence for sequence, on both engines; anything that could make a load differ runs
the real loader."""

from __future__ import annotations

import datetime as dt
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import clock
from gathering.core.database import Database
from gathering.core.schema import organisation
from gathering.demo import NEXT_SLUG
from gathering.programme import release
from tests import demo_state
from tests.conftest import TEST_SECRET, migrated_database

pytestmark = pytest.mark.anyio


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """No rows kept from earlier tests, and the loads counted from zero."""
    monkeypatch.setattr(demo_state, "_kept", {})
    counts = {"real": 0, "kept": 0}
    monkeypatch.setattr(demo_state, "loads", counts)
    return counts


@pytest.fixture
def second_db_url(
    engine_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """Another database in the migrated template's state, of the same engine."""
    yield from migrated_database(engine_name, request, tmp_path / "second.db", durable=False)


@pytest.fixture
async def second(second_db_url: str) -> AsyncIterator[Database]:
    database = Database(second_db_url)
    yield database
    await database.dispose()


async def _new_group(conn: AsyncConnection, slug: str) -> int:
    made = await conn.execute(
        sa.insert(organisation)
        .values(slug=slug, name=slug, short_name=slug[:4], created_at=clock.utc_now())
        .returning(organisation.c.id)
    )
    return int(made.scalar_one())


def _sorted(rows: dict[str, Any]) -> dict[str, list[str]]:
    """Each table's rows in one order, as text (PostgreSQL's come as JSON)."""
    return {
        table: sorted(
            json.dumps(row, sort_keys=True, default=str)
            for row in (json.loads(found) if isinstance(found, str) else found[1])
        )
        for table, found in rows.items()
    }


async def test_a_kept_load_is_the_real_load_row_for_row(
    db: Database, second: Database, kept: dict[str, int]
) -> None:
    first = await demo_state.load_demo(db, secret_key=TEST_SECRET)
    assert kept == {"real": 1, "kept": 0}
    again = await demo_state.load_demo(second, secret_key=TEST_SECRET)
    assert kept == {"real": 1, "kept": 1}
    assert again == first and first.inserted > 100

    real_rows, real_sequences = await db.read(demo_state._taken)
    put_rows, put_sequences = await second.read(demo_state._taken)
    assert _sorted(put_rows) == _sorted(real_rows)
    assert put_sequences == real_sequences
    assert {"organisation", "programme_session", "programme_release", "account"} <= set(put_rows)
    # The public generation is the loader's, not raised again by the rows going back in.
    generation = "SELECT generation FROM public_generation"
    assert await second.read(lambda c: c.scalar(sa.text(generation))) == await db.read(
        lambda c: c.scalar(sa.text(generation))
    )

    # The next row made gets the same id in both: the sequences are where the loader left them.
    made = [await d.write(lambda c: _new_group(c, "new-group")) for d in (db, second)]
    assert made[0] == made[1]
    # And the kept database works as the demo: its next gathering is there, with its sessions.
    sessions = sa.text(
        "SELECT count(*) FROM programme_session s JOIN gathering g ON g.id = s.gathering_id "
        "WHERE g.slug = :slug"
    )
    counted = [
        await d.read(lambda c: c.scalar(sessions, {"slug": NEXT_SLUG})) for d in (db, second)
    ]
    assert counted[0] == counted[1] > 0


async def test_a_database_already_written_to_gets_the_real_loader(
    db: Database, second: Database, kept: dict[str, int]
) -> None:
    await demo_state.load_demo(db, secret_key=TEST_SECRET)
    await second.write(lambda c: _new_group(c, "first-group"))
    await demo_state.load_demo(second, secret_key=TEST_SECRET)
    assert kept == {"real": 2, "kept": 0}
    # Loading twice is the real loader's business too: it finds everything and inserts nothing.
    assert (await demo_state.load_demo(db, secret_key=TEST_SECRET)).inserted == 0
    assert kept == {"real": 3, "kept": 0}


async def test_a_moved_clock_gets_the_real_loader(
    db: Database, second: Database, kept: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    await demo_state.load_demo(db, secret_key=TEST_SECRET)
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2021, 9, 1, 12, tzinfo=dt.UTC))
    logins = await demo_state.load_demo(second, secret_key=TEST_SECRET)
    assert kept == {"real": 2, "kept": 0} and logins.inserted > 100
    # Its rows carry the moved clock's instant, as the real loader writes it.
    made = sa.select(sa.func.min(organisation.c.created_at))
    assert await second.read(lambda c: c.scalar(made)) == dt.datetime(2021, 9, 1, 12, tzinfo=dt.UTC)
    assert await db.read(lambda c: c.scalar(made)) > dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


async def test_rows_older_than_the_limit_are_taken_again(
    db: Database, second: Database, kept: dict[str, int]
) -> None:
    await demo_state.load_demo(db, secret_key=TEST_SECRET)
    [(key, rows)] = demo_state._kept.items()
    old = rows.taken - demo_state._FRESH_FOR - 1
    demo_state._kept[key] = demo_state._Kept(rows.logins, rows.rows, rows.sequences, old)
    await demo_state.load_demo(second, secret_key=TEST_SECRET)
    assert kept == {"real": 2, "kept": 0}
    assert demo_state._kept[key].taken > rows.taken  # the second load's rows are kept now


async def test_a_kept_load_leaves_each_release_parsed_as_the_real_one_does(
    db: Database, second: Database, kept: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public page's first rendering runs the same statements after either load (the page
    tests count them): the newest release of each gathering is parsed in this process."""
    parsed: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
    monkeypatch.setattr(release, "_releases", parsed)
    await demo_state.load_demo(db, secret_key=TEST_SECRET)
    await demo_state.load_demo(second, secret_key=TEST_SECRET)
    assert kept == {"real": 1, "kept": 1}

    def newest(database: Database) -> set[tuple[int, int]]:
        url = str(database.engine.url)
        return {(key[1], key[3]) for key in parsed if key[0] == url}

    heads = sa.text("SELECT gathering_id, max(number) FROM programme_release GROUP BY gathering_id")

    async def _heads(conn: AsyncConnection) -> set[tuple[int, int]]:
        return {(gathering, number) for gathering, number in (await conn.execute(heads)).all()}

    released = await second.read(_heads)
    assert len(released) >= 3 and released == await db.read(_heads)
    assert newest(second) == released  # the kept load: the newest of each, nothing else
    assert released <= newest(db)  # the real load: also a release it replaced


async def test_rows_go_back_only_into_a_database_still_in_the_template_state(
    db: Database, second: Database, kept: dict[str, int]
) -> None:
    """The state is looked at again in the unit that writes: a row that came in since the first
    look (the app's own work, say) sends the load to the real loader, with nothing written."""
    await demo_state.load_demo(db, secret_key=TEST_SECRET)
    [rows] = demo_state._kept.values()
    revision = await second.read(demo_state._template_revision)
    assert revision is not None and revision == await db.read(
        lambda c: c.scalar(sa.text("SELECT version_num FROM alembic_version"))
    )
    await second.write(lambda c: _new_group(c, "came-in-since"))
    assert await second.read(demo_state._template_revision) is None
    assert not await second.write(lambda c: demo_state._put_back(c, rows, revision))

    async def _groups(conn: AsyncConnection) -> list[str]:
        return list((await conn.scalars(sa.select(organisation.c.slug))).all())

    assert await second.read(_groups) == ["came-in-since"]


async def test_a_load_refused_at_the_write_runs_the_real_loader_and_keeps_nothing_new(
    db: Database, second: Database, kept: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row that comes in between the first look and the writing unit: the real loader runs
    on top of it, and its rows (not the template's demo) are not kept for later loads."""
    await demo_state.load_demo(db, secret_key=TEST_SECRET)
    before = dict(demo_state._kept)
    put_back = demo_state._put_back

    async def _written_first(conn: AsyncConnection, rows: Any, revision: str) -> bool:
        await _new_group(conn, "came-in-since")
        return await put_back(conn, rows, revision)

    monkeypatch.setattr(demo_state, "_put_back", _written_first)
    logins = await demo_state.load_demo(second, secret_key=TEST_SECRET)
    assert kept == {"real": 2, "kept": 0} and logins.inserted > 100
    assert demo_state._kept == before
