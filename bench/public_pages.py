"""Public pages at wire speed (issue 17): a wrk-style load of 16 connections on each public page.

``python -m bench.public_pages [--seconds 8] [--postgres ADMIN_URL]`` seeds one gathering of 300
released sessions, starts ``gathering serve`` and, for the programme page and one session page,
keeps 16 connections busy (brotli accepted, as phones send) for the given time. It prints pages per
second, p50/p99, bytes on the wire per page, the server's and the load generator's CPU (the load
generator must not be the bottleneck), the page-weight budget (compressed HTML of the programme
≤ 40 KB, CSS ≤ 15 KB), the load average, and how long a change of places takes to show.
The baseline is ``/healthz`` (one statement, a tiny JSON) measured in the same run.
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
        print(
            "| page | per s | p50 ms | p99 ms | bytes/page (br) | server CPU ms/page "
            "| load-gen CPU | ratio to baseline |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        base = 0.0
        for label, path in paths.items():
            cpu0 = cpu_seconds(server.process.pid)
            figures = asyncio.run(hammer(server.url + path, args.seconds))
            cpu = cpu_seconds(server.process.pid) - cpu0
            count = figures["per_s"] * figures["elapsed"]
            base = base or figures["per_s"]
            print(
                f"| {label} | {figures['per_s']:.0f} | {figures['p50']:.1f} | "
                f"{figures['p99']:.1f} | {figures['bytes']:.0f} | {cpu / count * 1000:.2f} | "
                f"{figures['loadgen_cpu'] * 100:.0f} % | {figures['per_s'] / base * 100:.0f} % |"
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
        print(f"a change of places shows after {delay:.2f} s (target ≤ 5 s)")
    css = (STATIC / "css" / "main.css").read_bytes()
    print(f"CSS main.css: {len(brotli.compress(css, quality=11))} B brotli (budget {CSS_BUDGET})")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
