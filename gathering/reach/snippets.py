"""The snippet builder's rules: what an organiser may choose, and the two snippets for a choice.

The snippets name only public views, so any signed-in organiser may build one for any public
organisation or gathering; the check is that someone is signed in (the page is for organisers).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import urlencode

from gathering.core import i18n
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor, require_actor
from gathering.programme.catalogue import list_organisations, released_programmes
from gathering.reach import words
from gathering.reach.embeds import Target, checked_theme

IFRAME_HEIGHT = 600
SCRIPT_PATH = "/embed/v1.js"


@dataclass(frozen=True)
class Choice:
    """A builder option; ``value`` is ``o:<slug>``, ``g:<slug>`` or ``t:<slug>:<track>``."""

    value: str
    label: str
    group: str  # "organisation" | "gathering"
    title: str  # the embed's title (the iframe's title attribute)


@dataclass(frozen=True)
class Snippets:
    target: Target
    theme: str
    embed_path: str  # the embed page, path and query (the iframe's src without the site)
    iframe: str
    script: str


def target_from_choice(value: str) -> Target:
    """The target a builder choice names; InvalidInput when it names nothing."""
    kind, _, rest = value.partition(":")
    if kind == "o" and rest:
        return Target("organisation", rest)
    if kind == "g" and rest:
        return Target("gathering", rest)
    slug, _, track = rest.partition(":")
    if kind == "t" and slug and track:
        return Target("gathering", slug, track)
    raise InvalidInput(
        {"source": gettext(words.NOTHING_TO_CHOOSE)}, gettext(words.NOTHING_TO_CHOOSE)
    )


def choice_of(target: Target) -> str:
    """The builder value of a target (the inverse of :func:`target_from_choice`)."""
    if target.kind == "organisation":
        return f"o:{target.slug}"
    return f"t:{target.slug}:{target.track}" if target.track else f"g:{target.slug}"


async def snippet_choices(db: Database, actor: Actor | None) -> list[Choice]:
    """Every public organisation (the actor's own first), every released gathering and each of
    its tracks."""
    actor = require_actor(actor)
    organisations = sorted(
        await list_organisations(db), key=lambda o: (o.id not in actor.organisation_ids, o.name)
    )
    choices = [
        Choice(
            f"o:{o.slug}",
            o.name,
            "organisation",
            gettext(words.ORGANISATION_EMBED_TITLE).format(name=o.name),
        )
        for o in organisations
    ]
    for programme in await released_programmes(db):
        g = programme.gathering
        if programme.release is None:
            continue
        choices.append(Choice(f"g:{g.slug}", g.title, "gathering", g.title))
        tracks = {s.track.slug: s.track.name for s in programme.sessions if s.track is not None}
        for slug, name in sorted(tracks.items(), key=lambda item: item[1]):
            label = words.TRACK_TITLE.format(title=g.title, track=name)
            choices.append(Choice(f"t:{g.slug}:{slug}", label, "gathering", label))
    return choices


def embed_path(target: Target, theme: str, language: str = "") -> str:
    """The embed page of a target (path and query), as the iframe snippet uses it; ``language``
    (a code other than English) fixes the frame's language, else it follows the visitor's."""
    prefix = "o" if target.kind == "organisation" else "g"
    query = {"track": target.track} if target.track else {}
    if theme != "light":
        query["theme"] = theme
    if language and language != i18n.DEFAULT_LANGUAGE:
        query[i18n.QUERY] = language
    return f"/embed/{prefix}/{target.slug}" + (f"?{urlencode(query)}" if query else "")


def build_snippets(
    base_url: str, target: Target, theme: str, title: str, language: str = ""
) -> Snippets:
    """The iframe snippet and the script snippet for a target, on the public address. (The
    script's words follow the host page's ``lang``.)"""
    theme = checked_theme(theme)
    base = base_url.rstrip("/")
    path = embed_path(target, theme, language)
    e = html.escape
    iframe = (
        f'<iframe src="{e(base + path)}" title="{e(title)}" width="100%" '
        f'height="{IFRAME_HEIGHT}" loading="lazy"></iframe>'
    )
    attribute = "data-organisation" if target.kind == "organisation" else "data-gathering"
    track = f' data-track="{e(target.track)}"' if target.track else ""
    script = (
        f'<div class="gathering-embed" {attribute}="{e(target.slug)}"{track}></div>\n'
        f'<script src="{e(base + SCRIPT_PATH)}" async></script>'
    )
    return Snippets(target, theme, path, iframe, script)
