"""Which public pages are kept ready, and what makes them old (issue 17).

A kept page belongs to the site's public generation (``core.schema_public``): database triggers
raise it in the transaction of every write that changes a public page, whichever process made
it, so each request reads that one number (one indexed statement) and a release in another
replica is seen by the very next request here. Places left are not in the generation (every
registration would queue on its one row): the session page, the only one showing them, reads its
session's places taken in the same statement and is kept per (generation, places taken), so a
change of places shows on the next request and nothing is rendered again while they stay put.

That one statement is itself remembered for a second (``VersionMemo``), so a kept page is mostly
answered with no database round trip at all. On PostgreSQL the round trip was what a kept session
page cost beyond SQLite's (0.6-0.7 ms of server CPU a page against 0.5, and 1 200-1 400 pages/s
against 2 000 with 16 connections): asyncpg's send and receive, SQLAlchemy's execution and the
pool's checkout and return, for a number that changes a few times a day. What stays true:

- a write made by this process (a release, an admin edit, a registration taking a place, a
  cancellation, through any ``Database`` object) voids the memo at once (``write_epoch``), so
  it shows on the very next request here, as before;
- a write made by another process (another replica, ``gathering demo``, a second worker) shows
  within ``VERSION_MEMO_SECONDS``, well inside issue 17's "places left true within 5 s";
- registration windows opening or closing are judged on the app clock per kept page
  (``Rendered.valid_until``), not by the memo, so they show at their instant.

Chosen over LISTEN/NOTIFY, which would need a listening connection per process, a trigger on
every place taken (each registration's commit queueing on PostgreSQL's notification lock), and a
fallback for SQLite; and over keeping places in a memo rendered into the page, which would make
every kept page a template again. One statement a second per page shown is nothing to the
database.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from gathering.core import i18n
from gathering.core.database import Database, write_epoch
from gathering.core.page_cache import PageCache, Rendered, compress_page, page_response
from gathering.core.render import database
from gathering.core.schema import programme_session, public_generation

_GENERATION = sa.select(public_generation.c.generation).where(public_generation.c.id == 1)
_PLACES = (
    sa.select(programme_session.c.places_taken)
    .where(programme_session.c.id == sa.bindparam("session_id"))
    .scalar_subquery()
)
_GENERATION_AND_PLACES = sa.select(public_generation.c.generation, _PLACES).where(
    public_generation.c.id == 1
)


async def read_generation(conn: AsyncConnection) -> int | None:
    """The public generation; None when its row is missing (then nothing may be kept)."""
    value = (await conn.execute(_GENERATION)).scalar_one_or_none()
    return None if value is None else int(value)


async def read_version(conn: AsyncConnection, session_id: int | None) -> Hashable | None:
    """The generation, with the places taken at ``session_id`` when given; one statement."""
    if session_id is None:
        return await read_generation(conn)
    row = (await conn.execute(_GENERATION_AND_PLACES, {"session_id": session_id})).first()
    return None if row is None else (int(row[0]), row[1])


# How long a version read from the database answers for every request of the process.
VERSION_MEMO_SECONDS = 1.0
# Past this many remembered sessions, the stale ones are forgotten on the next read.
VERSION_MEMO_SIZE = 4096


_FAILED = object()  # what a shared read gives its waiters when it failed: read for yourself


class VersionMemo:
    """Versions (``read_version``) read lately, shared by all requests of one app.

    One is used while it is younger than ``fresh_for`` seconds and no write unit has finished in
    this process since its read began (``write_epoch``); see the module's notes for why. When it
    is old, the requests that find it so at once wait for one read (16 connections would
    otherwise send 16 statements each second instead of one).
    """

    def __init__(self, fresh_for: float = VERSION_MEMO_SECONDS) -> None:
        self.fresh_for = fresh_for
        # session id (None: the generation alone) -> (version, good until, write epoch)
        self._versions: dict[int | None, tuple[Hashable, float, int]] = {}
        # session id -> (write epoch, the read under way)
        self._reading: dict[int | None, tuple[int, asyncio.Future[object]]] = {}

    async def version(self, db: Database, session_id: int | None) -> Hashable | None:
        """The version of pages showing ``session_id``'s places (None: of the others)."""
        epoch = write_epoch()
        now = time.monotonic()
        kept = self._versions.get(session_id)
        if kept is not None and kept[2] == epoch and kept[1] > now:
            return kept[0]
        reading = self._reading.get(session_id)
        if reading is not None and reading[0] == epoch:  # begun since the last write: join it
            shared = await asyncio.shield(reading[1])
            if shared is not _FAILED:
                return shared
        return await self._read(db, session_id, epoch, now)

    async def _read(
        self, db: Database, session_id: int | None, epoch: int, now: float
    ) -> Hashable | None:
        # The epoch and the clock were taken before the read: a write finishing during it, or a
        # slow read, leaves a memo that is already old, never one that is too young.
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._reading[session_id] = (epoch, future)
        try:
            version = await db.read(lambda conn: read_version(conn, session_id))
        except BaseException:
            future.set_result(_FAILED)  # its waiters read for themselves, and fail for themselves
            raise
        finally:
            if self._reading.get(session_id, (0, None))[1] is future:
                del self._reading[session_id]
        future.set_result(version)
        if version is None:  # no counter row: nothing to remember
            self._versions.pop(session_id, None)
            return None
        if len(self._versions) >= VERSION_MEMO_SIZE:
            self._versions = {key: entry for key, entry in self._versions.items() if entry[1] > now}
        self._versions[session_id] = (version, now + self.fresh_for, epoch)
        return version


def version_memo(request: Request) -> VersionMemo:
    """The app's version memo (one per app, like its page cache)."""
    memo = getattr(request.app.state, "version_memo", None)
    if not isinstance(memo, VersionMemo):
        memo = VersionMemo()
        request.app.state.version_memo = memo
    return memo


def page_cache(request: Request) -> PageCache:
    """The app's public page cache (one per app, so test apps never share pages)."""
    cache = getattr(request.app.state, "page_cache", None)
    if not isinstance(cache, PageCache):
        cache = PageCache()
        request.app.state.page_cache = cache
    return cache


async def kept_page(
    request: Request,
    key: Hashable,
    build: Callable[[], Awaitable[Rendered]],
    *,
    places_of: int | None = None,
    query: tuple[str, ...] = (),
) -> Response:
    """The page ``key`` as kept for the current generation, rendered by ``build`` on a miss.

    ``places_of``: the session whose places left the page shows. The host is part of the key:
    pages carry absolute links; so is the reader's language. ``query``: the query parameters
    ``key`` names, the only ones the page's own links (language switch, alternates) repeat.
    """
    request.scope[i18n.KEPT_QUERY] = frozenset(query)
    generation = await version_memo(request).version(database(request), places_of)
    if generation is None:  # no counter to trust: render every time
        return page_response(request, compress_page(await build(), 0, 0.0), hit=False)
    # The scope's scheme, not ``request.url``'s: that builds a URL object on every hit.
    full_key = (
        request.scope.get("scheme", "http"),
        request.headers.get("host", ""),
        i18n.page_key(),
        key,
    )
    if not full_key[2].startswith("?"):  # the reader chose a language: the page is in it
        page, hit = await page_cache(request).page(full_key, generation, build)
        return page_response(request, page, hit=hit)

    async def build_noting() -> Rendered:
        # A reader who chose none may get the gathering's default (issue 18): note which, so a
        # kept page's Content-Language says it too when its builder does not run.
        rendered = await build()
        _fallback_languages[full_key] = i18n.current_language()
        _fallback_languages.move_to_end(full_key)
        if len(_fallback_languages) > FALLBACK_MEMO_SIZE:
            _fallback_languages.popitem(last=False)  # the oldest only: the rest stay true
        return rendered

    page, hit = await page_cache(request).page(full_key, generation, build_noting)
    if hit:
        i18n.prefer_default(_fallback_languages.get(full_key))
    return page_response(request, page, hit=hit)


# The language each kept page for readers who chose none came out in (kept_page).
FALLBACK_MEMO_SIZE = 4096
_fallback_languages: OrderedDict[Hashable, str] = OrderedDict()
