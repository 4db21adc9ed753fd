"""create_app(settings) → the Starlette application."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from gathering.db import migrate
from gathering.db.database import Database
from gathering.errors import GatheringError
from gathering.housekeeping import housekeeping
from gathering.live import DoorSignals
from gathering.mailer import mail_sender
from gathering.settings import Settings
from gathering.templating import STATIC, make_templates
from gathering.web import (
    admin,
    api,
    auth,
    csrf,
    dashboard,
    door_pages,
    errors,
    exports,
    feeds,
    organiser,
    outbox,
    privacy,
    public,
    registration,
    steward,
    supporters,
)
from gathering.web.routing import IndexedRouter
from gathering.web.security import SecurityHeadersMiddleware

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Starlette:
    """Build the application; the lifespan opens the database (and migrates it) and closes it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        if settings.migrate_on_start:
            before, after = await migrate.upgrade(db)
            if before != after:
                log.info("database migrated from %s to %s", before or "empty", after)
        app.state.db = db
        try:
            links = registration.links_for(app, settings)
            async with (
                mail_sender(db, settings) as app.state.mailer,  # wake(): state.mailer.wake()
                DoorSignals(settings.database_url).running() as app.state.door_signals,
                housekeeping(
                    db,
                    links,
                    settings.offer_hours,
                    settings.reminder_hours,
                    purge_minutes=settings.purge_interval_minutes,
                ),
            ):
                yield
        finally:
            await db.dispose()

    routes = [
        *public.routes,
        *exports.routes,
        *api.routes,
        *auth.routes,
        *organiser.routes,
        *supporters.routes,
        *steward.routes,
        *door_pages.routes,
        *dashboard.routes,
        *privacy.routes,
        *admin.routes,
        *outbox.routes,
        *feeds.routes,
        *registration.routes,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies),
        Middleware(csrf.MultipartGate),
        Middleware(csrf.FormBodyGate),
        Middleware(
            csrf.CsrfMiddleware,  # asgi-csrf, but not for reads of data (gathering/web/csrf.py)
            signing_secret=settings.secret_key,
            cookie_secure=settings.secure_cookies,
            cookie_samesite="Lax",
            # Without this a cookieless POST skips the check; sign-in must never be forged.
            always_protect={"/signin", "/password/forgot"},
            send_csrf_failed=auth.csrf_failed,
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            GatheringError: errors.domain_error,
            HTTPException: errors.http_error,
            500: errors.server_error,
        },
    )
    # Starlette makes its router in __init__ with no way to choose its class; the same routes
    # and lifespan, looked up by first segment (gathering/web/routing.py).
    app.router = IndexedRouter(routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.templates = make_templates()
    return app


def app_factory() -> Starlette:
    """Entry point for ``uvicorn --factory``: settings from the environment."""
    return create_app(Settings.from_env())
