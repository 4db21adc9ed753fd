"""Typed access to what the app keeps on ``app.state``, and page rendering."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from gathering.core.database import Database
from gathering.core.settings import Settings


def database(request: Request) -> Database:
    return cast(Database, request.app.state.db)


def settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    templates = cast(Jinja2Templates, request.app.state.templates)
    return templates.TemplateResponse(
        request, name, dict(context or {}), status_code=status_code, headers=headers
    )


class _Waker(Protocol):
    def wake(self) -> None: ...


def wake_sender(request: Request) -> None:
    """Ask this process's mail sender to send now; call after a write that queued mail commits."""
    sender = getattr(request.app.state, "mailer", None)
    if sender is not None:
        cast(_Waker, sender).wake()
