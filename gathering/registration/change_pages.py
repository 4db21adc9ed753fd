"""Manage-link pages for changing one's mind (issue 16): add sessions, change the ticket type,
give up a place or everything (each asks first, then can be undone for a few minutes)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gathering.core.errors import InvalidInput, NotFound
from gathering.core.http import NO_STORE
from gathering.core.i18n import gettext
from gathering.core.render import database, render, settings, wake_sender
from gathering.registration import changing, undoing, words
from gathering.registration import manage as booking_rules
from gathering.registration.links import links


def _token(request: Request) -> str:
    return str(request.path_params["token"])


def _manage_path(request: Request, done: str = "", **params: str) -> str:
    path = request.url_for("registration:manage", token=_token(request)).path
    query = "&".join(f"{k}={v}" for k, v in {"done": done, **params}.items() if v)
    return f"{path}?{query}" if query else path


def _invites(data: FormData) -> dict[str, str]:
    return {
        k.removeprefix("invite_"): str(v)[:200]
        for k, v in data.items()
        if k.startswith("invite_") and isinstance(v, str)
    }


async def add_sessions(request: Request) -> Response:
    """GET: the sessions one may add (those in ``?session=`` chosen); POST: add them."""
    db, config = database(request), settings(request)
    chosen = tuple(v for v in request.query_params.getlist("session") if v.isdigit())
    invites: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = await request.form()
        chosen = tuple(v for v in data.getlist("session_ids") if isinstance(v, str))
        invites = _invites(data)
        try:
            added = await changing.add_sessions(
                db, _token(request), chosen, invites, links=links(request)
            )
        except InvalidInput as error:
            errors = error.errors
        else:
            wake_sender(request)
            statuses = set(added.places.values())
            done = "added" if statuses <= {"confirmed"} else "waiting"
            return RedirectResponse(_manage_path(request, done if statuses else "nothing"), 303)
    view = await changing.add_page(db, _token(request), secret_key=config.secret_key)
    context = {"view": view, "chosen": chosen, "invites": invites, "errors": errors}
    status = 422 if errors else 200
    return render(
        request, "registration/add_sessions.html", context, status_code=status, headers=NO_STORE
    )


async def ticket_type(request: Request) -> Response:
    data = await request.form()
    chosen = data.get("ticket_type_id", "")
    db, config = database(request), settings(request)
    try:
        await changing.change_ticket_type(
            db, _token(request), chosen if isinstance(chosen, str) else "", links=links(request)
        )
    except InvalidInput as error:
        booking = await booking_rules.booking(db, _token(request), secret_key=config.secret_key)
        context = {"booking": booking, "errors": error.errors, "notice": "", "confirmed": False}
        return render(
            request, "registration/manage.html", context, status_code=422, headers=NO_STORE
        )
    wake_sender(request)
    return RedirectResponse(_manage_path(request, "ticket_type"), 303)


async def cancel_place(request: Request) -> Response:
    """GET: "give up your place at …?"; POST: give it up, undoable for a few minutes."""
    db, config = database(request), settings(request)
    place_id = int(request.path_params["place_id"])
    if request.method == "GET":
        booking = await booking_rules.booking(db, _token(request), secret_key=config.secret_key)
        place = next((p for p in booking.places if p.id == place_id), None)
        if place is None:
            raise NotFound(gettext(words.NOT_YOUR_PLACE))
        context = {"booking": booking, "place": place, "undo_minutes": config.undo_minutes}
        return render(request, "registration/give_up.html", context, headers=NO_STORE)
    until = await booking_rules.cancel_place(
        db,
        _token(request),
        place_id,
        links=links(request),
        offer_hours=config.offer_hours,
        undo_minutes=config.undo_minutes,
    )
    wake_sender(request)
    if until is None:
        return RedirectResponse(_manage_path(request, "place"), 303)
    return RedirectResponse(_manage_path(request, "given_up", place=str(place_id)), 303)


async def cancel(request: Request) -> Response:
    """GET: "cancel your whole registration?"; POST: cancel it, undoable for a few minutes."""
    db, config = database(request), settings(request)
    if request.method == "GET":
        booking = await booking_rules.booking(db, _token(request), secret_key=config.secret_key)
        context = {"booking": booking, "undo_minutes": config.undo_minutes}
        return render(request, "registration/cancel.html", context, headers=NO_STORE)
    await booking_rules.cancel_registration(
        db,
        _token(request),
        links=links(request),
        offer_hours=config.offer_hours,
        undo_minutes=config.undo_minutes,
    )
    wake_sender(request)
    booking = await booking_rules.booking(db, _token(request), secret_key=config.secret_key)
    return render(request, "registration/cancelled.html", {"booking": booking}, headers=NO_STORE)


async def undo_place(request: Request) -> Response:
    await undoing.undo_give_up(
        database(request),
        _token(request),
        int(request.path_params["place_id"]),
        secret_key=settings(request).secret_key,
    )
    return RedirectResponse(_manage_path(request, "undone"), 303)


async def undo(request: Request) -> Response:
    await undoing.undo_cancellation(
        database(request), _token(request), secret_key=settings(request).secret_key
    )
    return RedirectResponse(_manage_path(request, "restored"), 303)


def undo_notice(booking: booking_rules.Booking, place_id: str) -> str:
    """What the manage page says right after a place was given up (with its undo deadline)."""
    place = next((p for p in booking.given_up if str(p.id) == place_id), None)
    if place is None or place.undo_until is None:
        return ""
    until = _clock(place.undo_until, booking.programme.gathering.timezone)
    return words.gave_up_notice(place.session.title, until)


def _clock(moment: dt.datetime, timezone: str) -> str:
    """'14:30 BST': the clock of ``moment_text`` without its day."""
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    return f"{local:%H:%M} {local.tzname()}"


GET_POST = ["GET", "POST"]
routes = [
    Route("/r/{token}/sessions", add_sessions, methods=GET_POST, name="registration:add_sessions"),
    Route("/r/{token}/ticket-type", ticket_type, methods=["POST"], name="registration:ticket_type"),
    Route(
        "/r/{token}/places/{place_id:int}/cancel",
        cancel_place,
        methods=GET_POST,
        name="registration:cancel_place",
    ),
    Route(
        "/r/{token}/places/{place_id:int}/undo",
        undo_place,
        methods=["POST"],
        name="registration:undo_place",
    ),
    Route("/r/{token}/cancel", cancel, methods=GET_POST, name="registration:cancel"),
    Route("/r/{token}/undo", undo, methods=["POST"], name="registration:undo"),
]
