"""CSRF for the few forms that upload files, and form bodies asgi-csrf can read.

asgi-csrf checks every other form. Its multipart check breaks with python-multipart 0.0.26 and
later (simonw/asgi-csrf#38: it passes ``FileClass=``, which the parser no longer takes), and the
older parser has known vulnerabilities. So multipart requests skip asgi-csrf, ``MultipartGate``
refuses them on every path not listed in ``UPLOAD_PATHS``, and the handlers of those paths read
their form through ``checked_form``, which verifies asgi-csrf's own signed double-submit token.

asgi-csrf also decodes a urlencoded form body as strict UTF-8 before any of our code runs, so a
body that is not UTF-8 would end in a 500; ``FormBodyGate`` reads such bodies first and answers
400 in words instead (and 413 for a body far beyond any form of ours), then hands the body on.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from asgi_csrf import asgi_csrf
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import FormData, Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gathering.core.errors import Forbidden

COOKIE = "csrftoken"  # asgi-csrf's cookie and form field
NAMESPACE = "csrftoken"  # asgi-csrf's signing namespace (the itsdangerous salt)
UPLOAD_PATHS = (re.compile(r"^/admin/speakers/(new|\d+)$"),)


# Methods whose requests carry no form (nothing for the gates to look at).
BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


# Addresses that answer data, never a page with a form: calendar feeds, exports, the JSON API,
# the door's API and static files.
_DATA_SUFFIXES = (".ics", ".xml", ".json", ".atom", ".csv", ".png", ".svg")
_DATA_PREFIXES = ("/static/", "/api/", "/door/api/")


def is_data_read(scope: Scope) -> bool:
    """A GET, HEAD or OPTIONS for data: it changes nothing and renders no form."""
    if scope["method"] not in BODILESS:
        return False
    path: str = scope["path"]
    return path.endswith(_DATA_SUFFIXES) or path.startswith(_DATA_PREFIXES)


class CsrfMiddleware:
    """asgi-csrf around the app, except for reads of data.

    asgi-csrf signs a fresh token for every request that comes without its cookie, before it
    knows whether a page will ask for one; every calendar client's hourly poll paid for one.
    A read of data never asks (no form), and asgi-csrf only adds its cookie and ``Vary:
    Cookie`` when a page asks, so the answer is the same without it. (Its own ``skip_if_scope``
    is only consulted for unsafe methods, so the choice is made here.) Everything else,
    multipart aside (see the module notes), goes through asgi-csrf.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        signing_secret: str,
        cookie_secure: bool,
        cookie_samesite: str,
        always_protect: set[str],
        send_csrf_failed: Any,
    ) -> None:
        self.app = app
        self.protected = asgi_csrf(
            app,
            signing_secret=signing_secret,
            cookie_secure=cookie_secure,
            cookie_samesite=cookie_samesite,
            always_protect=always_protect,
            send_csrf_failed=send_csrf_failed,
            skip_if_scope=is_multipart,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_data_read(scope):
            await self.app(scope, receive, send)
        else:
            await self.protected(scope, receive, send)


def is_multipart(scope: Scope) -> bool:
    content_type = Headers(scope=scope).get("content-type", "")
    return content_type.lower().startswith("multipart/form-data")


class MultipartGate:
    """415 for a multipart request to any path that does not take uploads."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in BODILESS
            and is_multipart(scope)
            and not any(p.match(scope["path"]) for p in UPLOAD_PATHS)
        ):
            response = PlainTextResponse(
                "This address does not take file uploads; send the form as a normal form.", 415
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def checked_form(
    request: Request, secret_key: str, *, max_files: int, max_fields: int, max_part_size: int
) -> FormData:
    """The posted form; for a multipart form, only if its CSRF token matches the signed cookie."""
    form = await request.form(
        max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
    )
    if is_multipart(request.scope):
        cookie = request.cookies.get(COOKIE, "")
        sent = form.get(COOKIE)
        try:
            URLSafeSerializer(secret_key).loads(cookie, salt=NAMESPACE)
        except BadSignature:
            cookie = ""
        if not cookie or not isinstance(sent, str) or not secrets.compare_digest(sent, cookie):
            await form.close()  # release the spooled upload before refusing
            raise Forbidden(
                "This form has expired. Go back, reload the page and send it again. "
                "Nothing was saved."
            )
    return form


MAX_FORM_BODY = 16 * 1024 * 1024  # the largest form (a pasted supporters list) is far smaller


def _is_urlencoded(scope: Scope) -> bool:
    content_type = Headers(scope=scope).get("content-type", "")
    return content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


class FormBodyGate:
    """400 for a urlencoded form body that is not UTF-8 text, 413 for a huge one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODILESS or not _is_urlencoded(scope):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away: let the app see it
            body += message.get("body", b"")
            if len(body) > MAX_FORM_BODY:
                await PlainTextResponse("This form is too large to accept.", 413)(
                    scope, receive, send
                )
                return
            if not message.get("more_body", False):
                break
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            response = PlainTextResponse(
                "The form arrived garbled (it was not sent as UTF-8 text). Go back, reload the "
                "page and send it again. Nothing was saved.",
                400,
            )
            await response(scope, receive, send)
            return
        replay = iter(
            [{"type": "http.request", "body": bytes(body), "more_body": False}]
            if messages and messages[-1]["type"] == "http.request"
            else messages
        )

        async def replayed() -> Message:
            try:
                return next(replay)
            except StopIteration:
                return await receive()

        await self.app(scope, replayed, send)
