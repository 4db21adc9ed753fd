"""The Jinja environment: autoescape on, URLs by route name, static files with a content hash."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from gathering.core.urls import absolute_url

# An installed wheel carries templates/ and static/ inside the package; a checkout (and an editable
# install) keeps them at the top of the repository.
_PACKAGE = Path(__file__).resolve().parents[1]
ROOT = _PACKAGE if (_PACKAGE / "templates").is_dir() else _PACKAGE.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"

MODE_LABELS = {"in_person": "In person", "online": "Online", "hybrid": "Hybrid"}


@cache
def _static_hash(path: str) -> str:
    file = (STATIC / path).resolve()
    if STATIC not in file.parents or not file.is_file():
        raise ValueError(f"no static file {path}")
    return hashlib.sha256(file.read_bytes()).hexdigest()[:12]


@jinja2.pass_context
def static_url(context: dict[str, Any], path: str) -> str:
    """URL of a static file with a content hash, so browsers may cache it for a year."""
    request: Request = context["request"]
    return f"{absolute_url(request, 'static', path=path).path}?v={_static_hash(path)}"


@jinja2.pass_context
def url_for(context: dict[str, Any], name: str, /, **path_params: Any) -> URL:
    """Starlette's template ``url_for`` (an absolute URL), without a route-table walk per link."""
    return absolute_url(context["request"], name, **path_params)


@jinja2.pass_context
def csrf_token(context: dict[str, Any]) -> str:
    """The CSRF token for a form on this page (core.csrf sets the matching cookie)."""
    request: Request = context["request"]
    token_for = request.scope.get("csrftoken")
    return str(token_for()) if token_for else ""


def date_range(start: dt.date, end: dt.date) -> str:
    """'21–25 September 2019', '30 September – 2 October 2019', '18 September 2021'."""
    if start == end:
        return f"{start.day} {start:%B %Y}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end:%B %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%B} – {end.day} {end:%B %Y}"
    return f"{start.day} {start:%B %Y} – {end.day} {end:%B %Y}"


def make_templates(
    filters: Mapping[str, Callable[..., Any]], globals_: Mapping[str, Any]
) -> Jinja2Templates:
    """The Jinja environment, with the filters and globals the features give ``create_app``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Set before Jinja2Templates, which only adds its own url_for when none is there.
    env.globals.update(
        url_for=url_for, static_url=static_url, csrf_token=csrf_token, MODE_LABELS=MODE_LABELS
    )
    env.filters["date_range"] = date_range
    env.filters.update(filters)
    env.globals.update(globals_)
    return Jinja2Templates(env=env)
