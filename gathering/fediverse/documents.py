"""ActivityStreams 2 documents: actors, ``Event`` objects in the shape Mobilizon and Gancio
publish, the activities that carry them, collections and WebFinger answers.

Pure functions of public values (a released session, an actor's public key): nothing here reads
the database, and nothing private (joining links, invite codes, places taken, attendees,
speakers) is ever an input, so nothing private can come out.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gathering.core.markdown import render_markdown
from gathering.programme.published import PublicGathering, PublicSession

# A JSON-LD document as sent (plain JSON values).
Document = dict[str, Any]

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
# The media types an ActivityPub client asks for (ActivityPub §3.2), ours first.
ACTIVITY_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_JSON = "application/jrd+json"

# The extra terms Mobilizon's context defines for events (schema.org places, its own namespace
# for time zones, contacts and online events, iCalendar's status), so Mobilizon, Gancio and
# JSON-LD processors read them as Mobilizon's own.
EVENT_TERMS: Document = {
    "sc": "http://schema.org#",
    "mz": "https://joinmobilizon.org/ns#",
    "ical": "http://www.w3.org/2002/12/cal/ical#",
    "PostalAddress": "sc:PostalAddress",
    "PropertyValue": "sc:PropertyValue",
    "value": "sc:value",
    "address": {"@id": "sc:address", "@type": "sc:PostalAddress"},
    "streetAddress": "sc:streetAddress",
    "inLanguage": "sc:inLanguage",
    "timezone": {"@id": "mz:timezone", "@type": "sc:Text"},
    "contacts": {"@id": "mz:contacts", "@type": "@id"},
    "isOnline": {"@id": "mz:isOnline", "@type": "sc:Boolean"},
    "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
    "externalParticipationUrl": {"@id": "mz:externalParticipationUrl", "@type": "sc:URL"},
    # Actor terms Mastodon defines (its context): followers need no approval, listed in search.
    "toot": "http://joinmastodon.org/ns#",
    "as": "https://www.w3.org/ns/activitystreams#",
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "discoverable": "toot:discoverable",
}
CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, EVENT_TERMS]


@dataclass(frozen=True)
class LocalActor:
    """One of our actors: an organisation (``Organization``) or a gathering (``Group``)."""

    kind: str  # organisation | gathering
    id: int  # the organisation's or the gathering's id
    slug: str
    name: str
    summary: str
    page_url: str  # the public page people read
    base_url: str

    @property
    def url(self) -> str:
        letter = "o" if self.kind == "organisation" else "g"
        return f"{self.base_url}/ap/{letter}/{self.id}"

    @property
    def key_id(self) -> str:
        return f"{self.url}#main-key"

    @property
    def followers_url(self) -> str:
        return f"{self.url}/followers"

    @property
    def handle(self) -> str:
        return f"{self.slug}@{host_of(self.base_url)}"


def host_of(url: str) -> str:
    """The host (and port, if any) of a URL, as ``acct:`` names and instances use it."""
    return urlsplit(url).netloc.lower()


def actor_document(actor: LocalActor, public_key_pem: str) -> Document:
    """The actor document: who it is, where its inbox and outbox are, its public key."""
    return {
        "@context": CONTEXT,
        "id": actor.url,
        "type": "Organization" if actor.kind == "organisation" else "Group",
        "preferredUsername": actor.slug,
        "name": actor.name,
        "summary": str(render_markdown(actor.summary)),
        "url": actor.page_url,
        "inbox": f"{actor.url}/inbox",
        "outbox": f"{actor.url}/outbox",
        "followers": actor.followers_url,
        "endpoints": {"sharedInbox": f"{actor.base_url}/ap/inbox"},
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "publicKey": {"id": actor.key_id, "owner": actor.url, "publicKeyPem": public_key_pem},
    }


def webfinger_document(actor: LocalActor) -> Document:
    """The JRD answer for ``acct:slug@host`` (RFC 7033)."""
    return {
        "subject": f"acct:{actor.handle}",
        "aliases": [actor.url, actor.page_url],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor.url},
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": actor.page_url,
            },
        ],
    }


def object_url(base_url: str, session_id: int) -> str:
    return f"{base_url}/ap/sessions/{session_id}"


def activity_url(base_url: str, verb: str, session_id: int, version: int) -> str:
    """A stable id per session version and verb: a retried delivery repeats it exactly."""
    return f"{object_url(base_url, session_id)}/{verb.lower()}/{version}"


@dataclass(frozen=True)
class EventContext:
    """What an Event names besides the session: its gathering, page and host actors."""

    gathering: PublicGathering
    page_url: str
    hosts: tuple[LocalActor, ...]  # the host first, then co-hosts
    signer: LocalActor  # attributedTo: the host, or the gathering when no organisation hosts


def _local(moment: dt.datetime, timezone: str) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(timezone)).isoformat()


def event_object(session: PublicSession, context: EventContext, base_url: str) -> Document:
    """A public session as an ``Event``, as Mobilizon's event converter writes one."""
    timezone = context.gathering.timezone
    status = "CANCELLED" if session.is_cancelled else "CONFIRMED"
    event: Document = {
        "id": object_url(base_url, session.id),
        "type": "Event",
        "name": session.title,
        "content": str(render_markdown(session.description)),
        "mediaType": "text/html",
        "startTime": _local(session.starts_at, timezone),
        "endTime": _local(session.ends_at, timezone),
        "timezone": timezone,
        "published": session.changed_at.isoformat(),
        "updated": session.changed_at.isoformat(),
        "url": context.page_url,
        "attributedTo": context.signer.url,
        "contacts": [host.url for host in context.hosts],
        "tag": [
            {"type": "Mention", "href": host.url, "name": f"@{host.handle}"}
            for host in context.hosts
        ],
        "to": [PUBLIC],
        "cc": [context.signer.followers_url],
        "inLanguage": session.language,
        "isOnline": session.format != "in_person",
        "ical:status": status,
        # Registration happens on Gathering's own page, never on the follower's server.
        "joinMode": "external",
        "externalParticipationUrl": context.page_url,
        "attachment": [
            {"type": "PropertyValue", "name": "Gathering", "value": context.gathering.title}
        ],
    }
    if session.track is not None:
        event["attachment"].append(
            {"type": "PropertyValue", "name": "Track", "value": session.track.name}
        )
    room = session.room
    if room is not None and session.format != "online":
        event["location"] = {
            "type": "Place",
            "name": f"{room.name}, {room.venue.name}",
            "address": {
                "type": "PostalAddress",
                "name": room.venue.name,
                "streetAddress": room.venue.address,
            },
        }
    return event


def session_activity(
    verb: str, session: PublicSession, context: EventContext, base_url: str
) -> Document:
    """``Create`` or ``Update`` of a session's Event, id stable for the session's version."""
    event = event_object(session, context, base_url)
    return {
        "@context": CONTEXT,
        "id": activity_url(base_url, verb, session.id, session.version),
        "type": verb,
        "actor": context.signer.url,
        "published": session.changed_at.isoformat(),
        "to": event["to"],
        "cc": event["cc"],
        "object": event,
    }


def delete_activity(session_id: int, version: int, signer: LocalActor, base_url: str) -> Document:
    """``Delete`` of a withdrawn session (or one no longer public): a Tombstone for its id."""
    return {
        "@context": CONTEXT,
        "id": activity_url(base_url, "Delete", session_id, version),
        "type": "Delete",
        "actor": signer.url,
        "to": [PUBLIC],
        "cc": [signer.followers_url],
        "object": {"id": object_url(base_url, session_id), "type": "Tombstone"},
    }


def accept_activity(actor: LocalActor, follower_row_id: int, follow: Document) -> Document:
    """The ``Accept`` of a Follow, naming the Follow as received (its id, actor and object)."""
    return {
        "@context": CONTEXT,
        "id": f"{actor.url}/accepts/{follower_row_id}",
        "type": "Accept",
        "actor": actor.url,
        "object": follow,
    }


def ordered_collection(url: str, total: int, *, first: str | None = None) -> Document:
    document: Document = {
        "@context": CONTEXT,
        "id": url,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first is not None:
        document["first"] = first
    return document


def collection_page(
    url: str, part_of: str, items: list[Document], *, next_url: str | None
) -> Document:
    page: Document = {
        "@context": CONTEXT,
        "id": url,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": items,
    }
    if next_url is not None:
        page["next"] = next_url
    return page
