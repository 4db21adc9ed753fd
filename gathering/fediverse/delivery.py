"""The delivery outbox's other end: sign queued activities and POST them to follower inboxes.

The app's lifespan starts it (:func:`fediverse_deliverer`), beside the mail sender and alike:
each pass leases a batch of due rows in one short write unit (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), POSTs each outside any transaction and records the outcome in its own unit. A
failure waits (:func:`retry_delay`) and is tried again; a refusal that will not change (4xx
other than 408/429) is not. At least once: a crash between a POST and its record repeats that
POST, with the same activity id, which receivers dedupe — never twice in effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import NotFound
from gathering.core.settings import Settings
from gathering.fediverse import actors, inbox, queries
from gathering.fediverse.documents import (
    ACTIVITY_JSON,
    Document,
    LocalActor,
    delete_activity,
    session_activity,
)
from gathering.fediverse.queries import DeliveryRow
from gathering.fediverse.remote import USER_AGENT, RemoteError, check_destination
from gathering.fediverse.signatures import signed_headers
from gathering.programme import queries as programme_queries
from gathering.programme.documents import SessionJson
from gathering.programme.snapshots import session_from_json

log = logging.getLogger(__name__)

POLL_INTERVAL = 5.0
BATCH_SIZE = 20
MAX_ATTEMPTS = 12  # with the backoff below: about two days of trying
LEASE = dt.timedelta(minutes=5)  # BATCH_SIZE × the POST timeout stays inside it
POST_TIMEOUT = httpx.Timeout(10.0)
SHUTDOWN_GRACE = 10.0


def retry_delay(attempts: int) -> dt.timedelta:
    """30 s after the first failure, doubling, at most 12 hours."""
    seconds = 30 * 2 ** min(max(attempts - 1, 0), 20)
    return dt.timedelta(seconds=min(seconds, 12 * 3600))


class Undeliverable(Exception):
    """Nothing to send any more (the follower left, the session's release is gone)."""


class Deliverer:
    """Delivers due activities; one per process, safe with several processes on one database."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self.db = db
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.clock = clock
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Start a pass now (cheap; call after committing a write that queued deliveries)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def deliver_due(self) -> int:
        """Lease one batch of due deliveries and try each once; returns how many were leased."""
        now = self.clock()

        async def _any_due(conn: AsyncConnection) -> bool:
            return await queries.has_due_deliveries(conn, now=now, max_attempts=MAX_ATTEMPTS)

        # A read first: an idle server polls without taking SQLite's write lock every pass.
        if not await self.db.read(_any_due):
            return 0

        async def _claim(conn: AsyncConnection) -> list[DeliveryRow]:
            return await queries.claim_due_deliveries(
                conn, now=now, lease_until=now + LEASE, limit=BATCH_SIZE, max_attempts=MAX_ATTEMPTS
            )

        # READ COMMITTED: SKIP LOCKED passes over rows another replica holds instead of failing.
        batch = await self.db.write(_claim, serializable=False)
        if batch:
            async with httpx.AsyncClient(timeout=POST_TIMEOUT, follow_redirects=False) as client:
                for row in batch:
                    await self._deliver(client, row)
        return len(batch)

    async def deliver_until_idle(self) -> None:
        while await self.deliver_due() and not self._stopping:
            pass

    async def run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.deliver_until_idle()
            except Exception:
                # A database outage must not end the deliverer; the next pass tries again.
                log.exception("fediverse delivery pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def _deliver(self, client: httpx.AsyncClient, row: DeliveryRow) -> None:
        try:
            signer, activity = await self.activity_for(row)
            await check_destination(
                row.inbox_url, private_network=self.settings.fediverse_private_network
            )
            key = await actors.actor_key(self.db, signer.kind, signer.id)
            body = json.dumps(activity, ensure_ascii=False, separators=(",", ":")).encode()
            headers = signed_headers(
                private_pem=key.private_key_pem,
                key_id=signer.key_id,
                url=row.inbox_url,
                body=body,
                content_type=ACTIVITY_JSON,
            )
            headers["user-agent"] = USER_AGENT
            response = await client.post(row.inbox_url, content=body, headers=headers)
        except (Undeliverable, RemoteError) as error:
            await self._failed(row, str(error), give_up=True)
            return
        except httpx.HTTPError as error:
            await self._failed(row, f"{type(error).__name__}: {error}", give_up=False)
            return
        if 200 <= response.status_code < 300:

            async def _done(conn: AsyncConnection) -> None:
                await queries.mark_delivered(conn, row.id, now=self.clock())

            await self.db.write(_done)
            return
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        await self._failed(row, f"the inbox answered {response.status_code}", give_up=permanent)

    async def _failed(self, row: DeliveryRow, error: str, *, give_up: bool) -> None:
        log.warning("fediverse delivery %s to %s failed: %s", row.id, row.inbox_url, error)
        retry_at = self.clock() + retry_delay(row.attempts)

        async def _record(conn: AsyncConnection) -> None:
            await queries.mark_failed(
                conn,
                row.id,
                error=error,
                retry_at=retry_at,
                give_up=MAX_ATTEMPTS if give_up else None,
            )

        await self.db.write(_record)

    async def activity_for(self, row: DeliveryRow) -> tuple[LocalActor, Document]:
        """The signing actor and the activity of a row, rebuilt the same on every try."""
        if row.verb == "Accept":
            found = await inbox.accept_for(self.db, row.follower_id or 0, self.base_url)
            if found is None:
                raise Undeliverable("the follower is gone")
            return found
        if row.gathering_id is None or row.session_id is None or row.version is None:
            raise Undeliverable("an incomplete delivery row")
        gathering_id, session_id, version = row.gathering_id, row.session_id, row.version

        async def _read(
            conn: AsyncConnection,
        ) -> tuple[programme_queries.GatheringRow, list[SessionJson]] | None:
            gathering = await programme_queries.gathering_by_id(conn, gathering_id)
            sessions = await queries.release_snapshot(conn, gathering_id, row.release_number or 0)
            return None if gathering is None or sessions is None else (gathering, sessions)

        found_release = await self.db.read(_read)
        if found_release is None:
            raise Undeliverable("the release is gone")
        gathering_row, sessions = found_release
        try:
            gathering_actor = await actors.find_actor(
                self.db, "gathering", gathering_id, self.base_url
            )
        except NotFound as error:
            raise Undeliverable("the gathering is no longer listed") from error
        item = next((s for s in sessions if s["id"] == session_id), None)
        if item is None:
            raise Undeliverable("the session is not in its release")
        session = session_from_json(item)
        programme_gathering = actors.public_gathering(gathering_row)
        context = actors.event_context(session, programme_gathering, gathering_actor, self.base_url)
        if row.verb == "Delete":
            return context.signer, delete_activity(
                session_id, version, context.signer, self.base_url
            )
        return context.signer, session_activity(row.verb, session, context, self.base_url)


@contextlib.asynccontextmanager
async def fediverse_deliverer(db: Database, settings: Settings) -> AsyncIterator[Deliverer]:
    """Run a :class:`Deliverer` in the background while the block runs (the app's lifespan)."""
    deliverer = Deliverer(db, settings)
    task = asyncio.create_task(deliverer.run(), name="fediverse deliverer")
    try:
        yield deliverer
    finally:
        deliverer.stop()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, SHUTDOWN_GRACE)
