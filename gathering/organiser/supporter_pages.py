"""The organiser's page for a supporters-only session's list of eligible addresses."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gathering.core.errors import InvalidInput
from gathering.core.guards import current_actor, signed_in
from gathering.core.i18n import gettext
from gathering.core.render import database, render
from gathering.organiser import supporters, words
from gathering.organiser.supporters import SupportersInput

# A pasted list of 20,000 long addresses is a few hundred kilobytes; Starlette refuses a field
# over 1 MB with a bare 400, so allow more and let validation say when it is too much.
FIELD_LIMIT = 8 * 1024 * 1024


def _notice(saved: supporters.SupportersSaved) -> str:
    parts = [gettext(words.SUPPORTERS_SAVED).format(added=saved.added)]
    if saved.removed:
        parts.append(gettext(words.SUPPORTERS_REMOVED).format(removed=saved.removed))
    return ", ".join(parts) + gettext(words.SUPPORTERS_ON_LIST).format(count=saved.count)


@signed_in
async def supporters_page(request: Request) -> Response:
    slug, session_id = request.path_params["slug"], request.path_params["session_id"]
    actor = await current_actor(request)
    db = database(request)
    page = await supporters.supporters_page(db, actor, slug, session_id)
    form = SupportersInput(include_registrants=page.include_registrants)
    errors: dict[str, str] = {}
    notice = ""
    if request.method == "POST":
        sent = await request.form(max_part_size=FIELD_LIMIT)
        emails, mode = sent.get("emails", ""), sent.get("mode", "add")
        form = SupportersInput(
            emails=emails if isinstance(emails, str) else "",
            mode=mode if isinstance(mode, str) else "",
            include_registrants=sent.get("include_registrants") == "1",
        )
        try:
            saved = await supporters.save_supporters(db, actor, slug, session_id, form)
        except InvalidInput as error:
            errors = error.errors
        else:
            url = request.url_for("organiser:supporters", slug=slug, session_id=session_id)
            query = f"added={saved.added}&removed={saved.removed}"
            return RedirectResponse(f"{url.path}?{query}", 303)
    elif "added" in request.query_params:
        added = _count(request.query_params.get("added"))
        removed = _count(request.query_params.get("removed"))
        notice = _notice(
            supporters.SupportersSaved(added, removed, page.count, page.include_registrants)
        )
    context = {
        "page": page,
        "form": form,
        "errors": errors,
        "notice": notice,
        "max_supporters": supporters.MAX_SUPPORTERS,
    }
    status = 422 if errors else 200
    return render(request, "organiser/supporters.html", context, status_code=status)


def _count(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 7 else 0


@signed_in
async def supporters_csv(request: Request) -> Response:
    slug, session_id = request.path_params["slug"], request.path_params["session_id"]
    export = await supporters.export_supporters(
        database(request), await current_actor(request), slug, session_id
    )
    return Response(
        export.body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )


routes = [
    Route(
        "/organiser/g/{slug}/sessions/{session_id:int}/supporters",
        supporters_page,
        methods=["GET", "POST"],
        name="organiser:supporters",
    ),
    Route(
        "/organiser/g/{slug}/sessions/{session_id:int}/supporters.csv",
        supporters_csv,
        name="organiser:supporters_csv",
    ),
]
