"""Organiser dashboard, attendee lists, consented exports and messages to registrants (issue 7)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
