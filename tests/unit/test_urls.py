"""gathering.core.urls gives exactly Starlette's URL paths, for every named route of the app, and
absolute URLs on GATHERING_BASE_URL whatever Host header a request claims."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.routing import Mount, NoMatchFound, Route

from gathering.app import create_app
from gathering.core.settings import Settings
from gathering.core.urls import absolute_url, url_path
from tests.conftest import TEST_SECRET

SAMPLES = {"integer": 7, "rowid": 7, "string": "some-slug", "path": "css/main.css"}


def _params(route: Route | Mount) -> dict[str, Any]:
    return {
        name: SAMPLES[type(convertor).__name__.removesuffix("Convertor").lower()]
        for name, convertor in route.param_convertors.items()
    }


def _request(app: Any, *, scheme: str, host: str, root_path: str = "") -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": scheme,
        "server": (host, 443 if scheme == "https" else 80),
        "path": "/",
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", host.encode())],
        "app": app,
        "router": app.router,
    }
    return Request(scope)


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(
        Settings(
            database_url="sqlite+aiosqlite:///unused.db",
            secret_key=TEST_SECRET,
            base_url="https://gathering.example.org/network/",
        )
    )


def _named(routes: list[Any]) -> list[Route | Mount]:
    """Every named route, inside the unnamed mounts that group them too."""
    found: list[Route | Mount] = []
    for route in routes:
        if isinstance(route, Mount) and route.name is None:
            found += _named(route.routes)
        elif isinstance(route, Route | Mount) and route.name:
            found.append(route)
    return found


def test_every_named_route_gets_starlettes_own_path_and_absolute_url(app: Any) -> None:
    named = _named(app.routes)
    assert len(named) > 50
    requests = [
        _request(app, scheme="http", host="127.0.0.1:8000"),
        _request(app, scheme="https", host="gathering.example.org", root_path="/network"),
        _request(app, scheme="http", host="attacker.example"),  # a forged Host header
    ]
    for route in named:
        assert route.name is not None
        params = _params(route)
        assert url_path(app, route.name, **params) == app.url_path_for(route.name, **params)
        assert url_path(app, route.name, **params) == app.url_path_for(route.name, **params)
        expected = "https://gathering.example.org/network" + app.url_path_for(route.name, **params)
        for request in requests:
            assert str(absolute_url(request, route.name, **params)) == expected


def test_unknown_names_and_wrong_parameters_fail_as_starlette_does(app: Any) -> None:
    with pytest.raises(NoMatchFound):
        url_path(app, "no:such_route")
    url_path(app, "public:session", slug="a", session_id=1)  # remembered
    with pytest.raises(NoMatchFound):
        url_path(app, "public:session", slug="a")
    assert str(url_path(app, "public:session", slug="b", session_id=2)) == "/g/b/s/2"
