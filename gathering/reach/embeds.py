"""What an embed shows: a gathering's released programme (or one track of it), or the released
sessions an organisation hosts or co-hosts; and which public pages oEmbed may embed.

Only released, public values (``programme.published``); the embed page shows what the public
programme page shows, no more.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from gathering.core.database import Database
from gathering.core.errors import InvalidInput, NotFound
from gathering.core.i18n import gettext
from gathering.programme.catalogue import organisation_profile
from gathering.programme.published import PublicGathering, PublicSession
from gathering.programme.release import load_programme
from gathering.programme.wording import in_zone
from gathering.reach import words

THEMES = ("light", "dark")
Kind = Literal["gathering", "organisation"]


@dataclass(frozen=True)
class EmbedItem:
    gathering: PublicGathering
    session: PublicSession


@dataclass(frozen=True)
class EmbedGroup:
    """Sessions under one heading: a day of a programme, or a gathering of an organisation."""

    heading: str
    items: tuple[EmbedItem, ...]


@dataclass(frozen=True)
class Embed:
    """One embeddable view: what it is (kind, slug, track) and its sessions, grouped."""

    kind: Kind
    slug: str
    track: str  # a track's slug, or "" for the whole programme
    title: str
    groups: tuple[EmbedGroup, ...]


@dataclass(frozen=True)
class Target:
    """What a snippet or an oEmbed request asks for."""

    kind: Kind
    slug: str
    track: str = ""


def checked_theme(theme: str) -> str:
    """``light`` (the default) or ``dark``; InvalidInput for anything else."""
    if theme == "":
        return "light"
    if theme not in THEMES:
        raise InvalidInput({"theme": gettext(words.THEME_CHOICES)}, gettext(words.THEME_CHOICES))
    return theme


def _day_heading(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


async def gathering_embed(db: Database, slug: str, track: str = "") -> Embed:
    """A gathering's released programme by day, or one track of it; NotFound for an unknown
    gathering or track."""
    programme = await load_programme(db, slug)
    gathering = programme.gathering
    sessions = programme.sessions
    title = gathering.title
    if track:
        names = {s.track.slug: s.track.name for s in sessions if s.track is not None}
        if track not in names:
            raise NotFound(gettext(words.NO_TRACK_HERE))
        sessions = tuple(s for s in sessions if s.track is not None and s.track.slug == track)
        title = words.TRACK_TITLE.format(title=gathering.title, track=names[track])
    days: dict[dt.date, list[EmbedItem]] = {}
    for s in sessions:
        days.setdefault(in_zone(s.starts_at, gathering.timezone).date(), []).append(
            EmbedItem(gathering, s)
        )
    groups = tuple(EmbedGroup(_day_heading(day), tuple(items)) for day, items in days.items())
    return Embed("gathering", slug, track, title, groups)


async def organisation_embed(db: Database, slug: str) -> Embed:
    """The released sessions an organisation hosts or co-hosts, by gathering, newest first (as
    its public page lists them); NotFound for an unknown organisation."""
    profile = await organisation_profile(db, slug)
    groups: dict[str, tuple[PublicGathering, list[EmbedItem]]] = {}
    for appearance in profile.appearances:
        gathering = appearance.gathering
        entry = groups.setdefault(gathering.slug, (gathering, []))
        entry[1].append(EmbedItem(gathering, appearance.session))
    ordered = sorted(groups.values(), key=lambda group: group[0].starts_on, reverse=True)
    return Embed(
        "organisation",
        slug,
        "",
        gettext(words.ORGANISATION_EMBED_TITLE).format(name=profile.name),
        tuple(EmbedGroup(g.title, tuple(items)) for g, items in ordered),
    )


async def load_embed(db: Database, target: Target) -> Embed:
    """The embed a target names; NotFound when it names nothing public."""
    if target.kind == "organisation":
        return await organisation_embed(db, target.slug)
    return await gathering_embed(db, target.slug, target.track)


_SLUG = r"[^/]{1,200}"  # any segment: loading the embed says whether it names something
_PROGRAMME_PATH = re.compile(rf"/g/(?P<slug>{_SLUG})/?")
_ORGANISATION_PATH = re.compile(rf"/organisations/(?P<slug>{_SLUG})/?")


def oembed_target(url: str, base_url: str) -> Target:
    """The programme view an oEmbed ``url`` names: a gathering's programme (its ``track`` filter
    kept) or an organisation's page, on this site's public address; NotFound for anything else
    (oEmbed 1.0 §2.3.4: 404 when the provider has no response for the URL)."""
    try:
        page, base = urlsplit(url.strip()), urlsplit(base_url)
    except ValueError:  # not a URL at all (an unclosed IPv6 bracket, say)
        raise NotFound(gettext(words.OEMBED_NOT_EMBEDDABLE)) from None
    if (page.scheme, page.netloc.lower()) != (base.scheme, base.netloc.lower()):
        raise NotFound(gettext(words.OEMBED_NOT_EMBEDDABLE))
    path = page.path
    prefix = base.path.rstrip("/")
    if prefix:
        if not path.startswith(prefix + "/"):
            raise NotFound(gettext(words.OEMBED_NOT_EMBEDDABLE))
        path = path[len(prefix) :]
    if match := _PROGRAMME_PATH.fullmatch(path):
        track = parse_qs(page.query).get("track", [""])[0]
        return Target("gathering", match["slug"], track[:100])
    if match := _ORGANISATION_PATH.fullmatch(path):
        return Target("organisation", match["slug"])
    raise NotFound(gettext(words.OEMBED_NOT_EMBEDDABLE))
