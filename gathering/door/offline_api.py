"""The door offline's routes (issue 15), beside the door's JSON API (``gathering.door.api``):

- ``GET /door/api/bundle``: the offline bundle of this device's pass (``application/
  octet-stream``, see ``gathering.door.bundles``): keyed hashes and sealed names, never a list
  of people. 403 once the pass cannot be used, so the phone wipes what it holds.
- ``POST /door/api/sync`` ``{"scans": [{"hash", "session_id", "door", "kind", "nonce", "at"}]}``
  (at most ``MAX_QUEUED``): the phone's queued offline scans, answered in order as
  ``{"results": [{"nonce", "status", "reason", "message", ...}]}`` (see ``gathering.door.offline``).
- ``GET /door/sw.js``: the scan page's Service Worker, served under ``/door/`` so its scope
  covers the door's pages (``static/js/door-sw.js``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from gathering.core.caching import accepted_codings
from gathering.core.clock import utc_now
from gathering.core.http import NO_STORE
from gathering.core.i18n import gettext
from gathering.core.render import database, settings
from gathering.core.templating import STATIC
from gathering.door import bundles, offline, words
from gathering.door.api import _BadRequest, _body, _bounds, _json, _session_id, _signals, _text
from gathering.door.api import _with_device as with_device
from gathering.door.devices import StewardDevice
from gathering.door.offline import MAX_QUEUED, QueuedScan

SERVICE_WORKER = STATIC / "js" / "door-sw.js"


@with_device
async def bundle(request: Request, device: StewardDevice) -> Response:
    found = await bundles.offline_bundle(
        database(request), device, now=utc_now(), secret_key=settings(request).secret_key
    )
    body, coding = bundles.coded(
        found.content, accepted_codings(request.headers.get("accept-encoding", ""))
    )
    headers = {**NO_STORE, "x-bundle-tickets": str(found.tickets), "vary": "Accept-Encoding"}
    if coding is not None:
        headers["content-encoding"] = coding
    return Response(body, media_type="application/octet-stream", headers=headers)


def _instant(value: object) -> dt.datetime:
    if isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None and 2000 <= moment.year <= 2100:
                return moment.astimezone(dt.UTC)
    raise _BadRequest(gettext(words.SYNC_BAD_TIME))


def _queued(item: object) -> QueuedScan:
    if not isinstance(item, dict):
        raise _BadRequest(gettext(words.SYNC_NOT_A_LIST))
    kind = _text(item, "kind", "entry")
    if kind not in ("entry", "exit"):
        raise _BadRequest(gettext(words.SYNC_BAD_KIND))
    ticket_hash = item.get("hash")
    if not isinstance(ticket_hash, str):
        raise _BadRequest(gettext(words.SYNC_BAD_HASH))
    return QueuedScan(
        ticket_hash=ticket_hash[:100],
        session_id=_session_id(item.get("session_id")),
        door=_text(item, "door", ""),
        kind="entry" if kind == "entry" else "exit",
        nonce=_text(item, "nonce"),
        scanned_at=_instant(item.get("at")),
    )


@with_device
async def sync(request: Request, device: StewardDevice) -> Response:
    data = await _body(request)
    items = data.get("scans")
    if not isinstance(items, list):
        raise _BadRequest(gettext(words.SYNC_NOT_A_LIST))
    if len(items) > MAX_QUEUED:
        raise _BadRequest(
            gettext(words.SYNC_TOO_MANY).format(limit=MAX_QUEUED), 413, "too_many_queued"
        )
    queued = []
    for number, item in enumerate(items, start=1):
        try:
            queued.append(_queued(item))
        except _BadRequest as error:
            raise _BadRequest(
                gettext(words.SYNC_BAD_SCAN).format(number=number, problem=error)
            ) from None
    results = await offline.send_queued(
        database(request),
        device,
        queued,
        now=utc_now(),
        secret_key=settings(request).secret_key,
        bounds=_bounds(request),
    )
    answers: list[dict[str, Any]] = []
    for sent, result in zip(queued, results, strict=True):
        _signals(request).changed(result.changed_gathering_id)
        answers.append(
            {"nonce": sent.nonce, **result.to_json(), "message": words.reason(result.reason)}
        )
    return _json({"results": answers})


async def service_worker(request: Request) -> Response:
    # Checked for updates on every load (no-cache), and allowed to control all of /door/.
    headers = {"cache-control": "no-cache", "service-worker-allowed": "/door/"}
    return FileResponse(SERVICE_WORKER, media_type="text/javascript", headers=headers)


routes = [
    Route("/door/sw.js", service_worker, name="door:service_worker"),
    Route("/door/api/bundle", bundle, name="door:bundle"),
    Route("/door/api/sync", sync, methods=["POST"], name="door:sync"),
]
