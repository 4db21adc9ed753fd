"""Organiser pages for steward passes: make one (link, QR and PIN shown once), list, revoke."""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gathering.core.clock import utc_now
from gathering.core.errors import InvalidInput
from gathering.core.guards import current_actor, signed_in
from gathering.core.http import NO_STORE
from gathering.core.i18n import gettext
from gathering.core.render import database, render, settings
from gathering.door import passes as pass_rules
from gathering.door import words
from gathering.registration import tickets

GET_POST = ["GET", "POST"]


def pass_link(request: Request, token: str) -> str:
    """The link stewards open: on the service's public address, not the address asked."""
    return f"{settings(request).base_url.rstrip('/')}/door/{token}"


@signed_in
async def passes(request: Request) -> Response:
    slug = request.path_params["slug"]
    actor = await current_actor(request)
    db = database(request)
    page = await pass_rules.passes_page(db, actor, slug, utc_now())
    form, errors = page.default_input, {}
    if request.method == "POST":
        sent = await request.form()

        def text(name: str) -> str:
            value = sent.get(name, "")
            return value if isinstance(value, str) else ""

        form = pass_rules.PassInput(
            label=text("label"),
            valid_from=text("valid_from"),
            valid_until=text("valid_until"),
            pin=text("pin"),
            all_sessions=text("cover") != "some",
            session_ids=tuple(v for v in sent.getlist("session_ids") if isinstance(v, str)),
        )
        try:
            created = await pass_rules.create_pass(db, actor, slug, form, now=utc_now())
        except InvalidInput as error:
            errors = error.errors
        else:
            link = pass_link(request, created.token)
            qr = base64.b64encode(tickets.qr_svg(link, as_is=True)).decode()
            context = {"page": page, "created": created, "link": link, "qr": qr}
            return render(request, "organiser/steward_pass_created.html", context, headers=NO_STORE)
    notice = ""
    if request.query_params.get("revoked", "").isdigit():
        notice = gettext(words.REVOKED_NOTICE)
    context = {"page": page, "form": form, "errors": errors, "notice": notice}
    status = 422 if errors else 200
    return render(request, "organiser/steward_passes.html", context, status_code=status)


@signed_in
async def revoke(request: Request) -> Response:
    slug, pass_id = request.path_params["slug"], request.path_params["pass_id"]
    actor = await current_actor(request)
    await pass_rules.revoke_pass(database(request), actor, slug, pass_id, now=utc_now())
    url = request.url_for("organiser:steward_passes", slug=slug).path
    return RedirectResponse(f"{url}?revoked={pass_id}", 303)


routes = [
    Route(
        "/organiser/g/{slug}/stewards",
        passes,
        methods=GET_POST,
        name="organiser:steward_passes",
    ),
    Route(
        "/organiser/g/{slug}/stewards/{pass_id:int}/revoke",
        revoke,
        methods=["POST"],
        name="organiser:steward_pass_revoke",
    ),
]
