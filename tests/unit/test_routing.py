"""The grouped route table (Starlette ``Mount`` per first segment) sends every path and method to
the route the flat list of declared routes would choose, and ids beyond 64 bits match no route."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Match, Mount, NoMatchFound, Route

from gathering.admin import pages as admin
from gathering.app import create_app, route_list
from gathering.core.routing import MAX_ROW_ID, grouped
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


def _sample(path: str, ids: str = "7") -> str:
    return PARAM.sub(lambda m: ids if m.group(2) == "int" else SAMPLES[m.group(2) or "str"], path)


def _paths(routes: list[BaseRoute]) -> list[str]:
    paths = []
    for route in routes:
        assert isinstance(route, Route | Mount)
        sample = _sample(route.path + ("/{path:path}" if isinstance(route, Mount) else ""))
        paths += [sample, sample + "/", sample.rstrip("/") + "/extra"]
    return [*paths, "/", "/nothing-here", "/g", "/g/", "//", "/static", "/door/api", "/admin/"]


def _choice(routes: list[BaseRoute], scope: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The name and parameters of the route Starlette's routers hand the request to (the first
    full match, else the first partial one), looking inside mounts; None: no route (404)."""
    partial = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            chosen = (route, child)
            break
        if match is Match.PARTIAL and partial is None:
            partial = (route, child)
    else:
        if partial is None:
            return None
        chosen = partial
    route, child = chosen
    if isinstance(route, Mount) and route.name is None:
        return _choice(route.routes, {**scope, **child})
    return str(route.name), dict(child.get("path_params", {}))


def test_routes_are_grouped_by_first_segment(app: Any) -> None:
    mounts = {r.path: r for r in app.routes if isinstance(r, Mount) and r.name is None}
    assert {"/g", "/door", "/admin", "/organiser", "/r", "/api"} <= set(mounts)
    # Exact paths that share a segment with a group (/organiser, /admin, /speakers,
    # /organisations) stay top-level entries beside their group's mount.
    assert len(app.routes) < 28 < len(route_list())
    # The busiest groups come first (the order of disjoint entries changes no answer).
    assert [r.path for r in app.routes[:5]] == ["/door", "/g", "/r", "/my", "/api"]
    # Each group keeps its routes in their original order (the first match wins within it).
    door = [r.name for r in mounts["/door"].routes]
    assert door.index("door:scan_page") < door.index("door:open_page")


def test_every_path_and_method_reaches_the_route_the_flat_list_would_choose(app: Any) -> None:
    flat = route_list()
    checked = 0
    for path in _paths(flat):
        for method in METHODS:
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            assert _choice(app.routes, dict(scope)) == _choice(flat, dict(scope)), (method, path)
            checked += 1
    assert checked > 1000


def test_url_paths_by_name_are_unchanged(app: Any) -> None:
    flat = route_list()
    for route in flat:
        if not isinstance(route, Route):
            continue
        params = {
            m.group(1): 7 if m.group(2) == "int" else "some-slug"
            for m in PARAM.finditer(route.path)
        }
        expected = next(r for r in flat if r.name == route.name).url_path_for(route.name, **params)
        assert app.url_path_for(route.name, **params) == expected


def test_ids_beyond_64_bits_match_no_route(app: Any) -> None:
    flat = route_list()
    with_ids = [r for r in flat if isinstance(r, Route) and ":int}" in r.path]
    assert len(with_ids) >= 26
    for route in with_ids:
        method = next(iter(route.methods or {"GET"}))
        for ids, found in (
            (str(MAX_ROW_ID), True),
            (str(MAX_ROW_ID + 1), False),
            ("9" * 40, False),
        ):
            scope = {"type": "http", "method": method, "path": _sample(route.path, ids)}
            chosen = _choice(app.routes, scope)
            assert (chosen is not None and chosen[0] == route.name) is found, (route.path, ids)
    with pytest.raises((NoMatchFound, ValueError)):
        app.url_path_for("admin:room_edit", room_id=MAX_ROW_ID + 1)


def test_a_route_starting_with_a_parameter_is_refused() -> None:
    routes = [*admin.routes, Route("/{anything}/x", admin.routes[0].endpoint)]
    with pytest.raises(ValueError, match="starts with a parameter"):
        grouped(routes)


@pytest.mark.anyio
async def test_a_trailing_slash_inside_a_group_redirects_as_before(app: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        answer = await client.get("/g/some-slug/")
    assert answer.status_code == 307
    assert answer.headers["location"] == "http://127.0.0.1:8000/g/some-slug"


def test_the_busiest_routes_are_tried_first_within_their_group(app: Any) -> None:
    mounts = {r.path: r for r in app.routes if isinstance(r, Mount) and r.name is None}
    assert mounts["/door"].routes[0].name == "door:scan"
    assert [r.name for r in mounts["/g"].routes[:3]] == [
        "registration:form",
        "calendars:gathering",
        "calendars:session",
    ]


def test_a_hot_route_that_overlaps_one_it_would_pass_is_refused() -> None:
    async def endpoint(_request: Any) -> Any:
        raise AssertionError("never called")

    routes: list[BaseRoute] = [
        Route("/g/{slug}/register", endpoint, name="form"),
        Route("/g/{slug}/{page}", endpoint, name="any_page"),
        Route("/g/{slug}/feed.ics", endpoint, name="feed"),
        Route("/g/{slug}/s/{session}", endpoint, name="session"),
    ]
    # It would answer a path the earlier route answers, or the earlier route answers its own.
    with pytest.raises(ValueError, match="any_page and form overlap"):
        grouped(routes, hot=["any_page"])
    with pytest.raises(ValueError, match="feed and any_page overlap"):
        grouped(routes, hot=["feed"])
    # A route that overlaps none it moves past goes first in its group.
    mount = grouped(routes, hot=["session"])[0]
    assert isinstance(mount, Mount)
    assert [r.name for r in mount.routes] == ["session", "form", "any_page", "feed"]
