"""Pages anyone may see without signing in."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gathering.domain.gatherings import list_gatherings
from gathering.domain.health import database_revision
from gathering.errors import GatheringError
from gathering.web.render import database, render


async def home(request: Request) -> Response:
    gatherings = await list_gatherings(database(request))
    return render(request, "public/home.html", {"gatherings": gatherings})


async def healthz(request: Request) -> Response:
    """200 when the database answers, 503 otherwise; for load balancers and compose."""
    db = database(request)
    try:
        revision = await database_revision(db)
    except GatheringError as error:
        return JSONResponse({"status": "unavailable", "database": error.message}, 503)
    except Exception:  # any driver fault means "not healthy", never a 500
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse(
        {"status": "ok", "database": "ok", "schema": revision},
        headers={"cache-control": "no-store"},
    )


routes = [
    Route("/", home, name="public:home"),
    Route("/healthz", healthz, name="healthz"),
]
