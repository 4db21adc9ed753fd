"""Attendee pages: register, confirm the email, manage the booking, the ticket."""

from __future__ import annotations

import json
import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gathering.core.errors import InvalidInput, NotFound
from gathering.core.http import NO_STORE
from gathering.core.i18n import gettext
from gathering.core.render import database, render, settings, wake_sender
from gathering.registration import (
    change_pages,
    confirming,
    form,
    joining,
    offers,
    places,
    registering,
    tickets,
    words,
)
from gathering.registration import manage as booking_rules
from gathering.registration.kept_render import kept_render
from gathering.registration.limits import Limits
from gathering.registration.links import links


def _text(form: FormData, name: str, limit: int = 20_000) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def _registration_input(data: FormData) -> form.RegistrationInput:
    answers = {k.removeprefix("answer_"): _text(data, k) for k in data if k.startswith("answer_")}
    invites = {
        k.removeprefix("invite_"): _text(data, k, 200) for k in data if k.startswith("invite_")
    }
    return form.RegistrationInput(
        name=_text(data, "name", 1000),
        email=_text(data, "email", 1000),
        ticket_type_id=_text(data, "ticket_type_id", 20),
        answers=answers,
        session_ids=tuple(v for v in data.getlist("session_ids") if isinstance(v, str)),
        invite_codes=invites,
        contact_organisation_ids=tuple(v for v in data.getlist("contact") if isinstance(v, str)),
        constituency_match=data.get("constituency_match") == "yes",
        share_access_needs=data.get("share_access_needs") == "yes",
    )


async def register(request: Request) -> Response:
    slug = request.path_params["slug"]
    db, config = database(request), settings(request)
    preselected = request.query_params.get("session", "")
    given = form.RegistrationInput(session_ids=(preselected,) if preselected else ())
    errors: dict[str, str] = {}
    if request.method == "POST":
        # One unit of work reads what the form offers, checks the answers against it and
        # registers; the page is read apart only to show errors.
        given = _registration_input(await request.form())
        limits = Limits.of(config)
        try:
            done = await registering.register(
                db,
                slug,
                given,
                links=links(request),
                confirm_hours=config.confirm_hours,
                limits=limits,
                client_address=request.client.host if request.client else "unknown",
            )
        except InvalidInput as error:
            errors = error.errors
        else:
            wake_sender(request)
            title = done.gathering_title
            if not title:
                title = (await form.registration_page(db, slug)).programme.gathering.title
            # Kept rendered per title and hold (kept_render); the address typed fills its hole.
            sent = {"gathering_title": title, "hold_minutes": limits.hold_minutes}
            holes = {"email": given.email.strip()}
            return kept_render(
                request,
                "registration/sent.html",
                sent,
                (title, limits.hold_minutes),
                holes=holes,
                headers=NO_STORE,
            )
    page, page_key = await form.registration_page_keyed(db, slug)
    context = {"page": page, "form": given, "errors": errors}
    if errors:
        return render(request, "registration/form.html", context, status_code=422)
    # The empty form (a ``?session=`` preselection is in the kept key's query string).
    return kept_render(
        request, "registration/form.html", context, page_key, holes=form.places_holes(page)
    )


async def confirm(request: Request) -> Response:
    token = request.path_params["token"]
    if request.method == "GET":
        # Mail scanners fetch links; only a person pressing the button confirms.
        return render(
            request, "registration/confirm.html", {"token": token, "errors": {}}, headers=NO_STORE
        )
    try:
        result = await confirming.confirm_registration(
            database(request),
            token,
            links=links(request),
            confirm_hours=settings(request).confirm_hours,
        )
    except InvalidInput as error:
        context = {"token": token, "errors": error.errors}
        return render(
            request, "registration/confirm.html", context, status_code=400, headers=NO_STORE
        )
    wake_sender(request)
    return RedirectResponse(result.manage_url + ("?confirmed=1" if not result.already else ""), 303)


async def manage(request: Request) -> Response:
    booking = await booking_rules.booking(
        database(request), request.path_params["token"], secret_key=settings(request).secret_key
    )
    done = request.query_params.get("done", "")
    notice = _notice(done)
    if done == "given_up":
        notice = change_pages.undo_notice(booking, request.query_params.get("place", ""))
    context = {
        "booking": booking,
        "errors": {},
        "notice": notice,
        "confirmed": request.query_params.get("confirmed") == "1",
    }
    return render(request, "registration/manage.html", context, headers=NO_STORE)


def _notice(done: str) -> str:
    notice = words.NOTICES.get(done)
    return gettext(notice) if notice else ""


def _manage_path(request: Request, done: str) -> str:
    path = request.url_for("registration:manage", token=request.path_params["token"]).path
    return f"{path}?done={done}"


async def answers(request: Request) -> Response:
    token = request.path_params["token"]
    data = await request.form()
    given = {k.removeprefix("answer_"): _text(data, k) for k in data if k.startswith("answer_")}
    db, secret = database(request), settings(request).secret_key
    try:
        await booking_rules.update_answers(
            db, token, given, data.get("share_access_needs") == "yes", secret_key=secret
        )
    except InvalidInput as error:
        booking = await booking_rules.booking(db, token, secret_key=secret)
        booking_view = {
            "booking": booking,
            "errors": error.errors,
            "notice": "",
            "confirmed": False,
        }
        booking_view["typed"] = given
        return render(
            request, "registration/manage.html", booking_view, status_code=422, headers=NO_STORE
        )
    return RedirectResponse(_manage_path(request, "answers"), 303)


async def data(request: Request) -> Response:
    held = await booking_rules.personal_data(
        database(request), request.path_params["token"], secret_key=settings(request).secret_key
    )
    body = json.dumps(held, indent=2, ensure_ascii=False).encode()
    headers = {**NO_STORE, "content-disposition": 'attachment; filename="my-gathering-data.json"'}
    return Response(body, media_type="application/json", headers=headers)


async def erase(request: Request) -> Response:
    token = request.path_params["token"]
    if request.method == "GET":
        booking = await booking_rules.booking(
            database(request), token, secret_key=settings(request).secret_key
        )
        return render(request, "registration/erase.html", {"booking": booking}, headers=NO_STORE)
    await booking_rules.erase(
        database(request), token, links=links(request), offer_hours=settings(request).offer_hours
    )
    wake_sender(request)
    return render(request, "registration/erased.html", {}, headers=NO_STORE)


async def ticket(request: Request) -> Response:
    config = settings(request)
    view = await booking_rules.ticket(
        database(request),
        request.path_params["token"],
        secret_key=config.secret_key,
        joining_link_minutes=config.joining_link_minutes,
    )
    return render(request, "registration/ticket.html", {"ticket": view}, headers=NO_STORE)


async def ticket_image(request: Request) -> Response:
    if request.path_params["kind"] not in ("svg", "png"):
        raise NotFound(gettext(words.NOTHING_HERE))
    view = await booking_rules.ticket(
        database(request),
        request.path_params["token"],
        secret_key=settings(request).secret_key,
        joining_link_minutes=settings(request).joining_link_minutes,
    )
    code = view.booking.ticket_code or ""
    if request.path_params["kind"] == "svg":
        return Response(tickets.qr_svg(code), media_type="image/svg+xml", headers=NO_STORE)
    headers = {**NO_STORE, "content-disposition": 'inline; filename="ticket.png"'}
    return Response(tickets.qr_png(code), media_type="image/png", headers=headers)


async def offer(request: Request) -> Response:
    token = request.path_params["token"]
    if request.method == "GET":
        # Issue 16: the page names the session; reading it changes nothing (mail scanners).
        try:
            view = await offers.offer_view(
                database(request), token, secret_key=settings(request).secret_key
            )
        except InvalidInput as error:
            context = {"token": token, "errors": error.errors, "offer": None}
            return render(
                request, "registration/offer.html", context, status_code=410, headers=NO_STORE
            )
        context = {"token": token, "errors": {}, "offer": view}
        return render(request, "registration/offer.html", context, headers=NO_STORE)
    try:
        manage_url = await places.accept_offer(
            database(request),
            token,
            links=links(request),
            offer_hours=settings(request).offer_hours,
        )
    except InvalidInput as error:
        context = {"token": token, "errors": error.errors, "offer": None}
        return render(
            request, "registration/offer.html", context, status_code=410, headers=NO_STORE
        )
    wake_sender(request)
    return RedirectResponse(manage_url + "?done=accepted", 303)


async def join(request: Request) -> Response:
    """A personal joining link: to the meeting inside its window, else when it opens or ended."""
    config = settings(request)
    opening = await joining.open_link(
        database(request),
        request.path_params["token"],
        secret_key=config.secret_key,
        reveal_minutes=config.joining_link_minutes,
        is_new_device=joining.DEVICE_COOKIE not in request.cookies,
    )
    if opening.state != "open":
        status = 410 if opening.state == "ended" else 200
        context = {"opening": opening}
        return render(
            request, "registration/joining.html", context, status_code=status, headers=NO_STORE
        )
    headers = {**NO_STORE, "referrer-policy": "no-referrer"}
    response = RedirectResponse(opening.meeting_url, 303, headers=headers)
    # One random value per browser and link, never stored: it only tells devices apart.
    response.set_cookie(
        joining.DEVICE_COOKIE,
        secrets.token_urlsafe(16),
        max_age=joining.DEVICE_COOKIE_SECONDS,
        path=request.url.path,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


GET_POST = ["GET", "POST"]
routes = [
    Route("/g/{slug}/register", register, methods=GET_POST, name="registration:form"),
    Route("/r/confirm/{token}", confirm, methods=GET_POST, name="registration:confirm"),
    Route("/r/offer/{token}", offer, methods=GET_POST, name="registration:offer"),
    Route("/r/{token}", manage, name="registration:manage"),
    *change_pages.routes,  # issue 16: add, change, give up (asked first, then undoable)
    Route("/r/{token}/answers", answers, methods=["POST"], name="registration:answers"),
    Route("/r/{token}/data.json", data, name="registration:data"),
    Route("/r/{token}/erase", erase, methods=GET_POST, name="registration:erase"),
    Route("/r/{token}/ticket", ticket, name="registration:ticket"),
    Route("/r/{token}/ticket.{kind:str}", ticket_image, name="registration:ticket_image"),
    Route("/j/{token}", join, name="registration:join"),
]
