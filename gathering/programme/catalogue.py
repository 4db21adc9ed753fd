"""Reads across gatherings for the public API: gatherings, speakers, organisations.

Everything comes from the *released* programmes of listed gatherings (one ``load_programme`` per
gathering; a network has few), so a speaker or session an organiser has not released yet never
shows. Organisations are the network's public groups and are listed even with no sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import NotFound
from gathering.core.i18n import gettext
from gathering.programme import catalogue_queries, queries, wording
from gathering.programme.catalogue_queries import PublicSpeaker
from gathering.programme.published import Programme, PublicGathering, PublicSession
from gathering.programme.release import load_programme


@dataclass(frozen=True)
class Appearance:
    """A session someone speaks at (role chair | speaker) or hosts (role host | co_host)."""

    gathering: PublicGathering
    session: PublicSession
    role: str = ""  # empty where the page is not about one speaker or organisation


@dataclass(frozen=True)
class SpeakerProfile:
    id: int
    slug: str
    name: str
    affiliation: str
    bio: str
    appearances: tuple[Appearance, ...]
    photo: str | None = None  # version of the current photo, if there is one


@dataclass(frozen=True)
class OrganisationProfile:
    id: int
    slug: str
    name: str
    short_name: str
    description: str
    website: str
    appearances: tuple[Appearance, ...]


async def released_programmes(db: Database) -> list[Programme]:
    """The released programme of every listed gathering, newest gathering first."""
    slugs = await db.read(queries.listed_gathering_slugs)
    return [await load_programme(db, slug, its_pages=False) for slug in slugs]


async def load_session(db: Database, slug: str, session_id: int) -> tuple[Programme, PublicSession]:
    """One released session of a gathering; NotFound if it is not in the released programme."""
    programme = await load_programme(db, slug)
    session = programme.session(session_id)
    if session is None:
        raise NotFound(gettext(wording.NO_SUCH_SESSION))
    return programme, session


def _by_time(appearances: list[Appearance]) -> tuple[Appearance, ...]:
    return tuple(sorted(appearances, key=lambda a: (a.session.starts_at, a.session.id)))


def _speakers(
    programmes: list[Programme], current: dict[str, PublicSpeaker]
) -> list[SpeakerProfile]:
    # Who appears is decided by the released programmes, so an unannounced speaker stays hidden;
    # name, affiliation and bio are the current ones, so a corrected bio shows at once.
    found: dict[str, SpeakerProfile] = {}
    appearances: dict[str, list[Appearance]] = {}
    for programme in programmes:
        for session in programme.sessions:
            for ref in session.speakers:
                if ref.slug not in found:
                    found[ref.slug] = SpeakerProfile(
                        ref.id, ref.slug, ref.name, ref.affiliation, ref.bio, ()
                    )
                    appearances[ref.slug] = []
                appearances[ref.slug].append(Appearance(programme.gathering, session, ref.role))
    profiles = []
    for slug, p in found.items():
        row = current.get(slug)
        if row is None:  # deleted since the release: the released details are all there is
            profiles.append(replace(p, appearances=_by_time(appearances[slug])))
            continue
        profiles.append(
            SpeakerProfile(
                p.id,
                slug,
                row.name,
                row.affiliation,
                row.bio,
                _by_time(appearances[slug]),
                row.photo,
            )
        )
    return sorted(profiles, key=lambda p: (p.name.casefold(), p.slug))


async def list_speakers(db: Database) -> list[SpeakerProfile]:
    """Everyone who speaks in a released programme, by name, with their sessions."""
    programmes = await released_programmes(db)
    slugs = {ref.slug for p in programmes for s in p.sessions for ref in s.speakers}

    async def _read(conn: AsyncConnection) -> dict[str, PublicSpeaker]:
        return await catalogue_queries.speakers_by_slug(conn, sorted(slugs))

    return _speakers(programmes, await db.read(_read))


async def speaker_profile(db: Database, slug: str) -> SpeakerProfile:
    """One speaker with their released sessions; NotFound if no released programme names them."""
    for profile in await list_speakers(db):
        if profile.slug == slug:
            return profile
    raise NotFound(gettext(wording.NO_SPEAKER_HERE))


def _hosted(programmes: list[Programme]) -> dict[int, list[Appearance]]:
    hosted: dict[int, list[Appearance]] = {}
    for programme in programmes:
        for session in programme.sessions:
            for host in session.hosts:
                hosted.setdefault(host.id, []).append(
                    Appearance(programme.gathering, session, host.role)
                )
    return hosted


async def list_organisations(db: Database) -> list[OrganisationProfile]:
    """Every organisation, by name, with the released sessions it hosts or co-hosts."""
    rows = await db.read(catalogue_queries.public_organisations)
    hosted = _hosted(await released_programmes(db))
    return [
        OrganisationProfile(
            row.id,
            row.slug,
            row.name,
            row.short_name,
            row.description,
            row.website,
            _by_time(hosted.get(row.id, [])),
        )
        for row in rows
    ]


async def organisation_profile(db: Database, slug: str) -> OrganisationProfile:
    """One organisation with the released sessions it hosts or co-hosts; NotFound if unknown."""

    async def _read(conn: AsyncConnection) -> catalogue_queries.PublicOrganisation | None:
        return await catalogue_queries.public_organisation(conn, slug)

    row = await db.read(_read)
    if row is None:
        raise NotFound(gettext(wording.NO_ORGANISATION_HERE))
    hosted = _hosted(await released_programmes(db))
    return OrganisationProfile(
        row.id,
        row.slug,
        row.name,
        row.short_name,
        row.description,
        row.website,
        _by_time(hosted.get(row.id, [])),
    )
