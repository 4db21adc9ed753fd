"""Network admin pages: gatherings, venues and rooms, tracks, organisations, speakers, and a
gathering's registration set-up (open or closed, ticket types, questions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gathering.admin import forms, words
from gathering.admin import rules as manage
from gathering.core.caching import cached_response
from gathering.core.csrf import checked_form
from gathering.core.errors import InvalidInput
from gathering.core.guards import Handler, admin_only, current_actor
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor
from gathering.core.render import database, render, settings
from gathering.core.templating import MODE_LABELS
from gathering.programme.catalogue import speaker_profile

# Only admins reach these forms. A field up to 12 MB is parsed so validation can say which field
# is too long and keep the rest of what was typed; a body beyond 16 MB is refused before parsing.
MAX_BODY = 16 * 1024 * 1024
MAX_TEXT_PART = 12 * 1024 * 1024
TOO_LARGE = words.FORM_TOO_LARGE
EDIT_ROUTE = {
    "gathering": "admin:gathering_edit",
    "venue": "admin:venue_edit",
    "room": "admin:room_edit",
    "track": "admin:track_edit",
    "organisation": "admin:organisation_edit",
    "speaker": "admin:speaker_edit",
    "ticket_type": "admin:ticket_type_edit",
}
LIST_ROUTE = {"organisation": "admin:organisations", "speaker": "admin:speakers"}
LIST_ROUTE["gathering"] = "admin:gatherings"
NEW_GATHERING = {"timezone": "Europe/London", "mode": "in_person", "retention_days": "30"}
NEW_GATHERING["is_listed"] = "on"


async def _actor(request: Request) -> Actor | None:
    return await current_actor(request)


async def _form(request: Request) -> FormData:
    """The posted form, refusing bodies far beyond any honest form with 413."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise HTTPException(413, gettext(TOO_LARGE))
    try:
        return await checked_form(
            request,
            settings(request).secret_key,
            max_files=1,
            max_fields=40,
            max_part_size=MAX_TEXT_PART,
        )
    except HTTPException as error:
        raise HTTPException(413, gettext(TOO_LARGE)) from error


def _strings(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def _photo(form: FormData) -> forms.Photo | None:
    upload = form.get("photo")
    if not isinstance(upload, UploadFile):
        return None
    try:
        if not upload.filename:
            return None
        # Read one byte past the limit, never more, so a too-large file is recognised as such.
        data = await upload.read(forms.MAX_PHOTO_BYTES + 1)
        return forms.Photo(data=data, filename=upload.filename)
    finally:
        await upload.close()  # Starlette leaves spooled uploads open otherwise


def _id(request: Request, name: str) -> int:
    return int(request.path_params[name])


def _saved(request: Request, kind: str, row_id: int) -> Response:
    url = request.url_for(EDIT_ROUTE[kind], **{f"{kind}_id": row_id}).path
    return RedirectResponse(f"{url}?saved=1", 303)


def _page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    base: dict[str, Any] = {"errors": {}, "saved": request.query_params.get("saved") == "1"}
    modes = [(mode, gettext(label)) for mode, label in MODE_LABELS.items()]
    base.update(timezones=forms.COMMON_TIMEZONES, modes=modes)
    base.update(context)
    return render(request, template, base, status_code=status_code)


# --- lists --------------------------------------------------------------------------------------


@admin_only
async def home(request: Request) -> Response:
    return _page(request, "admin/home.html", {})


@admin_only
async def gatherings(request: Request) -> Response:
    listing = await manage.listing(database(request), await _actor(request))
    return _page(request, "admin/gatherings.html", {"listing": listing})


@admin_only
async def organisations(request: Request) -> Response:
    listing = await manage.listing(database(request), await _actor(request))
    return _page(request, "admin/organisations.html", {"listing": listing})


@admin_only
async def speakers(request: Request) -> Response:
    listing = await manage.listing(database(request), await _actor(request))
    return _page(request, "admin/speakers.html", {"listing": listing})


# --- gatherings ---------------------------------------------------------------------------------


@admin_only
async def gathering_new(request: Request) -> Response:
    db, actor = database(request), await _actor(request)
    context: dict[str, Any] = {"form": dict(NEW_GATHERING), "editing": None}
    if request.method == "POST":
        values = _strings(await _form(request))
        try:
            return _saved(request, "gathering", await manage.create_gathering(db, actor, values))
        except InvalidInput as error:
            context.update(form=values, errors=error.errors)
    context["organisations"] = await manage.organisation_choices(db, actor)
    status = 422 if context.get("errors") else 200
    return _page(request, "admin/gathering_form.html", context, status_code=status)


async def _edit(
    request: Request, kind: str, template: str, extra: Mapping[str, Any] | None = None
) -> Response:
    """GET shows the row; POST saves it, or shows it again with the typed values and errors."""
    db, actor = database(request), await _actor(request)
    row_id = _id(request, f"{kind}_id")
    editing = await manage.editing(db, actor, kind, row_id)
    context: dict[str, Any] = {"form": editing.form, "editing": editing, **(extra or {})}
    context["organisations"] = editing.organisations
    if request.method == "GET":
        return _page(request, template, context)
    form = await _form(request)
    values = _strings(form)
    try:
        if kind == "speaker":
            await manage.update_speaker(
                db,
                actor,
                row_id,
                values,
                await _photo(form),
                remove_photo=values.get("remove_photo") == "on",
            )
        else:
            await UPDATERS[kind](db, actor, row_id, values)
    except InvalidInput as error:
        context.update(form={**values, "photo": editing.form.get("photo", "")}, errors=error.errors)
        return _page(request, template, context, status_code=422)
    return _saved(request, kind, row_id)


UPDATERS = {
    "gathering": manage.update_gathering,
    "venue": manage.update_venue,
    "room": manage.update_room,
    "track": manage.update_track,
    "organisation": manage.update_organisation,
    "ticket_type": manage.update_ticket_type,
}


@admin_only
async def gathering_edit(request: Request) -> Response:
    return await _edit(request, "gathering", "admin/gathering_form.html")


# --- venues, rooms, tracks ----------------------------------------------------------------------

CREATORS = {
    "venue": manage.create_venue,
    "room": manage.create_room,
    "track": manage.create_track,
    "ticket_type": manage.create_ticket_type,
}
PARENT_PARAM = {"venue": "gathering_id", "room": "venue_id", "track": "gathering_id"}
PARENT_PARAM["ticket_type"] = "gathering_id"


async def _new_child(request: Request, kind: str) -> Response:
    db, actor = database(request), await _actor(request)
    parent_id = _id(request, PARENT_PARAM[kind])
    parent = await manage.parent_label(db, actor, kind, parent_id)
    template = f"admin/{kind}_form.html"
    context: dict[str, Any] = {"form": {}, "editing": None, "parent_id": parent_id}
    context["parent_label"] = parent
    if request.method == "GET":
        return _page(request, template, context)
    values = _strings(await _form(request))
    try:
        return _saved(request, kind, await CREATORS[kind](db, actor, parent_id, values))
    except InvalidInput as error:
        context.update(form=values, errors=error.errors)
        return _page(request, template, context, status_code=422)


@admin_only
async def venue_new(request: Request) -> Response:
    return await _new_child(request, "venue")


@admin_only
async def venue_edit(request: Request) -> Response:
    return await _edit(request, "venue", "admin/venue_form.html")


@admin_only
async def room_new(request: Request) -> Response:
    return await _new_child(request, "room")


@admin_only
async def room_edit(request: Request) -> Response:
    return await _edit(request, "room", "admin/room_form.html")


@admin_only
async def track_new(request: Request) -> Response:
    return await _new_child(request, "track")


@admin_only
async def track_edit(request: Request) -> Response:
    return await _edit(request, "track", "admin/track_form.html")


# --- registration set-up: ticket types and questions --------------------------------------------


@admin_only
async def ticket_type_new(request: Request) -> Response:
    return await _new_child(request, "ticket_type")


@admin_only
async def ticket_type_edit(request: Request) -> Response:
    return await _edit(request, "ticket_type", "admin/ticket_type_form.html")


@admin_only
async def questions(request: Request) -> Response:
    """The standard questions of a gathering: which are asked, their wording, which required."""
    db, actor = database(request), await _actor(request)
    gathering_id = _id(request, "gathering_id")
    current = await manage.question_settings(db, actor, gathering_id)
    context: dict[str, Any] = {"settings": current, "form": current.form}
    if request.method == "GET":
        return _page(request, "admin/questions_form.html", context)
    values = _strings(await _form(request))
    try:
        await manage.save_questions(db, actor, gathering_id, values)
    except InvalidInput as error:
        context.update(form=values, errors=error.errors)
        return _page(request, "admin/questions_form.html", context, status_code=422)
    url = request.url_for("admin:questions", gathering_id=gathering_id).path
    return RedirectResponse(f"{url}?saved=1", 303)


# --- organisations and speakers -----------------------------------------------------------------


@admin_only
async def organisation_new(request: Request) -> Response:
    context: dict[str, Any] = {"form": {}, "editing": None}
    if request.method == "POST":
        values = _strings(await _form(request))
        db, actor = database(request), await _actor(request)
        try:
            row_id = await manage.create_organisation(db, actor, values)
        except InvalidInput as error:
            context.update(form=values, errors=error.errors)
            return _page(request, "admin/organisation_form.html", context, status_code=422)
        return _saved(request, "organisation", row_id)
    return _page(request, "admin/organisation_form.html", context)


@admin_only
async def organisation_edit(request: Request) -> Response:
    return await _edit(request, "organisation", "admin/organisation_form.html")


@admin_only
async def speaker_new(request: Request) -> Response:
    context: dict[str, Any] = {"form": {}, "editing": None}
    if request.method == "POST":
        form = await _form(request)
        values = _strings(form)
        db, actor = database(request), await _actor(request)
        try:
            row_id = await manage.create_speaker(db, actor, values, await _photo(form))
        except InvalidInput as error:
            context.update(form=values, errors=error.errors)
            return _page(request, "admin/speaker_form.html", context, status_code=422)
        return _saved(request, "speaker", row_id)
    return _page(request, "admin/speaker_form.html", context)


@admin_only
async def speaker_edit(request: Request) -> Response:
    return await _edit(request, "speaker", "admin/speaker_form.html")


async def speaker_photo(request: Request) -> Response:
    """A speaker's photo with an ETag: public once a released programme names the speaker,
    before that only for admins (an unannounced speaker stays unannounced)."""
    db, slug = database(request), request.path_params["slug"]
    actor = await current_actor(request)
    is_preview = actor is not None and actor.is_admin
    if not is_preview:
        await speaker_profile(db, slug)  # NotFound unless a released programme names them
    content_type, data, updated_at = await manage.speaker_photo(db, slug)
    return cached_response(
        request, data, content_type, last_modified=updated_at, max_age=3600, public=not is_preview
    )


# --- deleting -----------------------------------------------------------------------------------


def _delete_view(kind: str) -> Handler:
    """GET asks for confirmation (saying what blocks it); POST deletes, or refuses with 409."""

    @admin_only
    async def view(request: Request) -> Response:
        db, actor = database(request), await _actor(request)
        row_id = _id(request, f"{kind}_id")
        if request.method == "POST":
            await _form(request)
            parent_id = await manage.delete(db, actor, kind, row_id)
            if parent_id is not None:
                parent_kind = forms.PARENTS[kind][0]
                url = request.url_for(EDIT_ROUTE[parent_kind], **{f"{parent_kind}_id": parent_id})
                return RedirectResponse(url.path, 303)
            return RedirectResponse(request.url_for(LIST_ROUTE[kind]).path, 303)
        editing = await manage.editing(db, actor, kind, row_id)
        blocking = await manage.dependents(db, actor, kind, row_id)
        context = {"editing": editing, "blocking": blocking, "edit_route": EDIT_ROUTE[kind]}
        context["delete_route"] = f"admin:{kind}_delete"
        context["kind_name"] = words.kind_name(kind)
        context["blocking_listed"] = ", ".join(words.counted(w, n) for w, n in blocking.items())
        return _page(request, "admin/delete.html", context)

    return view


GET_POST = ["GET", "POST"]
routes: list[BaseRoute] = [
    Route("/admin", home, name="admin:home"),
    Route("/admin/gatherings", gatherings, name="admin:gatherings"),
    Route("/admin/gatherings/new", gathering_new, methods=GET_POST, name="admin:gathering_new"),
    Route(
        "/admin/gatherings/{gathering_id:int}",
        gathering_edit,
        methods=GET_POST,
        name="admin:gathering_edit",
    ),
    Route(
        "/admin/gatherings/{gathering_id:int}/delete",
        _delete_view("gathering"),
        methods=GET_POST,
        name="admin:gathering_delete",
    ),
    Route(
        "/admin/gatherings/{gathering_id:int}/venues/new",
        venue_new,
        methods=GET_POST,
        name="admin:venue_new",
    ),
    Route(
        "/admin/gatherings/{gathering_id:int}/tracks/new",
        track_new,
        methods=GET_POST,
        name="admin:track_new",
    ),
    Route(
        "/admin/gatherings/{gathering_id:int}/ticket-types/new",
        ticket_type_new,
        methods=GET_POST,
        name="admin:ticket_type_new",
    ),
    Route(
        "/admin/ticket-types/{ticket_type_id:int}",
        ticket_type_edit,
        methods=GET_POST,
        name="admin:ticket_type_edit",
    ),
    Route(
        "/admin/ticket-types/{ticket_type_id:int}/delete",
        _delete_view("ticket_type"),
        methods=GET_POST,
        name="admin:ticket_type_delete",
    ),
    Route(
        "/admin/gatherings/{gathering_id:int}/questions",
        questions,
        methods=GET_POST,
        name="admin:questions",
    ),
    Route("/admin/venues/{venue_id:int}", venue_edit, methods=GET_POST, name="admin:venue_edit"),
    Route(
        "/admin/venues/{venue_id:int}/delete",
        _delete_view("venue"),
        methods=GET_POST,
        name="admin:venue_delete",
    ),
    Route(
        "/admin/venues/{venue_id:int}/rooms/new",
        room_new,
        methods=GET_POST,
        name="admin:room_new",
    ),
    Route("/admin/rooms/{room_id:int}", room_edit, methods=GET_POST, name="admin:room_edit"),
    Route(
        "/admin/rooms/{room_id:int}/delete",
        _delete_view("room"),
        methods=GET_POST,
        name="admin:room_delete",
    ),
    Route("/admin/tracks/{track_id:int}", track_edit, methods=GET_POST, name="admin:track_edit"),
    Route(
        "/admin/tracks/{track_id:int}/delete",
        _delete_view("track"),
        methods=GET_POST,
        name="admin:track_delete",
    ),
    Route("/admin/organisations", organisations, name="admin:organisations"),
    Route(
        "/admin/organisations/new",
        organisation_new,
        methods=GET_POST,
        name="admin:organisation_new",
    ),
    Route(
        "/admin/organisations/{organisation_id:int}",
        organisation_edit,
        methods=GET_POST,
        name="admin:organisation_edit",
    ),
    Route(
        "/admin/organisations/{organisation_id:int}/delete",
        _delete_view("organisation"),
        methods=GET_POST,
        name="admin:organisation_delete",
    ),
    Route("/admin/speakers", speakers, name="admin:speakers"),
    Route("/admin/speakers/new", speaker_new, methods=GET_POST, name="admin:speaker_new"),
    Route(
        "/admin/speakers/{speaker_id:int}",
        speaker_edit,
        methods=GET_POST,
        name="admin:speaker_edit",
    ),
    Route(
        "/admin/speakers/{speaker_id:int}/delete",
        _delete_view("speaker"),
        methods=GET_POST,
        name="admin:speaker_delete",
    ),
    Route("/speakers/{slug}/photo", speaker_photo, name="public:speaker_photo"),
]
