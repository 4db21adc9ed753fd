"""Routes of reach: the embed pages (the only pages other sites may frame), the embed script,
the oEmbed endpoint, and the organisers' snippet builder.

Embed pages set no cookie (no form, so no CSRF token), run no script, and send the strict CSP
with ``frame-ancestors *`` (``core.security.FRAMEABLE_CSP``); every other page keeps
``frame-ancestors 'none'``.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gathering.core import i18n
from gathering.core.caching import cached_response
from gathering.core.errors import InvalidInput
from gathering.core.guards import current_actor, signed_in
from gathering.core.i18n import current_language, gettext
from gathering.core.render import database, render, settings
from gathering.core.security import FRAMEABLE_HEADERS
from gathering.core.templating import STATIC
from gathering.reach import words
from gathering.reach.embeds import Embed, Target, checked_theme, load_embed, oembed_target
from gathering.reach.snippets import (
    IFRAME_HEIGHT,
    build_snippets,
    choice_of,
    snippet_choices,
    target_from_choice,
)

WORDS_SLOT = "/*WORDS*/{}"  # in embed.js, where the words go
EMBED_MAX_AGE = 300  # a release shows in embeds within five minutes
OEMBED_WIDTH = 600


def _embed_response(request: Request, embed: Embed) -> Response:
    theme = checked_theme(request.query_params.get("theme", ""))
    headers = {**FRAMEABLE_HEADERS, "cache-control": f"public, max-age={EMBED_MAX_AGE}"}
    return render(request, "reach/embed.html", {"embed": embed, "theme": theme}, headers=headers)


async def embed_gathering(request: Request) -> Response:
    track = request.query_params.get("track", "")[:100]
    target = Target("gathering", request.path_params["slug"], track)
    return _embed_response(request, await load_embed(database(request), target))


async def embed_organisation(request: Request) -> Response:
    target = Target("organisation", request.path_params["slug"])
    return _embed_response(request, await load_embed(database(request), target))


@cache
def _script() -> bytes:
    """embed.js with the words of every language written in from the catalogues (the host
    page's ``lang`` picks them in the browser)."""
    source = (STATIC / "js" / "embed.js").read_text(encoding="utf-8")
    words_json = json.dumps(_embed_words(), ensure_ascii=False, separators=(",", ":"))
    return source.replace(WORDS_SLOT, words_json, 1).encode()


def _embed_words() -> dict[str, dict[str, object]]:
    """What the embed script writes, per language: its phrases, and day and month names (from
    CLDR, as the embed pages write dates)."""
    sunday = dt.date(2023, 1, 1)
    found: dict[str, dict[str, object]] = {}
    for code in i18n.LANGUAGES:
        with i18n.use_language(code):
            found[code] = {
                "online": gettext(words.ONLINE),
                "venueTbc": gettext(words.EMBED_VENUE_TBC),
                "andOnline": gettext(words.EMBED_AND_ONLINE),
                "cancelled": gettext(words.EMBED_CANCELLED),
                "hostedBy": gettext(words.HOSTED_BY),
                "organisationTitle": gettext(words.ORGANISATION_EMBED_TITLE),
                "empty": gettext(words.EMBED_EMPTY),
                "error": gettext(words.EMBED_ERROR),
                "days": [i18n.format_date(sunday + dt.timedelta(days=n), "EEEE") for n in range(7)],
                "months": [i18n.format_date(dt.date(2023, m, 1), "MMMM") for m in range(1, 13)],
            }
    return found


async def embed_script(request: Request) -> Response:
    """The embed script at a stable address (pasted snippets keep working across versions)."""
    return cached_response(request, _script(), "text/javascript", last_modified=None, max_age=3600)


async def oembed(request: Request) -> Response:
    """oEmbed 1.0 for the programme views: ``rich`` with the iframe snippet; 404 for other URLs,
    501 for a format other than JSON (oEmbed 1.0 §2.3.4)."""
    if request.query_params.get("format", "json") != "json":
        return Response(gettext(words.OEMBED_FORMAT), 501, media_type="text/plain")
    url = request.query_params.get("url", "")
    if not url:
        raise InvalidInput(
            {"url": gettext(words.OEMBED_URL_MISSING)}, gettext(words.OEMBED_URL_MISSING)
        )
    base_url = settings(request).base_url
    embed = await load_embed(database(request), oembed_target(url[:2000], base_url))
    target = Target(embed.kind, embed.slug, embed.track)
    width = _dimension(request.query_params.get("maxwidth", ""), OEMBED_WIDTH)
    height = _dimension(request.query_params.get("maxheight", ""), IFRAME_HEIGHT)
    snippet = build_snippets(base_url, target, "light", embed.title)
    iframe = snippet.iframe.replace('width="100%"', f'width="{width}"').replace(
        f'height="{IFRAME_HEIGHT}"', f'height="{height}"'
    )
    body = {
        "version": "1.0",
        "type": "rich",
        "title": embed.title,
        "provider_name": words.SITE_NAME,
        "provider_url": base_url.rstrip("/") + "/",
        "cache_age": EMBED_MAX_AGE,
        "html": iframe,
        "width": width,
        "height": height,
    }
    data = json.dumps(body, ensure_ascii=False).encode()
    return cached_response(
        request, data, "application/json", last_modified=None, max_age=EMBED_MAX_AGE
    )


def _dimension(value: str, default: int) -> int:
    """A consumer's maxwidth / maxheight, kept to what it allows (never above the default)."""
    return min(int(value), default) if value.isdigit() and int(value) > 0 else default


@signed_in
async def snippet_builder(request: Request) -> Response:
    db = database(request)
    choices = await snippet_choices(db, await current_actor(request))
    chosen = request.query_params.get("source", "") or (choices[0].value if choices else "")
    context: dict[str, object] = {"choices": choices, "chosen": chosen, "snippets": None}
    if chosen:
        target = target_from_choice(chosen[:300])
        embed = await load_embed(db, target)
        theme = request.query_params.get("theme", "")
        base_url = settings(request).base_url
        language = current_language()
        context["snippets"] = build_snippets(base_url, target, theme, embed.title, language)
        context["chosen"] = choice_of(target)
    return render(request, "reach/snippets.html", context)


routes: list[BaseRoute] = [
    Route("/embed/v1.js", embed_script, name="reach:script"),
    Route("/embed/g/{slug}", embed_gathering, name="reach:embed_gathering"),
    Route("/embed/o/{slug}", embed_organisation, name="reach:embed_organisation"),
    Route("/oembed", oembed, name="reach:oembed"),
    Route("/organiser/embed", snippet_builder, name="reach:snippets"),
]
