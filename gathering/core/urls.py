"""URL paths by route name, without walking the whole route table for every link.

Starlette's ``url_path_for`` tries every route in order until one accepts the name and
parameters (each refusal is a raised ``NoMatchFound``); with some hundred routes, a programme of
300 sessions spent most of its page time there (bench/RESULTS.md). :func:`url_path` remembers,
per router, the path of each name and parameters it was asked for, and which route answered each
name (asked first next time); anything else falls back to the same search in the same order, so
the answers are Starlette's own. Absolute URLs start with ``GATHERING_BASE_URL``, never with the
request's ``Host`` header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import URL, URLPath
from starlette.requests import Request
from starlette.routing import BaseRoute, NoMatchFound, Router

_ANSWERED = "_gathering_routes_by_name"  # kept on the router itself (routers are unhashable)


_PATHS = "_gathering_paths"  # (name, parameters) -> the path, kept on the router too
_PATHS_KEPT = 20_000  # enough for every link of several programmes; then start again


def url_path(app: Starlette | Router, name: str, /, **path_params: Any) -> URLPath:
    """``app.url_path_for(name, **path_params)``, remembered per router."""
    router = app.router if isinstance(app, Starlette) else app
    paths: dict[tuple[str, tuple[tuple[str, Any], ...]], URLPath] | None
    paths = getattr(router, _PATHS, None)
    if paths is None:
        paths = {}
        setattr(router, _PATHS, paths)
    try:
        key = (name, tuple(sorted(path_params.items())))
        found = paths.get(key)
    except TypeError:  # an unhashable parameter: not remembered
        return _url_path(router, name, path_params)
    if found is None:
        found = _url_path(router, name, path_params)
        if len(paths) >= _PATHS_KEPT:
            paths.clear()
        paths[key] = found
    return found


def _url_path(router: Router, name: str, path_params: dict[str, Any]) -> URLPath:
    known: dict[str, BaseRoute] | None = getattr(router, _ANSWERED, None)
    if known is None:
        known = {}
        setattr(router, _ANSWERED, known)
    route = known.get(name)
    if route is not None:
        try:
            return route.url_path_for(name, **path_params)
        except NoMatchFound:
            pass
    for route in router.routes:
        try:
            path = route.url_path_for(name, **path_params)
        except NoMatchFound:
            continue
        known[name] = route
        return path
    raise NoMatchFound(name, path_params)


def public_base(request: Request) -> str:
    """``GATHERING_BASE_URL`` without its final slash: the start of every absolute URL.

    Never the request's ``Host`` header, which anyone can forge: a forged host reflected into a
    page's links or a publicly cached feed would send its readers elsewhere (issue 14 #10).
    """
    settings = getattr(request.app.state, "settings", None)
    base = getattr(settings, "base_url", None)
    if not isinstance(base, str):
        raise RuntimeError("absolute URLs need app.state.settings (create_app sets it)")
    return base.rstrip("/")


def absolute_url(request: Request, name: str, /, **path_params: Any) -> URL:
    """The absolute URL of a named route on the public address (``GATHERING_BASE_URL``)."""
    provider = request.scope.get("router") or request.app
    path = url_path(provider, name, **path_params)
    if path.host or path.protocol not in ("", "http"):
        return path.make_absolute_url(base_url=public_base(request))
    return URL(public_base(request) + str(path))


def own_hosts(base_url: str) -> list[str]:
    """The host names this service answers to in production: its public name and loopback."""
    host = urlsplit(base_url).hostname or "localhost"
    return [host, "127.0.0.1", "localhost"]
