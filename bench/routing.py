"""Route lookup cost per request, in-process: the app's routes as one flat Starlette list (the
order they are declared in) against the table ``create_app`` builds from them
(``gathering.core.routing.grouped``: a ``Mount`` per first segment, the busiest first). Every
route gets a do-nothing endpoint, so only the lookup is timed; CPU time (``time.process_time``),
best of 9 rounds, so other work on the machine barely moves the figures.

``python -m bench.routing`` prints microseconds per request for a few hot paths.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.routing import BaseRoute, Route, Router

from gathering.app import BUSIEST_GROUPS, route_list
from gathering.core.routing import grouped

PATHS = [
    ("POST", "/door/api/scan"),
    ("GET", "/g/some-slug"),
    ("GET", "/g/some-slug/calendar.ics"),
    ("POST", "/g/some-slug/register"),
    ("GET", "/r/some-token/ticket"),
    ("GET", "/healthz"),
]
ROUNDS, REQUESTS = 9, 10_000


class _Nothing:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        return


def _stubbed(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The same paths, methods and names, with do-nothing endpoints."""
    return [
        Route(r.path, _Nothing(), methods=r.methods, name=r.name) if isinstance(r, Route) else r
        for r in routes
    ]


async def _cost(router: Router, method: str, path: str) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(REQUESTS):
            scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
            await router(scope, _never, _never)
        best = min(best, (time.process_time() - started) / REQUESTS * 1e6)
    return best


async def _never(*_args: Any) -> Any:
    raise AssertionError("the endpoints do nothing")


async def main() -> None:
    flat = _stubbed(route_list())
    variants = {
        "flat list": Router(list(flat)),
        "grouped (create_app's table)": Router(grouped(list(flat), first=BUSIEST_GROUPS)),
    }
    print("µs CPU per lookup | " + " | ".join(f"{m} {p}" for m, p in PATHS))
    for label, router in variants.items():
        costs = [await _cost(router, method, path) for method, path in PATHS]
        print(f"{label} | " + " | ".join(f"{c:.1f}" for c in costs))


if __name__ == "__main__":
    asyncio.run(main())
