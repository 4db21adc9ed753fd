"""Pages kept ready: rendered once per generation, compressed once (brotli and gzip), served with
ETag / Last-Modified and 304 (issue 17).

A feature decides what a page's key is, which generation it belongs to, and how long a page with
live numbers may be kept (``programme.page_cache``); this module only keeps, negotiates and
answers. Several requests missing the same page at once wait for one rendering.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import gzip
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

import brotli  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import Response

from gathering.core import clock
from gathering.core.caching import accepted_codings, etag_for, format_http_date, not_modified
from gathering.core.clock import utc_now
from gathering.core.compression import KEEP_PLAIN

PAGE_CACHE_SIZE = 512
# Quality chosen once per rendering, not per request: the best ratio that stays cheap for a
# 272 KB programme (about 10 ms for brotli 9 against 60+ ms for 11).
BROTLI_QUALITY = 9
GZIP_LEVEL = 9
CACHED_HEADER = "x-page-cache"  # hit | miss, for the tests and the benchmark


@dataclass(frozen=True)
class Rendered:
    """What a page's builder gives back: its HTML (and status, a page that is not 200 is never
    kept)."""

    body: bytes
    status_code: int = 200
    # What it shows changes by itself at this instant (a registration window opening or
    # closing, issue 16): kept until then on the app clock; None: until the generation changes.
    valid_until: dt.datetime | None = None


@dataclass(frozen=True)
class CachedPage:
    """One page's bodies, each encoding made once, and when it must be rendered again."""

    generation: Hashable  # the feature's version of what the page shows
    identity: bytes
    brotli: bytes
    gzip: bytes
    etag: str
    last_modified: dt.datetime
    status_code: int
    fresh_until: float  # time.monotonic(); inf: until the generation changes
    valid_until: dt.datetime | None = None  # on the app clock (``Rendered.valid_until``)
    last_modified_http: str = ""  # ``last_modified`` as the header says it, written once

    def encoded(self, accept_encoding: str) -> tuple[bytes, str | None]:
        """The smallest body the client accepts (brotli, then gzip), and its Content-Encoding."""
        coding = preferred_coding(accept_encoding)
        if coding == "br":
            return self.brotli, "br"
        if coding == "gzip":
            return self.gzip, "gzip"
        return self.identity, None


@functools.lru_cache(maxsize=256)
def preferred_coding(accept_encoding: str) -> str | None:
    """brotli, else gzip, else None, as ``accept_encoding`` allows; remembered per header value
    (browsers send a handful of them), so a kept page's answer does not parse it every time."""
    accepted = accepted_codings(accept_encoding)
    return "br" if "br" in accepted else "gzip" if "gzip" in accepted else None


def compress_page(
    rendered: Rendered,
    generation: Hashable,
    fresh_for: float | None,
    previous: CachedPage | None = None,
) -> CachedPage:
    """``rendered`` with its encodings and validators, fresh for ``fresh_for`` seconds.

    Last-Modified is the rendering time, kept from ``previous`` when the body is the same (a
    page re-rendered for its places, unchanged, keeps its date).
    """
    body = rendered.body
    etag = etag_for(body)
    if previous is not None and previous.etag == etag:
        last_modified = previous.last_modified
    else:
        last_modified = utc_now().replace(microsecond=0)
        if previous is not None and previous.last_modified >= last_modified:
            # Two bodies within one second: If-Modified-Since must still tell them apart.
            last_modified = previous.last_modified + dt.timedelta(seconds=1)
    return CachedPage(
        generation=generation,
        identity=body,
        brotli=brotli.compress(body, quality=BROTLI_QUALITY, mode=brotli.MODE_TEXT),
        gzip=gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0),
        etag=etag,
        last_modified=last_modified,
        status_code=rendered.status_code,
        fresh_until=float("inf") if fresh_for is None else time.monotonic() + fresh_for,
        valid_until=rendered.valid_until,
        last_modified_http=format_http_date(last_modified),
    )


class PageCache:
    """A bounded, least-recently-used map from page keys to compressed pages."""

    def __init__(self, size: int = PAGE_CACHE_SIZE) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, CachedPage] = OrderedDict()
        self._building: dict[Hashable, asyncio.Future[CachedPage]] = {}

    def __len__(self) -> int:
        return len(self._pages)

    def clear(self) -> None:
        self._pages.clear()

    def current(self, key: Hashable, generation: Hashable) -> CachedPage | None:
        """The kept page for ``key`` if it belongs to ``generation`` and is still fresh."""
        page = self._pages.get(key)
        if page is None or page.generation != generation or page.fresh_until < time.monotonic():
            return None
        if page.valid_until is not None and clock.utc_now() >= page.valid_until:
            return None
        self._pages.move_to_end(key)
        return page

    async def page(
        self,
        key: Hashable,
        generation: Hashable,
        build: Callable[[], Awaitable[Rendered]],
        *,
        fresh_for: float | None = None,
    ) -> tuple[CachedPage, bool]:
        """The page for ``key`` at ``generation``, built once however many ask; True on a hit."""
        page = self.current(key, generation)
        if page is not None:
            return page, True
        waiting = self._building.get(key)
        if waiting is not None:
            built = await asyncio.shield(waiting)
            if built.generation == generation:
                return built, True
        future: asyncio.Future[CachedPage] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            rendered = await build()
            page = compress_page(rendered, generation, fresh_for, self._pages.get(key))
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            if self._building.get(key) is future:
                del self._building[key]
        future.set_result(page)
        if page.status_code == 200:
            self._pages[key] = page
            self._pages.move_to_end(key)
            if len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return page, False


def page_response(
    request: Request,
    page: CachedPage,
    *,
    hit: bool,
    max_age: int = 0,
    media_type: str = "text/html; charset=utf-8",
) -> Response:
    """The kept page in the encoding the client prefers, or 304 when its copy is current.

    ``max_age=0`` with ``no-cache``: a browser revalidates every time (a 304 costs one cheap
    statement), so a release shows at once.
    """
    headers = {
        "etag": page.etag,
        "cache-control": f"public, max-age={max_age}, no-cache"
        if max_age == 0
        else f"public, max-age={max_age}",
        "vary": "Accept-Encoding",
        CACHED_HEADER: "hit" if hit else "miss",
    }
    headers["last-modified"] = page.last_modified_http
    if page.status_code == 200 and not_modified(request, page.etag, page.last_modified):
        return Response(status_code=304, headers=headers)
    body, encoding = page.encoded(request.headers.get("accept-encoding", ""))
    # Plain on purpose (the client refused br and gzip): the compression middleware must not
    # try again, nor add a second Vary.
    headers["content-encoding"] = encoding or KEEP_PLAIN
    return Response(body, status_code=page.status_code, media_type=media_type, headers=headers)
