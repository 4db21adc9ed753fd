"""Pages for signed-in organisers and network admins."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gathering.core import content
from gathering.core.errors import Conflict, InvalidInput
from gathering.core.guards import current_actor, signed_in
from gathering.core.render import database, render, wake_sender
from gathering.organiser import registration_setup, session_editor
from gathering.organiser.rules import dashboard, home_notices
from gathering.organiser.session_editor import SessionInput
from gathering.programme import release as programme
from gathering.registration import rules as registration
from gathering.registration.links import links


@signed_in
async def home(request: Request) -> Response:
    actor = await current_actor(request)
    gatherings = await dashboard(database(request), actor)
    notices = await home_notices(database(request), actor)
    # Registration's state, explained to the host organisers of each gathering (issue 16).
    registration = {
        g.id: await registration_setup.organiser_state(database(request), g.id)
        for g in gatherings
        if g.may_release
    }
    page = {
        "actor": actor,
        "gatherings": gatherings,
        "host_changes": notices,
        "registration": registration,
    }
    return render(request, "organiser/home.html", page)


# Starlette refuses a field over 1 MB with a bare 400. Only signed-in organisers reach these
# forms, so allow more and let validation say which field is too long, keeping what was typed.
ORGANISER_FIELD_LIMIT = 12 * 1024 * 1024


async def _organiser_form(request: Request) -> FormData:
    return await request.form(max_part_size=ORGANISER_FIELD_LIMIT)


def _session_input(form: FormData) -> SessionInput:
    def text(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    def many(name: str) -> tuple[str, ...]:
        return tuple(v for v in form.getlist(name) if isinstance(v, str))

    fields = SessionInput.__dataclass_fields__
    values: dict[str, object] = {}
    for name in fields:
        values[name] = many(name) if name in ("co_host_ids", "speaker_ids") else text(name)
    # Issue 18: the title and description in other languages, those the form carries.
    values["translations"] = tuple((n, text(n)) for n in content.form_values(None) if n in form)
    return SessionInput(**values)  # type: ignore[arg-type]


@signed_in
async def session_new(request: Request) -> Response:
    slug = request.path_params["slug"]
    actor = await current_actor(request)
    context, form = await session_editor.new_session_form(database(request), actor, slug)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = _session_input(await _organiser_form(request))
        try:
            session_id = await session_editor.save_session(database(request), actor, slug, form)
        except InvalidInput as error:
            errors = error.errors
        else:
            url = request.url_for("organiser:session_edit", slug=slug, session_id=session_id)
            return RedirectResponse(f"{url.path}?saved=1", 303)
    page = {"context": context, "form": form, "errors": errors, "session_id": None, "saved": False}
    return render(request, "organiser/session_form.html", page, status_code=422 if errors else 200)


@signed_in
async def session_edit(request: Request) -> Response:
    slug, session_id = request.path_params["slug"], request.path_params["session_id"]
    actor = await current_actor(request)
    context, form = await session_editor.edit_session_form(
        database(request), actor, slug, session_id
    )
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = _session_input(await _organiser_form(request))
        try:
            await session_editor.save_session(database(request), actor, slug, form, session_id)
        except InvalidInput as error:
            errors = error.errors
        else:
            url = request.url_for("organiser:session_edit", slug=slug, session_id=session_id)
            return RedirectResponse(f"{url.path}?saved=1", 303)
    page = {
        "context": context,
        "form": form,
        "errors": errors,
        "session_id": session_id,
        "saved": request.query_params.get("saved") == "1" and not errors,
    }
    return render(request, "organiser/session_form.html", page, status_code=422 if errors else 200)


@signed_in
async def release(request: Request) -> Response:
    slug = request.path_params["slug"]
    db = database(request)
    target = await session_editor.release_target(db, await current_actor(request), slug)
    errors: dict[str, str] = {}
    note = ""
    if request.method == "POST":
        form = await request.form()
        note = str(form.get("note", ""))[:2000]
        actor = await current_actor(request)
        try:
            await programme.release_programme(
                db,
                target.gathering_id,
                released_by=actor.account_id if actor else None,
                note=note,
                on_release=registration.change_notifier(links(request)),
            )
        except Conflict as error:
            errors = {"note": error.message}
        else:
            wake_sender(request)
            return RedirectResponse(request.url_for("public:changes", slug=slug).path, 303)
    pending = await programme.pending_changes(db, target.gathering_id)
    page = {"target": target, "pending": pending, "errors": errors, "note": note}
    return render(request, "organiser/release.html", page, status_code=409 if errors else 200)


routes = [
    Route("/organiser", home, name="organiser:home"),
    Route(
        "/organiser/g/{slug}/sessions/new",
        session_new,
        methods=["GET", "POST"],
        name="organiser:session_new",
    ),
    Route(
        "/organiser/g/{slug}/sessions/{session_id:int}",
        session_edit,
        methods=["GET", "POST"],
        name="organiser:session_edit",
    ),
    Route(
        "/organiser/g/{slug}/release",
        release,
        methods=["GET", "POST"],
        name="organiser:release",
    ),
]
