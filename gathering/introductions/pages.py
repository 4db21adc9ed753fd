"""CLP introductions: the host organisation's page (counts, when, send now) and the person's
own page (withdraw). Rules and who may do what: ``gathering.introductions.rules``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gathering.core.errors import InvalidInput
from gathering.core.guards import current_actor, signed_in
from gathering.core.http import NO_STORE
from gathering.core.i18n import gettext
from gathering.core.render import database, render, settings, wake_sender
from gathering.introductions import rules, words
from gathering.registration.links import links

NOTICES = {
    "scheduled": words.SCHEDULED,
    "unscheduled": words.UNSCHEDULED,
    "sent": words.SENT,
    "withdrawn": words.WITHDRAWN,
}


def _notice(done: str) -> str:
    """What was just done, in the reader's language ("" for nothing)."""
    return gettext(NOTICES[done]) if done in NOTICES else ""


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _organiser_page(request: Request, view: rules.Overview, **extra: object) -> Response:
    context = {
        "view": view,
        "errors": {},
        "notice": _notice(request.query_params.get("done", "")),
        "typed": {},
        **extra,
    }
    status = 422 if extra.get("errors") else 200
    return render(
        request, "introductions/organiser.html", context, status_code=status, headers=NO_STORE
    )


@signed_in
async def organiser_page(request: Request) -> Response:
    db, actor, slug = database(request), await current_actor(request), request.path_params["slug"]
    if request.method == "POST":
        data = await request.form()
        typed = {
            "send_at": _text(data.get("send_at"), 40),
            "single_contact": _text(data.get("single_contact"), 1000),
        }
        try:
            view = await rules.schedule(
                db,
                actor,
                slug,
                send_at_text=typed["send_at"],
                single_contact=typed["single_contact"],
            )
        except InvalidInput as error:
            view = await rules.overview(db, actor, slug)
            return _organiser_page(request, view, errors=error.errors, typed=typed)
        done = "scheduled" if view.send_at else "unscheduled"
        path = request.url_for("introductions:organiser", slug=slug).path
        return RedirectResponse(f"{path}?done={done}", 303)
    return _organiser_page(request, await rules.overview(db, actor, slug))


@signed_in
async def send_now(request: Request) -> Response:
    db, actor, slug = database(request), await current_actor(request), request.path_params["slug"]
    try:
        await rules.send_now(db, actor, slug, links=links(request))
    except InvalidInput as error:
        view = await rules.overview(db, actor, slug)
        return _organiser_page(request, view, errors=error.errors)
    wake_sender(request)
    path = request.url_for("introductions:organiser", slug=slug).path
    return RedirectResponse(f"{path}?done=sent", 303)


async def mine(request: Request) -> Response:
    token = request.path_params["token"]
    secret = settings(request).secret_key
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            await rules.withdraw(database(request), token, secret_key=secret)
        except InvalidInput as error:
            errors = error.errors
        else:
            path = request.url_for("introductions:mine", token=token).path
            return RedirectResponse(f"{path}?done=withdrawn", 303)
    view = await rules.mine(database(request), token, secret_key=secret)
    context = {
        "view": view,
        "errors": errors,
        "notice": _notice(request.query_params.get("done", "")),
    }
    status = 409 if errors else 200
    return render(request, "introductions/mine.html", context, status_code=status, headers=NO_STORE)


routes: list[BaseRoute] = [
    Route(
        "/organiser/g/{slug}/introductions",
        organiser_page,
        methods=["GET", "POST"],
        name="introductions:organiser",
    ),
    Route(
        "/organiser/g/{slug}/introductions/send",
        send_now,
        methods=["POST"],
        name="introductions:send",
    ),
    Route("/r/{token}/introductions", mine, methods=["GET", "POST"], name="introductions:mine"),
]
