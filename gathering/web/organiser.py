"""Pages for signed-in organisers and network admins."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gathering.domain.organiser import dashboard
from gathering.web.auth import current_actor, signed_in
from gathering.web.render import database, render


@signed_in
async def home(request: Request) -> Response:
    actor = await current_actor(request)
    gatherings = await dashboard(database(request), actor)
    return render(request, "organiser/home.html", {"actor": actor, "gatherings": gatherings})


routes = [
    Route("/organiser", home, name="organiser:home"),
]
