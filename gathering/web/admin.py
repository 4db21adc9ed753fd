"""Network admin pages: gatherings, venues and rooms, tracks, organisations, speakers."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
