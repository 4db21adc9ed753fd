"""Route lookup by the path's first segment, with Starlette's own rules for which route wins.

Starlette's router tries each route's regular expression in order until one matches: about 90 for
the feeds and the registration form, which come late in the list. That was a tenth of answering
a calendar client's conditional GET. Here the routes are grouped once by the first segment of
their path (``/g/...``, ``/door/...``, ``/admin/...``); a request tries only the routes that can
match it (its segment's group and any route whose first segment is a parameter), in the original
order, so the same route wins as in Starlette: the first full match, else the first partial one
(a route for another method, for the 405). Anything else (no match, a ``root_path``, websockets,
lifespan) goes to Starlette's router unchanged, which then finds no route either and answers the
redirect or the 404 as it always does. ``tests/unit/test_routing.py`` checks the choice equals
Starlette's for every route and method.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send


def _first_segment(path: str) -> str | None:
    """The literal first segment of a route's path, or None when it holds a parameter."""
    segment = path.split("/")[1] if path.startswith("/") else None
    if segment is None or "{" in segment:
        return None
    return segment


class IndexedRouter(Router):
    """A ``Router`` that tries only the routes a path's first segment allows."""

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes, **kwargs)
        self._indexed: tuple[int, dict[str, list[BaseRoute]], list[BaseRoute]] | None = None

    def _index(self) -> tuple[dict[str, list[BaseRoute]], list[BaseRoute]]:
        """Routes by first segment (each list in route order, wildcards merged in place)."""
        if self._indexed is None or self._indexed[0] != len(self.routes):
            wildcards = [r for r in self.routes if _segment_of(r) is None]
            groups: dict[str, list[BaseRoute]] = {}
            for segment in {s for r in self.routes if (s := _segment_of(r)) is not None}:
                groups[segment] = [r for r in self.routes if _segment_of(r) in (segment, None)]
            self._indexed = (len(self.routes), groups, wildcards)
        return self._indexed[1], self._indexed[2]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path"):
            await super().app(scope, receive, send)
            return
        groups, wildcards = self._index()
        path: str = scope["path"]
        segment = path.split("/", 2)[1] if path.startswith("/") else ""
        scope.setdefault("router", self)
        partial: tuple[BaseRoute, Scope] | None = None
        for route in groups.get(segment, wildcards):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            route, child_scope = partial
            scope["route"] = route
            scope.update(child_scope)
            await route.handle(scope, receive, send)
            return
        await super().app(scope, receive, send)


def _segment_of(route: BaseRoute) -> str | None:
    if isinstance(route, Route | Mount):
        return _first_segment(route.path)
    return None
