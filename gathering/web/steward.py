"""The door's JSON API, for the scan page's JavaScript on a steward's phone.

- ``POST /door/api/open`` ``{"token", "pin"}``: opens a steward pass on this device; sets the
  ``gathering_door`` cookie (HttpOnly, SameSite=Strict, path ``/door``) holding a signed device
  token. Answers the pass's label, validity and sessions — never people.
- ``GET /door/api/pass``: the same description again, while the pass is usable.
- ``POST /door/api/scan`` ``{"code", "session_id" (null: the whole gathering), "door", "nonce",
  "kind" ("entry" | "exit")}``: the scan's answer (see ``gathering.domain.checkin``), with words
  for the steward in ``message``. A retried request with the same nonce gets the same answer.
- ``POST /door/api/undo``: undo this pass's own last check-in (within five minutes).
- ``GET /door/api/counts?session_id=``: inside now / registered / capacity left.
- ``POST /door/api/close``: forget the device cookie.

CSRF: every POST that carries cookies must send asgi-csrf's token in the ``x-csrftoken`` header
(asgi-csrf accepts the header in place of a form field; the scan page reads the token from the page
it was served with). Bodies must be ``application/json``, which a cross-site form cannot send
without a CORS preflight that this API never grants; that also guards ``open``, which is usually
posted before any cookie exists.

The device cookie opens nothing but these routes: organiser pages check their own sign-in, and
attendee pages their own secret links.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gathering.domain import checkin
from gathering.domain.auth import Throttled
from gathering.errors import GatheringError, InvalidInput
from gathering.web.errors import STATUS_BY_CODE
from gathering.web.render import database, settings

COOKIE = "gathering_door"
COOKIE_PATH = "/door"
MAX_BODY = 32 * 1024  # room for a pasted 10 kB "code", which is answered red, not refused
NO_STORE = {"cache-control": "no-store", "x-robots-tag": "noindex"}

# Words for the steward, one per reason code (the codes themselves are the stable contract).
MESSAGES = {
    "ok": "Admitted.",
    "already_checked_in": "Already checked in.",
    "reentry_not_allowed": "Left earlier; this session does not allow re-entry.",
    "not_checked_in": "Not checked in, so cannot be checked out.",
    "not_registered_for_session": "Not registered for this session.",
    "waitlisted_only": "On the waiting list only: no place at this session.",
    "cancelled": "This registration or place was cancelled.",
    "not_confirmed": "This registration is not confirmed yet.",
    "not_yet_open": "Admission to this session has not opened yet.",
    "closed": "Admission to this session has closed.",
    "session_cancelled": "This session is cancelled.",
    "unknown_code": "Unknown ticket code.",
    "bad_code": "That is not a ticket code.",
    "pass_revoked": "This steward pass has been revoked.",
    "pass_expired": "This steward pass has expired.",
    "not_yet_valid": "This steward pass is not valid yet.",
    "session_not_on_pass": "This steward pass does not cover that session.",
    "undone": "Undone.",
    "nothing_to_undo": "Nothing to undo.",
    "undo_too_late": "Too late to undo: check-ins can be undone for five minutes.",
}

Handler = Callable[[Request], Awaitable[Response]]
DeviceHandler = Callable[[Request, checkin.StewardDevice], Awaitable[Response]]


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


def _json(data: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(data, status, headers=NO_STORE)


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    return _json({"error": code, "message": message, **extra}, status)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _answering_json(handler: Handler) -> Handler:
    """Turn refusals into JSON answers: this API never answers with an HTML page or a 500."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except _BadRequest as error:
            return _error(error.status, error.code, error.message)
        except InvalidInput as error:
            return _error(400, error.code, error.message, fields=error.errors)
        except checkin.PassRefused as error:
            status = 401 if error.code in ("unknown_pass", "wrong_pin") else 403
            return _error(status, error.code, error.message)
        except Throttled as error:
            return _error(429, error.code, error.message)
        except GatheringError as error:
            return _error(STATUS_BY_CODE.get(error.code, 400), error.code, error.message)

    return wrapper


def _with_device(handler: DeviceHandler) -> Handler:
    @_answering_json
    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        token = request.cookies.get(COOKIE, "")
        device = checkin.device_for_token(token, secret_key=settings(request).secret_key)
        if device is None:
            return _error(401, "not_signed_in", "Open the steward pass on this device first.")
        return await handler(request, device)

    return wrapper


async def _body(request: Request) -> dict[str, Any]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise _BadRequest("Send the body as JSON.", 415, "unsupported_media_type")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _BadRequest("The body is too large.", 413, "payload_too_large")
    chunks = bytearray()
    try:
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > MAX_BODY:
                raise _BadRequest("The body is too large.", 413, "payload_too_large")
    except ClientDisconnect:
        raise _BadRequest("The body did not arrive whole.") from None
    try:
        data = json.loads(chunks.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _BadRequest("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise _BadRequest("The body must be a JSON object.")
    return data


def _text(data: dict[str, Any], name: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise _BadRequest(f"'{name}' must be a string.")
    return value


def _session_id(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _BadRequest("'session_id' must be a whole number or null.")
    if isinstance(value, int) and 0 < value < 2**31:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        return int(value)
    raise _BadRequest("'session_id' must be a whole number or null.")


def _pass_json(info: checkin.PassInfo) -> dict[str, Any]:
    return {
        "pass": {
            "label": info.label,
            "gathering": {"slug": info.gathering_slug, "title": info.gathering_title},
            "timezone": info.timezone,
            "valid_from": info.valid_from.isoformat(),
            "valid_until": info.valid_until.isoformat(),
            "sessions": [
                {
                    "id": s.id,
                    "title": s.title,
                    "starts_at": s.starts_at.isoformat(),
                    "ends_at": s.ends_at.isoformat(),
                    "is_cancelled": s.is_cancelled,
                }
                for s in info.sessions
            ],
        }
    }


@_answering_json
async def open_pass(request: Request) -> Response:
    data = await _body(request)
    token, pin = _text(data, "token"), _text(data, "pin")
    config, now = settings(request), _now()
    client = request.client.host if request.client else "unknown"
    opened = await checkin.open_pass(
        database(request),
        token,
        pin,
        client_address=client,
        now=now,
        secret_key=config.secret_key,
    )
    response = _json(_pass_json(opened.info))
    response.set_cookie(
        COOKIE,
        opened.token,
        max_age=max(60, int((opened.info.valid_until - now).total_seconds())),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=config.secure_cookies,
    )
    return response


@_with_device
async def pass_info(request: Request, device: checkin.StewardDevice) -> Response:
    info = await checkin.pass_info(database(request), device, now=_now())
    return _json(_pass_json(info))


@_with_device
async def scan(request: Request, device: checkin.StewardDevice) -> Response:
    data = await _body(request)
    kind = _text(data, "kind", "entry")
    if kind not in ("entry", "exit"):
        raise _BadRequest('\'kind\' must be "entry" or "exit".')
    result = await checkin.scan(
        database(request),
        device,
        _text(data, "code"),
        session_id=_session_id(data.get("session_id")),
        door=_text(data, "door", ""),
        client_nonce=_text(data, "nonce"),
        kind="entry" if kind == "entry" else "exit",
        now=_now(),
    )
    return _json({**result.to_json(), "message": MESSAGES.get(result.reason, result.reason)})


@_with_device
async def undo(request: Request, device: checkin.StewardDevice) -> Response:
    result = await checkin.undo_last(database(request), device, now=_now())
    return _json(
        {
            "status": result.status,
            "reason": result.reason,
            "message": MESSAGES[result.reason],
            "kind": result.kind,
            "session_id": result.session_id,
            "name": result.name,
            "at": result.at.isoformat() if result.at else None,
        }
    )


@_with_device
async def counts(request: Request, device: checkin.StewardDevice) -> Response:
    session_id = _session_id(request.query_params.get("session_id"))
    found = await checkin.counts(database(request), device, session_id, now=_now())
    return _json(
        {
            "session_id": found.session_id,
            "checked_in": found.checked_in,
            "registered": found.registered,
            "capacity_left": found.capacity_left,
        }
    )


async def close(request: Request) -> Response:
    response = _json({"status": "closed"})
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


routes = [
    Route("/door/api/open", open_pass, methods=["POST"], name="steward:open"),
    Route("/door/api/pass", pass_info, name="steward:pass"),
    Route("/door/api/scan", scan, methods=["POST"], name="steward:scan"),
    Route("/door/api/undo", undo, methods=["POST"], name="steward:undo"),
    Route("/door/api/counts", counts, name="steward:counts"),
    Route("/door/api/close", close, methods=["POST"], name="steward:close"),
]
