"""The read-only JSON API for the programme, and its OpenAPI document."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
