"""The page an invitation link opens: set a name and password, or join as the signed-in account."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gathering.auth import invitations
from gathering.core.errors import InvalidInput
from gathering.core.guards import current_actor
from gathering.core.i18n import gettext
from gathering.core.render import database, render, settings
from gathering.organiser import member_words as words


async def invitation(request: Request) -> Response:
    token = request.path_params["token"]
    db, secret_key = database(request), settings(request).secret_key
    actor = await current_actor(request)
    context: dict[str, Any] = {"token": token, "errors": {}, "name": "", "invitation": None}
    try:
        found = await invitations.invitation(db, token, secret_key=secret_key)
    except InvalidInput as error:
        context["errors"] = error.errors
        return render(request, "auth/invitation.html", context, status_code=410)
    context["invitation"] = found
    # Joining as the signed-in account only when it is the invited address.
    as_actor = actor if actor is not None and actor.email == found.email else None
    context["as_actor"] = as_actor
    if request.method == "GET":
        return render(request, "auth/invitation.html", context)
    form = await request.form()
    context["name"] = str(form.get("name", ""))[:400]
    try:
        joined = await invitations.accept(
            db,
            token,
            secret_key=secret_key,
            actor=as_actor,
            display_name=context["name"],
            password=str(form.get("password", "")),
        )
    except InvalidInput as error:
        context["errors"] = error.errors
        return render(request, "auth/invitation.html", context, status_code=422)
    role = joined.role_label.lower()
    if joined.created_account:
        message = gettext(words.JOINED).format(role=role, organisation=joined.organisation_name)
        page = {"errors": {}, "email": joined.email, "next": "/organiser", "message": message}
        return render(request, "auth/signin.html", page)
    message = gettext(words.JOINED_SIGNED_IN).format(
        role=role, organisation=joined.organisation_name
    )
    return render(request, "auth/invitation_joined.html", {"message": message})


routes = [
    Route("/invitation/{token}", invitation, methods=["GET", "POST"], name="auth:invitation"),
]
