"""The rushes' statements run on sqlite3 directly (gathering.core.prepared) answer and store
exactly what SQLAlchemy's own execution does, on both engines; and they are the ones run so."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from gathering.core import prepared, throttles
from gathering.core.database import Database
from gathering.core.schema import outbox, programme_session, registration, session_place
from gathering.demo import NEXT_SLUG
from gathering.mail import queries as mail_queries
from gathering.registration import place_queries
from gathering.registration import queries as registration_queries
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.door_data import insert_open_door
from tests.helpers import parse_html
from tests.statements import statements_run

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2027, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)


def _registration_values(gathering_id: int, email: str, answers: Any) -> dict[str, Any]:
    return {
        "gathering_id": gathering_id,
        "name": "Ffion Prepared",
        "email": email,
        "ticket_type_id": None,
        "answers": answers,
        "share_access_needs": False,
        "manage_key": f"key-{email}",
        "expires_at": NOW + dt.timedelta(hours=24),
        "created_at": NOW,
        "status": "pending",
        "chosen_language": None,
        "for_gathering": gathering_id,
    }


async def _next_gathering_and_session(conn: AsyncConnection) -> tuple[int, int]:
    """The demo's next gathering and its first session."""
    found = await conn.execute(
        sa.text(
            "SELECT g.id, s.id FROM gathering g JOIN programme_session s "
            "ON s.gathering_id = g.id WHERE g.slug = :slug ORDER BY s.id LIMIT 1"
        ),
        {"slug": NEXT_SLUG},
    )
    gathering_id, session_id = found.one()
    return int(gathering_id), int(session_id)


async def _queue(conn: AsyncConnection, registration_id: int, context: Any) -> int:
    """Queue a confirmation mail to the registration, rendered at send time from ``context``."""
    return await mail_queries.queue_message(
        conn,
        kind="confirm_email",
        to_address="p@example.org",
        subject="",
        body_text="",
        now=NOW,
        registration_id=registration_id,
        context=context,
    )


async def _stored(conn: AsyncConnection, table: sa.Table, row_id: int) -> dict[str, Any]:
    found = (await conn.execute(sa.select(table).where(table.c.id == row_id))).one()
    return dict(found._mapping)


async def test_the_rush_statements_answer_and_store_what_sqlalchemy_does(
    db: Database, engine_name: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)

    async def _check(conn: AsyncConnection) -> None:
        gathering_id, session_id = await _next_gathering_and_session(conn)
        # The throttles' count (four a registration) is one of them, and answers its row.
        hit = throttles._HIT["postgresql" if engine_name == "postgresql" else "sqlite"]
        window = {"key": "k", "now": NOW, "expired_before": NOW - dt.timedelta(hours=1)}
        assert prepared.is_prepared(conn, hit, window) == (engine_name == "sqlite")
        counted = await throttles.hit(conn, "k", NOW, dt.timedelta(hours=1))
        assert counted == throttles.ThrottleRow("k", 1, NOW)
        assert (await throttles.hit(conn, "k", NOW, dt.timedelta(hours=1))).hits == 2
        reads = [
            (registration_queries._GENERATION_AND_PLACES, {"gathering_id": gathering_id}),
            (registration_queries._PUBLIC_GENERATION, {}),
            (
                registration_queries._LIVE_REGISTRATION_ID,
                {"gathering_id": gathering_id, "email": "nobody@example.org"},
            ),
        ]
        for statement, values in reads:
            assert prepared.is_prepared(conn, statement, values) == (engine_name == "sqlite")
            expected = [tuple(row) for row in await conn.execute(statement, values)]
            assert await prepared.rows(conn, statement, values) == expected
            assert await prepared.first(conn, statement, values) == (expected or [None])[0]

        # Inserts: the same values through both paths store the same row (JSON null included).
        for answers in ({"diet": "fegan", "mynediad": "ramp"}, None):
            mine = _registration_values(gathering_id, "prepared@example.org", answers)
            theirs = _registration_values(gathering_id, "sqlalchemy@example.org", answers)
            statement = registration_queries._INSERT_REGISTRATION
            assert prepared.is_prepared(conn, statement, mine) == (engine_name == "sqlite")
            ((mine_id,),) = await prepared.rows(conn, statement, mine)
            theirs_id = (await conn.execute(statement, theirs)).scalar_one()
            stored_mine = await _stored(conn, registration, mine_id)
            stored_theirs = await _stored(conn, registration, theirs_id)
            for row in (stored_mine, stored_theirs):
                row.pop("id"), row.pop("email"), row.pop("manage_key")
            assert stored_mine == stored_theirs
            assert stored_mine["expires_at"] == NOW + dt.timedelta(hours=24)
            assert stored_mine["answers"] == answers
            await conn.execute(sa.delete(registration).where(registration.c.id == theirs_id))
            found = await registration_queries.live_registration_id(
                conn, gathering_id, "prepared@example.org"
            )
            assert found == mine_id
            await conn.execute(sa.delete(registration).where(registration.c.id == mine_id))

        registration_id = await registration_queries.insert_registration(
            conn,
            registration_queries.NewRegistration(
                **{
                    k: v
                    for k, v in _registration_values(gathering_id, "p@example.org", None).items()
                    if k in registration_queries.NewRegistration._fields
                }
            ),
        )
        before = (
            await conn.execute(
                sa.select(programme_session.c.places_taken).where(
                    programme_session.c.id == session_id
                )
            )
        ).scalar_one()
        assert await place_queries.take_place(conn, session_id)
        after = (
            await conn.execute(
                sa.select(programme_session.c.places_taken).where(
                    programme_session.c.id == session_id
                )
            )
        ).scalar_one()
        assert after == before + 1
        held = NOW + dt.timedelta(minutes=20)
        place_id = await place_queries.insert_place(
            conn, registration_id, session_id, "confirmed", NOW, held_until=held
        )
        place = await _stored(conn, session_place, place_id)
        assert (place["status"], place["offered_until"], place["created_at"]) == (
            "confirmed",
            held,
            NOW,
        )
        message_id = await _queue(conn, registration_id, {"name": "Ffion", "places": [1, 2]})
        message = await _stored(conn, outbox, message_id)
        assert message["context"] == {"name": "Ffion", "places": [1, 2]}
        assert message["attachments"] == []
        assert message["send_after"] == NOW and message["language"] in ("en", "cy")
        raise _RollBack

    with pytest.raises(_RollBack):
        await db.write(_check)


async def test_a_registration_runs_none_of_its_statements_through_sqlalchemy_on_sqlite(
    db: Database, engine_name: str
) -> None:
    """The rush's seven statements (kept page check, places, address, registration, place,
    its row, the mail) reach SQLite without SQLAlchemy's execution (its events never see
    them); on PostgreSQL all seven go through SQLAlchemy."""
    await load_demo(db, secret_key=TEST_SECRET)
    seen: list[str] = []

    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    async def _register(conn: AsyncConnection) -> None:
        gathering_id, session_id = await _next_gathering_and_session(conn)
        sa.event.listen(db.engine.sync_engine, "before_cursor_execute", _seen)
        try:
            await registration_queries.public_generation_number(conn)
            await registration_queries.generation_and_places(conn, gathering_id)
            await registration_queries.live_registration_id(conn, gathering_id, "n@example.org")
            new = _registration_values(gathering_id, "n@example.org", {"diet": "fegan"})
            registration_id = await registration_queries.insert_registration(
                conn,
                registration_queries.NewRegistration(
                    **{k: new[k] for k in registration_queries.NewRegistration._fields}
                ),
            )
            await place_queries.take_place(conn, session_id)
            await place_queries.insert_place(conn, registration_id, session_id, "confirmed", NOW)
            await _queue(conn, registration_id, {"name": "N"})
        finally:
            sa.event.remove(db.engine.sync_engine, "before_cursor_execute", _seen)
        raise _RollBack

    with pytest.raises(_RollBack):
        await db.write(_register)
    assert len(seen) == (0 if engine_name == "sqlite" else 7), seen


class _RollBack(Exception):
    """Leaves the demo as it was."""


async def test_a_statement_the_driver_cannot_run_exactly_is_left_to_sqlalchemy(
    db: Database, engine_name: str
) -> None:
    """An expanding IN parameter (rendered per call) is not prepared, and still answers."""
    statement = sa.select(registration.c.id).where(
        registration.c.status.in_(sa.bindparam("statuses", expanding=True))
    )

    async def _read(conn: AsyncConnection) -> list[tuple[Any, ...]]:
        assert not prepared.is_prepared(conn, statement, {"statuses": ["pending"]})
        return await prepared.rows(conn, statement, {"statuses": ["pending"]})

    assert await db.read(_read) == []


async def test_a_door_scan_runs_none_of_its_statements_through_sqlalchemy_on_sqlite(
    app: Starlette, client: httpx.AsyncClient, engine_name: str
) -> None:
    """A first scan and a re-scan: the pass, the nonce, the ticket, its moves, the check-in and
    the scan's row reach SQLite directly; SQLite's trace sees them all, SQLAlchemy's events
    none of them. The answers are the door's usual ones."""
    db: Database = app.state.db
    door = await insert_open_door(db)
    page = parse_html((await client.get(f"/door/{door.token}")).text)
    [form] = page.xpath("//form[@id='door-open-form']")
    csrf = form.xpath(".//input[@name='csrftoken']/@value")[0]
    opened = await client.post(
        form.get("data-open-url"),
        json={"token": door.token, "pin": door.pin},
        headers={"x-csrftoken": csrf},
    )
    assert opened.status_code == 200, opened.text
    seen: list[str] = []

    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    reasons = []
    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", _seen)
    try:
        with statements_run(db, work_only=True) as ran:
            for _ in range(2):
                body = {"code": door.code, "door": "Main door", "nonce": uuid.uuid4().hex}
                answer = await client.post(
                    "/door/api/scan", json=body, headers={"x-csrftoken": csrf}
                )
                reasons.append(answer.json()["reason"])
    finally:
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", _seen)
    assert reasons == ["ok", "already_checked_in"]
    assert any(s.startswith("INSERT INTO check_in") for s in ran)
    assert sum(s.startswith("INSERT INTO scan") for s in ran) == 2
    if engine_name == "sqlite":
        assert seen == []
    else:
        assert len(seen) == len(ran)


async def test_a_kept_feed_and_its_304_run_no_statement_through_sqlalchemy_on_sqlite(
    app: Starlette, client: httpx.AsyncClient, engine_name: str
) -> None:
    """A calendar feed asked for again (kept) and then with its ETag (304): the gathering and
    its newest release are read on sqlite3 directly; the answers are the feed and the 304."""
    db: Database = app.state.db
    await load_demo(db, secret_key=TEST_SECRET)
    path = f"/g/{NEXT_SLUG}/calendar.ics"
    first = await client.get(path)
    assert first.status_code == 200 and first.text.startswith("BEGIN:VCALENDAR")
    seen: list[str] = []

    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", _seen)
    try:
        with statements_run(db, work_only=True) as ran:
            again = await client.get(path)
            unchanged = await client.get(path, headers={"if-none-match": first.headers["etag"]})
    finally:
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", _seen)
    assert again.text == first.text
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert len(ran) == 4  # the gathering and its newest release, for each request
    assert seen == [] if engine_name == "sqlite" else len(seen) == 4
