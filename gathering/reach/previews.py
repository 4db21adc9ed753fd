"""Link previews: OpenGraph and Twitter-card values and schema.org JSON-LD for public pages.

Everything here is built from the *released* programme the public page itself shows: never a
joining link, never places left for a person, never anything about attendees. A supporters-only
or invite-only session says what its public page says (title, time, place, hosts), no more.

The values are made by Jinja globals (``TEMPLATE_GLOBALS``) the public templates call, so the
pages' handlers pass nothing new, except ``moved`` on the session page: whether a release after
the session's first moved its time, which only the release history can tell
(:func:`rescheduled_sessions`).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup
from starlette.requests import Request

from gathering.core.database import Database
from gathering.core.i18n import gettext
from gathering.core.urls import absolute_url
from gathering.programme.catalogue import OrganisationProfile, SpeakerProfile
from gathering.programme.published import Programme, PublicGathering, PublicSession
from gathering.programme.release import list_releases
from gathering.programme.wording import clock, in_zone
from gathering.reach import words

SCHEMA = "https://schema.org/"
EVENT_STATUS = {
    "scheduled": SCHEMA + "EventScheduled",
    "cancelled": SCHEMA + "EventCancelled",
    "rescheduled": SCHEMA + "EventRescheduled",
}
ATTENDANCE_MODE = {
    "in_person": SCHEMA + "OfflineEventAttendanceMode",
    "online": SCHEMA + "OnlineEventAttendanceMode",
    "hybrid": SCHEMA + "MixedEventAttendanceMode",
}
DESCRIPTION_LIMIT = 300  # previews cut long text anyway; keep the page light


@dataclass(frozen=True)
class LinkPreview:
    """What ``templates/reach/_preview.html`` writes into a public page's ``<head>``."""

    title: str
    description: str
    url: str
    kind: str  # og:type: website | profile
    json_ld: Markup | None = None
    oembed_url: str | None = None


# --- the release history: which sessions were moved ------------------------------------------

_MOVED_KEPT = 64
_moved: OrderedDict[tuple[str, int, int], frozenset[int]] = OrderedDict()


async def rescheduled_sessions(db: Database, programme: Programme) -> frozenset[int]:
    """Ids of the sessions whose time a release moved after they were first released.

    Releases are never changed once written, so the answer is kept per (database, gathering,
    release number).
    """
    if programme.release is None:
        return frozenset()
    key = (db.url, programme.gathering.id, programme.release.number)
    found = _moved.get(key)
    if found is None:
        _gathering, releases = await list_releases(db, programme.gathering.slug)
        found = frozenset(
            change.session_id
            for release in releases
            for change in release.changes
            if "moved_time" in change.kinds
        )
        _moved[key] = found
        if len(_moved) > _MOVED_KEPT:
            _moved.popitem(last=False)
    return found


# --- plain words for previews ----------------------------------------------------------------


def _short(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _place_words(session: PublicSession) -> str:
    if session.format == "online":
        return gettext(words.ONLINE)
    place = gettext(words.VENUE_TBC)
    if session.room is not None:
        venue = session.room.venue
        place = ", ".join(part for part in (session.room.name, venue.name, venue.address) if part)
    return gettext(words.AND_ONLINE).format(place=place) if session.format == "hybrid" else place


def session_summary(gathering: PublicGathering, session: PublicSession) -> str:
    """'Monday 23 September 2019, 18:00–19:30 BST · Main hall, … · Hosted by …'."""
    tz = gathering.timezone
    start = in_zone(session.starts_at, tz)
    when = (
        f"{start:%A} {start.day} {start:%B %Y}, {clock(session.starts_at, tz)}–"
        f"{clock(session.ends_at, tz)} {start.tzname() or tz}"
    )
    parts = [when, _place_words(session)]
    if session.hosts:
        parts.append(
            gettext(words.HOSTED_BY).format(names=", ".join(h.name for h in session.hosts))
        )
    summary = " · ".join(parts)
    return gettext(words.CANCELLED_PREFIX) + summary if session.is_cancelled else summary


# --- JSON-LD ---------------------------------------------------------------------------------


def json_ld(data: Mapping[str, Any]) -> Markup:
    """JSON for a ``<script type="application/ld+json">`` block: '<', '>' and '&' escaped, so no
    value can close the element or open a comment (the HTML spec's script data rules)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for the script data state


def _url(request: Request, name: str, **params: Any) -> str:
    return str(absolute_url(request, name, **params))


def _locations(
    request: Request, gathering: PublicGathering, session: PublicSession
) -> list[dict[str, Any]]:
    page = _url(request, "public:session", slug=gathering.slug, session_id=session.id)
    places: list[dict[str, Any]] = []
    if session.format in ("in_person", "hybrid"):
        if session.room is not None:
            venue = session.room.venue
            place: dict[str, Any] = {"@type": "Place", "name": f"{session.room.name}, {venue.name}"}
            if venue.address:
                place["address"] = {"@type": "PostalAddress", "streetAddress": venue.address}
        else:
            place = {"@type": "Place", "name": gettext(words.VENUE_TBC)}
            if gathering.location:
                place["address"] = {"@type": "PostalAddress", "addressLocality": gathering.location}
        places.append(place)
    if session.format in ("online", "hybrid"):
        # The session page, never the joining link: that goes to registered attendees only.
        places.append({"@type": "VirtualLocation", "url": page})
    return places


def event_status(session: PublicSession, moved: bool) -> str:
    """The schema.org status: cancelled wins over rescheduled."""
    if session.is_cancelled:
        return EVENT_STATUS["cancelled"]
    return EVENT_STATUS["rescheduled" if moved else "scheduled"]


def session_event(
    request: Request, gathering: PublicGathering, session: PublicSession, *, moved: bool
) -> dict[str, Any]:
    """A released session as a ``schema.org/Event``; times with the offset of the gathering's
    zone; organizers are the host organisations, performers the speakers."""
    tz = gathering.timezone
    event: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "@id": _url(request, "public:session", slug=gathering.slug, session_id=session.id),
        "url": _url(request, "public:session", slug=gathering.slug, session_id=session.id),
        "name": session.title,
        "startDate": in_zone(session.starts_at, tz).isoformat(),
        "endDate": in_zone(session.ends_at, tz).isoformat(),
        "eventStatus": event_status(session, moved),
        "eventAttendanceMode": ATTENDANCE_MODE.get(session.format, ATTENDANCE_MODE["in_person"]),
        "location": _locations(request, gathering, session),
        "inLanguage": session.language,
        "organizer": [
            {
                "@type": "Organization",
                "name": host.name,
                "url": _url(request, "public:organisation", slug=host.slug),
            }
            for host in session.hosts
        ],
        "performer": [
            {
                "@type": "Person",
                "name": speaker.name,
                "url": _url(request, "public:speaker", slug=speaker.slug),
            }
            for speaker in session.speakers
        ],
        "superEvent": {
            "@type": "Event",
            "name": gathering.title,
            "url": _url(request, "public:gathering", slug=gathering.slug),
        },
    }
    if session.description:
        event["description"] = _short(session.description)
    return event


def programme_list(
    request: Request, gathering: PublicGathering, sessions: Iterable[PublicSession]
) -> dict[str, Any]:
    """The programme as a ``schema.org/ItemList`` of links to its session pages (each session
    page carries the full Event)."""
    return {
        "@context": "https://schema.org",
        "@type": "ItemList",
        "name": gathering.title,
        "url": _url(request, "public:gathering", slug=gathering.slug),
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": index,
                "url": _url(request, "public:session", slug=gathering.slug, session_id=s.id),
                "name": s.title,
            }
            for index, s in enumerate(sessions, start=1)
        ],
    }


# --- the previews the templates ask for ------------------------------------------------------


def _request(context: Mapping[str, Any]) -> Request:
    request = context["request"]
    assert isinstance(request, Request)
    return request


def oembed_url(request: Request, page_url: str) -> str:
    """The oEmbed discovery address for a page (oEmbed 1.0 §4)."""
    query = urlencode({"url": page_url, "format": "json"})
    return f"{_url(request, 'reach:oembed')}?{query}"


@jinja2.pass_context
def home_preview(context: Mapping[str, Any]) -> LinkPreview:
    """The home page's preview."""
    request = _request(context)
    return LinkPreview(
        gettext(words.HOME_TITLE),
        gettext(words.HOME_DESCRIPTION),
        _url(request, "public:home"),
        "website",
    )


@jinja2.pass_context
def programme_preview(
    context: Mapping[str, Any], gathering: PublicGathering, programme: Programme
) -> LinkPreview:
    """A gathering's programme page: its description, an ItemList, oEmbed discovery."""
    request = _request(context)
    url = _url(request, "public:gathering", slug=gathering.slug)
    description = gathering.description or ", ".join(
        part
        for part in (f"{gathering.starts_on.day} {gathering.starts_on:%B %Y}", gathering.location)
        if part  # the dates and the town, when there is no description
    )
    listing = programme_list(request, gathering, programme.sessions) if programme.sessions else None
    return LinkPreview(
        gettext(words.PROGRAMME_TITLE).format(title=gathering.title),
        _short(description),
        url,
        "website",
        json_ld(listing) if listing else None,
        oembed_url(request, url),
    )


@jinja2.pass_context
def session_preview(
    context: Mapping[str, Any],
    gathering: PublicGathering,
    session: PublicSession,
    moved: bool = False,
) -> LinkPreview:
    """A session page: when and where in the description, and its Event JSON-LD."""
    request = _request(context)
    title = (gettext(words.CANCELLED_PREFIX) if session.is_cancelled else "") + session.title
    return LinkPreview(
        title,
        session_summary(gathering, session),
        _url(request, "public:session", slug=gathering.slug, session_id=session.id),
        "website",
        json_ld(session_event(request, gathering, session, moved=moved)),
    )


@jinja2.pass_context
def organisation_preview(context: Mapping[str, Any], profile: OrganisationProfile) -> LinkPreview:
    """An organisation's page, with oEmbed discovery (its sessions can be embedded)."""
    request = _request(context)
    url = _url(request, "public:organisation", slug=profile.slug)
    description = profile.description or gettext(words.ORGANISATION_DESCRIPTION).format(
        name=profile.name
    )
    return LinkPreview(
        profile.name, _short(description), url, "website", None, oembed_url(request, url)
    )


@jinja2.pass_context
def speaker_preview(context: Mapping[str, Any], profile: SpeakerProfile) -> LinkPreview:
    """A speaker's page."""
    request = _request(context)
    description = profile.affiliation or gettext(words.SPEAKER_DESCRIPTION).format(
        name=profile.name
    )
    url = _url(request, "public:speaker", slug=profile.slug)
    return LinkPreview(profile.name, _short(description), url, "profile")


TEMPLATE_GLOBALS: dict[str, Any] = {
    "home_preview": home_preview,
    "programme_preview": programme_preview,
    "session_preview": session_preview,
    "organisation_preview": organisation_preview,
    "speaker_preview": speaker_preview,
}
