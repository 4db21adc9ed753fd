"""The admin's outbox viewer: every queued and sent message, its delivery state, its parts.

With no SMTP server configured (the development default) this is where mail goes; with one, it
shows delivery state and failures. Opening a message is audit-logged: it holds personal data.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gathering.core.guards import admin_only, current_actor
from gathering.core.http import NO_STORE
from gathering.core.render import database, render, settings
from gathering.mail import messages as mail
from gathering.mail import sender as mailer


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 1


@admin_only
async def outbox_list(request: Request) -> Response:
    listing = await mail.outbox_page(
        database(request),
        await current_actor(request),
        status=request.query_params.get("status", "all"),
        page=_page_number(request),
    )
    context = {
        "saved": False,  # the admin layout's notice
        "listing": listing,
        "statuses": mail.STATUSES,
        "smtp_host": settings(request).smtp_host,
        "max_attempts": mail.MAX_ATTEMPTS,
    }
    return render(request, "outbox/list.html", context, headers=NO_STORE)


@admin_only
async def outbox_message(request: Request) -> Response:
    found = await mail.outbox_message(
        database(request), await current_actor(request), int(request.path_params["message_id"])
    )
    context = {
        "saved": False,
        "entry": found.entry,
        "shown": mailer.preview(found.message, settings(request)),
        "language": found.message.language or "en",  # the mail's own (issue 18)
        "max_attempts": mail.MAX_ATTEMPTS,
    }
    return render(request, "outbox/message.html", context, headers=NO_STORE)


routes: list[BaseRoute] = [
    Route("/admin/outbox", outbox_list, name="outbox:list"),
    Route("/admin/outbox/{message_id:int}", outbox_message, name="outbox:message"),
]
