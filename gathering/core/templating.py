"""The Jinja environment: autoescape on, URLs by route name, static files with a content hash."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from gathering.core import content, i18n
from gathering.core.urls import absolute_url, public_base

# An installed wheel carries templates/ and static/ inside the package; a checkout (and an editable
# install) keeps them at the top of the repository.
_PACKAGE = Path(__file__).resolve().parents[1]
ROOT = _PACKAGE if (_PACKAGE / "templates").is_dir() else _PACKAGE.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"

# Shown through gettext: {{ _(MODE_LABELS[mode]) }}.
MODE_LABELS = {
    "in_person": i18n.N_("In person"),
    "online": i18n.N_("Online"),
    "hybrid": i18n.N_("Hybrid"),
}


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
    """'21–25 September 2019', '30 September – 2 October 2019', '18 September 2021' (and the
    same in Welsh: '21–25 Medi 2019')."""
    day = i18n.format_date
    if start == end:
        return day(start, "d MMMM y")
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{day(end, 'd MMMM y')}"
    if start.year == end.year:
        return f"{day(start, 'd MMMM')} – {day(end, 'd MMMM y')}"
    return f"{day(start, 'd MMMM y')} – {day(end, 'd MMMM y')}"


@jinja2.pass_context
def language_links(context: dict[str, Any]) -> list[dict[str, Any]]:
    """Each language with its switch link (remembered) and this page's alternate (``?lang=``)."""
    request: Request = context["request"]
    here = request.url.path
    named = request.scope.get(i18n.KEPT_QUERY)  # a kept page: only what its key names
    kept = [
        (k, v if named is None else v[: i18n.KEPT_QUERY_LENGTH])
        for k, v in request.query_params.multi_items()
        if k != i18n.QUERY and (named is None or k in named)
    ]
    current = i18n.current_language()
    base = public_base(request)
    links = []
    for code, name in i18n.LANGUAGES.items():
        switch = absolute_url(request, "language:switch", code=code)
        next_url = here + ("?" + urlencode(kept) if kept else "")
        links.append(
            {
                "code": code,
                "name": name,
                "current": code == current,
                "switch": f"{switch}?{urlencode({'next': next_url})}",
                "alternate": f"{base}{here}?{urlencode([*kept, (i18n.QUERY, code)])}",
            }
        )
    return links


def install_i18n(env: jinja2.Environment) -> None:
    """Jinja's i18n extension (``{% trans %}``, ``_()``, ``ngettext()``, ``pgettext()``) over
    the current language (:mod:`gathering.core.i18n`), new-style: placeholders are named and
    escaped like any other output."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts them: whitespace collapsed
    env.filters["list_words"] = i18n.format_list  # 'A, B and C' / 'A, B a C'
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext,
        i18n.ngettext,
        newstyle=True,
        pgettext=i18n.pgettext,
        npgettext=i18n.npgettext,
    )
    env.globals.update(
        current_language=i18n.current_language,
        LANGUAGES=i18n.LANGUAGES,
        format_date=i18n.format_date,
        format_datetime=i18n.format_datetime,
        format_time=i18n.format_time,
        language_links=language_links,
        content_lang=content.content_lang,  # issue 18: lang on content in another language
        content_language=content.lang_attribute,  # lang="xx" when not the page's language
    )


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
    install_i18n(env)
    # Set before Jinja2Templates, which only adds its own url_for when none is there.
    env.globals.update(
        url_for=url_for, static_url=static_url, csrf_token=csrf_token, MODE_LABELS=MODE_LABELS
    )
    env.filters["date_range"] = date_range
    env.filters.update(filters)
    env.globals.update(globals_)
    return Jinja2Templates(env=env)
