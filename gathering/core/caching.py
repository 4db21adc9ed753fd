"""Conditional GET for exports and feeds: ETag, Last-Modified, 304, open CORS for public data."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from email.utils import format_datetime, parsedate_to_datetime

import brotli  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import Response

from gathering.core.http import weighted

PUBLIC_CORS = {
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "ETag, Last-Modified",
}


def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def format_http_date(moment: dt.datetime) -> str:
    """An HTTP date (IMF-fixdate, GMT) for Last-Modified."""
    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def not_modified(request: Request, etag: str, last_modified: dt.datetime | None) -> bool:
    """True when the client's copy (If-None-Match, else If-Modified-Since) is current."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        # RFC 9110 §13.1.2: If-None-Match wins over If-Modified-Since; weak comparison.
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since and last_modified is not None:
        try:
            return last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def cached_response(
    request: Request,
    body: bytes,
    media_type: str,
    *,
    last_modified: dt.datetime | None,
    public: bool = True,
    max_age: int = 300,
    headers: Mapping[str, str] | None = None,
    etag: str | None = None,
) -> Response:
    """``body`` with validators; 304 with no body when the client's copy is current.

    ``etag`` is ``etag_for(body)`` when the caller kept it beside a cached body.
    """
    etag = etag or etag_for(body)
    out = {"etag": etag, "cache-control": f"{'public' if public else 'private'}, max-age={max_age}"}
    out["vary"] = "Accept-Encoding"
    if last_modified is not None:
        out["last-modified"] = format_http_date(last_modified)
    if public:
        out.update(PUBLIC_CORS)
    out.update(headers or {})
    if not_modified(request, etag, last_modified):
        return Response(status_code=304, headers=out)
    body, coding = encoded_body(body, etag, request.headers.get("accept-encoding", ""))
    if coding is not None:
        out["content-encoding"] = coding  # the compression middleware leaves it as it is
    return Response(body, media_type=media_type, headers=out)


def accepted_codings(accept_encoding: str) -> frozenset[str]:
    """The content codings an Accept-Encoding header allows (RFC 9110 §12.5.3; q=0 refuses)."""
    return frozenset(
        coding.lower() for coding, quality in weighted(accept_encoding) if coding and quality > 0
    )


# Feeds and exports are asked for again and again between two releases: each body is compressed
# once per ETag (brotli 4, gzip 6: cheap enough for a cold feed's first answer), not per request.
ENCODED_SIZE = 128
MIN_COMPRESSED = 1024
_encoded: OrderedDict[tuple[str, str], bytes] = OrderedDict()


def encoded_body(body: bytes, etag: str, accept_encoding: str) -> tuple[bytes, str | None]:
    """``body`` in the best coding the client accepts (br, gzip), compressed once per ETag."""
    if len(body) < MIN_COMPRESSED:
        return body, None
    codings = accepted_codings(accept_encoding)
    coding = "br" if "br" in codings else "gzip" if "gzip" in codings else None
    if coding is None:
        return body, None
    key = (etag, coding)
    found = _encoded.get(key)
    if found is None:
        if coding == "br":
            found = brotli.compress(body, quality=4)
        else:
            found = gzip.compress(body, compresslevel=6, mtime=0)
        _encoded[key] = found
        if len(_encoded) > ENCODED_SIZE:
            _encoded.popitem(last=False)
    else:
        _encoded.move_to_end(key)
    return found, coding


CACHE_SIZE = 64


class ExportCache:
    """A bounded, least-recently-used map from export keys to built bodies and their ETags."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, tuple[bytes, str]] = OrderedDict()

    def entry(self, key: Hashable, build: Callable[[], bytes]) -> tuple[bytes, str]:
        """The body for ``key`` (built on a miss) and its ETag, hashed once per build."""
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        body = build()
        self._items[key] = (body, etag_for(body))
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return self._items[key]

    def get_or_build(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        return self.entry(key, build)[0]


def export_cache(request: Request) -> ExportCache:
    """The app's export cache (one per app, so test apps never share entries)."""
    cache = getattr(request.app.state, "export_cache", None)
    if not isinstance(cache, ExportCache):
        cache = ExportCache()
        request.app.state.export_cache = cache
    return cache
