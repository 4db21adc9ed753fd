"""The door's JSON API, for the scan page's JavaScript on a steward's phone.

- ``POST /door/api/open`` ``{"token", "pin"}``: opens a steward pass on this device; sets the
  ``gathering_door`` cookie (HttpOnly, SameSite=Strict, path ``/door``) holding a signed device
  token. Answers the pass's label, validity and sessions — never people.
- ``GET /door/api/pass``: the same description again, while the pass is usable.
- ``POST /door/api/scan`` ``{"code", "session_id" (null: the whole gathering), "door", "nonce",
  "kind" ("entry" | "exit")}``: the scan's answer (see ``gathering.door.scanning``), with words
  for the steward in ``message``. A retried request with the same nonce gets the same answer.
  A device scanning faster than a door can is refused before anything is recorded: 429
  ``too_many_scans`` or ``too_many_refused`` (many red answers in a row), with ``message`` and
  ``retry_after`` (seconds, also in the ``Retry-After`` header); see ``gathering.door.bounds``.
- ``POST /door/api/undo`` ``{"nonce"}`` (optional): undo the entry or exit recorded by this
  device's scan with that nonce, or without one this device's last (within five minutes).
- ``GET /door/api/counts?session_id=``: inside now / registered / capacity left.
- ``GET /door/api/events?session_id=``: the same counts as Server-Sent Events (``event: counts``),
  sent at once and again whenever a check-in at the gathering changes them (on any replica);
  ``event: refused`` and the end of the stream once the pass stops working; ``: ping`` comments
  keep idle connections open. Streams end after ``STREAM_SECONDS``; EventSource reconnects.
  A device holds at most two streams: a third ends the oldest with ``event: replaced``.
- ``POST /door/api/search`` ``{"query", "session_id"}``: the help desk for someone without their
  phone (see ``gathering.door.desk``): ``{"matches": [{"ref", "name", "ticket_type", "place",
  "checked_in"}], "too_many", "message"}``; admit a match by scanning ``{"ref"}`` for ``code``.
- ``POST /door/api/close``: forget the device cookie.

CSRF (``core.csrf``): every POST that carries cookies must send the token in the ``x-csrftoken``
header (accepted in place of a form field; the scan page reads the token from the page it was
served with). Bodies must be ``application/json``, which a cross-site form cannot send
without a CORS preflight that this API never grants; that also guards ``open``, which is usually
posted before any cookie exists.

The device cookie opens nothing but these routes: organiser pages check their own sign-in, and
attendee pages their own secret links.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from typing import Any, cast

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gathering.core.clock import utc_now
from gathering.core.error_pages import STATUS_BY_CODE
from gathering.core.errors import GatheringError, InvalidInput
from gathering.core.http import NO_STORE
from gathering.core.i18n import gettext
from gathering.core.render import database, settings
from gathering.core.throttles import Throttled
from gathering.door import counts as door_counts
from gathering.door import desk, devices, scanning, words
from gathering.door.bounds import DeviceBounds, TooManyScans
from gathering.door.devices import PassInfo, PassRefused, StewardDevice
from gathering.door.live import DoorSignals

COOKIE = "gathering_door"
COOKIE_PATH = "/door"
MAX_BODY = 32 * 1024  # room for a pasted 10 kB "code", which is answered red, not refused
PING_SECONDS = 15.0  # a comment this often keeps proxies from closing a quiet stream
COALESCE_SECONDS = 0.25  # after a wake, wait this long so a burst of scans costs one read
STREAM_SECONDS = 600.0  # then end; EventSource reconnects (and the pass is checked again)
RECONNECT_MS = 3000

Handler = Callable[[Request], Awaitable[Response]]
DeviceHandler = Callable[[Request, StewardDevice], Awaitable[Response]]


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


def _json(data: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(data, status, headers=NO_STORE)


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    response = _json({"error": code, "message": message, **extra}, status)
    if status == 503:  # busy: the scan page resends the same nonce after this
        response.headers["retry-after"] = "2"
    elif "retry_after" in extra:
        response.headers["retry-after"] = str(extra["retry_after"])
    return response


def _answering_json(handler: Handler) -> Handler:
    """Turn refusals into JSON answers: this API never answers with an HTML page or a 500."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except _BadRequest as error:
            return _error(error.status, error.code, error.message)
        except InvalidInput as error:
            # A scan page shows one line: the field's own words say what to change.
            message = " ".join(error.errors.values()) or error.message
            return _error(400, error.code, message, fields=error.errors)
        except PassRefused as error:
            status = 401 if error.code in ("unknown_pass", "wrong_pin") else 403
            return _error(status, error.code, error.message)
        except TooManyScans as error:
            return _error(429, error.code, error.message, retry_after=error.retry_after)
        except Throttled as error:
            return _error(429, error.code, error.message, retry_after=error.retry_after)
        except GatheringError as error:
            return _error(STATUS_BY_CODE.get(error.code, 400), error.code, error.message)

    return wrapper


def _with_device(handler: DeviceHandler) -> Handler:
    @_answering_json
    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        token = request.cookies.get(COOKIE, "")
        device = devices.device_for_token(token, secret_key=settings(request).secret_key)
        if device is None:
            return _error(401, "not_signed_in", gettext(words.NOT_SIGNED_IN))
        return await handler(request, device)

    return wrapper


async def _body(request: Request) -> dict[str, Any]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise _BadRequest(gettext(words.BODY_NOT_JSON), 415, "unsupported_media_type")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _BadRequest(gettext(words.BODY_TOO_LARGE), 413, "payload_too_large")
    chunks = bytearray()
    try:
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > MAX_BODY:
                raise _BadRequest(gettext(words.BODY_TOO_LARGE), 413, "payload_too_large")
    except ClientDisconnect:
        raise _BadRequest(gettext(words.BODY_CUT_SHORT)) from None
    try:
        data = json.loads(chunks.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _BadRequest(gettext(words.BODY_INVALID_JSON)) from None
    if not isinstance(data, dict):
        raise _BadRequest(gettext(words.BODY_NOT_OBJECT))
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
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 11:
        number = int(value)
        if 0 < number < 2**31:  # database ids are 32-bit integers
            return number
    raise _BadRequest("'session_id' must be a whole number or null.")


def _pass_json(info: PassInfo) -> dict[str, Any]:
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
    config, now = settings(request), utc_now()
    client = request.client.host if request.client else "unknown"
    # A phone that opened this pass before is trusted: strangers' wrong PINs never delay it.
    known = devices.device_for_token(request.cookies.get(COOKIE, ""), secret_key=config.secret_key)
    opened = await devices.open_pass(
        database(request),
        token,
        pin,
        client_address=client,
        now=now,
        secret_key=config.secret_key,
        device=known,
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
async def pass_info(request: Request, device: StewardDevice) -> Response:
    info = await devices.pass_info(database(request), device, now=utc_now())
    return _json(_pass_json(info))


def _signals(request: Request) -> DoorSignals:
    return cast(DoorSignals, request.app.state.door_signals)


def _bounds(request: Request) -> DeviceBounds:
    """This process's per-device bounds, made on first use (they live as long as the app)."""
    state = request.app.state
    bounds = getattr(state, "door_bounds", None)
    if not isinstance(bounds, DeviceBounds):
        bounds = state.door_bounds = DeviceBounds()
    return bounds


@_with_device
async def scan(request: Request, device: StewardDevice) -> Response:
    data = await _body(request)
    kind = _text(data, "kind", "entry")
    if kind not in ("entry", "exit"):
        raise _BadRequest('\'kind\' must be "entry" or "exit".')
    ref = data.get("ref")
    if ref is not None and not isinstance(ref, str):
        raise _BadRequest("'ref' must be a string.")
    result = await scanning.scan(
        database(request),
        device,
        "" if ref is not None else _text(data, "code"),
        session_id=_session_id(data.get("session_id")),
        door=_text(data, "door", ""),
        client_nonce=_text(data, "nonce"),
        kind="entry" if kind == "entry" else "exit",
        now=utc_now(),
        ref=ref,
        secret_key=settings(request).secret_key,
        bounds=_bounds(request),
    )
    _signals(request).changed(result.changed_gathering_id)
    return _json({**result.to_json(), "message": words.reason(result.reason)})


@_with_device
async def undo(request: Request, device: StewardDevice) -> Response:
    nonce = None
    if request.headers.get("content-length", "0") not in ("", "0"):
        data = await _body(request)
        if data.get("nonce") is not None:
            nonce = _text(data, "nonce")
    result = await scanning.undo(database(request), device, nonce=nonce, now=utc_now())
    _signals(request).changed(result.changed_gathering_id)
    return _json(
        {
            "status": result.status,
            "reason": result.reason,
            "message": words.reason(result.reason),
            "kind": result.kind,
            "session_id": result.session_id,
            "name": result.name,
            "at": result.at.isoformat() if result.at else None,
        }
    )


def _counts_json(found: door_counts.Counts) -> dict[str, Any]:
    return {
        "session_id": found.session_id,
        "checked_in": found.checked_in,
        "registered": found.registered,
        "capacity_left": found.capacity_left,
    }


@_with_device
async def counts(request: Request, device: StewardDevice) -> Response:
    session_id = _session_id(request.query_params.get("session_id"))
    found = await door_counts.counts(database(request), device, session_id, now=utc_now())
    return _json(_counts_json(found))


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@_with_device
async def events(request: Request, device: StewardDevice) -> Response:
    session_id = _session_id(request.query_params.get("session_id"))
    db = database(request)
    # Refusals (revoked pass, session not on it) are answered as JSON before any streaming.
    info = await devices.pass_info(db, device, now=utc_now())
    first = await door_counts.counts(db, device, session_id, now=utc_now())
    signals, bounds = _signals(request), _bounds(request)

    async def stream() -> AsyncIterator[str]:
        last = _counts_json(first)
        ends = time.monotonic() + STREAM_SECONDS
        with (
            signals.subscribe(info.gathering_id) as signal,
            bounds.stream(device.id, signal.fire) as slot,
        ):
            yield f"retry: {RECONNECT_MS}\n" + _event("counts", last)
            while time.monotonic() < ends:
                woke = await signal.wait(PING_SECONDS)
                if slot.is_replaced:  # a newer stream of this phone took this one's place
                    yield _event("replaced", {"message": gettext(words.STREAM_REPLACED)})
                    return
                if woke:
                    await asyncio.sleep(COALESCE_SECONDS)  # one read for a burst of scans
                try:
                    found = _counts_json(
                        await door_counts.counts(db, device, session_id, now=utc_now())
                    )
                except PassRefused as error:
                    yield _event("refused", {"error": error.code, "message": error.message})
                    return
                except GatheringError:  # busy or away for a moment: the next wake retries
                    yield ": busy\n\n"
                    continue
                if found != last:
                    last = found
                    yield _event("counts", found)
                else:
                    yield ": ping\n\n"

    headers = {**NO_STORE, "x-accel-buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@_with_device
async def search(request: Request, device: StewardDevice) -> Response:
    data = await _body(request)
    found = await desk.search(
        database(request),
        device,
        _text(data, "query"),
        session_id=_session_id(data.get("session_id")),
        now=utc_now(),
        secret_key=settings(request).secret_key,
    )
    if found.too_many:
        message = gettext(words.TOO_MANY_MATCHES)
    elif not found.matches:
        message = gettext(words.NO_MATCH)
    else:
        message = gettext(words.MATCHES_FOUND).format(count=len(found.matches))
    matches = [
        {
            "ref": m.ref,
            "name": m.name,
            "ticket_type": m.ticket_type,
            "place": m.place,
            "checked_in": m.checked_in,
        }
        for m in found.matches
    ]
    return _json({"matches": matches, "too_many": found.too_many, "message": message})


@_answering_json
async def close(request: Request) -> Response:
    # Only the scan page may sign a phone out: a JSON body cannot come from a cross-site form,
    # so another site cannot end a steward's session in the middle of a queue.
    await _body(request)
    response = _json({"status": "closed"})
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


routes = [
    Route("/door/api/open", open_pass, methods=["POST"], name="door:open"),
    Route("/door/api/pass", pass_info, name="door:pass"),
    Route("/door/api/scan", scan, methods=["POST"], name="door:scan"),
    Route("/door/api/undo", undo, methods=["POST"], name="door:undo"),
    Route("/door/api/counts", counts, name="door:counts"),
    Route("/door/api/events", events, name="door:events"),
    Route("/door/api/search", search, methods=["POST"], name="door:search"),
    Route("/door/api/close", close, methods=["POST"], name="door:close"),
]
