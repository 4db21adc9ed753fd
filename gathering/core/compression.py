"""Compression of answers by starlette-compress (brotli, gzip), kept off what must stay plain.

Never compressed: the door's event stream (each event must reach the steward at once), and any
answer carrying a secret beside text an attacker may choose (BREACH): a page that asked for a CSRF
token (``core.csrf`` marks it ``Vary: Cookie``), one setting a cookie, and every answer about
people (``Cache-Control: no-store`` or ``private``). Those are small pages; the large public ones
are compressed once when kept (``core.page_cache``) and carry their ``Content-Encoding`` already.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_compress import CompressMiddleware, remove_compress_type

remove_compress_type("text/event-stream")
# A content coding no client asks for: starlette-compress leaves an answer that has one alone,
# and ``PlainAnswers`` takes it off again on the way out.
KEEP_PLAIN = "x-gathering-plain"


def must_stay_plain(headers: MutableHeaders) -> bool:
    """True for an answer that carries a token, sets a cookie or is about people."""
    vary = headers.get("vary", "").lower()
    cache_control = headers.get("cache-control", "").lower()
    return (
        "cookie" in vary
        or "set-cookie" in headers
        or "no-store" in cache_control
        or "private" in cache_control
    )


class _MarkPlain:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-encoding" not in headers and must_stay_plain(headers):
                    headers["content-encoding"] = KEEP_PLAIN
            await send(message)

        await self.app(scope, receive, marked)


class PlainAnswers:
    """starlette-compress around the app, except for answers ``must_stay_plain``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.compress = CompressMiddleware(_MarkPlain(app), zstd=False, gzip_level=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def unmarked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-encoding") == KEEP_PLAIN:
                    del headers["content-encoding"]
            await send(message)

        await self.compress(scope, receive, unmarked)
