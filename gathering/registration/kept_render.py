"""Pages of the registration rush rendered once and kept: the form and "check your email".

Rendering the form was a third of a registration's time (bench/RESULTS.md), yet it differs
between two people only in their CSRF token while nothing it shows changes. A page is rendered
with a marker in place of each per-person value (the token, the address typed), kept under a
key naming everything else it is made of, and answered again with the markers replaced:

- the caller's ``key``: what the page shows (for the form, the kept page's generation, the
  window's state and the places left, see ``form.registration_page_keyed``);
- the template, the request's path, query string and root path (the links and the language
  switch are made from them; hosts never enter a page, ``core.urls.public_base``);
- the reader's language.

A marker is random per process and stands where plain text goes, so the real value is
substituted escaped, as the template would have written it. A template that did not write a
hole's marker exactly as given (a filter changed it) is never kept: it is rendered every time.
The token is asked for only when the kept page carries it, so the CSRF middleware sets its
cookie (and ``Vary: Cookie``) exactly as on a page rendered afresh. Nothing personal is kept:
the holes are what is personal.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gathering.core import i18n
from gathering.core.render import render

_SIZE = 64
_NONCE = secrets.token_hex(16)
_TOKEN = f"csrf{_NONCE}"


@dataclass(frozen=True)
class _Kept:
    body: bytes
    has_token: bool
    holes: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]


_kept: OrderedDict[Hashable, _Kept | None] = OrderedDict()


def _marker(name: str) -> str:
    return f"hole{name}{_NONCE}"


def kept_render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    key: Hashable,
    *,
    holes: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``render(request, name, {**context, **holes}, headers=headers)`` (status 200), from a
    kept rendering when one is kept for ``key``. ``holes`` are the per-request text values;
    ``key`` None: rendered afresh, not kept. The template reads each hole by its name, or from
    the ``holes`` mapping (for holes named per item, such as each session's places left)."""
    holes = holes or {}
    if key is None:
        return render(request, name, {**context, **holes, "holes": holes}, headers=headers)
    scope = request.scope
    full_key = (
        name,
        key,
        tuple(sorted(holes)),
        tuple(sorted((headers or {}).items())),
        scope.get("root_path", ""),
        scope["path"],
        scope.get("query_string", b""),
        i18n.current_language(),
    )
    if full_key in _kept:
        kept = _kept[full_key]
        _kept.move_to_end(full_key)
    else:
        kept = _kept[full_key] = _keep(request, name, context, holes, headers)
        if len(_kept) > _SIZE:
            _kept.popitem(last=False)
    if kept is None:  # a hole did not come out as given: this template is rendered every time
        return render(request, name, {**context, **holes, "holes": holes}, headers=headers)
    body = kept.body
    for hole in kept.holes:
        body = body.replace(_marker(hole).encode(), str(escape(holes[hole])).encode())
    if kept.has_token:
        issue = scope.get("csrftoken")  # as the csrf_token template global asks for it
        body = body.replace(_TOKEN.encode(), (str(issue()) if issue else "").encode())
    return HTMLResponse(body, headers=dict(kept.headers))


def _keep(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    holes: Mapping[str, str],
    headers: Mapping[str, str] | None,
) -> _Kept | None:
    """Render the page with markers; None if a marker did not come out whole."""
    scope = request.scope
    issue = scope.get("csrftoken")
    scope["csrftoken"] = lambda: _TOKEN
    try:
        markers = {h: _marker(h) for h in holes}
        response = render(request, name, {**context, **markers, "holes": markers}, headers=headers)
    finally:
        if issue is None:
            del scope["csrftoken"]
        else:
            scope["csrftoken"] = issue
    body = bytes(response.body)
    if any(_marker(hole).encode() not in body for hole in holes):
        return None
    return _Kept(body, _TOKEN.encode() in body, tuple(holes), tuple((headers or {}).items()))
