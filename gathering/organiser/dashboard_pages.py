"""Organiser dashboard, attendee lists, consented exports and messages to registrants (issue 7).

Who may see what is decided in ``gathering.organiser.dashboard`` and
``gathering.organiser.attendees``
(read their docstrings); these handlers only parse, call and render. Pages with people on them
are never cached.
"""

from __future__ import annotations

from dataclasses import replace

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gathering.core.errors import InvalidInput
from gathering.core.guards import current_actor, signed_in
from gathering.core.http import NO_STORE
from gathering.core.i18n import gettext, ngettext
from gathering.core.render import database, render, wake_sender
from gathering.organiser import attendees, dashboard, words
from gathering.organiser import registrant_messages as messaging
from gathering.organiser.charts import ColumnChart, column_chart, describe
from gathering.organiser.registrant_messages import MessageInput
from gathering.organiser.tallies import TimeSeries
from gathering.registration.links import links

KEPT_AS_TYPED = 200_000  # characters of an over-long message shown back in the form


def _registrations_chart(series: TimeSeries, noun: str, x_title: str, y_title: str) -> ColumnChart:
    return column_chart(
        series,
        noun=noun,
        x_title=x_title,
        y_title=y_title,
        description=describe(series, noun),
    )


def _arrivals_chart(series: TimeSeries) -> ColumnChart:
    return column_chart(
        series,
        noun="arrivals",
        x_title=gettext(words.ARRIVALS_X).format(step=series.step_words),
        y_title=gettext(words.ARRIVALS_Y),
        description=describe(series, "arrivals"),
    )


@signed_in
async def gathering_page(request: Request) -> Response:
    board = await dashboard.gathering_dashboard(
        database(request), await current_actor(request), request.path_params["slug"]
    )
    charts = {
        "registrations": _registrations_chart(
            board.registrations,
            "registrations",
            gettext(words.REGISTERED_X).format(step=board.registrations.step_words),
            gettext(words.REGISTRATIONS_Y),
        ),
        "arrivals": _arrivals_chart(board.arrivals),
    }
    context = {"board": board, "charts": charts}
    return render(request, "organiser/dashboard.html", context, headers=NO_STORE)


@signed_in
async def session_page(request: Request) -> Response:
    board = await dashboard.session_dashboard(
        database(request),
        await current_actor(request),
        request.path_params["slug"],
        request.path_params["session_id"],
    )
    charts = {
        "registrations": _registrations_chart(
            board.registrations,
            "bookings",
            gettext(words.BOOKED_X).format(step=board.registrations.step_words),
            gettext(words.BOOKINGS_Y),
        ),
        "arrivals": _arrivals_chart(board.arrivals),
    }
    context = {"board": board, "charts": charts}
    return render(request, "organiser/dashboard_session.html", context, headers=NO_STORE)


@signed_in
async def attendees_page(request: Request) -> Response:
    listing = await attendees.attendee_list(
        database(request),
        await current_actor(request),
        request.path_params["slug"],
        request.path_params["session_id"],
        request.query_params.get("q", ""),
    )
    return render(request, "organiser/attendees.html", {"listing": listing}, headers=NO_STORE)


@signed_in
async def attendees_csv(request: Request) -> Response:
    export = await attendees.export_attendees(
        database(request),
        await current_actor(request),
        request.path_params["slug"],
        request.path_params["session_id"],
        attendees.parse_organisation(request.query_params.get("organisation")),
    )
    return Response(
        export.body,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{export.filename}"',
            **NO_STORE,
        },
    )


def _message_input(form: FormData) -> MessageInput:
    def text(name: str) -> str:
        value = form.get(name, "")
        return value[:KEPT_AS_TYPED] if isinstance(value, str) else ""

    return MessageInput(
        subject=text("subject"),
        body=text("body"),
        include_waiting=form.get("include_waiting") == "yes",
        nonce=text("nonce")[:100],
    )


def _sent_notice(request: Request) -> str:
    raw = request.query_params.get("sent", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 7):
        return ""
    people = ngettext("{n} person", "{n} people", int(raw)).format(n=f"{int(raw):,}")
    if request.query_params.get("again") == "1":
        return gettext(words.MESSAGE_ALREADY_SENT).format(people=people)
    return gettext(words.MESSAGE_ON_ITS_WAY).format(people=people)


@signed_in
async def message_page(request: Request) -> Response:
    slug, session_id = request.path_params["slug"], request.path_params["session_id"]
    actor, db = await current_actor(request), database(request)
    page = await messaging.message_page(db, actor, slug, session_id)
    form, errors = MessageInput(nonce=messaging.new_nonce()), {}
    if request.method == "POST":
        sent_form = await request.form()
        form, action = _message_input(sent_form), sent_form.get("action")
        try:
            if action == "send":
                sent = await messaging.send_message(
                    db, actor, slug, session_id, form, links=links(request)
                )
                wake_sender(request)
                url = request.url_for("dashboard:message", slug=slug, session_id=session_id)
                again = "&again=1" if sent.already else ""
                return RedirectResponse(f"{url.path}?sent={sent.recipients}{again}", 303)
            if action == "preview":
                preview = await messaging.preview_message(db, actor, slug, session_id, form)
                shown = {"preview": preview}
                return render(request, "organiser/message_preview.html", shown, headers=NO_STORE)
        except InvalidInput as error:
            errors = error.errors
        if "nonce" in errors:
            form = replace(form, nonce=messaging.new_nonce())
    context = {
        "page": page,
        "form": form,
        "errors": errors,
        "notice": "" if request.method == "POST" else _sent_notice(request),
        "max_subject": messaging.MAX_SUBJECT,
        "max_body": messaging.MAX_BODY,
    }
    status = 422 if errors else 200
    return render(request, "organiser/message.html", context, status_code=status, headers=NO_STORE)


routes: list[BaseRoute] = [
    Route("/organiser/g/{slug}/dashboard", gathering_page, name="dashboard:gathering"),
    Route(
        "/organiser/g/{slug}/sessions/{session_id:int}/dashboard",
        session_page,
        name="dashboard:session",
    ),
    Route(
        "/organiser/g/{slug}/sessions/{session_id:int}/attendees",
        attendees_page,
        name="dashboard:attendees",
    ),
    Route(
        "/organiser/g/{slug}/sessions/{session_id:int}/attendees.csv",
        attendees_csv,
        name="dashboard:attendees_csv",
    ),
    Route(
        "/organiser/g/{slug}/sessions/{session_id:int}/message",
        message_page,
        methods=["GET", "POST"],
        name="dashboard:message",
    ),
]
