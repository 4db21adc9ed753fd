"""What our inboxes accept: ``Follow`` and ``Undo`` of a Follow, signed by the following actor,
and the ``Delete`` of a follower's own account (its server must confirm it is gone).

Everything else (likes, replies, deletes of remote accounts, ...) is ignored before any key is
fetched or anything stored: the caller answers 202 alike. A Follow is checked before it counts:
the instance is not blocked and within its rate, the HTTP signature verifies with the key its
actor document publishes, and the activity's actor is that key's owner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import Forbidden, GatheringError, InvalidInput, NotFound
from gathering.core.i18n import gettext
from gathering.core.throttles import AttemptRate, count_attempt
from gathering.fediverse import actors, queries, words
from gathering.fediverse.documents import Document, LocalActor, host_of
from gathering.fediverse.remote import RemoteActor, RemoteError, RemoteGone, fetch_actor, fetch_json
from gathering.fediverse.signatures import SignatureRefused, signature_key_id, verify_request

HANDLED = ("Follow", "Undo")
# Per remote instance: a busy instance sends a few follows a minute, never hundreds.
INSTANCE_RATE = AttemptRate(
    name="fediverse_inbox", limit=120, window=dt.timedelta(minutes=1), refusal=words.TOO_MANY
)


class Unauthorised(GatheringError):
    """The request is not signed by the actor it speaks for (401)."""

    code = "signature_refused"


@dataclass(frozen=True)
class Delivered:
    """An inbox POST as received: where, its headers, its raw body and the parsed activity."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    activity: Document


def _id_of(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return ""


def _local_target(object_id: str, base_url: str) -> tuple[str, int] | None:
    """(kind, subject id) for one of our actor URLs, else None."""
    if not object_id.startswith(f"{base_url}/ap/"):
        return None
    parts = urlsplit(object_id).path.strip("/").split("/")
    if len(parts) != 3 or parts[1] not in ("o", "g") or not parts[2].isdigit():
        return None
    if int(parts[2]) >= 2**63:  # no database holds such an id (and binding it would overflow)
        return None
    return ("organisation" if parts[1] == "o" else "gathering"), int(parts[2])


def is_handled(activity: Document) -> bool:
    if activity.get("type") == "Follow":
        return True
    inner = activity.get("object")
    return (
        activity.get("type") == "Undo" and isinstance(inner, dict) and inner.get("type") == "Follow"
    )


async def _admit(db: Database, instance: str) -> None:
    """Forbidden for a blocked instance, Throttled past its rate; else counts one activity."""

    async def _write(conn: AsyncConnection) -> None:
        if await queries.is_blocked(conn, instance):
            raise Forbidden(gettext(words.INSTANCE_BLOCKED))
        await count_attempt(conn, INSTANCE_RATE, instance, utc_now())

    await db.write(_write, serializable=False)


def deleted_account(activity: Document) -> str:
    """The actor of a ``Delete`` of itself (an account deleted on its server), else ''."""
    if activity.get("type") != "Delete":
        return ""
    actor = _id_of(activity.get("actor"))
    return actor if actor and actor == _id_of(activity.get("object")) else ""


async def _forget_if_gone(db: Database, actor_uri: str, *, private_network: bool) -> str:
    """Remove a follower whose account was deleted. Its key is deleted with it, so the
    signature cannot be checked; its own server saying 404 or 410 is the proof instead. Only
    for a stored follower: anyone else's deletion costs us no request."""

    async def _known(conn: AsyncConnection) -> bool:
        return await queries.is_follower(conn, actor_uri)

    if not await db.read(_known):
        return "ignored"
    await _admit(db, host_of(actor_uri))
    try:
        await fetch_json(actor_uri, private_network=private_network)
    except RemoteGone:

        async def _forget(conn: AsyncConnection) -> None:
            await queries.remove_follower_everywhere(conn, actor_uri)

        await db.write(_forget)
        return "forgotten"
    except RemoteError:
        return "ignored"  # unreachable is not gone: keep the follower
    return "ignored"  # still there: a forged Delete


async def _signed_by(db: Database, request: Delivered, *, private_network: bool) -> RemoteActor:
    """The remote actor whose key signed the request (checked: not blocked, within rate)."""
    try:
        key_id = signature_key_id(request.headers)
    except SignatureRefused as error:
        raise Unauthorised(gettext(words.SIGNATURE_NEEDED)) from error
    instance = host_of(key_id)

    await _admit(db, instance)
    try:
        remote = await fetch_actor(key_id, private_network=private_network)
    except RemoteError as error:
        raise Unauthorised(gettext(words.ACTOR_UNREACHABLE).format(reason=error)) from error
    try:
        verify_request(
            public_pem=remote.public_key_pem,
            method="POST",
            url=request.url,
            headers=request.headers,
            body=request.body,
        )
    except SignatureRefused as error:
        raise Unauthorised(gettext(words.SIGNATURE_BAD).format(reason=error)) from error
    if _id_of(request.activity.get("actor")) != remote.id:
        raise Unauthorised(gettext(words.ACTOR_MISMATCH))
    return remote


async def receive(
    db: Database,
    request: Delivered,
    *,
    base_url: str,
    inbox_of: LocalActor | None,
    private_network: bool,
) -> str:
    """Act on one inbox POST; returns what happened (followed, unfollowed, forgotten,
    ignored)."""
    activity = request.activity
    gone = deleted_account(activity)
    if gone:
        return await _forget_if_gone(db, gone, private_network=private_network)
    if not is_handled(activity):
        return "ignored"
    follow = activity if activity.get("type") == "Follow" else activity["object"]
    target = _local_target(_id_of(follow.get("object")), base_url)
    if target is None or (inbox_of is not None and target != (inbox_of.kind, inbox_of.id)):
        raise InvalidInput({"object": gettext(words.WRONG_OBJECT)}, gettext(words.WRONG_OBJECT))
    local = await actors.find_actor(db, target[0], target[1], base_url)
    remote = await _signed_by(db, request, private_network=private_network)
    if _id_of(follow.get("actor")) != remote.id:
        raise Unauthorised(gettext(words.ACTOR_MISMATCH))
    key = await actors.actor_key(db, local.kind, local.id)
    now = utc_now()
    if activity.get("type") == "Undo":

        async def _unfollow(conn: AsyncConnection) -> None:
            await queries.remove_follower(conn, actor_id=key.id, follower_uri=remote.id)

        await db.write(_unfollow)
        return "unfollowed"

    async def _follow(conn: AsyncConnection) -> None:
        if await queries.is_blocked(conn, remote.instance):
            raise Forbidden(gettext(words.INSTANCE_BLOCKED))
        follower = await queries.add_follower(
            conn,
            actor_id=key.id,
            follower_uri=remote.id,
            inbox_url=remote.inbox,
            shared_inbox_url=remote.shared_inbox,
            instance=remote.instance,
            follow_activity_id=_id_of(activity),
            now=now,
        )
        # The Accept goes to the follower's own inbox, through the delivery outbox (retried).
        await queries.queue_delivery(
            conn, now=now, verb="Accept", follower_id=follower.id, inbox_url=follower.inbox_url
        )

    await db.write(_follow)
    return "followed"


async def accept_for(
    db: Database, follower_id: int, base_url: str
) -> tuple[LocalActor, Document] | None:
    """The actor and ``Accept`` answering a stored follower's Follow; None once unfollowed."""
    from gathering.fediverse.documents import accept_activity

    async def _read(conn: AsyncConnection) -> tuple[queries.FollowerRow, tuple[str, int]] | None:
        follower = await queries.follower_by_id(conn, follower_id)
        if follower is None:
            return None
        subject = await queries.actor_subject(conn, follower.actor_id)
        return None if subject is None else (follower, subject)

    found = await db.read(_read)
    if found is None:
        return None
    follower, (kind, subject_id) = found
    try:
        local = await actors.find_actor(db, kind, subject_id, base_url)
    except NotFound:
        return None
    follow = {
        "id": follower.follow_activity_id,
        "type": "Follow",
        "actor": follower.follower_uri,
        "object": local.url,
    }
    return local, accept_activity(local, follower.id, follow)
