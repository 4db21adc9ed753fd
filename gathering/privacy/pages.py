"""Privacy notices per gathering and the admin audit log (issue 7)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gathering.core.guards import admin_only, current_actor
from gathering.core.http import NO_STORE
from gathering.core.render import database, render
from gathering.privacy import audit
from gathering.privacy import notice as privacy


async def notice(request: Request) -> Response:
    found = await privacy.privacy_notice(database(request), request.path_params["slug"])
    return render(request, "privacy/notice.html", {"notice": found})


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 1


@admin_only
async def audit_log(request: Request) -> Response:
    listing = await audit.audit_log(
        database(request),
        await current_actor(request),
        page=_page_number(request),
        action=request.query_params.get("action", ""),
        who=request.query_params.get("actor", ""),
    )
    context = {"saved": False, "listing": listing}
    return render(request, "admin/audit.html", context, headers=NO_STORE)


routes: list[BaseRoute] = [
    Route("/g/{slug}/privacy", notice, name="privacy:notice"),
    Route("/admin/audit", audit_log, name="admin:audit"),
]
