"""Which public pages are kept ready, and what makes them old (issue 17).

A kept page belongs to the site's public generation (``core.schema_public``): database triggers
raise it in the transaction of every write that changes a public page, whichever process made
it, so each request reads that one number (one indexed statement) and a release in another
replica is seen by the very next request here. Places left are not in the generation (every
registration would queue on its one row): the session page, the only one showing them, reads its
session's places taken in the same statement and is kept per (generation, places taken), so a
change of places shows on the next request and nothing is rendered again while they stay put.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from gathering.core import i18n
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
) -> Response:
    """The page ``key`` as kept for the current generation, rendered by ``build`` on a miss.

    ``places_of``: the session whose places left the page shows. The host is part of the key:
    pages carry absolute links; so is the reader's language.
    """
    generation = await database(request).read(lambda conn: read_version(conn, places_of))
    if generation is None:  # no counter to trust: render every time
        return page_response(request, compress_page(await build(), 0, 0.0), hit=False)
    full_key = (request.url.scheme, request.headers.get("host", ""), i18n.page_key(), key)
    page, hit = await page_cache(request).page(full_key, generation, build)
    return page_response(request, page, hit=hit)
