"""Static files compressed once per process (brotli 11, gzip 9), not on every request (issue 17).

Each compressible file (CSS, JS, SVG, JSON, ...) is compressed the first time it is asked for and
kept with its modification time; the answer carries the file's own ETag and Last-Modified and
``Content-Encoding``, so the compression middleware leaves it alone.
"""

from __future__ import annotations

import gzip
import os

import brotli  # type: ignore[import-untyped]
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from gathering.core.caching import accepted_codings

COMPRESSIBLE = (".css", ".js", ".svg", ".json", ".webmanifest", ".txt", ".html", ".map")
_HEADERS_KEPT = ("etag", "last-modified", "cache-control", "content-type")


class PrecompressedStaticFiles(StaticFiles):
    """StaticFiles answering br or gzip from bodies compressed once."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._encoded: dict[tuple[str, float], tuple[bytes, bytes]] = {}

    def _bodies(self, full_path: str) -> tuple[bytes, bytes]:
        key = (full_path, os.stat(full_path).st_mtime)
        bodies = self._encoded.get(key)
        if bodies is None:
            with open(full_path, "rb") as file:
                raw = file.read()
            bodies = (brotli.compress(raw, quality=11), gzip.compress(raw, 9, mtime=0))
            self._encoded[key] = bodies
        return bodies

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if (
            not isinstance(response, FileResponse)
            or response.status_code != 200
            or not str(response.path).endswith(COMPRESSIBLE)
        ):
            return response
        headers = dict(scope["headers"])
        if b"range" in headers:
            return response
        accepted = accepted_codings(headers.get(b"accept-encoding", b"").decode("latin-1"))
        coding = "br" if "br" in accepted else "gzip" if "gzip" in accepted else None
        if coding is None:
            return response
        brotli_body, gzip_body = self._bodies(str(response.path))
        kept = {k: v for k, v in response.headers.items() if k in _HEADERS_KEPT}
        kept |= {"content-encoding": coding, "vary": "Accept-Encoding"}
        body = brotli_body if coding == "br" else gzip_body
        return Response(body, headers=kept)
