"""The indexed router picks exactly the route Starlette's own router picks, for every route of
the app, every method, and paths that match nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import BaseRoute, Match, Mount, Route, Router

from gathering.app import create_app
from gathering.core.routing import IndexedRouter
from gathering.core.settings import Settings
from tests.conftest import TEST_SECRET

SAMPLES = {"int": "7", "str": "some-slug", "path": "css/main.css"}
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")
PARAM = re.compile(r"{([a-zA-Z_]\w*)(?::(\w+))?}")


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(
        Settings(database_url="sqlite+aiosqlite:///unused.db", secret_key=TEST_SECRET)
    )


def _sample(path: str) -> str:
    return PARAM.sub(lambda m: SAMPLES[m.group(2) or "str"], path)


def _paths(routes: list[BaseRoute]) -> list[str]:
    paths = []
    for route in routes:
        assert isinstance(route, Route | Mount)
        sample = _sample(route.path + ("/{path:path}" if isinstance(route, Mount) else ""))
        paths += [sample, sample + "/", sample.rstrip("/") + "/extra"]
    return [*paths, "/", "/nothing-here", "/g", "/g/", "//", "/static", "/door/api"]


def _starlette_choice(routes: list[BaseRoute], scope: dict[str, Any]) -> BaseRoute | None:
    """The route Starlette's Router.app hands the request to (first full, else first partial)."""
    partial = None
    for route in routes:
        match, _child = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def test_the_app_uses_the_indexed_router(app: Any) -> None:
    assert isinstance(app.router, IndexedRouter)
    assert app.routes == app.router.routes and len(app.routes) > 50


@pytest.mark.anyio
async def test_every_path_and_method_reaches_the_route_starlette_would_choose(app: Any) -> None:
    router: IndexedRouter = app.router
    reference = Router(list(router.routes))
    chosen_by_us: list[BaseRoute] = []
    recorded = IndexedRouter(list(router.routes))
    # Each route's handler is swapped for a recorder (the route objects are the app's own, so
    # they are put back afterwards) to see which route the indexed router hands a request to.
    originals = {id(r): r.handle for r in recorded.routes}

    def recorder(route: BaseRoute) -> Any:
        async def _handle(scope: Any, receive: Any, send: Any) -> None:
            chosen_by_us.append(route)

        return _handle

    for route in recorded.routes:
        object.__setattr__(route, "handle", recorder(route))
    try:
        checked = 0
        for path in _paths(list(router.routes)):
            for method in METHODS:
                scope = {"type": "http", "method": method, "path": path, "root_path": ""}
                expected = _starlette_choice(reference.routes, dict(scope))
                chosen_by_us.clear()
                if expected is None:
                    continue  # Starlette's own fallback (redirect or 404) answers both
                await recorded.app(dict(scope), _never, _never)
                assert chosen_by_us == [expected], (method, path)
                checked += 1
        assert checked > 300
    finally:
        for route in recorded.routes:
            object.__setattr__(route, "handle", originals[id(route)])


async def _never(*_args: Any) -> Any:
    raise AssertionError("the recorder does not talk to the client")
