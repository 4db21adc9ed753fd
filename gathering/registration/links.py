"""Absolute link templates (confirm, manage, ticket, offer, agenda) for mail and background work,
made once per app from its routes and the public address."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request

from gathering.core.render import settings
from gathering.core.settings import Settings
from gathering.registration.tokens import Links


def links_for(app: Starlette, config: Settings) -> Links:
    """Absolute link templates for mail and background work, from the public address."""
    base = config.base_url.rstrip("/")
    marker = "TOKENMARKER"

    def template(name: str, **params: str) -> str:
        path = str(app.url_path_for(name, **params))
        return base + path.replace(marker, "{token}")

    session_path = str(app.url_path_for("public:session", slug=marker, session_id="0"))
    session_page = session_path.rsplit("/", 1)[0].replace(marker, "{slug}") + "/{session_id}"
    return Links(
        secret_key=config.secret_key,
        confirm=template("registration:confirm", token=marker),
        manage=template("registration:manage", token=marker),
        ticket=template("registration:ticket", token=marker),
        offer=template("registration:offer", token=marker),
        agenda=template("calendars:agenda", feed_key=marker),
        session_page=base + session_page,
        base_url=base,
        join=template("registration:join", token=marker),
        add_sessions=template("registration:add_sessions", token=marker),
    )


def links(request: Request) -> Links:
    """The app's link templates, made once (settings and routes never change while it runs)."""
    state = request.app.state
    made: Links | None = getattr(state, "registration_links", None)
    if made is None:
        made = state.registration_links = links_for(request.app, settings(request))
    return made
