"""Pages for an organisation's members and invitations, and a viewer's dashboards (issue 16)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gathering.auth.invitations import INVITATION_LIFETIME
from gathering.core.errors import Conflict, InvalidInput
from gathering.core.guards import current_actor, signed_in
from gathering.core.i18n import gettext
from gathering.core.render import database, render, settings, wake_sender
from gathering.core.throttles import Throttled
from gathering.organiser import member_words as words
from gathering.organiser import members
from gathering.organiser.viewing import viewer_dashboards


@signed_in
async def organisations(request: Request) -> Response:
    """Your organisations: members to manage, or (as a viewer) the dashboards you may open."""
    actor = await current_actor(request)
    db = database(request)
    page = {
        "actor": actor,
        "organisations": await members.my_organisations(db, actor),
        "viewed": await viewer_dashboards(db, actor),
    }
    return render(request, "organiser/members_home.html", page)


async def _page(
    request: Request,
    slug: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str = "",
    notice: str = "",
    status_code: int = 200,
) -> Response:
    actor = await current_actor(request)
    page: dict[str, Any] = {
        "page": await members.members_page(database(request), actor, slug),
        "form": form or {"email": "", "role": "organiser"},
        "errors": errors or {},
        "problem": problem,
        "notice": notice,
        "role_labels": words.ROLE_LABELS,
        "role_explained": words.ROLE_EXPLAINED,
    }
    return render(request, "organiser/members.html", page, status_code=status_code)


@signed_in
async def members_view(request: Request) -> Response:
    slug = request.path_params["slug"]
    if request.method == "GET":
        return await _page(request, slug)
    form = await request.form()
    typed = {"email": str(form.get("email", ""))[:400], "role": str(form.get("role", ""))[:20]}
    placeholder = "TOKENMARKER"
    accept_path = request.url_for("auth:invitation", token=placeholder).path
    config = settings(request)
    try:
        email = await members.invite(
            database(request),
            await current_actor(request),
            slug,
            email=typed["email"],
            role=typed["role"],
            secret_key=config.secret_key,
            accept_url=config.base_url.rstrip("/") + accept_path.replace(placeholder, "{token}"),
        )
    except InvalidInput as error:
        return await _page(request, slug, form=typed, errors=error.errors, status_code=422)
    except Throttled as error:
        errors = {"email": error.message}
        return await _page(request, slug, form=typed, errors=errors, status_code=429)
    wake_sender(request)
    return await _page(
        request,
        slug,
        notice=gettext(words.INVITED).format(email=email, days=INVITATION_LIFETIME.days),
    )


@signed_in
async def revoke(request: Request) -> Response:
    slug, invitation_id = request.path_params["slug"], request.path_params["invitation_id"]
    actor = await current_actor(request)
    try:
        email = await members.revoke(database(request), actor, slug, invitation_id)
    except Conflict as error:
        return await _page(request, slug, problem=error.message, status_code=409)
    return await _page(request, slug, notice=gettext(words.REVOKED).format(email=email))


@signed_in
async def change_role(request: Request) -> Response:
    slug, account_id = request.path_params["slug"], request.path_params["account_id"]
    form = await request.form()
    actor = await current_actor(request)
    try:
        member = await members.change_role(
            database(request), actor, slug, account_id, str(form.get("role", ""))[:20]
        )
    except InvalidInput as error:
        return await _page(request, slug, problem=error.message, status_code=422)
    except Conflict as error:
        return await _page(request, slug, problem=error.message, status_code=409)
    is_me = actor is not None and member.account_id == actor.account_id and not actor.is_admin
    if is_me and member.role != "organiser":
        # They made themselves a viewer: the actor read for this request is out of date, and
        # the members page is no longer theirs. Their organisations page reads them afresh.
        return RedirectResponse(request.url_for("organiser:organisations").path, 303)
    notice = gettext(words.ROLE_CHANGED).format(
        name=member.display_name, role=gettext(words.ROLE_LABELS[member.role]).lower()
    )
    return await _page(request, slug, notice=notice)


@signed_in
async def remove(request: Request) -> Response:
    slug, account_id = request.path_params["slug"], request.path_params["account_id"]
    actor = await current_actor(request)
    try:
        member, org = await members.remove(database(request), actor, slug, account_id)
    except Conflict as error:
        return await _page(request, slug, problem=error.message, status_code=409)
    notice = gettext(words.REMOVED).format(name=member.display_name, organisation=org.name)
    if actor is not None and member.account_id == actor.account_id and not actor.is_admin:
        # They left: the members page is no longer theirs to see.
        return render(request, "organiser/members_left.html", {"notice": notice}, status_code=200)
    return await _page(request, slug, notice=notice)


routes = [
    Route("/organiser/organisations", organisations, name="organiser:organisations"),
    Route(
        "/organiser/o/{slug}/members",
        members_view,
        methods=["GET", "POST"],
        name="organiser:members",
    ),
    Route(
        "/organiser/o/{slug}/invitations/{invitation_id:int}/revoke",
        revoke,
        methods=["POST"],
        name="organiser:invitation_revoke",
    ),
    Route(
        "/organiser/o/{slug}/members/{account_id:int}/role",
        change_role,
        methods=["POST"],
        name="organiser:member_role",
    ),
    Route(
        "/organiser/o/{slug}/members/{account_id:int}/remove",
        remove,
        methods=["POST"],
        name="organiser:member_remove",
    ),
]
