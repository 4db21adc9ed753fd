"""The fediverse's addresses: WebFinger, actor documents, outboxes, followers, inboxes, session
objects, and the network admin's page for blocking instances.

Remote servers POST to the inboxes without cookies or an Origin, so the CSRF gate lets them
through as it does any non-browser client; each POST is bounded in size here and authenticated
by its HTTP signature in ``inbox``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gathering.core.csrf import checked_form
from gathering.core.error_pages import STATUS_BY_CODE
from gathering.core.errors import GatheringError
from gathering.core.guards import admin_only, current_actor
from gathering.core.http import NO_STORE
from gathering.core.i18n import gettext
from gathering.core.render import database, render, settings
from gathering.core.throttles import Throttled
from gathering.fediverse import actors, blocks, inbox, words
from gathering.fediverse.documents import (
    ACTIVITY_JSON,
    JRD_JSON,
    LocalActor,
    collection_page,
    host_of,
    ordered_collection,
)
from gathering.fediverse.documents import actor_document as build_actor_document

MAX_INBOX_BODY = 256 * 1024
PAGE_SIZE = 20
KIND_BY_LETTER = {"o": "organisation", "g": "gathering"}


def _base(request: Request) -> str:
    return settings(request).base_url.rstrip("/")


def _json(document: Any, *, media_type: str = ACTIVITY_JSON, status: int = 200) -> Response:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    headers = {"vary": "Accept", "access-control-allow-origin": "*"}
    return Response(body, status, headers=headers, media_type=media_type)


def _wants_activity(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "application/activity+json" in accept or "application/ld+json" in accept


async def _actor(request: Request) -> LocalActor:
    params = request.path_params
    if "organisation_id" in params:
        kind, subject_id = "organisation", int(params["organisation_id"])
    else:
        kind, subject_id = "gathering", int(params["gathering_id"])
    return await actors.find_actor(database(request), kind, subject_id, _base(request))


async def webfinger(request: Request) -> Response:
    resource = request.query_params.get("resource", "").strip()
    if not resource:
        return _json({"error": gettext(words.RESOURCE_NEEDED)}, media_type=JRD_JSON, status=400)
    base = _base(request)
    name = resource.removeprefix("acct:")
    if resource.startswith(f"{base}/ap/"):
        letter, _, number = resource.removeprefix(f"{base}/ap/").partition("/")
        kind = KIND_BY_LETTER.get(letter)
        if kind is None or not number.isdigit():
            raise HTTPException(404)
        actor = await actors.find_actor(database(request), kind, int(number), base)
    else:
        username, _, host = name.partition("@")
        if host.lower() != host_of(base):
            return _json({"error": gettext(words.NOT_OURS)}, media_type=JRD_JSON, status=404)
        actor = await actors.actor_for_handle(database(request), username, base)
    from gathering.fediverse.documents import webfinger_document

    return _json(webfinger_document(actor), media_type=JRD_JSON)


async def actor_document(request: Request) -> Response:
    actor = await _actor(request)
    if not _wants_activity(request):
        return RedirectResponse(actor.page_url, 303, headers={"vary": "Accept"})
    key = await actors.actor_key(database(request), actor.kind, actor.id)
    return _json(build_actor_document(actor, key.public_key_pem))


async def outbox(request: Request) -> Response:
    actor = await _actor(request)
    items = await actors.published_activities(database(request), actor)
    url = f"{actor.url}/outbox"
    raw = request.query_params.get("page", "")
    if not raw:
        return _json(ordered_collection(url, len(items), first=f"{url}?page=1"))
    if not raw.isdigit() or not 0 < int(raw) < 100_000:
        raise HTTPException(404)
    page = int(raw)
    shown = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    more = len(items) > page * PAGE_SIZE
    next_url = f"{url}?page={page + 1}" if more else None
    return _json(collection_page(f"{url}?page={page}", url, shown, next_url=next_url))


async def followers(request: Request) -> Response:
    """The count only: who follows is nobody else's business."""
    actor = await _actor(request)
    count = await actors.follower_count(database(request), actor)
    return _json(ordered_collection(actor.followers_url, count))


async def session_object(request: Request) -> Response:
    found = await actors.published_event(
        database(request), int(request.path_params["session_id"]), _base(request)
    )
    if not _wants_activity(request):
        return RedirectResponse(found["url"], 303, headers={"vary": "Accept"})
    return _json(found)


def _problem(error: GatheringError) -> Response:
    status = 401 if isinstance(error, inbox.Unauthorised) else STATUS_BY_CODE.get(error.code, 400)
    headers = {"retry-after": str(error.retry_after)} if isinstance(error, Throttled) else None
    return JSONResponse({"error": error.code, "message": error.message}, status, headers=headers)


async def _received(request: Request) -> inbox.Delivered:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_INBOX_BODY:
        raise HTTPException(413, gettext(words.BODY_TOO_LARGE))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_INBOX_BODY:
            raise HTTPException(413, gettext(words.BODY_TOO_LARGE))
    try:
        activity = json.loads(bytes(body))
    except (ValueError, UnicodeDecodeError):
        activity = None
    if not isinstance(activity, dict):
        raise HTTPException(400, gettext(words.NOT_JSON))
    # The URL as the sender signed it: this server's public address, not the proxy's view.
    url = f"{_base(request)}{request.url.path}"
    return inbox.Delivered(url, dict(request.headers), bytes(body), activity)


async def _inbox(request: Request, owner: LocalActor | None) -> Response:
    delivered = await _received(request)
    try:
        outcome = await inbox.receive(
            database(request),
            delivered,
            base_url=_base(request),
            inbox_of=owner,
            private_network=settings(request).fediverse_private_network,
        )
    except GatheringError as error:
        return _problem(error)
    if outcome == "followed":
        deliverer = getattr(request.app.state, "fediverse", None)
        if deliverer is not None:
            deliverer.wake()
    return Response(status_code=202)


async def actor_inbox(request: Request) -> Response:
    return await _inbox(request, await _actor(request))


async def shared_inbox(request: Request) -> Response:
    return await _inbox(request, None)


@admin_only
async def blocks_page(request: Request) -> Response:
    db, who = database(request), await current_actor(request)
    notice = error = ""
    status = 200
    if request.method == "POST":
        form = await checked_form(
            request, settings(request).secret_key, max_files=0, max_fields=5, max_part_size=2048
        )
        raw = str(form.get("host", ""))
        try:
            if form.get("action") == "unblock":
                notice = gettext(words.UNBLOCKED).format(
                    host=await blocks.unblock_instance(db, who, raw)
                )
            else:
                host, count = await blocks.block_instance(db, who, raw)
                notice = gettext(words.BLOCKED).format(host=host, count=count)
        except GatheringError as problem:
            error, status = problem.message, 422
    context = {
        "saved": False,
        "blocked": await blocks.blocked_instances(db, who),
        "notice": notice,
        "error": error,
    }
    return render(request, "fediverse/blocks.html", context, status_code=status, headers=NO_STORE)


def _actor_routes(letter: str, param: str, name: str) -> list[BaseRoute]:
    """The actor document, outbox, followers and inbox of organisations (``o``) or gatherings
    (``g``): ``/ap/o/12``, ``/ap/o/12/outbox`` ..."""
    path = f"/ap/{letter}/{{{param}:int}}"
    return [
        Route(path, actor_document, name=f"fediverse:{name}"),
        Route(f"{path}/outbox", outbox, name=f"fediverse:{name}_outbox"),
        Route(f"{path}/followers", followers, name=f"fediverse:{name}_followers"),
        Route(f"{path}/inbox", actor_inbox, methods=["POST"], name=f"fediverse:{name}_inbox"),
    ]


routes: list[BaseRoute] = [
    Route("/.well-known/webfinger", webfinger, name="fediverse:webfinger"),
    Route("/ap/inbox", shared_inbox, methods=["POST"], name="fediverse:shared_inbox"),
    Route("/ap/sessions/{session_id:int}", session_object, name="fediverse:session"),
    *_actor_routes("o", "organisation_id", "organisation"),
    *_actor_routes("g", "gathering_id", "gathering"),
    Route("/admin/fediverse", blocks_page, methods=["GET", "POST"], name="fediverse:blocks"),
]
