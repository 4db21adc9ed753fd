"""Queue a release's activities for followers, inside the release's own transaction.

``programme.release.release_programme`` calls :func:`queue_release` in its write unit, so the
deliveries exist exactly when the release does (the mail outbox's pattern). Sessions are
compared between this release and the one before, *as the fediverse sees them* (public sessions
of a listed gathering only): new → ``Create``, a new version → ``Update`` (a cancellation is an
Update with ``ical:status`` CANCELLED, as Mobilizon sends it), gone or no longer public →
``Delete``. Each activity goes once to each follower inbox of its host organisations and of the
gathering (a shared inbox once for all its followers).

Imports nothing from ``programme.release`` (which imports this module).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.fediverse import queries
from gathering.programme.documents import HostJson, SessionJson


def _public(sessions: list[SessionJson] | None) -> dict[int, SessionJson]:
    return {int(s["id"]): s for s in sessions or [] if s["access"] == "public"}


def _signer_and_hosts(session: SessionJson) -> tuple[int | None, list[int]]:
    """The signing organisation (the host, as ``actors.event_context`` orders them) and all."""
    hosts: list[HostJson] = session["hosts"]
    ordered = sorted(hosts, key=lambda h: (h["role"] != "host", h["name"]))
    ids = [int(h["id"]) for h in ordered]
    return (ids[0] if ids else None), ids


async def queue_release(
    conn: AsyncConnection, gathering_id: int, release_number: int, now: dt.datetime
) -> int:
    """Queue the deliveries of release ``release_number``; return how many were queued."""
    if await queries.gathering_subject(conn, gathering_id=gathering_id) is None:
        return 0  # unlisted: never announced
    after = _public(await queries.release_snapshot(conn, gathering_id, release_number))
    before = _public(
        await queries.release_snapshot(conn, gathering_id, release_number - 1)
        if release_number > 1
        else None
    )
    queued = 0
    for session_id in sorted(after.keys() | before.keys()):
        new, old = after.get(session_id), before.get(session_id)
        if new is not None and old is None:
            verb, source = "Create", new
        elif new is not None and old is not None and new["version"] != old["version"]:
            verb, source = "Update", new
        elif new is None and old is not None:
            verb, source = "Delete", old
        else:
            continue
        signer, hosts = _signer_and_hosts(source)
        if old is not None and new is not None:  # a host removed still tells its followers
            hosts = sorted(set(hosts) | set(_signer_and_hosts(old)[1]))
        followers = await queries.followers_of(
            conn, organisation_ids=hosts, gathering_id=gathering_id
        )
        for inbox in dict.fromkeys(f.delivery_inbox for f in followers):
            await queries.queue_delivery(
                conn,
                now=now,
                verb=verb,
                gathering_id=gathering_id,
                release_number=release_number if verb != "Delete" else release_number - 1,
                session_id=session_id,
                version=int(source["version"]),
                organisation_id=signer,
                inbox_url=inbox,
            )
            queued += 1
    return queued
