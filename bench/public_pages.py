"""Public pages at wire speed (issue 17): a wrk-style load of 16 connections on each public page.

``python -m bench.public_pages [--seconds 8] [--postgres ADMIN_URL]`` seeds one gathering of 300
released sessions, starts ``gathering serve`` and, for the programme page and one session page,
keeps 16 connections busy (brotli accepted, as phones send) for the given time. It prints pages per
second, p50/p99, bytes on the wire per page, the server's and the load generator's CPU (the load
generator must not be the bottleneck), the page-weight budget (compressed HTML of the programme
≤ 40 KB, CSS ≤ 15 KB), the load average, and how long a change of places takes to show.
The baseline is ``/healthz`` (one statement, a tiny JSON) measured in the same run.

On PostgreSQL it also prints, per page, the database's transactions (each autocommit read is
one: round trips to the database) and its backends' CPU, from ``pg_stat_database`` and
``/proc``: on a shared machine those are steadier figures than pages per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import brotli  # type: ignore[import-untyped]
import sqlalchemy as sa

from bench import seed
from bench.load import cpu_seconds
from bench.run import Store, app_command, base_env, free_port, percentile, serve
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.templating import STATIC

CONNECTIONS = 16
HTML_BUDGET = 40 * 1024
CSS_BUDGET = 15 * 1024


async def hammer(url: str, seconds: float) -> dict[str, Any]:
    """16 connections GETting ``url`` back to back for ``seconds``."""
    latencies: list[float] = []
    wire = 0
    errors = 0
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    headers = {"accept-encoding": "br"}
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as client:

        async def worker() -> None:
            nonlocal wire, errors
            while time.monotonic() < stop:
                started = time.perf_counter()
                async with client.get(url, headers=headers) as response:
                    body = await response.read()
                latencies.append(time.perf_counter() - started)
                wire += len(body)
                errors += response.status != 200

        cpu0 = time.process_time()
        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.monotonic() - t0
        own_cpu = time.process_time() - cpu0
    return {
        "per_s": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "bytes": wire / max(len(latencies), 1),
        "errors": errors,
        "elapsed": elapsed,
        "loadgen_cpu": own_cpu / elapsed,
    }


_TRANSACTIONS = sa.text(
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
)
_BACKENDS = sa.text(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid()"
)
# A PostgreSQL backend reports its counts once it has been idle for a second (PG 15's
# IDLE_STATS_UPDATE_TIMEOUT): wait this long after a run before reading them.
_STATS_SETTLE_S = 1.5


async def database_counters(db_url: str) -> tuple[int, dict[int, float]]:
    """The scratch database's transactions so far and its backends' CPU seconds by pid."""
    db = Database(db_url)
    try:

        async def _read(conn: Any) -> tuple[int, list[int]]:
            transactions = int((await conn.execute(_TRANSACTIONS)).scalar_one())
            return transactions, [int(pid) for pid in (await conn.execute(_BACKENDS)).scalars()]

        transactions, pids = await db.read(_read)
    finally:
        await db.dispose()
    return transactions, {pid: cpu_seconds(pid) for pid in pids}


def database_use(
    before: tuple[int, dict[int, float]], after: tuple[int, dict[int, float]], pages: float
) -> str:
    """Transactions and backend CPU ms per page between two ``database_counters``."""
    transactions = after[0] - before[0] - 1  # less the first reading's own statement
    cpu = sum(seconds - before[1].get(pid, 0.0) for pid, seconds in after[1].items())
    return f"{transactions / pages:.3f} | {cpu / pages * 1000:.2f}"


async def places_delay(url: str, db_url: str, session_id: int) -> float:
    """Seconds from a change of places taken (written to the database) to the page showing it."""
    db = await seed.migrated(db_url)
    ps = schema.programme_session

    async def _write(conn: Any) -> None:
        await conn.execute(sa.update(ps).where(ps.c.id == session_id).values(places_taken=7))

    async with aiohttp.ClientSession() as client:
        before = await (await client.get(url)).read()
        await db.write(_write)
        written = time.monotonic()
        # A new body is the page changing (its places left).
        while time.monotonic() - written < 10:
            if await (await client.get(url)).read() != before:
                break
            await asyncio.sleep(0.05)
    await db.dispose()
    return time.monotonic() - written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--postgres", default="", help="an admin URL; a scratch database is made there"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-public-"))
    # --postgres names a server to make a scratch database on (as bench.run does), never the
    # database to write into: the admin URL's own database is left untouched.
    store = Store(workdir, args.postgres or None)
    db_url = asyncio.run(store.new("public"))
    try:
        return _measure(args, workdir, db_url)
    finally:
        asyncio.run(store.drop_all())


def _measure(args: argparse.Namespace, workdir: Path, db_url: str) -> int:
    async def _seed() -> seed.Seeded:
        db = await seed.migrated(db_url)
        try:
            return await seed.seed_programmes(db, ["programme"], 300)
        finally:
            await db.dispose()

    seeded = asyncio.run(_seed())
    port = free_port()
    env = base_env() | {"GATHERING_DATABASE_URL": db_url, "GATHERING_SECRET_KEY": "x" * 40}
    print(f"load average before: {os.getloadavg()}")
    with serve(app_command(port, None, None), env, port, workdir / "server.log") as server:
        paths = {
            "baseline /healthz": "/healthz",
            "programme (300 sessions)": "/g/programme",
            "session": f"/g/programme/s/{seeded.session_ids[-1]}",  # the last day: upcoming
            "changes": "/g/programme/changes",
            "home": "/",
        }
        postgres = not db_url.startswith("sqlite")
        print(
            "| page | per s | p50 ms | p99 ms | bytes/page (br) | server CPU ms/page "
            "| load-gen CPU | ratio to baseline |"
            + (" DB transactions/page | DB CPU ms/page |" if postgres else "")
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if postgres else ""))
        base = 0.0
        for label, path in paths.items():
            counters = asyncio.run(database_counters(db_url)) if postgres else None
            cpu0 = cpu_seconds(server.process.pid)
            figures = asyncio.run(hammer(server.url + path, args.seconds))
            cpu = cpu_seconds(server.process.pid) - cpu0
            count = figures["per_s"] * figures["elapsed"]
            base = base or figures["per_s"]
            database = ""
            if counters is not None:
                time.sleep(_STATS_SETTLE_S)
                after = asyncio.run(database_counters(db_url))
                database = f" {database_use(counters, after, count)} |"
            print(
                f"| {label} | {figures['per_s']:.0f} | {figures['p50']:.1f} | "
                f"{figures['p99']:.1f} | {figures['bytes']:.0f} | {cpu / count * 1000:.2f} | "
                f"{figures['loadgen_cpu'] * 100:.0f} % | {figures['per_s'] / base * 100:.0f} % |"
                + database
                + (f" errors {figures['errors']}" if figures["errors"] else "")
            )
        delay = asyncio.run(
            # The last seeded session is upcoming (an ended one shows no places) and has 100.
            places_delay(
                f"{server.url}/g/programme/s/{seeded.session_ids[-1]}",
                db_url,
                seeded.session_ids[-1],
            )
        )
        # Written by this bench, another process than the server's: it shows once the server's
        # remembered version is a second old (programme.page_cache), not on the next request.
        print(f"a change of places shows after {delay:.2f} s (target ≤ 5 s)")
    css = (STATIC / "css" / "main.css").read_bytes()
    print(f"CSS main.css: {len(brotli.compress(css, quality=11))} B brotli (budget {CSS_BUDGET})")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
