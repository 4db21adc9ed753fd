"""The released programme as C3VOC schedule JSON version 2 (``schema2.json``), with localised
text (issue 18).

Version 1 (``exports.schedule_json``) carries one string per text, in the reader's language.
Version 2 carries a gathering's and a session's description and abstract as a LocalizationMap,
``{"en": "...", "cy": "..."}``: every language an organiser gave, so an app can choose. Titles stay
strings (the schema's), in the reader's language where given; the conference lists its languages
and its default one. Rooms, days, guids and slugs are version 1's (``exports._Layout``), so the
two exports name everything alike.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from gathering import __version__
from gathering.core import content, i18n
from gathering.programme.exports import (
    GENERATOR,
    SessionPath,
    _day_bounds,
    _Event,
    _event_slug,
    _Layout,
    _local,
    _subtitle,
    _title,
    _version,
)
from gathering.programme.published import Programme, PublicGathering, PublicSession

JSON_SCHEMA2_ID = "https://c3voc.de/schema/schedule2"
NO_TRACK = "programme"  # v2 wants a track on every event; sessions without one are in this one


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or NO_TRACK


def _descriptions(value: PublicSession | PublicGathering) -> dict[str, str]:
    """Every language's description: {"en": ..., "cy": ...} (a LocalizationMap)."""
    # The English text only (once localised; a title is never empty): the reader's own may be
    # Welsh, never to be labelled "en".
    english = value.english_description if value.english_title else value.description
    return content.localised_map(english, value.texts, "description")


def _abstract(description: str) -> str:
    return description.strip().split("\n\n", 1)[0].strip()


def _participant(name: str, slug: str, role: str, base_url: str) -> dict[str, str]:
    return {
        "guid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url}/speakers/{slug}")),
        "name": name,
        "role": "MODERATOR" if role == "chair" else "SPEAKER",
    }


def _event(event: _Event, layout: _Layout) -> dict[str, Any]:
    session = event.session
    descriptions = _descriptions(session)
    language = session.language.split("-", 1)[0].lower()
    return {
        "guid": event.guid,
        "start": _local(session.starts_at, layout.zone).isoformat(),
        "end": _local(session.ends_at, layout.zone).isoformat(),
        "room": {"guid": event.room.guid, "name": event.room.name},
        "slug": _event_slug(layout.acronym, session),
        "url": event.url,
        "title": _title(session),
        "subtitle": _subtitle(session) or None,
        "track": {"slug": _slug(session.track.slug) if session.track else NO_TRACK},
        "type": "MEETING",
        "language": language if re.fullmatch(r"[a-z]{2}", language) else i18n.DEFAULT_LANGUAGE,
        "abstract": {code: _abstract(text) for code, text in descriptions.items()},
        "description": descriptions,
        "participants": [
            _participant(s.name, s.slug, s.role, layout.base_url) for s in session.speakers
        ],
        "links": [{"type": "WEB", "url": event.url}],
        "state": "CANCELED" if session.is_cancelled else "CONFIRMED",
    }


def schedule2_json(programme: Programme, base_url: str, session_path: SessionPath) -> bytes:
    """The released programme as schedule JSON v2 (valid against ``schema2.json``)."""
    layout = _Layout(programme, base_url, session_path)
    gathering = programme.gathering
    days = []
    for index, day in enumerate(layout.days, start=1):
        start, end = _day_bounds(day, layout.zone)
        days.append(
            {
                "index": index,
                "date": day.isoformat(),
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
        )
    first, _ = _day_bounds(gathering.starts_on, layout.zone)
    _, last = _day_bounds(gathering.ends_on, layout.zone)
    tracks = {s.track.slug: s.track.name for s in programme.sessions if s.track}
    if any(s.track is None for s in programme.sessions):
        tracks.setdefault(NO_TRACK, gathering.title)
    conference: dict[str, Any] = {
        "acronym": layout.acronym,
        "title": gathering.title,
        "description": _descriptions(gathering),
        "start": (days[0]["start"] if days else first.isoformat()),
        "end": (days[-1]["end"] if days else last.isoformat()),
        "time_zone_name": gathering.timezone,
        "languages": list(i18n.LANGUAGES),
        "defaults": {"language": gathering.default_language},
        "tracks": [{"name": name, "slug": _slug(slug)} for slug, name in sorted(tracks.items())],
        "rooms": [{"name": room.name, "guid": room.guid} for room in layout.rooms],
        "days": days,
    }
    document = {
        "$schema": JSON_SCHEMA2_ID,
        "generator": {"name": GENERATOR, "version": __version__},
        "schedule": {
            "version": _version(programme),
            "base_url": layout.base_url + "/",
            "conference": conference,
            "events": [_event(event, layout) for event in layout.events],
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode() + b"\n"
