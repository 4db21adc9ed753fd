"""The baseline: a minimal Starlette app with one route doing a given number of SQL statements.

Each benchmark scenario measures how many statements, in how many transactions, one of our
requests runs (``bench.probe``); the baseline route runs exactly that shape: for each unit of
work a read transaction (or a write transaction, serialised the same way, through the same
``gathering.core.database.Database``), with the same number of SELECTs (a row by primary key) and
INSERTs. It is served by the same uvicorn with the same options and loaded by the same generator,
so our figure divided by the baseline's says what the framework, the domain rules and the
templates cost on top of the database work, whatever the machine's speed today.

Run: ``python -m bench.baseline_app --port P`` with ``BENCH_BASELINE_DATABASE_URL`` and
``BENCH_BASELINE_SPEC`` (JSON: ``{SHAPE: {METHOD: [[is_write, selects, writes], ...]}}``; a
request names its shape in the query string, ``/?shape=scan``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import random
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gathering.core.database import Database

ROWS = 2000
metadata = sa.MetaData()
item = sa.Table(
    "bench_item",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
)
entry = sa.Table(
    "bench_entry",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("item_id", sa.Integer, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
)
Units = list[tuple[bool, int, int]]
Spec = dict[str, dict[str, Units]]


async def prepare(db: Database) -> None:
    """Create and fill the baseline's two tables (idempotent)."""

    async def _create(conn: AsyncConnection) -> None:
        await conn.run_sync(metadata.create_all)
        count = (await conn.execute(sa.select(sa.func.count()).select_from(item))).scalar_one()
        if count == 0:
            await conn.execute(
                sa.insert(item),
                [{"id": i, "name": f"Item {i}", "payload": "x" * 200} for i in range(1, ROWS + 1)],
            )

    await db.write(_create)


def _unit(selects: int, writes: int) -> Any:
    async def _run(conn: AsyncConnection) -> int:
        found = 0
        for _ in range(selects):
            row = (
                await conn.execute(sa.select(item).where(item.c.id == random.randint(1, ROWS)))
            ).first()
            found += row is not None
        for _ in range(writes):
            await conn.execute(
                sa.insert(entry).values(
                    item_id=random.randint(1, ROWS), at=dt.datetime.now(dt.UTC), payload="y" * 100
                )
            )
        return found

    return _run


def create_app(url: str, spec: Spec) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(url)
        await prepare(db)
        app.state.db = db
        try:
            yield
        finally:
            await db.dispose()

    async def endpoint(request: Request) -> Response:
        db: Database = request.app.state.db
        await request.body()
        found = 0
        shape = spec.get(request.query_params.get("shape", ""), {})
        for is_write, selects, writes in shape.get(request.method, []):
            if is_write:
                found += await db.write(_unit(selects, writes), serializable=False)
            else:
                found += await db.read(_unit(selects, writes))
        return JSONResponse({"status": "ok", "rows": found}, headers={"cache-control": "no-store"})

    return Starlette(routes=[Route("/", endpoint, methods=["GET", "POST"])], lifespan=lifespan)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    spec = json.loads(os.environ["BENCH_BASELINE_SPEC"])
    app = create_app(os.environ["BENCH_BASELINE_DATABASE_URL"], spec)
    # The options `gathering serve` gives uvicorn (gathering/cli.py), minus what needs settings;
    # and, as there, the collector stops walking what start-up built.
    gc.freeze()
    uvicorn.run(
        app,
        timeout_keep_alive=75,
        host="127.0.0.1",
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="warning",
        server_header=False,
    )


if __name__ == "__main__":
    main()
