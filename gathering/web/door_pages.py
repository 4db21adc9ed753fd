"""The steward's pages: open a pass with its PIN, then the scan page (issue 6)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
