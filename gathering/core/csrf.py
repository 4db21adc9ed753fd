"""Cross-site request forgery: an origin check on every state-changing request, and a signed
double-submit token.

Every POST (PUT, PATCH, DELETE) must come from this site. Browsers say where a request comes
from: ``Sec-Fetch-Site`` (all current browsers) is decisive, ``same-origin`` or ``none`` pass and
anything else (``cross-site``, and ``same-site``: a sibling subdomain is another site) is refused;
without it, an ``Origin`` must be this site's (the request's own ``Host``, or the origin of
``GATHERING_BASE_URL`` behind a proxy that rewrites ``Host``). This is what Go's
``http.CrossOriginProtection`` does. It closes the cookieless forms too (issue 14 #9: a third-party
page made visitors' browsers register addresses), which a token in a cookie cannot protect.

The token (``csrftoken``, the cookie and the form field or ``x-csrftoken`` header, equal and
signed with the secret key, as asgi-csrf made them) is asked for on top whenever the request
carries cookies, on the sign-in forms (so a sign-in cannot be forged even without cookies), and
when a browser hides the origin (``Origin: null``, which this site's own ``no-referrer`` policy
gives older browsers). A request with neither header nor cookies is not a browser acting for a
visitor. Pages get their token from ``scope["csrftoken"]()`` (the ``csrf_token`` template
global); the cookie is set, with ``Vary: Cookie``, only on answers that asked for one.

The JSON API's registration endpoint (``/api/...``) is cross-origin by design: a POST there that
carries no cookie skips both checks (it is throttled and answers 202 alike, see
``programme/api.py``). File uploads are multipart: ``MultipartGate`` refuses them except on
``UPLOAD_PATHS``, whose handlers read the form with ``checked_form`` (the token in the body).
``FormBodyGate`` answers 400 in words for a urlencoded body that is not UTF-8, 413 for a huge one.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Collection
from urllib.parse import unquote_plus, urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import FormData, Headers, MutableHeaders
from starlette.requests import Request, cookie_parser
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gathering.core.errors import Forbidden

COOKIE = "csrftoken"  # the cookie, the form field and (as x-csrftoken) the header
NAMESPACE = "csrftoken"  # the itsdangerous salt (asgi-csrf's, so its cookies stay valid)
HEADER = "x-csrftoken"
UPLOAD_PATHS = (re.compile(r"^/admin/speakers/(new|\d+)$"),)
CROSS_ORIGIN_API = "/api/"  # the public JSON API: other sites' forms post here, without cookies

# Methods whose requests carry no form and change nothing.
BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})

# Addresses that answer data, never a page with a form: calendar feeds, exports, the JSON API,
# the door's API and static files.
_DATA_SUFFIXES = (".ics", ".xml", ".json", ".atom", ".csv", ".png", ".svg")
_DATA_PREFIXES = ("/static/", "/api/", "/door/api/")
MAX_FORM_BODY = 16 * 1024 * 1024  # the largest form (a pasted supporters list) is far smaller
_FORM_FIELD = re.compile(rb"(?:^|&)csrftoken=([^&]*)")

Refuse = Callable[[Scope, Send, str], Awaitable[None]]


def is_data_read(scope: Scope) -> bool:
    """A GET, HEAD or OPTIONS for data: it changes nothing and renders no form."""
    if scope["method"] not in BODILESS:
        return False
    path: str = scope["path"]
    return path.endswith(_DATA_SUFFIXES) or path.startswith(_DATA_PREFIXES)


def is_multipart(scope: Scope) -> bool:
    content_type = Headers(scope=scope).get("content-type", "")
    return content_type.lower().startswith("multipart/form-data")


def _is_urlencoded(scope: Scope) -> bool:
    content_type = Headers(scope=scope).get("content-type", "")
    return content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, as a browser writes it in ``Origin``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class CsrfMiddleware:
    """Refuses forged state-changing requests (see the module notes); issues tokens to pages."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_key: str,
        secure_cookie: bool,
        trusted_origin: str,
        always_protect: Collection[str],
        refuse: Refuse,
    ) -> None:
        self.app = app
        self.serializer = URLSafeSerializer(secret_key)
        # Made once: ``dumps``/``loads`` made a signer per call, most of a token's cost.
        # ``dumps`` is ``sign(dump_payload(...))`` and ``loads`` ``load_payload(unsign(...))``
        # with this very signer (one key, no fallback signers), so tokens are the same.
        self.signer = self.serializer.make_signer(NAMESPACE)
        self.trusted_origin = trusted_origin.lower()
        self.always_protect = frozenset(always_protect)
        self.refuse = refuse
        self.attributes = "; Path=/; SameSite=Lax; HttpOnly" + ("; Secure" if secure_cookie else "")

    def _signed(self, value: str) -> str:
        """``value`` when it is a token this site signed, else ""."""
        try:
            self.serializer.load_payload(self.signer.unsign(value))
        except BadSignature:
            return ""
        return value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_data_read(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)  # decoded as latin-1: any bytes in a Cookie header parse
        cookies = cookie_parser(headers.get("cookie", ""))
        if scope["method"] not in BODILESS:
            receive, reason = await self._refusal(scope, headers, cookies, receive)
            if reason:
                await self.refuse(scope, send, reason)
                return
        issued: list[str] = []

        def token() -> str:
            if not issued:
                issued.append(self._signed(cookies.get(COOKIE, "")) or self._new_token())
            return issued[0]

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and issued:
                response_headers = MutableHeaders(scope=message)
                if issued[0] != cookies.get(COOKIE):
                    response_headers.append("set-cookie", f"{COOKIE}={issued[0]}{self.attributes}")
                response_headers.add_vary_header("Cookie")
            await send(message)

        scope["csrftoken"] = token
        await self.app(scope, receive, send_with_cookie)

    def _new_token(self) -> str:
        payload = self.serializer.dump_payload(secrets.token_hex(16))
        return self.signer.sign(payload).decode()

    async def _refusal(
        self, scope: Scope, headers: Headers, cookies: dict[str, str], receive: Receive
    ) -> tuple[Receive, str]:
        """The reason to refuse this unsafe request ("" to let it through), and the receive
        channel to hand on (the body, when it was read for its token)."""
        path: str = scope["path"]
        if not cookies and path.startswith(CROSS_ORIGIN_API):
            return receive, ""
        site = headers.get("sec-fetch-site")
        origin = headers.get("origin")
        if site is not None:
            if site not in ("same-origin", "none"):
                return receive, "cross-site request"
        elif origin is not None and origin != "null" and not self._is_own(origin, headers):
            return receive, "cross-origin request"
        hidden_origin = site is None and origin == "null"
        if not (cookies or path in self.always_protect or hidden_origin):
            return receive, ""
        if is_multipart(scope):
            return receive, ""  # the token is in the body: checked_form checks it
        sent = headers.get(HEADER)
        if sent is None and _is_urlencoded(scope):
            body, receive = await _read_body(receive)
            found = _FORM_FIELD.search(body or b"")
            sent = unquote_plus(found.group(1).decode("latin-1")) if found else None
        cookie = self._signed(cookies.get(COOKIE, ""))
        if not cookie or not sent or not secrets.compare_digest(sent, cookie):
            return receive, "missing or wrong token"
        return receive, ""

    def _is_own(self, origin: str, headers: Headers) -> bool:
        origin = origin.lower()
        if origin == self.trusted_origin:
            return True
        host = headers.get("host", "").lower()
        return bool(host) and urlsplit(origin).netloc == host


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (None past ``MAX_FORM_BODY``), and a receive channel that hands it on."""
    chunks: list[bytes] = []
    size = 0
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break  # the client went away: let the app see it
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_FORM_BODY:
            return None, receive
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    complete = messages[-1]["type"] == "http.request"
    replay = iter(
        [{"type": "http.request", "body": body, "more_body": False}] if complete else messages
    )

    async def replayed() -> Message:
        try:
            return next(replay)
        except StopIteration:
            return await receive()

    return body, replayed


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


class FormBodyGate:
    """400 for a urlencoded form body that is not UTF-8 text, 413 for a huge one; NULs dropped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODILESS or not _is_urlencoded(scope):
            await self.app(scope, receive, send)
            return
        body, replayed = await _read_body(receive)
        if body is None:
            await PlainTextResponse("This form is too large to accept.", 413)(scope, receive, send)
            return
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            response = PlainTextResponse(
                "The form arrived garbled (it was not sent as UTF-8 text). Go back, reload the "
                "page and send it again. Nothing was saved.",
                400,
            )
            await response(scope, receive, send)
            return
        if b"%00" in body or b"\x00" in body:
            # NUL is no character anyone types, and PostgreSQL cannot store it in text: dropped
            # here once for every form, as the editors drop other control characters.
            body = body.replace(b"%00", b"").replace(b"\x00", b"")
            cleaned = iter([{"type": "http.request", "body": body, "more_body": False}])

            async def replayed() -> Message:
                try:
                    return next(cleaned)
                except StopIteration:
                    return await receive()

        await self.app(scope, replayed, send)
