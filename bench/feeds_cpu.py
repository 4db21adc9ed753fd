"""CPU of a cold feed, in one process: ``python -m bench.feeds_cpu``.

The cold builds of ``bench.run --only feeds`` without the HTTP server and the load generator,
one figure for each kind of feed: a fresh SQLite file seeded as there (gatherings of 300 released
sessions), our app (production settings) called straight through ASGI. The first gathering's
feeds warm the process up; each other gathering's ``calendar.ics``, ``schedule.xml`` and
``schedule.json`` is then asked for once, nothing of it cached yet, and this process's CPU time
(``time.process_time``, steadier on a busy machine than the clock) is printed per request.

Then the calendar builder alone, on one of those gatherings: ``build_calendar`` (what the feed
serves) against icalendar writing the same calendar from its components
(``make_calendar(...).to_ical()``), the least and the median of ``--repeat`` builds each, and a
check that the bytes are the same. ``--top N`` prints a cProfile of the cold ``.ics`` requests.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench import seed

SESSIONS = 300
BASE_URL = "http://127.0.0.1:8000"
FEEDS = {"calendar.ics": b"BEGIN:VCALENDAR", "schedule.xml": b"<?xml", "schedule.json": b"{"}


def _timed(build: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Least and median CPU ms of ``repeat`` calls."""
    spent = []
    for _ in range(repeat):
        start = time.process_time()
        build()
        spent.append(1000 * (time.process_time() - start))
    return min(spent), statistics.median(spent)


async def _cold_requests(
    client: httpx.AsyncClient, slugs: list[str], profiler: cProfile.Profile | None
) -> dict[str, list[float]]:
    spent: dict[str, list[float]] = {feed: [] for feed in FEEDS}
    for slug in slugs:
        for feed, opening in FEEDS.items():
            if profiler is not None and feed == "schedule.xml":
                profiler.enable()
            start = time.process_time()
            answer = await client.get(f"/g/{slug}/{feed}")
            spent[feed].append(1000 * (time.process_time() - start))
            if profiler is not None:
                profiler.disable()
            assert answer.status_code == 200 and answer.content.startswith(opening), feed
    return spent


def _builder(slug: str, db_url: str, repeat: int) -> None:
    from gathering.calendars.rules import FeedEvent, FeedInfo, build_calendar, make_calendar
    from gathering.core.database import Database
    from gathering.programme.release import Programme, load_programme

    async def _load() -> Programme:
        db = Database(db_url)
        try:
            return await load_programme(db, slug, live_places=False)
        finally:
            await db.dispose()

    programme = asyncio.run(_load())
    gathering, sessions = programme.gathering, programme.sessions
    page = f"{BASE_URL}/g/{gathering.slug}"
    info = FeedInfo(gathering.title, page, f"{page}/calendar.ics", "The programme.")
    events = [FeedEvent(gathering, s, f"{page}/s/{s.id}") for s in sessions]
    direct = build_calendar(info, events, BASE_URL)
    assert direct == make_calendar(info, events, BASE_URL).to_ical(), "the writers disagree"
    print(f"\ncalendar builder, one gathering ({len(events)} sessions, {len(direct)} bytes):")
    for name, build in (
        ("build_calendar (served)", lambda: build_calendar(info, events, BASE_URL)),
        (
            "icalendar to_ical, same calendar",
            lambda: make_calendar(info, events, BASE_URL).to_ical(),
        ),
    ):
        least, median = _timed(build, repeat)
        print(f"  {name:34} least {least:6.1f} ms CPU, median {median:6.1f} ms")


async def _serve(args: argparse.Namespace, url: str, slugs: list[str]) -> None:
    from gathering.app import create_app
    from gathering.core.settings import Settings

    settings = Settings(
        env="production",
        database_url=url,
        secret_key=secrets.token_urlsafe(32),
        base_url=BASE_URL,
        migrate_on_start=False,
    )
    app = create_app(settings)
    profiler = cProfile.Profile() if args.top else None
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            await _cold_requests(client, slugs[:1], None)  # imports, templates, zone tables
            spent = await _cold_requests(client, slugs[1:], profiler)
    print(f"cold feeds of {len(slugs) - 1} gatherings of {SESSIONS} sessions (ms CPU each):")
    for feed, figures in spent.items():
        each = " ".join(f"{f:5.1f}" for f in figures)
        median, most = statistics.median(figures), max(figures)
        print(f"  {feed:14} {each}   median {median:5.1f}, most {most:5.1f}")
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gatherings", type=int, default=6, help="cold gatherings to ask for")
    parser.add_argument("--repeat", type=int, default=20, help="builds timed for the builder")
    parser.add_argument("--top", type=int, default=0, help="print the N costliest functions")
    args = parser.parse_args()
    slugs = [f"feeds-{number}" for number in range(args.gatherings + 1)]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'feeds.db'}"

        async def _seed() -> None:
            db = await seed.migrated(url)
            try:
                await seed.seed_programmes(db, slugs, SESSIONS)
            finally:
                await db.dispose()

        asyncio.run(_seed())
        asyncio.run(_serve(args, url, slugs))
        _builder(slugs[1], url, args.repeat)


if __name__ == "__main__":
    main()
