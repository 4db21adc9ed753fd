"""Every organiser and admin route, taken from the app itself, as nobody and as the wrong people."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from gathering.core.database import Database
from gathering.programme.release import load_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, sign_in

pytestmark = pytest.mark.anyio
SLUG = "labour-conference-2019"  # hosted by LLA
JVL = ("jvl@example.org", "demo-organiser-password")

# What the JVL organiser (not an admin, not a host of the conference) may open. JVL co-hosts a
# session of the conference, so it may make steward passes for that session (and see only those).
JVL_ALLOWED = {
    "organiser:home",
    "organiser:session_new",
    "organiser:steward_passes",
    "reach:snippets",  # any organiser builds snippets of public views
    "organiser:organisations",  # lists only the organisations the organiser belongs to
}


def _flat(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[Route]:
    """Every route with its full path, also those grouped under unnamed mounts."""
    for route in routes:
        if isinstance(route, Mount) and route.name is None:
            yield from _flat(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            flat = copy.copy(route)
            flat.path = prefix + route.path
            yield flat


def _protected(app: Starlette) -> list[Route]:
    return [r for r in _flat(app.routes) if r.path.startswith(("/organiser", "/admin"))]


def _path(route: Route, lla_session_id: int) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "slug":
            return SLUG
        if name == "session_id":
            return str(lla_session_id)
        return "1"

    return re.sub(r"\{(\w+)(?::\w+)?\}", fill, route.path)


async def _lla_only_session(db: Database) -> int:
    programme = await load_programme(db, SLUG)
    [session] = [s for s in programme.sessions if [h.slug for h in s.hosts] == ["lla"]]
    return session.id


async def test_every_protected_route_sends_nobody_to_sign_in(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _lla_only_session(db)
    routes = _protected(app)
    assert len(routes) > 20
    token = await csrf_from(client, "/signin")
    for route in routes:
        path = _path(route, session_id)
        for method in sorted(route.methods or {"GET"}):
            if method == "HEAD":
                continue
            data = {"csrftoken": token} if method == "POST" else None
            response = await client.request(method, path, data=data)
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/signin?next="), (method, path)


async def test_every_protected_route_refuses_the_wrong_organiser(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    session_id = await _lla_only_session(db)
    await sign_in(client, *JVL)
    token = await csrf_from(client, "/organiser")
    for route in _protected(app):
        path = _path(route, session_id)
        for method in sorted(route.methods or {"GET"}):
            if method == "HEAD" or (method == "POST" and route.name in JVL_ALLOWED):
                continue
            data = {"csrftoken": token} if method == "POST" else None
            response = await client.request(method, path, data=data)
            expected = 200 if route.name in JVL_ALLOWED else 403
            assert response.status_code == expected, (method, path, response.status_code)
