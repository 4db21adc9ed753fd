"""create_app(settings) → the Starlette application."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import BaseRoute, Mount

from gathering.admin import pages as admin
from gathering.auth import invitation_pages
from gathering.auth import pages as auth
from gathering.auth.passwords import use_hash_cost
from gathering.auth.rules import actor_for_token
from gathering.calendars import feeds
from gathering.core import csrf, i18n, language_pages, migrate
from gathering.core import error_pages as errors
from gathering.core.compression import PlainAnswers
from gathering.core.database import Database
from gathering.core.errors import GatheringError
from gathering.core.routing import grouped
from gathering.core.security import SecurityHeadersMiddleware
from gathering.core.settings import Settings
from gathering.core.static_files import PrecompressedStaticFiles
from gathering.core.templating import STATIC, make_templates
from gathering.core.urls import own_hosts
from gathering.door import api as steward
from gathering.door import pages as door_pages
from gathering.door import pass_pages as steward_passes
from gathering.door.live import DoorSignals
from gathering.fediverse import pages as fediverse
from gathering.fediverse.delivery import fediverse_deliverer
from gathering.housekeeping import housekeeping
from gathering.introductions import pages as introductions
from gathering.mail import pages as outbox
from gathering.mail.sender import mail_sender
from gathering.organiser import dashboard_pages as dashboard
from gathering.organiser import member_pages
from gathering.organiser import pages as organiser
from gathering.organiser import registration_pages as registration_setup
from gathering.organiser import supporter_pages as supporters
from gathering.privacy import pages as privacy
from gathering.programme import api, starred
from gathering.programme import export_pages as exports
from gathering.programme import pages as public
from gathering.reach import pages as reach
from gathering.reach import previews
from gathering.registration import pages as registration
from gathering.registration.links import links_for

log = logging.getLogger(__name__)

# Route groups tried first (the order changes no answer, see core.routing.grouped): the door's
# scans, the programme with its feeds and forms, manage links, personal calendars, the JSON API.
BUSIEST_GROUPS = ("door", "g", "r", "my", "api")
# And within their groups, the routes of the rushes bench/ measures: a scan at the door, the
# registration form, the calendar feeds.
BUSIEST_ROUTES = ("door:scan", "registration:form", "calendars:gathering", "calendars:session")


def create_app(settings: Settings) -> Starlette:
    """Build the application; the lifespan opens the database (and migrates it) and closes it."""
    use_hash_cost(settings.password_hash_cost)  # one argon2 cost per process

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(
            settings.database_url,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            time_limit_ms=settings.sqlite_time_limit_ms,
        )
        if settings.migrate_on_start:
            before, after = await migrate.upgrade(db)
            if before != after:
                log.info("database migrated from %s to %s", before or "empty", after)
        app.state.db = db
        try:
            links = links_for(app, settings)
            async with (
                mail_sender(db, settings) as app.state.mailer,  # wake(): state.mailer.wake()
                fediverse_deliverer(db, settings) as app.state.fediverse,
                DoorSignals(settings.database_url).running() as app.state.door_signals,
                housekeeping(
                    db,
                    links,
                    settings.offer_hours,
                    settings.reminder_hours,
                    purge_minutes=settings.purge_interval_minutes,
                    joining_minutes=settings.joining_link_minutes,
                ),
            ):
                # What start-up made (modules, templates, the route table) lives as long as the
                # process: out of the collector's sight, a full collection during a request walks
                # only what requests made (it cost a cold feed up to 70 ms; bench/RESULTS.md).
                gc.collect()
                gc.freeze()
                yield
        finally:
            await db.dispose()

    middleware = [
        # The reader's language for everything inside, error pages included (issue 18). Outside
        # PlainAnswers: the Vary: Cookie it adds (the language cookie) says nothing secret, and
        # must not keep answers uncompressed as the CSRF middleware's does.
        Middleware(i18n.LanguageMiddleware),
        # It must see the CSRF middleware's Vary: Cookie (core/compression.py).
        Middleware(PlainAnswers),
        Middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies),
        # Production answers only for its own name (and the machine itself, for health checks):
        # Starlette's trailing-slash redirect and anything else built from the Host header can
        # then never name another site (issue 14 #10). Development answers any name, so a phone
        # on the same network can open the door by the laptop's address.
        *(
            [Middleware(TrustedHostMiddleware, allowed_hosts=own_hosts(settings.base_url))]
            if settings.is_production
            else []
        ),
        Middleware(csrf.MultipartGate),
        Middleware(csrf.FormBodyGate),
        Middleware(
            csrf.CsrfMiddleware,  # origin check and signed token (gathering/core/csrf.py)
            secret_key=settings.secret_key,
            secure_cookie=settings.secure_cookies,
            trusted_origin=csrf.origin_of(settings.base_url),
            # A cookieless POST still needs the token here: sign-in must never be forged.
            always_protect={"/signin", "/password/forgot"},
            refuse=auth.csrf_failed,
        ),
    ]
    app = Starlette(
        # Grouped under Mount by first path segment, ids bounded (gathering/core/routing.py).
        routes=grouped(route_list(), first=BUSIEST_GROUPS, hot=BUSIEST_ROUTES),
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            GatheringError: errors.domain_error,
            HTTPException: errors.http_error,
            500: errors.server_error,
        },
    )
    app.state.settings = settings
    app.state.actor_for_token = actor_for_token
    app.state.templates = make_templates(
        public.TEMPLATE_FILTERS,
        {
            **public.TEMPLATE_GLOBALS,
            **feeds.TEMPLATE_GLOBALS,
            **previews.TEMPLATE_GLOBALS,
            **registration_setup.TEMPLATE_GLOBALS,
        },
    )
    return app


def route_list() -> list[BaseRoute]:
    """Every route of the app in the order it is declared (``create_app`` groups them)."""
    return [
        *public.routes,
        *starred.routes,
        *exports.routes,
        *api.routes,
        *auth.routes,
        *invitation_pages.routes,
        *organiser.routes,
        *registration_setup.routes,
        *member_pages.routes,
        *steward_passes.routes,
        *supporters.routes,
        *steward.routes,
        *door_pages.routes,
        *dashboard.routes,
        *privacy.routes,
        *admin.routes,
        *outbox.routes,
        *feeds.routes,
        *registration.routes,
        *introductions.routes,
        *fediverse.routes,
        *reach.routes,
        *language_pages.routes,
        Mount("/static", PrecompressedStaticFiles(directory=STATIC), name="static"),
    ]


def app_factory() -> Starlette:
    """Entry point for ``uvicorn --factory``: settings from the environment."""
    return create_app(Settings.from_env())
