"""CPU per person of the registration rush, in one process: ``python -m bench.registration_cpu``.

The rush of ``bench.run --only registration`` without the HTTP server and the load generator:
a fresh SQLite file seeded as there, our app (production settings) called straight through ASGI
by each simulated person (GET the form, POST it with its cookie and token), a few at a time.
The figure is this process's CPU time per person (``time.process_time``), steadier on a busy
machine than a rate; ``--profile FILE`` writes a cProfile of the timed people (``pstats``), and
``--top N`` prints its N costliest functions by their own time and by cumulative time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import re
import secrets
import tempfile
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import seed

CSRF_FIELD = re.compile(rb'name="csrftoken" value="([^"]+)"')


async def _call(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    status = 0
    answer_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, answer_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            answer_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, answer_headers, b"".join(chunks)


async def _person(app: Any, path: str, number: int, ticket_type_id: int, session_id: int) -> None:
    status, headers, page = await _call(app, "GET", path, [])
    found = CSRF_FIELD.search(page)
    cookie: SimpleCookie = SimpleCookie()
    for name, value in headers:
        if name == b"set-cookie":
            cookie.load(value.decode("latin-1"))
    assert status == 200 and found is not None and "csrftoken" in cookie, status
    form = {
        "name": f"Rush person {number}",
        "email": f"rush{number}-{uuid.uuid4().hex[:8]}@example.org",
        "ticket_type_id": str(ticket_type_id),
        "session_ids": str(session_id),
        "csrftoken": found.group(1).decode(),
    }
    body = urlencode(form).encode()
    request_headers = [
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(len(body)).encode()),
        (b"cookie", f"csrftoken={cookie['csrftoken'].value}".encode()),
    ]
    status, _headers, answer = await _call(app, "POST", path, request_headers, body)
    assert status == 200 and b"Check your email" in answer, (status, answer[:300])


async def run(args: argparse.Namespace) -> None:
    from gathering.app import create_app
    from gathering.core.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'rush.db'}"
        db = await seed.migrated(url)
        try:
            seeded = await seed.seed_registration(db, "registration-rush", seed.RUSH_PLACES)
        finally:
            await db.dispose()
        settings = Settings(
            env="production",
            database_url=url,
            secret_key=secrets.token_urlsafe(32),
            base_url="http://127.0.0.1:8000",
            migrate_on_start=False,
            registrations_per_client=1_000_000,
            held_registrations_per_client=1_000_000,
        )
        app = create_app(settings)
        path = f"/g/{seeded.slugs[0]}/register"
        async with app.router.lifespan_context(app):
            numbers = iter(range(args.warmup + args.people * args.rounds))

            async def batch(count: int) -> None:
                async def worker() -> None:
                    for _ in range(count // args.concurrency):
                        number = next(numbers)
                        await _person(
                            app, path, number, seeded.ticket_type_id, seeded.rush_session_id
                        )

                await asyncio.gather(*(worker() for _ in range(args.concurrency)))

            await batch(args.warmup)
            profiler = cProfile.Profile() if args.profile or args.top else None
            rounds: list[float] = []
            began, wall = time.process_time(), time.perf_counter()
            if profiler is not None:
                profiler.enable()
            for _ in range(args.rounds):
                start = time.process_time()
                await batch(args.people)
                rounds.append(1000 * (time.process_time() - start) / args.people)
            if profiler is not None:
                profiler.disable()
            cpu, elapsed = time.process_time() - began, time.perf_counter() - wall
    people = args.people * args.rounds
    print(f"{people} people: {1000 * cpu / people:.2f} ms CPU a person ", end="")
    print(f"({people / elapsed:.0f}/s wall clock, in one process)")
    print("rounds of", args.people, "(ms a person):", " ".join(f"{r:.2f}" for r in rounds))
    print(f"least: {min(rounds):.2f} ms")
    if profiler is not None:
        if args.profile:
            profiler.dump_stats(args.profile)
        if args.top:
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100, help="people in a round")
    parser.add_argument("--rounds", type=int, default=10, help="rounds, each timed apart")
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the timed people here")
    parser.add_argument("--top", type=int, default=0, help="print the N costliest functions")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))


if __name__ == "__main__":
    main()
