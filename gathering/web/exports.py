"""Machine-readable programme exports: frab schedule XML and schedule JSON."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
