"""The registration form's page is kept per public generation (issue 13/14: the rush's hot path
reads one number instead of rebuilding the page): every change an organiser makes to what the
form offers shows on the very next request, with no release, and a kept page costs the GET and
the POST a few statements only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.demo import NEXT_SLUG
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import parse_html, texts
from tests.integration.test_public_speed_cache import counted

pytestmark = pytest.mark.anyio
FORM = f"/g/{NEXT_SLUG}/register"


async def _write(db: Database, *statements: sa.Executable) -> None:
    async def _unit(conn: AsyncConnection) -> None:
        for statement in statements:
            await conn.execute(statement)

    await db.write(_unit)


async def _one(db: Database, query: sa.Select[Any]) -> Any:
    async def _read(conn: AsyncConnection) -> Any:
        return (await conn.execute(query)).scalar_one()

    return await db.read(_read)


async def _form(client: httpx.AsyncClient) -> Any:
    answer = await client.get(FORM)
    assert answer.status_code == 200, answer.text[:300]
    return parse_html(answer.text)


def _ticket_types(page: Any) -> list[str]:
    return texts(page, "//input[@name='ticket_type_id']/following-sibling::label")


async def test_every_change_to_what_the_form_offers_shows_on_the_next_request(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    g, t, q, h, o = (
        schema.gathering,
        schema.ticket_type,
        schema.question,
        schema.session_host,
        schema.organisation,
    )
    gathering_id = await _one(db, sa.select(g.c.id).where(g.c.slug == NEXT_SLUG))
    first = await _form(client)
    assert first.xpath("//button[@type='submit' and normalize-space()='Register']")
    before = _ticket_types(first)
    assert before and not any("Solidarity price" in x for x in before)
    assert (await _form(client)) is not None  # kept from here on

    # A ticket type added: offered at once.
    await _write(
        db, sa.insert(t).values(gathering_id=gathering_id, name="Solidarity price", position=99)
    )
    assert any("Solidarity price" in x for x in _ticket_types(await _form(client)))

    # A question added: asked at once.
    await _write(
        db,
        sa.insert(q).values(
            gathering_id=gathering_id,
            key="dietary_needs",
            label="Anything we should cook around?",
            help="",
            is_required=False,
            position=99,
        ),
    )
    page = await _form(client)
    assert "Anything we should cook around?" in " ".join(texts(page, "//label"))

    # A co-host added to a session: it joins the organisations one may let contact one.
    session_id = await _one(
        db,
        sa.select(schema.programme_session.c.id)
        .where(schema.programme_session.c.gathering_id == gathering_id)
        .order_by(schema.programme_session.c.id)
        .limit(1),
    )
    hosting = sa.select(h.c.organisation_id).where(h.c.session_id == session_id)
    newcomer_id, newcomer = await db.read(
        lambda conn: _first_row(
            conn,
            sa.select(o.c.id, o.c.name)
            .where(o.c.id.not_in(hosting))
            .where(
                o.c.id
                != sa.select(g.c.host_organisation_id)
                .where(g.c.id == gathering_id)
                .scalar_subquery()
            )
            .order_by(o.c.id),
        )
    )
    assert newcomer not in " ".join(texts(page, "//fieldset[@id='consent']"))
    await _write(db, sa.insert(h).values(session_id=session_id, organisation_id=newcomer_id))
    assert newcomer in " ".join(texts(await _form(client), "//fieldset[@id='consent']"))

    # Registration closed by its organisers: the form says so at once.
    await _write(db, sa.update(g).where(g.c.id == gathering_id).values(registration_open=False))
    closed = await _form(client)
    assert not closed.xpath("//button[@type='submit' and normalize-space()='Register']")


async def _first_row(conn: AsyncConnection, query: sa.Select[Any]) -> tuple[int, str]:
    row = (await conn.execute(query)).first()
    assert row is not None
    return int(row[0]), str(row[1])


async def test_a_kept_form_page_costs_one_statement(
    db: Database, client: httpx.AsyncClient
) -> None:
    """The generation and the places taken, read together: the page itself is kept, with the
    release it was built from (every release raises the generation)."""
    await load_demo(db, secret_key=TEST_SECRET)
    app = client._transport.app  # type: ignore[attr-defined]
    await _form(client)
    with counted(app) as statements:
        page = await _form(client)
    assert _ticket_types(page)
    assert len(statements) <= 1, statements
