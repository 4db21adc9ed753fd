"""Sign-in pages, the session cookie, and ``current_actor`` for the organiser pages."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Scope, Send

from gathering.auth import devices, resets, words
from gathering.auth import rules as auth
from gathering.core.errors import InvalidInput
from gathering.core.guards import SESSION_COOKIE as COOKIE
from gathering.core.guards import current_actor
from gathering.core.i18n import current_language, gettext
from gathering.core.render import database, render, settings, wake_sender
from gathering.core.throttles import Throttled


def _safe_next(value: str) -> str:
    # Only paths on this site: no "//evil.example" or "https://..." open redirects.
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/organiser"


async def signin(request: Request) -> Response:
    next_path = _safe_next(request.query_params.get("next", "/organiser"))
    context = {"errors": {}, "email": "", "next": next_path, "message": ""}
    if request.method == "GET":
        if await current_actor(request) is not None:
            return RedirectResponse(next_path, 303)
        return render(request, "auth/signin.html", context)
    form = await request.form()
    email = str(form.get("email", ""))[:320]
    next_path = _safe_next(str(form.get("next", next_path)))
    context.update(email=email, next=next_path)
    client = request.client.host if request.client else "unknown"
    config = settings(request)
    try:
        result = await auth.sign_in(
            database(request),
            email,
            str(form.get("password", "")),
            client_address=client,
            secret_key=config.secret_key,
            device_token=request.cookies.get(devices.DEVICE_COOKIE, ""),
        )
    except InvalidInput as error:
        context["errors"] = error.errors
        return render(request, "auth/signin.html", context, status_code=422)
    except Throttled as error:
        context["errors"] = {"email": error.message}
        headers = {"Retry-After": str(error.retry_after)}
        return render(request, "auth/signin.html", context, status_code=429, headers=headers)
    response = RedirectResponse(next_path, 303)
    response.set_cookie(
        COOKIE,
        result.token,
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        secure=config.secure_cookies,
        samesite="lax",
    )
    # Sent back only to the sign-in page: it marks this browser as one the account has used.
    response.set_cookie(
        devices.DEVICE_COOKIE,
        result.device_token,
        max_age=int(devices.DEVICE_LIFETIME.total_seconds()),
        path=devices.DEVICE_COOKIE_PATH,
        httponly=True,
        secure=config.secure_cookies,
        samesite="lax",
    )
    return response


async def signout(request: Request) -> Response:
    token = request.cookies.get(COOKIE, "")
    if token:
        await auth.sign_out(database(request), token)
    response = RedirectResponse(request.url_for("public:home").path, 303)
    response.delete_cookie(COOKIE, httponly=True, samesite="lax")
    return response


async def forgot(request: Request) -> Response:
    context = {"errors": {}, "email": "", "sent": False}
    if request.method == "POST":
        form = await request.form()
        email = str(form.get("email", ""))[:320]
        context["email"] = email
        config = settings(request)
        placeholder = "PLACEHOLDER"
        reset_path = request.url_for("auth:reset", token=placeholder).path
        reset_path = reset_path.replace(placeholder, "{token}")
        try:
            await resets.request_password_reset(
                database(request),
                email,
                secret_key=config.secret_key,
                reset_url=config.base_url.rstrip("/") + reset_path,
                log_link=config.log_reset_links and not config.is_production,
            )
        except InvalidInput as error:
            context["errors"] = error.errors
            return render(request, "auth/forgot.html", context, status_code=422)
        wake_sender(request)
        context["sent"] = True
    return render(request, "auth/forgot.html", context)


async def reset(request: Request) -> Response:
    token = request.path_params["token"]
    context = {"errors": {}, "token": token}
    if request.method == "POST":
        form = await request.form()
        try:
            await resets.reset_password(
                database(request),
                token,
                str(form.get("password", "")),
                secret_key=settings(request).secret_key,
            )
        except InvalidInput as error:
            context["errors"] = error.errors
            return render(request, "auth/reset.html", context, status_code=422)
        context = {"errors": {}, "email": "", "next": "/organiser"}
        context["message"] = gettext(words.CHANGED_NOTICE)
        return render(request, "auth/signin.html", context)
    return render(request, "auth/reset.html", context)


async def csrf_failed(scope: Scope, send: Send, message_id: object) -> None:
    """The CSRF check's refusal (``core.csrf``), worded for a person: the form is stale, not the
    person wrong."""
    language = current_language()
    title, heading, text = (
        escape(gettext(w))
        for w in (words.FORM_EXPIRED_TITLE, words.FORM_EXPIRED_HEADING, words.FORM_EXPIRED_TEXT)
    )
    body = (
        f"<!doctype html><html lang='{'en-GB' if language == 'en' else language}'><head>"
        "<meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title></head><body><main>"
        f"<h1>{heading}</h1><p>{text}</p>"
        "</main></body></html>"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


routes = [
    Route("/signin", signin, methods=["GET", "POST"], name="auth:signin"),
    Route("/signout", signout, methods=["POST"], name="auth:signout"),
    Route("/password/forgot", forgot, methods=["GET", "POST"], name="auth:forgot"),
    Route("/password/reset/{token}", reset, methods=["GET", "POST"], name="auth:reset"),
]
