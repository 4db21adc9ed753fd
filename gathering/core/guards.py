"""Who is asking: the signed-in organiser behind a request, and the guards every feature's pages
use (``signed_in``, ``admin_only``). The session lookup itself belongs to ``auth``; ``create_app``
hands it over as ``app.state.actor_for_token`` so the core imports no feature."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import cast
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gathering.core.database import Database
from gathering.core.permissions import Actor, require_admin
from gathering.core.render import database

SESSION_COOKIE = "gathering_session"
Handler = Callable[[Request], Awaitable[Response]]
ActorLookup = Callable[[Database, str], Awaitable[Actor | None]]


async def current_actor(request: Request) -> Actor | None:
    """The signed-in organiser, looked up once per request."""
    if "actor" not in request.state._state:
        token = request.cookies.get(SESSION_COOKIE, "")
        lookup = cast(ActorLookup, request.app.state.actor_for_token)
        request.state.actor = await lookup(database(request), token) if token else None
    return cast(Actor | None, request.state.actor)


def signed_in(handler: Handler) -> Handler:
    """Send anonymous visitors to the sign-in page, coming back here afterwards."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        if await current_actor(request) is None:
            query = urlencode({"next": request.url.path})
            return RedirectResponse(f"{request.url_for('auth:signin').path}?{query}", 303)
        return await handler(request)

    return wrapper


def admin_only(handler: Handler) -> Handler:
    """Anonymous visitors go to sign-in; signed-in organisers who are not admins get 403."""

    @signed_in
    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        require_admin(await current_actor(request))
        return await handler(request)

    return wrapper
