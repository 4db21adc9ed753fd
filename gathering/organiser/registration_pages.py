"""The host organisers' registration pages (issue 16, item 10): open or close registration and
set its times, edit ticket types, choose questions. The rules (``registration_setup``) decide who
may; these pages parse, make one call and render."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gathering.core.errors import Conflict, InvalidInput
from gathering.core.guards import current_actor, signed_in
from gathering.core.i18n import gettext
from gathering.core.render import database, render
from gathering.organiser import constituencies, when
from gathering.organiser import registration_setup as setup
from gathering.organiser import registration_words as words

FIELD_LIMIT = 2000  # longer than any field here takes; validation says which is too long


def _saved(request: Request) -> str:
    """The notice of what was just saved (``?saved=``), in the reader's language."""
    said = words.SAVED.get(request.query_params.get("saved", ""))
    return gettext(said) if said else ""


def _strings(form: FormData) -> dict[str, str]:
    return {k: v[:FIELD_LIMIT] for k, v in form.items() if isinstance(v, str)}


def _back(request: Request, done: str, route: str = "organiser:registration") -> Response:
    path = request.url_for(route, slug=request.path_params["slug"]).path
    return RedirectResponse(f"{path}?saved={done}", 303)


async def _page(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    ticket_form: str = "",
    status_code: int = 200,
) -> Response:
    actor = await current_actor(request)
    page = await setup.registration_setup(database(request), actor, request.path_params["slug"])
    context: dict[str, Any] = {
        "page": page,
        "window": typed if typed is not None and not ticket_form else page.window,
        "ticket_typed": (typed or {}) if ticket_form else {},
        "ticket_form": ticket_form,  # which ticket type form the errors belong to
        "errors": errors or {},
        "saved": _saved(request),
    }
    return render(request, "organiser/registration.html", context, status_code=status_code)


@signed_in
async def registration(request: Request) -> Response:
    if request.method == "GET":
        return await _page(request)
    form = _strings(await request.form())
    try:
        await setup.save_window(
            database(request), await current_actor(request), request.path_params["slug"], form
        )
    except InvalidInput as error:
        return await _page(request, errors=error.errors, typed=form, status_code=422)
    return _back(request, "window")


async def _ticket_type(request: Request, ticket_type_id: int | None) -> Response:
    form = _strings(await request.form())
    try:
        await setup.save_ticket_type(
            database(request),
            await current_actor(request),
            request.path_params["slug"],
            form,
            ticket_type_id,
        )
    except InvalidInput as error:
        which = "new" if ticket_type_id is None else str(ticket_type_id)
        return await _page(
            request, errors=error.errors, typed=form, ticket_form=which, status_code=422
        )
    return _back(request, "ticket_type")


@signed_in
async def ticket_type_add(request: Request) -> Response:
    return await _ticket_type(request, None)


@signed_in
async def ticket_type_save(request: Request) -> Response:
    return await _ticket_type(request, request.path_params["ticket_type_id"])


@signed_in
async def ticket_type_remove(request: Request) -> Response:
    ticket_type_id = request.path_params["ticket_type_id"]
    try:
        await setup.delete_ticket_type(
            database(request),
            await current_actor(request),
            request.path_params["slug"],
            ticket_type_id,
        )
    except Conflict as error:
        errors = {f"ticket-{ticket_type_id}": error.message}
        return await _page(request, errors=errors, ticket_form=str(ticket_type_id), status_code=409)
    return _back(request, "ticket_type_deleted")


@signed_in
async def session_window(request: Request) -> Response:
    form = _strings(await request.form())
    session_id = request.path_params["session_id"]
    try:
        await setup.save_session_window(
            database(request),
            await current_actor(request),
            request.path_params["slug"],
            session_id,
            form,
        )
    except InvalidInput as error:
        errors = {f"s{session_id}-{k}": v for k, v in error.errors.items()}
        return await _page(
            request, errors=errors, typed=form, ticket_form=f"s{session_id}", status_code=422
        )
    return _back(request, "session")


@signed_in
async def questions(request: Request) -> Response:
    actor = await current_actor(request)
    slug = request.path_params["slug"]
    errors: dict[str, str] = {}
    page = await setup.registration_setup(database(request), actor, slug)
    form = page.questions
    if request.method == "POST":
        form = _strings(await request.form())
        try:
            await setup.save_questions(database(request), actor, slug, form)
        except InvalidInput as error:
            errors = error.errors
        else:
            return _back(request, "questions", "organiser:questions")
    context = {
        "page": page,
        "form": form,
        "errors": errors,
        "saved": _saved(request),
    }
    return render(
        request,
        "organiser/registration_questions.html",
        context,
        status_code=422 if errors else 200,
    )


GET_POST = ["GET", "POST"]
routes = [
    Route(
        "/organiser/g/{slug}/registration",
        registration,
        methods=GET_POST,
        name="organiser:registration",
    ),
    Route(
        "/organiser/g/{slug}/registration/ticket-types",
        ticket_type_add,
        methods=["POST"],
        name="organiser:ticket_type_add",
    ),
    Route(
        "/organiser/g/{slug}/registration/ticket-types/{ticket_type_id:int}",
        ticket_type_save,
        methods=["POST"],
        name="organiser:ticket_type_save",
    ),
    Route(
        "/organiser/g/{slug}/registration/ticket-types/{ticket_type_id:int}/delete",
        ticket_type_remove,
        methods=["POST"],
        name="organiser:ticket_type_remove",
    ),
    Route(
        "/organiser/g/{slug}/registration/sessions/{session_id:int}",
        session_window,
        methods=["POST"],
        name="organiser:session_window",
    ),
    Route(
        "/organiser/g/{slug}/registration/questions",
        questions,
        methods=GET_POST,
        name="organiser:questions",
    ),
]

# The registration form's constituency picker lists these (templates/registration); the
# organiser's pages write dates and times in the reader's language with organiser_when.
TEMPLATE_GLOBALS: dict[str, Any] = {
    "constituency_names": constituencies.names,
    "organiser_when": when.when,
}
