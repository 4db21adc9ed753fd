"""Live door counts: tell every open scan page that who is inside a gathering has changed.

Side work after commit, like the mail sender. A subscriber (one Server-Sent Events stream on one
steward's phone) holds a ``Signal`` for its gathering and re-reads the counts when it fires, so a
signal carries no data and a missed or doubled one costs nothing but a read.

- SQLite (one process serves the file): ``changed()`` wakes the subscribers in this process.
- PostgreSQL (several replicas): the check-in's own transaction sends ``NOTIFY gathering_door,
  '<gathering id>'`` (PostgreSQL delivers it on commit and drops it on rollback), and every
  replica holds one asyncpg connection that LISTENs and wakes its local subscribers, its own
  scans included; ``changed()`` then does nothing. If that connection drops, it reconnects with
  back-off and wakes every subscriber once, as a notice may have been missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from gathering.door.move_queries import DOOR_CHANNEL

log = logging.getLogger(__name__)

RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)


def _set_event(event: asyncio.Event, *_args: Any) -> None:
    event.set()


class Signal:
    """Fires when the gathering's door counts may have changed."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> bool:
        """True if fired (and re-arm), False when ``seconds`` passed quietly."""
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True


class DoorSignals:
    """Subscriptions of this process's scan pages, by gathering."""

    def __init__(self, database_url: str) -> None:
        self._subscribers: dict[int, set[Signal]] = defaultdict(set)
        url = make_url(database_url)
        self._dsn: str | None = None
        if url.get_backend_name() == "postgresql":
            # asyncpg directly: SQLAlchemy's own URL options mean nothing to it.
            plain = url.set(drivername="postgresql", query={})
            self._dsn = plain.render_as_string(hide_password=False)

    @property
    def uses_notify(self) -> bool:
        return self._dsn is not None

    @contextlib.contextmanager
    def subscribe(self, gathering_id: int) -> Iterator[Signal]:
        signal = Signal()
        self._subscribers[gathering_id].add(signal)
        try:
            yield signal
        finally:
            subscribers = self._subscribers.get(gathering_id)
            if subscribers is not None:
                subscribers.discard(signal)
                if not subscribers:
                    del self._subscribers[gathering_id]

    def subscriber_count(self, gathering_id: int) -> int:
        return len(self._subscribers.get(gathering_id, ()))

    def changed(self, gathering_id: int | None) -> None:
        """Called after a commit that changed who is inside (SQLite; see the module doc)."""
        if gathering_id is not None and not self.uses_notify:
            self._wake(gathering_id)

    def _wake(self, gathering_id: int) -> None:
        for signal in tuple(self._subscribers.get(gathering_id, ())):
            signal.fire()

    def _wake_all(self) -> None:
        for subscribers in tuple(self._subscribers.values()):
            for signal in tuple(subscribers):
                signal.fire()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        if isinstance(payload, str) and payload.isdigit():
            self._wake(int(payload))

    async def _listen(self, connected: asyncio.Event) -> None:
        assert self._dsn is not None
        failures = 0
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(functools.partial(_set_event, lost))
                await conn.add_listener(DOOR_CHANNEL, self._on_notify)
                if failures:
                    log.info("live door counts: listening again")
                    self._wake_all()  # notices sent while we were away are lost: re-read
                failures = 0
                connected.set()
                await lost.wait()
                log.warning("live door counts: the listening connection closed")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # whatever went wrong, keep trying to listen
                log.warning("live door counts: cannot listen (%s: %s)", type(error).__name__, error)
            finally:
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            failures += 1
            await asyncio.sleep(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS)) - 1])

    @contextlib.asynccontextmanager
    async def running(self, *, ready_timeout: float = 5.0) -> AsyncIterator[DoorSignals]:
        """Listen (PostgreSQL) while the app serves; on SQLite there is nothing to run."""
        if self._dsn is None:
            yield self
            return
        connected = asyncio.Event()
        # A plain task, not a task group: the lifespan may be entered and left in other tasks.
        task = asyncio.create_task(self._listen(connected), name="door-listener")
        with contextlib.suppress(TimeoutError):
            # Start serving anyway if PostgreSQL is slow: the listener keeps trying, and the
            # scan pages' periodic refresh covers the gap.
            await asyncio.wait_for(connected.wait(), ready_timeout)
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
